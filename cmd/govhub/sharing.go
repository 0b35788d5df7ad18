package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/mongostore"
)

// warnSharedFerretDB logs a warning when the database reached with --mongo-uri is a FerretDB and
// another hub instance is using it: several hubs need atomic {_id, version} compare-and-swap writes
// across processes, which FerretDB does not give (see mongostore.ServedByFerretDB and
// docs/OPERATIONS.md). It must run before this hub opens its ledger: an unexpired ledger lease is
// then another instance's (or this hub's previous run's, if it stopped less than a lease ago). It
// only warns: a failure to tell is logged too, and never stops the hub.
func warnSharedFerretDB(ctx context.Context, cfg config, st *storage) {
	if cfg.MongoURI == "" {
		return // the embedded store: this process's alone
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ferret, err := mongostore.ServedByFerretDB(ctx, st.client.Database(cfg.MongoDB))
	if err != nil {
		cfg.Logger.WarnContext(ctx, "cannot tell which database server --mongo-uri names", slog.Any("err", err))
		return
	}
	if !ferret {
		return
	}
	_, holder, expires, err := st.ledgerStore.LatestLease(ctx)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return
	case err != nil:
		cfg.Logger.WarnContext(ctx, "cannot tell whether another hub shares this FerretDB", slog.Any("err", err))
	case time.Now().Before(expires):
		cfg.Logger.WarnContext(ctx, "another hub instance shares this FerretDB: FerretDB's compare-and-swap writes are not atomic, "+
			"so hubs sharing it can lose updates; run one hub per FerretDB, or share a MongoDB replica set (docs/OPERATIONS.md)",
			slog.String("lease_holder", holder), slog.Time("lease_expires", expires))
	}
}
