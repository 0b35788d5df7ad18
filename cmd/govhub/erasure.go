package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
)

// erasureRetryInterval is how often a hub retries erasures it could not finish at start-up.
const erasureRetryInterval = 30 * time.Second

// openErasure builds lawful erasure (hub.Erasure, governance.Erasures) and finishes every approved
// erasure a crash interrupted, before serving; one that cannot be finished now (its receipt waits
// for a checkpoint, say) is retried in the background. A certificate store does not exist yet, so
// certificates are hub.NoCertificates{}, which fails closed once one is configured without its
// revocation.
func (a *app) openErasure(ctx, life context.Context, engine *policy.Engine) error {
	st := a.storage.store
	er, err := hub.NewErasure(hub.ErasureConfig{Requests: st, Tombstones: st, Shred: st, Questions: st, Certificates: hub.NoCertificates{},
		Ledger: a.ledger(), Leaves: a.log.Reader(), Published: a.log, Proofs: a.log.Reader(), LogSigner: a.keys.log.Signer,
		IndexKey: a.keys.index, Integrity: a.integrity, Reader: a.reader})
	if err != nil {
		return err
	}
	a.erasure = er
	a.erasures, err = governance.NewErasures(governance.ErasuresConfig{Store: st, Citizens: st, Ledger: a.ledger(), Policy: engine,
		Officials: a.officials, Apply: func(ctx context.Context, id string) (uint64, error) {
			r, err := er.Apply(ctx, id)
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
