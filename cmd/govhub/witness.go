package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger/witness"
)

// newWitness builds a witness server from a key file (a note private key, `govhub keygen`) and the
// verifier keys of the logs it follows (`govhub ledger pubkey` of each hub).
func newWitness(keyFile string, logKeys []string, stateDir string, logger *slog.Logger) (*witness.Server, string, error) {
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("reading the witness key: %w", err)
	}
	if fi, err := os.Stat(keyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, "", fmt.Errorf("witness key %s has mode %04o: others can read it", keyFile, fi.Mode().Perm())
	}
	signer, err := fnote.NewSignerForCosignatureV1(string(bytes.TrimSpace(data)))
	if err != nil {
		return nil, "", fmt.Errorf("witness key %s: %w", keyFile, err)
	}
	logs, err := witnessLogs(logKeys)
	if err != nil {
		return nil, "", &exitError{2, err}
	}
	srv, err := witness.NewServer(witness.Config{Signer: signer, Logs: logs, StateDir: stateDir, Logger: logger})
	if err != nil {
		return nil, "", err
	}
	return srv, signer.Name(), nil
}

// witnessLogs are the logs of verifier keys.
func witnessLogs(logKeys []string) ([]witness.Log, error) {
	var logs []witness.Log
	for _, k := range logKeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("log key %q: %w", k, err)
		}
		logs = append(logs, witness.Log{Origin: v.Name(), Verifier: v})
	}
	return logs, nil
}

// readLogKeysFile reads a --log-keys file: one verifier key a line; blank lines and lines that
// begin with # are skipped.
func readLogKeysFile(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			keys = append(keys, line)
		}
	}
	return keys, nil
}

// witnessKeysRecheck is how often a witness reads its --log-keys file again.
const witnessKeysRecheck = 5 * time.Second

// followLogKeysFile reads file every interval until ctx ends, and has srv follow each log key added
// to it. A key removed from the file is still followed until a restart; a file that cannot be
// read, or holds a key that is not valid or names an origin followed under another key, is logged
// and changes nothing.
func followLogKeysFile(ctx context.Context, srv *witness.Server, file string, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var seen string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		keys, err := readLogKeysFile(file)
		if err == nil && strings.Join(keys, "\n") == seen {
			continue
		}
		n, err := addLogKeys(srv, keys, err)
		if err != nil {
			logger.ErrorContext(ctx, "reading the log keys file; the logs followed stay as they were", slog.String("file", file), slog.String("error", err.Error()))
			continue
		}
		seen = strings.Join(keys, "\n")
		if n > 0 {
			logger.InfoContext(ctx, "witness follows new logs from the log keys file", slog.String("file", file), slog.Int("added", n))
		}
	}
}

// addLogKeys has srv follow the logs of keys (read with readErr).
func addLogKeys(srv *witness.Server, keys []string, readErr error) (int, error) {
	if readErr != nil {
		return 0, readErr
	}
	logs, err := witnessLogs(keys)
	if err != nil {
		return 0, err
	}
	return srv.AddLogs(logs...)
}

// defaultWitnessDir is the witness's state directory when neither --state-dir nor --data-dir is given.
const defaultWitnessDir = "./witness-data"

func cmdWitness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on; the hub's --witness URL is http://ADDR")
	keyFile := fs.String("key", "", "the witness's note private key file (govhub keygen)")
	stateDir := fs.String("state-dir", "", "where the witness keeps the latest checkpoint it cosigned for each log (default ./witness-data)")
	dataDir := fs.String("data-dir", "", "the witness's own data directory: the same as --state-dir (never a hub's data directory)")
	var logKeys stringList
	fs.Var(&logKeys, "log-key", "verifier key of a log to witness (govhub ledger pubkey; repeat)")
	keysFile := fs.String("log-keys", "", "a file of verifier keys of logs to witness, one a line, read again every 5 s: a key added there (a log's new origin after a key rotation) is followed without a restart")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keysFile != "" {
		keys, err := readLogKeysFile(*keysFile)
		if err != nil {
			return &exitError{2, fmt.Errorf("--log-keys: %w", err)}
		}
		for _, k := range keys {
			if !slices.Contains(logKeys, k) {
				logKeys = append(logKeys, k)
			}
		}
	}
	if *keyFile == "" || len(logKeys) == 0 {
		return &exitError{2, errors.New("witness needs --key and at least one --log-key (or a --log-keys file)")}
	}
	dir := *stateDir
	switch {
	case dir == "":
		dir = *dataDir
	case *dataDir != "" && *dataDir != dir:
		return &exitError{2, fmt.Errorf("--data-dir %s and --state-dir %s name the same directory; give one", *dataDir, dir)}
	}
	if dir == "" {
		dir = defaultWitnessDir
	}
	c := commonFlags{logFormat: *logFormat, logLevel: "info"}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	srv, name, err := newWitness(*keyFile, logKeys, dir, cfg.Logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	if *keysFile != "" {
		go followLogKeysFile(ctx, srv, *keysFile, witnessKeysRecheck, cfg.Logger)
	}
	cfg.Logger.InfoContext(ctx, "witness listening", slog.String("name", name), slog.String("url", "http://"+ln.Addr().String()), slog.Int("logs", len(logKeys)))
	fmt.Fprintf(stdout, "witness %s at http://%s\n", name, ln.Addr())
	return serveHTTP(ctx, hs, ln, cfg.Logger)
}
