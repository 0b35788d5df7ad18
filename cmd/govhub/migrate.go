package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/govhub/govhub/store/embedded"
)

const migrateUsage = `usage: govhub migrate dates [--data-dir D] [--mongo-uri U] [--quiet]
       govhub migrate indexes [--data-dir D] [--quiet]
       govhub migrate pack [--data-dir D] [--mongo-uri U] [--quiet]`

const migrateIndexesHelp = `
On the embedded store, leaves every collection with one unique index on _id instead of two.
A store this version creates has one from the start; a store created by an earlier version kept
two on each collection that held documents when this version first started (FerretDB's own,
which its lookups do not use, and the one they use), and every document inserted updates both
(docs/BENCHMARKS.md: "One _id index instead of two"). The hub rebuilds those of collections under
1,000 documents at each start and names the others in its log. Rebuilding those takes about 5 s a
million documents (10 s for the 100,000-citizen demo), too long for the hub's start, so it is this
command.

Stop the hub first: it takes the data directory as the hub does. Each collection's change is one
SQLite transaction, so an interruption leaves every collection with its two indexes or its one,
and running it again finishes the rest; on a store with one index a collection it does nothing.
It prints each collection it changed, its documents and the time the rebuild took.

flags:`

const migratePackHelp = `
Packs every citizen's document that a version before store format 4 wrote: their head and records
then go from about fifty fields of the document to one binary field, which the embedded store
reads about a third faster (docs/OPERATIONS.md: "Citizens' documents packed"). The hub reads both
forms and packs a document at its next write, so this is only for the speed of the others.

Each document is one write, with the compare-and-swap every write of it makes: on the embedded
store stop the hub first (one process per data directory); with --mongo-uri it may run beside
serving instances of this version. It is resumable and idempotent: run again, it packs what is
left (nothing on a packed store). It prints how many documents it packed and the time it took.

flags:`

const migrateDatesHelp = `
Re-commits every sensitive date still committed as a hash (commitment scheme
pedersen-bls12381-g1/v1, how hubs committed dates before) as its day number (scheme
pedersen-bls12381-g1/v2), so that age predicates such as "adult" can be proven about it
(docs/DATES.md). The dates themselves do not change.

Each record migrated is one ordinary update entry on the ledger, written before the record:
actor <owning department>/migrate-dates, the dataset's administration purpose, and a "set" line
with the new commitment of each date. It is resumable (run it again after an interruption: it
finishes the rest) and idempotent (on a migrated store it writes nothing). Records that fail
their integrity checks are listed and left as they are (exit status 1).

It opens the hub's store and ledger as govhub serve does. On the embedded store, stop the hub
first (one process per data directory). With --mongo-uri it may run beside serving instances:
they keep serving and updating, and a record one of them updates meanwhile is retried.

flags:`

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, migrateUsage)
		return &exitError{2, errors.New("migrate needs a subcommand: dates, indexes or pack")}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, migrateUsage)
		return nil
	case "dates":
		return cmdMigrateDates(ctx, args[1:], stdout, stderr)
	case "indexes":
		return cmdMigrateIndexes(ctx, args[1:], stdout, stderr)
	case "pack":
		return cmdMigratePack(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, migrateUsage)
	return &exitError{2, fmt.Errorf("unknown migrate subcommand %q", args[0])}
}

// migrateFlags parses the flags every migrate subcommand takes: the common ones and --quiet.
func migrateFlags(name, help string, args []string, stderr io.Writer) (c commonFlags, quiet bool, err error) {
	fs := flag.NewFlagSet("migrate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), migrateUsage)
		fmt.Fprintln(fs.Output(), help)
		fs.PrintDefaults()
	}
	c.register(fs)
	fs.BoolVar(&quiet, "quiet", false, "print no progress line (none is printed when standard error is not a terminal)")
	return c, quiet, parse(fs, args)
}

func cmdMigrateIndexes(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, quiet, err := migrateFlags("indexes", migrateIndexesHelp, args, stderr)
	if err != nil {
		return err
	}
	if c.mongoURI != "" {
		return &exitError{2, errors.New("migrate indexes changes the embedded store only: on MongoDB each collection has its one _id index")}
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	return migrateIndexes(ctx, cfg, stdout, newProgress(stderr, quiet))
}

// migrateIndexes runs embedded.Server.MergeIDIndexes on the embedded store of cfg's data directory
// and prints what it did.
func migrateIndexes(ctx context.Context, cfg config, stdout io.Writer, prog *progress) error {
	if _, err := os.Stat(cfg.path("db")); err != nil {
		return fmt.Errorf("no embedded store in %s: %w", cfg.DataDir, err)
	}
	srv, err := embedded.Start(ctx, embedded.Config{Dir: cfg.path("db"), Logger: slog.New(embedded.ErrorsOnly(cfg.Logger.Handler()))})
	if err != nil {
		return err
	}
	defer srv.Shutdown(context.WithoutCancel(ctx))
	start := time.Now()
	report := prog.stage("one _id index:", "documents")
	done, err := srv.MergeIDIndexes(ctx, cfg.MongoDB, func(d, total int64, next embedded.IDIndexMerge) { report(uint64(d), uint64(total)) })
	prog.clear()
	merged := 0
	for _, m := range done {
		if m.Merged {
			merged++
			fmt.Fprintf(stdout, "%s: %d documents, one _id index (rebuilt in %s)\n", m.Collection, m.Documents, m.Took.Round(time.Millisecond))
		}
	}
	if err != nil {
		return fmt.Errorf("%w (run it again to finish: the collections before it are done)", err)
	}
	fmt.Fprintf(stdout, "indexes: %d collections, %d of them changed to one _id index, in %s\n", len(done), merged, time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdMigrateDates(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, quiet, err := migrateFlags("dates", migrateDatesHelp, args, stderr)
	if err != nil {
		return err
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close(context.WithoutCancel(ctx))
	return migrateDates(ctx, a, stdout, newProgress(stderr, quiet))
}

// migrateDates runs the date migration on an open hub and prints its outcome.
func migrateDates(ctx context.Context, a *app, stdout io.Writer, prog *progress) error {
	start := time.Now()
	report := prog.stage("migrating dates:", "records")
	rep, err := a.updater.MigrateDates(ctx, a.storage.store, func(done, pending int) { report(uint64(done), uint64(pending)) })
	prog.clear()
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "FAIL: %s\n", p)
	}
	fmt.Fprintf(stdout, "dates: %d records hold a sensitive date; %d were committed as hashes, %d re-committed as day numbers (one update entry each) in %s\n",
		rep.Records, rep.Pending, rep.Migrated, time.Since(start).Round(time.Millisecond))
	if err != nil {
		if len(rep.Problems) > 0 {
			return &exitError{1, err}
		}
		return fmt.Errorf("migrating dates (run it again to resume): %w", err)
	}
	return nil
}

func cmdMigratePack(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, quiet, err := migrateFlags("pack", migratePackHelp, args, stderr)
	if err != nil {
		return err
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	if cfg.MongoURI == "" {
		if _, err := os.Stat(cfg.path("db")); err != nil {
			return fmt.Errorf("no embedded store in %s: %w", cfg.DataDir, err)
		}
	}
	st, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.close(context.WithoutCancel(ctx))
	prog := newProgress(stderr, quiet)
	start := time.Now()
	report := prog.stage("packing citizens' documents:", "documents")
	n, err := st.store.PackCitizens(ctx, func(done, total int) { report(uint64(done), uint64(total)) })
	prog.clear()
	if err != nil {
		return fmt.Errorf("%w (run it again to finish: %d packed so far)", err, n)
	}
	fmt.Fprintf(stdout, "pack: %d citizens' documents packed in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
