package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/mirror"
	"github.com/govhub/govhub/store"
)

// govhub ledger restore: the ledger rebuilt from the department mirrors (after `keys restore` and,
// if there is one, `backup restore`). The longest mirror copy that verifies (log signature, witness
// quorum, every entry against the checkpoint's root) and extends the ledger the store already holds
// is appended after it; the hub integrates it at its next start. Then every update on the ledger
// that the store's records do not reflect (made after the backup) is listed, by citizen, dataset
// and fields, so that the owning departments know what to enter again: those records are refused as
// rolled back (ARCHITECTURE §1.8) until they are.
//
// A log whose key was rotated is restored the same way: the mirrors serve the log key history
// (GET …/log-keys), which is taken only if it verifies from the trusted first key (--log-key, by
// default the data directory's keys/log.key) with the witnesses' quorum; the copy is verified
// under it, and it is written to keys/log.history.json (mode 0600) for the restored hub, which
// must also hold the newest key file (keys/log-N.key, from a key split made after the key was
// prepared or rotated); the ledger is then verified under the history.

func cmdLedgerRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	var from, witnessKeys stringList
	fs.Var(&from, "from", "a mirror's tlog-tiles URL, http://HOST/<sha256 of the origin> as the mirror printed it (repeat: the longest copy that verifies is taken)")
	fs.Var(&witnessKeys, "witness-key", "a witness's verifier key; the mirror's checkpoint must carry --quorum of their cosignatures (repeat)")
	quorum := fs.Int("quorum", 0, "how many of the --witness-key witnesses must have cosigned (default: all given)")
	token := fs.String("token", "", "bearer token for the mirrors' entry bundles (default: an auditor token minted with the data directory's restored issuer key)")
	quiet := fs.Bool("quiet", false, "print no progress line")
	firstKey := fs.String("log-key", "", "the log's first verifier key, trusted; later keys are taken from the mirrors' log key history only if it verifies from this one (default: the data directory's keys/log.key)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(from) == 0 {
		return &exitError{2, errors.New("ledger restore needs --from MIRROR_URL (repeat)")}
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	k, err := logKey(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("%w (restore the keys first: govhub keys restore)", err)
	}
	first := k.Verifier
	if *firstKey != "" {
		if first, err = note.NewVerifier(*firstKey); err != nil {
			return &exitError{2, fmt.Errorf("--log-key: %w", err)}
		}
		if first.Name() != k.Verifier.Name() || first.KeyHash() != k.Verifier.KeyHash() {
			return fmt.Errorf("--log-key is %s+%08x, but the data directory's keys/log.key is %s+%08x: restore the keys of this log first",
				first.Name(), first.KeyHash(), k.Verifier.Name(), k.Verifier.KeyHash())
		}
	}
	var ws []note.Verifier
	for _, wk := range witnessKeys {
		v, err := fnote.NewVerifierForCosignatureV1(wk)
		if err != nil {
			return &exitError{2, fmt.Errorf("--witness-key: %w", err)}
		}
		ws = append(ws, v)
	}
	q := *quorum
	if q == 0 {
		q = len(ws)
	}
	tok := *token
	if tok == "" {
		if tok, err = mintToken(cfg.DataDir, auth.Principal{Kind: auth.KindAuditor, Subject: "ledger-restore"})(cfg.TokenAudience); err != nil {
			return err
		}
	}
	if err := refuseHeldDataDir(cfg); err != nil {
		return err
	}
	st, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.close(context.WithoutCancel(ctx))
	// What the store holds already (from a backup, or nothing): integrated first, as a hub would,
	// under the data directory's log key history if it has one (logkeys.go).
	held := k.history
	lg, err := st.openLedger(ctx, k)
	if err != nil {
		return err
	}
	if err := lg.WaitCaughtUp(ctx); err != nil {
		lg.Shutdown(context.WithoutCancel(ctx))
		return err
	}
	trusted := lg.Integrated()
	if err := lg.Shutdown(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the store holds %d entries; reading the mirrors\n", trusted.Size)

	prog := newProgress(stderr, *quiet)
	var (
		best    ledger.Checkpoint
		entries [][]byte
		hist    ledger.Keys
		bestURL string
	)
	for _, url := range from {
		report := prog.stage("reading "+url+":", "entries")
		snap, err := mirror.Copy(ctx, url, mirror.CopyConfig{Log: first, Witnesses: ws, Quorum: q, Trusted: trusted,
			Token: func() (string, error) { return tok, nil }, Progress: report})
		prog.clear()
		if err == nil && !extendsHistory(snap.Keys, held) && !extendsHistory(held, snap.Keys) {
			err = fmt.Errorf("its log key history (%d keys) and the data directory's (%d keys) differ", len(snap.Keys.Eras()), len(held.Eras()))
		}
		if err != nil {
			fmt.Fprintf(stdout, "  %s: refused: %v\n", url, err)
			continue
		}
		cp := snap.Checkpoint
		fmt.Fprintf(stdout, "  %s: %d entries, verified under %d log keys\n", url, cp.Size, len(snap.Keys.Eras()))
		if cp.Size > best.Size || entries == nil {
			best, entries, hist, bestURL = cp, snap.Entries, snap.Keys, url
		}
	}
	if entries == nil {
		return errors.New("no mirror gave a copy that verifies and extends the store's ledger")
	}
	if len(held.Eras()) > len(hist.Eras()) { // a copy from before the last rotation the keys know of
		hist = held
	}
	if n := len(hist.Eras()); n > len(held.Eras()) {
		// The hub signs with the newest key (keys/log-N.key), which only the key split carries.
		if _, err := keys.ReadNote(cfg.path("keys", logKeyFile(n))); err != nil {
			return fmt.Errorf("the log key was rotated to %s, whose key file the data directory lacks (restore the keys of a split made after the key was prepared or rotated: govhub keys restore): %w",
				hist.Current().Name(), err)
		}
		path := cfg.path("keys", logHistoryFile)
		if err := keys.Replace(path, hist.Document()); err != nil {
			return fmt.Errorf("writing the log key history: %w", err)
		}
		fmt.Fprintf(stdout, "the log key was rotated: wrote its history (%d keys, newest %s from entry %d) to %s\n",
			n, hist.Current().Name(), hist.Eras()[n-1].Start, path)
		if _, err := logKey(cfg.DataDir); err != nil { // the history and its newest key file agree
			return err
		}
	}
	if best.Size == trusted.Size {
		fmt.Fprintf(stdout, "the longest copy (%s) adds nothing: the store's ledger is complete\n", bestURL)
	} else {
		const chunk = 256
		for lo := trusted.Size; lo < best.Size; {
			end := min(lo+chunk, best.Size)
			if end < best.Size && eraStarts(hist)[end] {
				// An integration round stops at a batch ending where a log key's era starts, to
				// sign the previous key's final checkpoint, which the restored hub cannot: the
				// mirrors gave it already (the history). So no batch ends there.
				end++
			}
			if err := st.ledgerStore.AddBatch(ctx, ledger.Batch{First: lo, Leaves: entries[lo:end]}); err != nil {
				return fmt.Errorf("storing entries %d to %d: %w", lo, end, err)
			}
			lo = end
		}
		fmt.Fprintf(stdout, "appended entries %d to %d from %s; the hub integrates them at its next start\n", trusted.Size, best.Size-1, bestURL)
	}
	if err := reportMissedUpdates(ctx, st.store, entries, trusted.Size, stdout); err != nil {
		return err
	}
	// An erased citizen never comes back from an older backup: every erasure on the restored
	// ledger is applied again.
	if err := replayErasures(ctx, st, cfg.DataDir, func(fn func(uint64, []byte) error) error {
		for i, raw := range entries {
			if err := fn(uint64(i), raw); err != nil {
				return err
			}
		}
		return nil
	}, stdout); err != nil {
		return err
	}
	st.close(context.WithoutCancel(ctx))
	fmt.Fprintln(stdout, "verifying the ledger and every record:")
	return verifyRestored(ctx, cfg, true, stdout, stderr)
}

// logKeyFileRE matches the rotated log key files (logKeyFile(n), n ≥ 2) that a key split carries
// and `keys restore` restores, beside log.history.json.
var logKeyFileRE = regexp.MustCompile(`^log-([2-9]|[1-9][0-9]+)\.key$`)

// eraStarts are the indexes where a log key after the first starts.
func eraStarts(k ledger.Keys) map[uint64]bool {
	out := map[uint64]bool{}
	for _, e := range k.Eras()[1:] {
		out[e.Start] = true
	}
	return out
}

// reportMissedUpdates lists the allowed updates among entries[from:] (appended from the mirrors:
// made after the store's copy), each attributed to its citizen by following the chain of record
// heads (an update's base names the citizen's previous head; integrity.go).
func reportMissedUpdates(ctx context.Context, st interface {
	EachRecordHead(ctx context.Context, fn func(store.Head) error) error
}, entries [][]byte, from uint64, stdout io.Writer) error {
	owner := map[uint64]string{} // head index → citizen
	if err := st.EachRecordHead(ctx, func(h store.Head) error { owner[h.Head] = h.Citizen; return nil }); err != nil {
		return err
	}
	type missed struct {
		citizen, dataset string
		index            uint64
		fields           []string
	}
	var out []missed
	unknown := 0
	for i := from; i < uint64(len(entries)); i++ {
		e, err := ledger.ParseEntry(entries[i])
		if err != nil || e.Kind != ledger.KindUpdate || e.Outcome != ledger.OutcomeAllowed || e.Dataset == "" {
			continue
		}
		who, ok := owner[e.Base]
		if !ok || e.Base == 0 {
			unknown++
			continue
		}
		owner[i] = who
		var fields []string
		for _, f := range e.Fields {
			fields = append(fields, f.Name)
		}
		out = append(out, missed{who, e.Dataset, i, fields})
	}
	if len(out) == 0 && unknown == 0 {
		fmt.Fprintln(stdout, "no update on the ledger is missing from the store's records")
		return nil
	}
	sort.Slice(out, func(a, b int) bool { return out[a].index < out[b].index })
	fmt.Fprintf(stdout, "%d updates on the ledger are not in the store's records (made after its backup); their departments must enter them again, and until then these citizens' records are refused:\n", len(out))
	for _, m := range out {
		fmt.Fprintf(stdout, "  %s %s at entry %d: %s\n", m.citizen, m.dataset, m.index, strings.Join(m.fields, ", "))
	}
	if unknown > 0 {
		fmt.Fprintf(stdout, "%d more updates concern citizens the store does not know (registered after its backup); the entries do not name them\n", unknown)
	}
	return nil
}

// extendsHistory reports whether k begins with every key of held, at the same starts.
func extendsHistory(k, held ledger.Keys) bool {
	ke, he := k.Eras(), held.Eras()
	if len(ke) < len(he) {
		return false
	}
	for i, e := range he {
		if ke[i].Verifier.Name() != e.Verifier.Name() || ke[i].Verifier.KeyHash() != e.Verifier.KeyHash() || ke[i].Start != e.Start {
			return false
		}
	}
	return true
}
