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
	"runtime/debug"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
)

func cmdToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", defaultDataDir, "data directory holding the issuer key")
	kind := fs.String("kind", "", "principal kind: department, officer, citizen, auditor or operator")
	dept := fs.String("department", "", "department code (department and officer kinds)")
	role := fs.String("role", "", "role within the department (department kind)")
	subject := fs.String("subject", "", "who: an official's id, an officer id, a citizen id, an auditor or operator id")
	ttl := fs.Duration("ttl", time.Hour, "lifetime (at most --max-token-ttl)")
	var tf tokenFlags
	tf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	var cfg config
	if err := tf.apply(&cfg); err != nil {
		return err
	}
	if *ttl > tf.maxTTL {
		return &exitError{2, fmt.Errorf("--ttl %v is longer than the maximum token lifetime %v (--max-token-ttl; the hub refuses longer tokens)", *ttl, tf.maxTTL)}
	}
	key, err := readHubKey(*dataDir, "issuer.key", keys.ReadEd25519)
	if err != nil {
		return err
	}
	iss, err := auth.NewIssuer(key, tokenIssuer, cfg.issuerOptions()...)
	if err != nil {
		return err
	}
	p := auth.Principal{Kind: auth.Kind(*kind), Department: *dept, Role: *role, Subject: *subject}
	if p.Kind == auth.KindOfficer && p.Department == "" {
		p.Department = "privacy-office"
	}
	if p.Subject == "" && (p.Kind == auth.KindDepartment || p.Kind == auth.KindOfficer) {
		p.Subject = p.Department + "-" + p.Role
	}
	tok, err := iss.Issue(p, *ttl)
	if err != nil {
		return &exitError{2, err}
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// requireDataDir reports an error naming dataDir unless it is an existing directory. Commands that
// use a hub's data directory without being the hub call it first, so a mistyped --data-dir creates
// nothing.
func requireDataDir(dataDir string) error {
	fi, err := os.Stat(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data directory %s does not exist: is --data-dir right? (a hub creates it on first start)", dataDir)
	}
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dataDir)
	}
	return nil
}

// readHubKey reads the key file name of a hub's data directory with read (one of keys.Read…),
// never creating it.
func readHubKey[K any](dataDir, name string, read func(path string) (K, error)) (K, error) {
	var zero K
	if err := requireDataDir(dataDir); err != nil {
		return zero, err
	}
	path := config{DataDir: dataDir}.path("keys", name)
	k, err := read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return zero, fmt.Errorf("no key file %s: is %s a hub's data directory?", path, dataDir)
	}
	return k, err
}

// logKey reads the ledger keys of a data directory, which must exist: the first (the trust
// anchor) and those it was rotated to (logkeys.go).
func logKey(dataDir string) (logKeys, error) {
	first, err := readHubKey(dataDir, "log.key", keys.ReadNote)
	if err != nil {
		return logKeys{}, err
	}
	return readLogKeys(filepath.Join(dataDir, "keys"), first)
}

func cmdLedgerPubkey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger pubkey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", defaultDataDir, "data directory")
	if err := parse(fs, args); err != nil {
		return err
	}
	k, err := logKey(*dataDir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, k.VerifierKey)
	return nil
}

func cmdLedgerVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	records := fs.Bool("records", true, "also check every record against the update entry that wrote it")
	quiet := fs.Bool("quiet", false, "print no progress line (none is printed when standard error is not a terminal)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	k, err := logKey(cfg.DataDir)
	if err != nil {
		return err
	}
	st, err := openReader(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.closeReader(context.WithoutCancel(ctx))
	// Both passes allocate a lot (the embedded server decodes every document it reads) and keep
	// little: a heap target of 5× the live heap instead of 2× spends about 30 % less CPU on the
	// garbage collector. GOGC, when set, wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	prog := newProgress(stderr, *quiet)
	defer prog.clear()
	start := time.Now()
	rep, err := ledger.Verify(ctx, st.ledgerStore, k.Verifier, ledger.WithKeys(k.history), ledger.WithProgress(prog.stage("entries pass:", "entries")))
	prog.clear()
	var ce *ledger.CorruptionError
	if errors.As(err, &ce) {
		fmt.Fprintf(stdout, "FAIL: ledger entry %d: %s\n", ce.Index, ce.Reason)
		return &exitError{1, fmt.Errorf("the ledger does not verify: first bad entry is %d", ce.Index)}
	}
	if err != nil {
		return fmt.Errorf("verifying the ledger: %w", err)
	}
	fmt.Fprintf(stdout, "OK: %d entries, %d checkpoints verified; tree size %d, root %s (%s)\n",
		rep.Entries, rep.Checkpoints, rep.TreeSize, rep.Root, time.Since(start).Round(time.Millisecond))
	if !*records {
		return nil
	}
	// Every record must match the update entry that wrote it.
	start = time.Now()
	rd := ledger.NewReaderKeys(st.ledgerStore, k.history)
	var opts []hub.AuditOption
	if st.shared {
		// Beside a running hub: read the ledger as it stands (no second ledger is opened); the
		// records it writes meanwhile are past the stored checkpoint, and counted, not checked.
		opts = append(opts, hub.WithNewerSkipped())
	} else {
		// The store is ours while we run: fold in the batches a stopped hub left unintegrated.
		lg, err := st.openLedger(ctx, k)
		if err != nil {
			return err
		}
		defer lg.Shutdown(context.WithoutCancel(ctx))
		if err := lg.WaitCaughtUp(ctx); err != nil {
			return err
		}
		rd = lg.Reader()
	}
	index, err := readIndexRing(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := checkPseudonymKeyOf(ctx, st.store, index, cfg.path("keys"), false); err != nil {
		return err
	}
	var (
		stage  = hub.AuditStage(-1)
		report func(done, total uint64)
	)
	opts = append(opts, hub.WithAuditProgress(func(s hub.AuditStage, done, total uint64) {
		if s != stage {
			label, unit := "records pass:", "records"
			if s == hub.AuditReadingEntries {
				label, unit = "records pass, reading update entries:", "entries"
			}
			stage, report = s, prog.stage(label, unit)
		}
		report(done, total)
	}))
	opts = append(opts, hub.WithIndexKeys(index))
	arep, err := hub.AuditRecords(ctx, rd, st.store, index.Current(), opts...)
	prog.clear()
	if err != nil {
		return fmt.Errorf("auditing records: %w", err)
	}
	for i, p := range arep.Problems {
		if i == 20 {
			fmt.Fprintf(stdout, "… and %d more\n", len(arep.Problems)-20)
			break
		}
		fmt.Fprintf(stdout, "FAIL: %s\n", p)
	}
	if len(arep.Problems) > 0 {
		return &exitError{1, fmt.Errorf("%d of %d records do not match the ledger", len(arep.Problems), arep.Records)}
	}
	fmt.Fprintf(stdout, "OK: %d records match the update entries that wrote them (%s)\n", arep.Records, time.Since(start).Round(time.Millisecond))
	if arep.Erased > 0 {
		fmt.Fprintf(stdout, "erased: %d citizens were erased lawfully (erasure entries on the ledger); none of their records is stored\n", arep.Erased)
	}
	if arep.Newer > 0 {
		fmt.Fprintf(stdout, "(%d records written after the checkpoint read were not checked: run again to cover them)\n", arep.Newer)
	}
	return nil
}

func cmdKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "key name, e.g. witness.tax.example")
	out := fs.String("out", "", "file to write the private key to (mode 0600; must not exist)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: govhub keygen --name N --out F\n\nWrites a witness's Ed25519 note signing key to F and prints its verifier key as a C2SP\ncosignature/v1 vkey (signature type 0x04), for --witness URL=KEY and check-receipt --witness-key.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *out == "" {
		return &exitError{2, errors.New("keygen needs --name and --out")}
	}
	priv, err := keys.NewNoteKey(*name)
	if err != nil {
		return err
	}
	k, err := keys.ParseNote(priv)
	if err != nil {
		return err
	}
	// A witness signs C2SP cosignature/v1 lines, whose key ID is computed over the signature type
	// 0x04: publish the key in that encoding, so a strict signed-note verifier matches the lines.
	vkey, err := fnote.VKeyToCosignatureV1(k.VerifierKey)
	if err != nil {
		return err
	}
	if err := keys.Write(*out, priv); err != nil {
		return err
	}
	fmt.Fprintln(stdout, vkey)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func cmdLedgerReceipt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger receipt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	index := fs.Int64("index", -1, "ledger index of the entry")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *index < 0 {
		return &exitError{2, errors.New("ledger receipt needs --index N")}
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	k, err := logKey(cfg.DataDir)
	if err != nil {
		return err
	}
	st, err := openReader(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.closeReader(context.WithoutCancel(ctx))
	rd := ledger.NewReaderKeys(st.ledgerStore, k.history)
	cp, err := rd.Checkpoint(ctx)
	if err != nil {
		return err
	}
	p, err := hub.ReceiptOf(ctx, storedHead(cp), rd, uint64(*index))
	if err != nil {
		return err
	}
	_, err = stdout.Write(p.Marshal())
	return err
}

// storedHead is a hub.Publisher whose latest checkpoint is the one stored with the tree state.
type storedHead ledger.Checkpoint

func (h storedHead) Latest() ledger.Checkpoint { return ledger.Checkpoint(h) }

const checkReceiptUsage = "usage: govhub ledger check-receipt FILE --log-key K [--log-keys FILE] [--witness-key K …] [--quorum N]"

func cmdCheckReceipt(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger check-receipt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), checkReceiptUsage)
		fmt.Fprintln(fs.Output(), "\nFILE is a receipt (C2SP tlog-proof) as printed by 'govhub ledger receipt' or the portal.\n\nflags:")
		fs.PrintDefaults()
	}
	var tf trustFlags
	tf.register(fs)
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 || tf.logKey == "" {
		return &exitError{2, errors.New(checkReceiptUsage)}
	}
	lv, ws, err := tf.trust()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	// fail prints the verdict on stdout, as the OK line is, and exits 1.
	fail := func(err error) error {
		fmt.Fprintf(stdout, "FAIL: %v\n", err)
		return &exitError{1, err}
	}
	p, err := ledger.ParseProof(data)
	if err != nil {
		return fail(err)
	}
	if len(p.Extra) == 0 {
		return fail(errors.New("the receipt carries no entry (extra line): nothing to check it against"))
	}
	e, err := ledger.ParseEntry(p.Extra)
	if err != nil {
		return fail(fmt.Errorf("the receipt's entry: %w", err))
	}
	cp, err := lv.CheckProof(p, ledger.LeafHash(p.Extra), ws, tf.quorum)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "OK: entry %d (%s by %s/%s, %s) is in %s at tree size %d, cosigned by at least %d of %d trusted witnesses\n",
		p.Index, e.Kind, e.Department, e.Role, e.Time.UTC().Format(time.RFC3339), cp.Origin, cp.Size, tf.quorum, len(ws))
	return nil
}

// trustFlags are the flags of the offline checkers (check-receipt, check-erasure,
// verify-certificate): the log key and the witnesses they trust.
type trustFlags struct {
	logKey      string
	logKeys     string
	witnessKeys stringList
	quorum      int
}

func (t *trustFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.logKey, "log-key", "", "the ledger's first verifier key (govhub ledger pubkey)")
	fs.StringVar(&t.logKeys, "log-keys", "", "the ledger's key history, a file saved from the hub's GET /log-keys, when its key was rotated (checked from --log-key and the witnesses)")
	fs.Var(&t.witnessKeys, "witness-key", "a trusted witness's verifier key, as govhub keygen prints it (cosignature type 0x04; the older Ed25519 type 0x01 is accepted) (repeat)")
	fs.IntVar(&t.quorum, "quorum", 0, "how many of the trusted witnesses must have cosigned")
}

// trust parses the flags (exit 2 on a bad key or quorum, 1 on a history that does not verify):
// what an offline check trusts, the log key's history (the one key of --log-key, or the history
// of --log-keys verified from it), the witnesses' cosignature keys and the quorum of them that
// must have cosigned (at most as many as there are keys).
func (t *trustFlags) trust() (ledger.Keys, []ledger.Witness, error) {
	if t.quorum > len(t.witnessKeys) {
		return ledger.Keys{}, nil, &exitError{2, fmt.Errorf("--quorum %d, but only %d witness keys", t.quorum, len(t.witnessKeys))}
	}
	lv, err := note.NewVerifier(t.logKey)
	if err != nil {
		return ledger.Keys{}, nil, &exitError{2, fmt.Errorf("--log-key: %w", err)}
	}
	ws := make([]ledger.Witness, 0, len(t.witnessKeys))
	for _, k := range t.witnessKeys {
		w, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			return ledger.Keys{}, nil, &exitError{2, fmt.Errorf("--witness-key %q: %w", k, err)}
		}
		ws = append(ws, w)
	}
	if t.logKeys == "" {
		return ledger.SingleKey(lv), ws, nil
	}
	doc, err := os.ReadFile(t.logKeys)
	if err != nil {
		return ledger.Keys{}, nil, &exitError{2, fmt.Errorf("--log-keys: %w", err)}
	}
	k, err := ledger.ParseKeys(doc, lv, ws, t.quorum)
	if err != nil {
		return ledger.Keys{}, nil, &exitError{1, fmt.Errorf("--log-keys %s: %w", t.logKeys, err)}
	}
	return k, ws, nil
}
