package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

const migrateUsage = `usage: govhub migrate dates [--data-dir D] [--mongo-uri U] [--quiet]`

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
		return &exitError{2, errors.New("migrate needs a subcommand: dates")}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, migrateUsage)
		return nil
	case "dates":
		return cmdMigrateDates(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, migrateUsage)
	return &exitError{2, fmt.Errorf("unknown migrate subcommand %q", args[0])}
}

func cmdMigrateDates(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate dates", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), migrateUsage)
		fmt.Fprintln(fs.Output(), migrateDatesHelp)
		fs.PrintDefaults()
	}
	var c commonFlags
	c.register(fs)
	quiet := fs.Bool("quiet", false, "print no progress line (none is printed when standard error is not a terminal)")
	if err := parse(fs, args); err != nil {
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
	return migrateDates(ctx, a, stdout, newProgress(stderr, *quiet))
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
