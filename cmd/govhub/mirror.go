package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/mirror"
)

// Defaults of `govhub mirror`.
const (
	defaultMirrorDir  = "./mirror-data"
	defaultMirrorAddr = "127.0.0.1:8094"
	defaultMirrorDB   = "govhub_mirror"
	defaultMirrorName = "mirror.govhub.local"
	mirrorKeyFile     = "mirror.key" // in <data-dir>/keys/
)

const mirrorUsage = `usage: govhub mirror --hub URL --log-key K [--witness URL=K … --quorum N] [flags]

Keeps a full copy of the hub's ledger (C2SP tlog-mirror): follows the hub's tlog-tiles API,
advances only to checkpoints the log signed and a quorum of the witnesses cosigned, checks
each one's consistency with the last it stored and every entry and hash tile against its root,
stores the copy (the embedded database in --data-dir, or --mongo-uri), and only then cosigns
it with its own key (<data-dir>/keys/mirror.key, made on first start; its verifier key is
printed). It serves the copy under /<SHA-256 of the log's origin, hex>/: checkpoint and hash
tiles to anyone, entry bundles to the hub's auditor tokens (--issuer-key) or the tokens of
--reader-tokens; POST …/cosign returns its cosignature on a checkpoint it has stored.

--log-key is the log's first key, for good: when the hub rotates its log key, the mirror reads
the hub's /log-keys, follows the new key only if its history verifies from --log-key with the
witness quorum, stores it, and serves the copy under the new origin's hash too.

flags:
`

func cmdMirror(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mirror", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), mirrorUsage); fs.PrintDefaults() }
	hubURL := fs.String("hub", "", "the hub's URL (its tlog-tiles API: /checkpoint, /tile/…)")
	logKey := fs.String("log-key", "", "the hub's first log verifier key (govhub ledger pubkey), for good: later keys are learnt from the hub's /log-keys")
	var witnesses, witnessKeys stringList
	fs.Var(&witnesses, "witness", "a trusted witness, URL=VERIFIERKEY as the hub's --witness (repeat; the URL is not used)")
	fs.Var(&witnessKeys, "witness-key", "a trusted witness's verifier key (repeat)")
	quorum := fs.Int("quorum", -1, "witness cosignatures a checkpoint needs (default: a majority of the witnesses)")
	dataDir := fs.String("data-dir", defaultMirrorDir, "the mirror's own data directory: its key and the embedded database (never a hub's)")
	mongoURI := fs.String("mongo-uri", "", "MongoDB URI; empty runs the embedded FerretDB in the data directory")
	mongoDB := fs.String("mongo-db", defaultMirrorDB, "database name (not the hub's)")
	addr := fs.String("addr", defaultMirrorAddr, "address to serve the copy on")
	name := fs.String("name", defaultMirrorName, "the mirror key's name, used when the key is created")
	token := fs.String("token", "", "auditor token for the hub's entry bundles (default: $"+tokenEnv+")")
	tokenFile := fs.String("token-file", "", "file holding the auditor token, read again for every bundle (for tokens that are renewed)")
	issuerKey := fs.String("issuer-key", "", "the hub's token issuer public key (PEM file, e.g. openssl pkey -in keys/issuer.key -pubout): its auditor tokens may read entry bundles")
	audience := fs.String("token-audience", auth.DefaultAudience, "the \"aud\" of the hub's tokens")
	readerTokens := fs.String("reader-tokens", "", "file of bearer tokens (one a line) that may read entry bundles, besides auditor tokens")
	publicBundles := fs.Bool("public-bundles", false, "serve entry bundles to anyone, as C2SP tlog-mirror expects")
	interval := fs.Duration("interval", 2*time.Second, "how often to poll the hub's checkpoint")
	printKey := fs.Bool("print-key", false, "print the mirror's verifier key (making the key if needed) and exit")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := parse(fs, args); err != nil {
		return err
	}
	signer, vkey, err := mirrorKey(*dataDir, *name)
	if err != nil {
		return err
	}
	if *printKey {
		fmt.Fprintln(stdout, vkey)
		return nil
	}
	if *hubURL == "" || *logKey == "" {
		return &exitError{2, errors.New("mirror needs --hub and --log-key")}
	}
	logV, err := note.NewVerifier(*logKey)
	if err != nil {
		return &exitError{2, fmt.Errorf("--log-key %q: %w", *logKey, err)}
	}
	var ws []note.Verifier
	for _, w := range witnesses {
		wc, err := parseWitness(w)
		if err != nil {
			return &exitError{2, err}
		}
		witnessKeys = append(witnessKeys, wc.VerifierKey)
	}
	for _, k := range witnessKeys {
		v, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			return &exitError{2, fmt.Errorf("witness key %q: %w", k, err)}
		}
		ws = append(ws, v)
	}
	q := *quorum
	if q < 0 {
		q = len(ws)/2 + min(len(ws), 1)
	}
	if q > len(ws) {
		return &exitError{2, fmt.Errorf("--quorum %d with %d witnesses", q, len(ws))}
	}
	access, err := bundleAccess(*publicBundles, *issuerKey, *audience, *readerTokens)
	if err != nil {
		return &exitError{2, err}
	}
	hubToken := mirrorTokenSource(*token, *tokenFile)
	c := commonFlags{dataDir: *dataDir, mongoURI: *mongoURI, mongoDB: *mongoDB, logFormat: *logFormat, logLevel: *logLevel}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	if q == 0 {
		cfg.Logger.WarnContext(ctx, "mirror: no witness quorum: it follows checkpoints on the log's signature alone")
	}
	st, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.close(context.WithoutCancel(ctx))
	m, err := mirror.New(ctx, mirror.Config{LogURL: *hubURL, Token: hubToken, Log: logV, LogKey: *logKey, Witnesses: ws, Quorum: q,
		Signer: signer, Store: st.ledgerStore, Interval: *interval, EvidenceDir: *dataDir, BundleAccess: access, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	if n := m.Size(); n > 0 {
		cfg.Logger.InfoContext(ctx, "mirror resuming from its stored copy", slog.Uint64("size", n))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	url := "http://" + ln.Addr().String() + "/" + m.OriginHash() + "/"
	fmt.Fprintln(stdout, vkey)
	fmt.Fprintf(stdout, "mirror %s of %s at %s\n", signer.Name(), logV.Name(), url)
	cfg.Logger.InfoContext(ctx, "mirror listening", slog.String("name", signer.Name()), slog.String("vkey", vkey), slog.String("url", url))
	hs := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: mirror.CosignTimeout + 30*time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	followed := make(chan error, 1)
	go func() { followed <- m.Run(rctx) }()
	served := make(chan error, 1)
	go func() { served <- serveHTTP(rctx, hs, ln, cfg.Logger) }()
	select {
	case err := <-followed:
		// A fork: keep serving the copy (and the evidence) until stopped, but say so.
		if err != nil {
			fmt.Fprintln(stderr, "govhub mirror:", err)
		}
		return errors.Join(<-served, err)
	case err := <-served:
		cancel()
		<-followed
		return err
	}
}

// mirrorKey returns the mirror's cosignature signer and its verifier key (C2SP cosignature/v1),
// making the key in <dataDir>/keys/ on first start.
func mirrorKey(dataDir, name string) (note.Signer, string, error) {
	dir := filepath.Join(dataDir, "keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("creating %s: %w", dir, err)
	}
	path := filepath.Join(dir, mirrorKeyFile)
	if _, _, err := keys.Note(path, name); err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	signer, err := fnote.NewSignerForCosignatureV1(string(bytes.TrimSpace(data)))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	k, err := keys.ParseNote(data)
	if err != nil {
		return nil, "", err
	}
	vkey, err := fnote.VKeyToCosignatureV1(k.VerifierKey)
	if err != nil {
		return nil, "", err
	}
	return signer, vkey, nil
}

// mirrorTokenSource returns the hub token: --token-file (read each time), --token, $GOVHUB_TOKEN.
func mirrorTokenSource(token, file string) func() (string, error) {
	return func() (string, error) {
		if file != "" {
			data, err := os.ReadFile(file)
			if err != nil {
				return "", fmt.Errorf("--token-file: %w", err)
			}
			return strings.TrimSpace(string(data)), nil
		}
		if t := strings.TrimSpace(token); t != "" {
			return t, nil
		}
		return strings.TrimSpace(os.Getenv(tokenEnv)), nil
	}
}

// bundleAccess decides who reads the mirror's entry bundles: everyone (--public-bundles), the
// hub's auditor tokens (--issuer-key), the tokens listed in --reader-tokens.
func bundleAccess(public bool, issuerKeyFile, audience, readerTokensFile string) (func(*http.Request) error, error) {
	if public {
		return nil, nil
	}
	var verifier *auth.Verifier
	if issuerKeyFile != "" {
		pub, err := readIssuerKey(issuerKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--issuer-key: %w", err)
		}
		if verifier, err = auth.NewVerifier(pub, tokenIssuer, auth.WithAudience(audience)); err != nil {
			return nil, fmt.Errorf("--issuer-key: %w", err)
		}
	}
	var allowed [][32]byte // SHA-256 of each listed token, compared in constant time
	if readerTokensFile != "" {
		data, err := os.ReadFile(readerTokensFile)
		if err != nil {
			return nil, fmt.Errorf("--reader-tokens: %w", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				allowed = append(allowed, sha256.Sum256([]byte(t)))
			}
		}
	}
	if verifier == nil && len(allowed) == 0 {
		return nil, errors.New("entry bundles would be served to nobody: give --issuer-key (the hub's auditors), --reader-tokens, or --public-bundles")
	}
	return func(r *http.Request) error {
		tok, err := auth.TokenFromRequest(r)
		if err != nil || tok == "" {
			return mirror.ErrNoToken
		}
		h := sha256.Sum256([]byte(tok))
		for _, a := range allowed {
			if subtle.ConstantTimeCompare(h[:], a[:]) == 1 {
				return nil
			}
		}
		if verifier != nil {
			p, err := verifier.Verify(tok)
			if err != nil {
				return fmt.Errorf("forbidden: %v", err)
			}
			if p.Kind != auth.KindAuditor {
				return errors.New("forbidden: entry bundles are for auditor tokens only")
			}
			return nil
		}
		return errors.New("forbidden: not a reader token of this mirror")
	}, nil
}

// readIssuerKey reads an Ed25519 public key: a PEM "PUBLIC KEY" file, or the raw 32 bytes in base64.
func readIssuerKey(v string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(v)
	if err != nil {
		raw, berr := base64.StdEncoding.DecodeString(v)
		if berr != nil || len(raw) != ed25519.PublicKeySize {
			return nil, err
		}
		return ed25519.PublicKey(raw), nil
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%s: not a PEM public key", v)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", v)
	}
	return pub, nil
}
