package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/govhub/govhub/store/mongostore"
)

// moveRecords moves the records of a store written before citizens' documents held them into those
// documents, in the background (mongostore.Store.MoveRecords): the hub serves meanwhile, reading
// the citizens not moved yet as before. It logs its progress, and a failure, which the next start
// resumes from.
func moveRecords(ctx context.Context, st *mongostore.Store, logger *slog.Logger) {
	start := time.Now()
	n, err := st.MoveRecords(ctx, func(done, total int) {
		logger.InfoContext(ctx, "moving records into citizens' documents", slog.Int("citizens", done), slog.Int("of", total))
	})
	switch {
	case err != nil && ctx.Err() == nil:
		logger.WarnContext(ctx, "moving records into citizens' documents stopped; the next start resumes it", slog.Int("citizens", n), slog.String("error", err.Error()))
	case err == nil && n > 0:
		logger.InfoContext(ctx, "moved records into citizens' documents", slog.Int("citizens", n), slog.Duration("took", time.Since(start)))
	}
}

// warmCitizenIndex loads the embedded store's index of citizen ids (mongostore's citizenindex.go)
// in the background at start-up, so that the first list page need not wait for its scan of every
// citizen (2 to 3 s at 100,000 citizens under load, during which every list page waited). A
// failure is logged; the first list page then loads it again.
func warmCitizenIndex(ctx context.Context, st *mongostore.Store, logger *slog.Logger) {
	start := time.Now()
	if _, err := st.ListCitizens(ctx, "", 1, nil); err != nil {
		if ctx.Err() == nil {
			logger.WarnContext(ctx, "loading the citizen ids for list pages; the first list page tries again", slog.String("error", err.Error()))
		}
		return
	}
	logger.DebugContext(ctx, "loaded the citizen ids for list pages", slog.Duration("took", time.Since(start)))
}
