package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
)

// erasureRetryInterval is how often a hub retries erasures it could not finish at start-up.
const erasureRetryInterval = 30 * time.Second

// openErasure builds lawful erasure (hub.Erasure, governance.Erasures) and finishes every approved
// erasure a crash interrupted, before serving; one that cannot be finished now (its receipt waits
// for a checkpoint, say) is retried in the background. The citizen's certificates are revoked
// and unlinked (hub.ErasedCertificates).
func (a *app) openErasure(ctx, life context.Context, engine *policy.Engine) error {
	st := a.storage.store
	sealed, err := hub.NewSealedEraser(st, a.keys.master)
	if err != nil {
		return err
	}
	er, err := hub.NewErasure(hub.ErasureConfig{Requests: st, Tombstones: st, Shred: st, Questions: st, Certificates: hub.ErasedCertificates(a.certificates), Sealed: sealed,
		Ledger: a.ledger(), Leaves: a.log.Reader(), Published: a.log, Proofs: a.log.Reader(), LogSigner: a.logSigner,
		IndexKeys: a.keys.indexRing, Integrity: a.integrity, Reader: a.reader})
	if err != nil {
		return err
	}
	a.erasure = er
	a.erasures, err = governance.NewErasures(governance.ErasuresConfig{Store: st, Citizens: st, Ledger: a.ledger(), Policy: engine,
		Officials: a.officials, Apply: func(ctx context.Context, id string) (uint64, error) {
			r, err := a.erasure.Apply(ctx, id)
			return r.Index, err
		}})
	if err != nil {
		return err
	}
	n, err := er.Resume(ctx)
	if n > 0 {
		a.cfg.Logger.InfoContext(ctx, "finished interrupted erasures", slog.Int("erasures", n))
	}
	if err != nil {
		a.cfg.Logger.ErrorContext(ctx, "an approved erasure is not finished yet; retrying in the background", slog.String("error", err.Error()))
		go a.resumeErasures(life)
	}
	return nil
}

// resumeErasures retries unfinished erasures until none is left or life ends.
func (a *app) resumeErasures(life context.Context) {
	t := time.NewTicker(erasureRetryInterval)
	defer t.Stop()
	for {
		select {
		case <-life.Done():
			return
		case <-t.C:
		}
		if _, err := a.erasure.Resume(life); err == nil {
			return
		} else if life.Err() == nil {
			a.cfg.Logger.ErrorContext(life, "an approved erasure is still not finished", slog.String("error", err.Error()))
		}
	}
}

const checkErasureUsage = "usage: govhub ledger check-erasure FILE --log-key K [--log-keys FILE] [--citizen ID] [--witness-key K …] [--quorum N]"

// cmdCheckErasure verifies an erasure receipt offline (hub.CheckErasureReceipt).
func cmdCheckErasure(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger check-erasure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), checkErasureUsage)
		fmt.Fprintln(fs.Output(), "\nFILE is an erasure receipt, as the hub gives an erased citizen (GraphQL myErasureReceipt): signed by\nthe log's key, it carries the erasure entry's tlog-proof and the salt of the citizen's commitment.\n\nflags:")
		fs.PrintDefaults()
	}
	var tf trustFlags
	tf.register(fs)
	citizen := fs.String("citizen", "", "the citizen id the erasure must be about (checked against the entry's commitment)")
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 || tf.logKey == "" {
		return &exitError{2, errors.New(checkErasureUsage)}
	}
	lv, ws, err := tf.trust()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	r, e, cp, err := hub.CheckErasureReceipt(data, lv, ws, tf.quorum, *citizen)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL: %v\n", err)
		return &exitError{1, err}
	}
	about := "its citizen (give --citizen to check whose)"
	if *citizen != "" {
		about = *citizen
	}
	fmt.Fprintf(stdout, "OK: entry %d, an erasure of %s's data approved by %s/%s at %s, is in %s at tree size %d, cosigned by at least %d of %d trusted witnesses\ndestroyed: %s\n",
		r.Index, about, e.Department, e.Role, e.Time.UTC().Format(time.RFC3339), cp.Origin, cp.Size, tf.quorum, len(ws), strings.Join(r.Destroyed, ", "))
	// Stated on every receipt whether or not there were any (docs/ERASURE.md).
	if slices.Contains(r.Destroyed, hub.SealedDetailsDestroyed) {
		fmt.Fprintln(stdout, "sealed accesses: the details of any sealed access about the citizen (department, official, purpose, fields, court order), their salts and the oversight body's copies were destroyed; such an access is never unsealed")
	} else {
		fmt.Fprintln(stdout, "sealed accesses: not stated (a receipt from before sealed access details were erased)")
	}
	return nil
}

// replayErasures re-applies every erasure on the ledger to the restored store st (hub.ReplayErasures),
// with the keys of dataDir (the index key names the erased, the master key opens the sealed
// accesses): entries calls its argument with every ledger entry in order.
func replayErasures(ctx context.Context, st *storage, dataDir string, entries func(fn func(i uint64, raw []byte) error) error, stdout io.Writer) error {
	index, err := readIndexRing(dataDir)
	if err != nil {
		return err
	}
	if err := checkPseudonymKeyOf(ctx, st.store, index, filepath.Join(dataDir, "keys"), false); err != nil {
		return err
	}
	master, err := loadMasterRing(filepath.Join(dataDir, "keys"))
	if err != nil {
		return fmt.Errorf("reading the master key (it opens the sealed accesses, whose erased citizens' details are destroyed again): %w", err)
	}
	erased, err := hub.ErasuresOnLedger(entries)
	if err != nil {
		return fmt.Errorf("reading the ledger's erasures: %w", err)
	}
	s := st.store
	sealed, err := hub.NewSealedEraser(s, master)
	if err != nil {
		return err
	}
	n, err := hub.ReplayErasures(ctx, hub.ReplayConfig{Heads: s, Shred: s, Questions: s, Tombstones: s, Requests: s, Sealed: sealed, IndexKeys: index}, erased)
	if err != nil {
		return fmt.Errorf("replaying the ledger's erasures on the restored records: %w", err)
	}
	fmt.Fprintf(stdout, "erasures: %d on the ledger; %d citizens in the restored records were erased again; %d sealed accesses lost their details again\n",
		len(erased), n.Citizens, n.SealedAccesses)
	return nil
}

// replayErasuresOnStore is replayErasures for a store restored from a backup: the ledger is the
// store's own (integrated first, as a hub would).
func replayErasuresOnStore(ctx context.Context, cfg config, stdout io.Writer) error {
	k, err := logKey(cfg.DataDir)
	if err != nil {
		return err
	}
	st, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.close(context.WithoutCancel(ctx))
	lg, err := st.openLedger(ctx, k)
	if err != nil {
		return err
	}
	defer lg.Shutdown(context.WithoutCancel(ctx))
	if err := lg.WaitCaughtUp(ctx); err != nil {
		return err
	}
	return replayErasures(ctx, st, cfg.DataDir, func(fn func(uint64, []byte) error) error {
		return lg.Reader().EachEntry(ctx, func(i, _ uint64, raw []byte) error { return fn(i, raw) })
	}, stdout)
}

// readIndexKey reads the data directory's index key.
func readIndexKey(dataDir string) ([]byte, error) {
	return readHubKey(dataDir, "index.key", keys.ReadSymmetric)
}
