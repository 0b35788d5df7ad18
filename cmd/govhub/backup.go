package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/backup"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/store/embedded"
)

// Keys and records that survive the hub (package backup): `govhub keys split` and `keys restore`,
// `govhub backup` and `backup restore`.

const keysUsage = `usage: govhub keys <subcommand> [flags]

subcommands:
  split     encrypt the data directory's keys into a bundle and split the bundle's key among
            officers: --officer NAME=AGE_RECIPIENT (repeat) --threshold K --out DIR
  restore   restore the keys into an empty data directory from the bundle and K officers'
            shares: --bundle F --share FILE=AGE_IDENTITY_FILE (repeat)
  rotate    rotate a key of the running hub without stopping it: --key master (the default;
            data keys re-wrapped in the background, [--wait]), token, credential or officials

Run 'govhub keys <subcommand> -h' for its flags.
`

// keyFiles are the key files of a data directory that a split carries.
var keyFiles = []string{"master.key", "index.key", "log.key", "issuer.key", "officials.key", "credential.key"}

func cmdKeys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return &exitError{2, errors.New("keys needs a subcommand: split or restore")}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, keysUsage)
		return nil
	case "split":
		return cmdKeysSplit(args[1:], stdout, stderr)
	case "restore":
		return cmdKeysRestore(args[1:], stdout, stderr)
	case "rotate":
		return cmdKeysRotate(context.Background(), args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, keysUsage)
	return &exitError{2, fmt.Errorf("unknown keys subcommand %q", args[0])}
}

func cmdKeysSplit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys split", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", defaultDataDir, "the hub's data directory (its keys/ are split)")
	threshold := fs.Int("threshold", 0, "how many officers' shares restore the keys (at least 2)")
	out := fs.String("out", "", "directory to write keys.bundle and share-<officer>.age into (created; must not hold them already)")
	var officers stringList
	fs.Var(&officers, "officer", "an officer and the age X25519 recipient (age1…) their share is encrypted to, as NAME=RECIPIENT (repeat)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" || *threshold == 0 || len(officers) == 0 {
		return &exitError{2, errors.New("keys split needs --out, --threshold and an --officer per share holder")}
	}
	if err := requireDataDir(*dataDir); err != nil {
		return err
	}
	splitFiles, err := keyFilesOf(*dataDir)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	for _, name := range splitFiles {
		b, err := os.ReadFile(filepath.Join(*dataDir, "keys", name))
		if err != nil {
			return fmt.Errorf("reading key file: %w", err)
		}
		files[name] = b
	}
	var holders []backup.Officer
	for _, o := range officers {
		name, rcpt, ok := strings.Cut(o, "=")
		if !ok {
			return &exitError{2, fmt.Errorf("--officer %q: want NAME=AGE_RECIPIENT", o)}
		}
		holders = append(holders, backup.Officer{Name: name, Recipient: rcpt})
	}
	bundle, shares, err := backup.SplitKeys(files, holders, *threshold, backup.Random)
	if err != nil {
		return &exitError{2, err}
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	write := func(name string, b []byte) error {
		f, err := os.OpenFile(filepath.Join(*out, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write("keys.bundle", bundle); err != nil {
		return err
	}
	names := make([]string, 0, len(shares))
	for name := range shares {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := write("share-"+name+".age", shares[name]); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %s/keys.bundle (%d key files) and %d shares, any %d of which restore them:\n", *out, len(files), len(names), *threshold)
	for _, name := range names {
		fmt.Fprintf(stdout, "  %s/share-%s.age   for %s only (encrypted to their age key)\n", *out, name, name)
	}
	fmt.Fprintln(stdout, "Keep the bundle with the backups and hand each share to its officer; no one place should hold the bundle and enough shares.")
	return nil
}

func cmdKeysRestore(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("keys restore", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dataDir := flags.String("data-dir", defaultDataDir, "the data directory to restore the keys into (its keys/ must not exist)")
	bundlePath := flags.String("bundle", "", "the key bundle (keys.bundle)")
	var shares stringList
	flags.Var(&shares, "share", "an officer's share and the file of their age identity (AGE-SECRET-KEY-1…), as FILE=IDENTITY_FILE (repeat: as many as the threshold)")
	if err := parse(flags, args); err != nil {
		return err
	}
	if *bundlePath == "" || len(shares) == 0 {
		return &exitError{2, errors.New("keys restore needs --bundle and a --share per officer taking part")}
	}
	dir := filepath.Join(*dataDir, "keys")
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s exists: restore keys only into a data directory that has none", dir)
	}
	bundle, err := os.ReadFile(*bundlePath)
	if err != nil {
		return err
	}
	var opened []backup.Share
	for _, s := range shares {
		file, idFile, ok := strings.Cut(s, "=")
		if !ok {
			return &exitError{2, fmt.Errorf("--share %q: want FILE=IDENTITY_FILE", s)}
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		idText, err := os.ReadFile(idFile)
		if err != nil {
			return err
		}
		ids, err := age.ParseIdentities(strings.NewReader(string(idText)))
		if err != nil || len(ids) == 0 {
			return fmt.Errorf("%s: not an age identity file", idFile)
		}
		sh, err := backup.OpenShare(b, ids[0])
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		opened = append(opened, sh)
	}
	files, err := backup.RestoreKeys(bundle, opened)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, name := range keyFiles {
		if _, ok := files[name]; !ok {
			return fmt.Errorf("the bundle has no %s", name)
		}
	}
	// The fixed key files, every rotated master key (master-N.key) and the previous-keys files
	// (rotate.go) the bundle carries.
	restored := 0
	for name, b := range files {
		if !slices.Contains(keyFiles, name) && !masterFileRE.MatchString(name) && !slices.Contains(previousKeyFiles, name) &&
			!logKeyFileRE.MatchString(name) && name != logHistoryFile {
			return fmt.Errorf("the bundle holds %q, which is not a key file of a data directory", name)
		}
		if err := keys.Write(filepath.Join(dir, name), b); err != nil {
			return err
		}
		restored++
	}
	fmt.Fprintf(stdout, "restored %d key files into %s from %d shares\n", restored, dir, len(opened))
	return nil
}

const backupUsage = `usage: govhub backup [--data-dir D] --out FILE       export the store, encrypted
       govhub backup restore [--data-dir D] --from FILE
                                                      load an export into an empty store, then
                                                      verify the ledger and every record

The export holds every document of the store (records stay sealed), encrypted under a passphrase
derived from the hub's master key: it opens with the keys (govhub keys restore) and nothing else.
Beside a running hub on the embedded store it reads through the hub's database, read-only; it reads
one collection after another, so take it when updates are quiet.
`

func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "restore" {
		return cmdBackupRestore(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage); fs.PrintDefaults() }
	var c commonFlags
	c.register(fs)
	out := fs.String("out", "", "the export file to write (must not exist)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return &exitError{2, errors.New("backup needs --out FILE")}
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	pass, err := exportPassphrase(cfg.DataDir)
	if err != nil {
		return err
	}
	st, err := openReader(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.closeReader(context.WithoutCancel(ctx))
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	start := time.Now()
	w, err := backup.NewExportWriter(f, pass)
	if err == nil {
		err = st.store.Export(ctx, w.Add, func(coll string, n int64) {
			if n > 0 {
				fmt.Fprintf(stderr, "  %-20s %d documents\n", coll, n)
			}
		})
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return fmt.Errorf("exporting: %w", err)
	}
	fi, _ := os.Stat(*out)
	fmt.Fprintf(stdout, "wrote %s: %d documents, %d bytes, encrypted (%s)\n", *out, w.Documents(), fi.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdBackupRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	from := fs.String("from", "", "the export file")
	quiet := fs.Bool("quiet", false, "print no progress line while verifying")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return &exitError{2, errors.New("backup restore needs --from FILE")}
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	pass, err := exportPassphrase(cfg.DataDir)
	if err != nil {
		return err
	}
	f, err := os.Open(*from)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := backup.NewExportReader(f, pass)
	if err != nil {
		return err
	}
	if err := refuseHeldDataDir(cfg); err != nil {
		return err
	}
	st, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	n, err := func() (int64, error) {
		defer st.close(context.WithoutCancel(ctx))
		empty, err := st.store.Empty(ctx)
		if err != nil {
			return 0, err
		}
		if !empty {
			return 0, errors.New("the store is not empty: restore only into an empty one")
		}
		var (
			n     int64
			coll  string
			batch []bson.Raw
		)
		flush := func() error {
			err := st.store.ImportDocuments(ctx, coll, batch)
			batch = batch[:0]
			return err
		}
		for {
			c, doc, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return n, err
			}
			if c != coll || len(batch) == 500 {
				if err := flush(); err != nil {
					return n, err
				}
				coll = c
			}
			batch = append(batch, doc)
			n++
		}
		return n, flush()
	}()
	if err != nil {
		return fmt.Errorf("restoring %s: %w", *from, err)
	}
	fmt.Fprintf(stdout, "restored %d documents from an export of %s\n", n, r.Created.Format(time.RFC3339))
	// An erased citizen never comes back from an older backup.
	if err := replayErasuresOnStore(ctx, cfg, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "verifying the ledger and every record against it:")
	return verifyRestored(ctx, cfg, *quiet, stdout, stderr)
}

// verifyRestored runs `govhub ledger verify` (both passes) on a store a restore just wrote.
func verifyRestored(ctx context.Context, cfg config, quiet bool, stdout, stderr io.Writer) error {
	args := []string{"--data-dir", cfg.DataDir, "--mongo-db", cfg.MongoDB, "--log-origin", cfg.LogOrigin}
	if cfg.MongoURI != "" {
		args = append(args, "--mongo-uri", cfg.MongoURI)
	}
	if quiet {
		args = append(args, "--quiet")
	}
	return cmdLedgerVerify(ctx, args, stdout, stderr)
}

// refuseHeldDataDir refuses a restore into a data directory whose embedded database a hub holds.
func refuseHeldDataDir(cfg config) error {
	if cfg.MongoURI == "" {
		if _, pid, err := embedded.Attach(cfg.path("db")); err == nil {
			return fmt.Errorf("a hub (pid %s) holds this data directory: stop it before restoring into it", pid)
		}
	}
	return nil
}

// exportPassphrase derives the export passphrase from the data directory's master key.
func exportPassphrase(dataDir string) (string, error) {
	mk, err := readHubKey(dataDir, "master.key", keys.ReadSymmetric)
	if err != nil {
		return "", fmt.Errorf("%w (restore the keys first: govhub keys restore)", err)
	}
	return backup.ExportPassphrase(mk)
}
