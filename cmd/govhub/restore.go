package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/auth"
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
	// What the store holds already (from a backup, or nothing): integrated first, as a hub would.
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
		bestURL string
	)
	for _, url := range from {
		report := prog.stage("reading "+url+":", "entries")
		cp, es, err := mirror.Copy(ctx, url, mirror.CopyConfig{Log: k.Verifier, Witnesses: ws, Quorum: q, Trusted: trusted,
			Token: func() (string, error) { return tok, nil }, Progress: report})
		prog.clear()
		if err != nil {
			fmt.Fprintf(stdout, "  %s: refused: %v\n", url, err)
			continue
		}
		fmt.Fprintf(stdout, "  %s: %d entries, verified\n", url, cp.Size)
		if cp.Size > best.Size || entries == nil {
			best, entries, bestURL = cp, es, url
		}
	}
	if entries == nil {
		return errors.New("no mirror gave a copy that verifies and extends the store's ledger")
	}
	if best.Size == trusted.Size {
		fmt.Fprintf(stdout, "the longest copy (%s) adds nothing: the store's ledger is complete\n", bestURL)
	} else {
		const chunk = 256
		for first := trusted.Size; first < best.Size; first += chunk {
			end := min(first+chunk, best.Size)
			if err := st.ledgerStore.AddBatch(ctx, ledger.Batch{First: first, Leaves: entries[first:end]}); err != nil {
				return fmt.Errorf("storing entries %d to %d: %w", first, end, err)
			}
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
