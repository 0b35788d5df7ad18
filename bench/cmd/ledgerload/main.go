// Command ledgerload puts a GovHub ledger under load and reports what it sustains: ledger.Log on
// the embedded store (FerretDB on SQLite, synchronous(full), in a temporary directory), pushing
// every checkpoint to local witnesses over HTTP, as `govhub serve` runs it.
//
//	go run ./cmd/ledgerload                  # 20 s of saturation, 3 witnesses, quorum 2
//	go run ./cmd/ledgerload --witnesses 0    # checkpoints published as soon as they are signed
//
// It runs, in order:
//
//	warm-up      --callers callers append back to back for --warmup (not reported)
//	insert       one caller stores batch-shaped documents holding one entry straight into the
//	             database (no ledger), at --low-load-rate, as many as the low-load phase will
//	             append, up to 100: the cost of one store insert, for comparison
//	low load     one caller appends at --low-load-rate for --low-load-duration
//	saturation   --callers callers append back to back for --duration
//
// Every entry is a typical GovHub access entry (ledger.FormatEntry of a housing clerk's read of
// three fields of one citizen, 368 bytes; --entry-size pads it), each with its own subject
// commitment. An append counts once Log.Append returns: the batch document holding the entry is
// durable. ledger.ErrQueueFull is retried after a millisecond and counted, never dropped; any other
// append error fails the run. Between phases the command waits until a published checkpoint covers
// every acknowledged entry.
//
// For each phase it prints throughput, Append latency (call to acknowledgement, retries
// included) and the append → published checkpoint latency (call until Log.WaitCheckpoint reports a
// published checkpoint covering the entry's index; with witnesses, a checkpoint cosigned by a
// quorum), with the process's resident memory, the batches the sequencer wrote and the final tree.
// Then it checks the stored log with ledger.Verify, that every acknowledged index is below the
// final checkpoint's size and was given out once, and that the final checkpoint carries a quorum of
// cosignatures; it exits with status 1 if any check fails, and prints how the run compares with
// the targets.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/embedded"
	"github.com/govhub/govhub/store/mongostore"
)

// Timeouts of the command's own waits.
const (
	settleTimeout   = 2 * time.Minute // for a published checkpoint covering every acknowledged entry
	shutdownTimeout = time.Minute
	logOrigin       = "ledgerload.govhub.local/ledger"
	databaseName    = "govhub"
	baselineColl    = "ledgerload_insert_baseline"
	// maxBaselineInserts bounds the inserts timed for the baseline (as many as the low-load phase
	// appends, at the same rate, up to this many).
	maxBaselineInserts = 100
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var usage usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "ledgerload:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "ledgerload:", err)
		os.Exit(1)
	}
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ error }

// config is the command line.
type config struct {
	Duration            time.Duration
	Warmup              time.Duration
	Callers             int
	EntrySize           int
	Witnesses           int
	Quorum              int
	LowLoadRate         float64
	LowLoadDuration     time.Duration
	Dir                 string
	CPUProfile          string
	MaxBatch            int
	QueueSize           int
	IntegrationInterval time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("ledgerload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "length of the saturation phase")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "length of the warm-up at saturation, left out of the results (0: none)")
	fs.IntVar(&c.Callers, "callers", 256, "concurrent callers appending back to back under saturation")
	fs.IntVar(&c.EntrySize, "entry-size", 0, fmt.Sprintf("bytes per entry (0: a typical access entry, %d bytes)", typicalEntrySize()))
	fs.IntVar(&c.Witnesses, "witnesses", 3, "local witnesses the log pushes checkpoints to (0: none)")
	fs.IntVar(&c.Quorum, "quorum", 2, "cosignatures a checkpoint needs to be published (with witnesses)")
	fs.Float64Var(&c.LowLoadRate, "low-load-rate", 50, "appends a second in the low-load phase, from one caller")
	fs.DurationVar(&c.LowLoadDuration, "low-load-duration", 5*time.Second, "length of the low-load phase (0: none)")
	fs.StringVar(&c.Dir, "dir", "", "keep the database and witness state in this new directory (default: a temporary one, removed)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured phases to this file")
	fs.IntVar(&c.MaxBatch, "max-batch", ledger.DefaultMaxBatch, "ledger.WithMaxBatch")
	fs.IntVar(&c.QueueSize, "queue-size", ledger.DefaultQueueSize, "ledger.WithQueueSize")
	fs.DurationVar(&c.IntegrationInterval, "integration-interval", ledger.DefaultIntegrationInterval, "ledger.WithIntegrationInterval")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, usageError{err}
	}
	bad := func(format string, args ...any) (config, error) {
		return c, usageError{fmt.Errorf(format, args...)}
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected arguments %q", fs.Args())
	case c.Duration <= 0:
		return bad("--duration must be positive")
	case c.Warmup < 0 || c.LowLoadDuration < 0:
		return bad("--warmup and --low-load-duration cannot be negative")
	case c.Callers < 1:
		return bad("--callers must be at least 1")
	case c.LowLoadRate <= 0:
		return bad("--low-load-rate must be positive")
	case c.Witnesses < 0:
		return bad("--witnesses cannot be negative")
	case c.Witnesses > 0 && (c.Quorum < 1 || c.Quorum > c.Witnesses):
		return bad("--quorum %d: want 1 to --witnesses (%d)", c.Quorum, c.Witnesses)
	case c.MaxBatch < 1 || c.QueueSize < 1 || c.IntegrationInterval <= 0:
		return bad("--max-batch, --queue-size and --integration-interval must be positive")
	}
	return c, nil
}

// run parses args, runs the load and writes the report to stdout; diagnostics go to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	entries, err := newEntryMaker(cfg.EntrySize)
	if err != nil {
		return usageError{fmt.Errorf("--entry-size: %w", err)}
	}
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ledgerload-"); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	} else if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("--dir must name a new directory: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The store, as `govhub serve` opens it for the ledger.
	srv, err := embedded.Start(ctx, embedded.Config{
		Dir:    filepath.Join(dir, "db"),
		Logger: slog.New(embedded.ErrorsOnly(logger.Handler())).With(slog.String("component", "ferretdb")),
	})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		err = errors.Join(err, srv.Shutdown(sctx))
	}()
	client, err := mongo.Connect(options.Client().ApplyURI(srv.URI()).SetTimeout(30 * time.Second))
	if err != nil {
		return fmt.Errorf("connecting to the embedded store: %w", err)
	}
	defer func() { err = errors.Join(err, client.Disconnect(context.WithoutCancel(ctx))) }()
	db := client.Database(databaseName)
	store, err := mongostore.New(ctx, db, mongostore.WithEmbedded(srv))
	if err != nil {
		return err
	}

	skey, vkey, err := note.GenerateKey(rand.Reader, logOrigin)
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return err
	}
	opts := []ledger.Option{
		ledger.WithLogger(logger),
		ledger.WithMaxBatch(cfg.MaxBatch),
		ledger.WithQueueSize(cfg.QueueSize),
		ledger.WithIntegrationInterval(cfg.IntegrationInterval),
	}
	var ws *witnesses
	if cfg.Witnesses > 0 {
		if ws, err = startWitnesses(cfg.Witnesses, verifier, dir, logger); err != nil {
			return fmt.Errorf("starting witnesses: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
			defer cancel()
			err = errors.Join(err, ws.close(sctx))
		}()
		opts = append(opts, ledger.WithWitnesses(ws.clients, cfg.Quorum))
	}
	life, stopLog := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLog()
	l, err := ledger.New(life, ledger.Config{Storage: store, Signer: signer, Verifier: verifier}, opts...)
	if err != nil {
		return err
	}
	logOpen := true
	defer func() {
		if logOpen {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
			defer cancel()
			err = errors.Join(err, l.Shutdown(sctx))
		}
	}()

	fmt.Fprintf(stdout, "command: %s\n", commandLine("ledgerload", args))
	where := dir
	if cfg.Dir == "" {
		where += " (removed at exit)"
	}
	fmt.Fprintf(stdout, "%s %s/%s, %d CPUs (GOMAXPROCS %d); embedded FerretDB in %s\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), where)
	wdesc := "no witnesses: checkpoints are published as soon as they are signed"
	if ws != nil {
		wdesc = fmt.Sprintf("%d local witnesses over loopback HTTP, quorum %d", cfg.Witnesses, cfg.Quorum)
	}
	fmt.Fprintf(stdout, "entries of %d bytes; max batch %d, queue %d, integration interval %v; %s\n\n",
		entries.size, cfg.MaxBatch, cfg.QueueSize, cfg.IntegrationInterval, wdesc)

	stopProfile, err := startProfile(cfg.CPUProfile)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopProfile()) }()

	w := newWatcher()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		w.run(watchCtx, l)
	}()
	defer func() {
		stopWatch()
		<-watched
	}()
	ld := &loader{log: l, entries: entries, watch: w}
	settle := func(ps ...*phase) (ledger.Checkpoint, error) {
		sctx, cancel := context.WithTimeout(ctx, settleTimeout)
		defer cancel()
		cp, err := ld.settle(sctx, ps...)
		if err != nil {
			return cp, fmt.Errorf("waiting for a published checkpoint covering every acknowledged entry: %w", err)
		}
		return cp, nil
	}

	var phases []*phase
	if cfg.Warmup > 0 {
		p := ld.saturate(ctx, "warm-up", cfg.Callers, cfg.Warmup)
		phases = append(phases, p)
		if err := errors.Join(p.failed...); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if _, err := settle(phases...); err != nil {
			return err
		}
	}
	// The baseline collection gets the same indexes as the ledger's.
	if err := db.CreateCollection(ctx, baselineColl); err != nil {
		return err
	}
	if err := srv.IndexIDs(ctx, databaseName); err != nil {
		return err
	}
	inserts := min(maxBaselineInserts, max(1, int(cfg.LowLoadRate*cfg.LowLoadDuration.Seconds())))
	baseline, err := insertBaseline(ctx, db.Collection(baselineColl), entries, cfg.LowLoadRate, inserts)
	if err != nil {
		return err
	}
	var low *phase
	if cfg.LowLoadDuration > 0 {
		low = ld.pace(ctx, "low load", cfg.LowLoadRate, cfg.LowLoadDuration)
		phases = append(phases, low)
		if err := errors.Join(low.failed...); err != nil {
			return fmt.Errorf("low load: %w", err)
		}
		if _, err := settle(phases...); err != nil {
			return err
		}
	}
	sat := ld.saturate(ctx, "saturation", cfg.Callers, cfg.Duration)
	phases = append(phases, sat)
	mem := readMemory()
	if err := errors.Join(sat.failed...); err != nil {
		return fmt.Errorf("saturation: %w", err)
	}
	final, err := settle(phases...)
	if err != nil {
		return err
	}
	backlog := time.Since(sat.began.Add(sat.elapsed))
	if err := stopProfile(); err != nil {
		return err
	}

	// The results.
	rows := []row{{name: "insert", callers: fmt.Sprintf("1 @ %g/s", cfg.LowLoadRate), entries: len(baseline.latencies),
		elapsed: baseline.elapsed, append: summarize(baseline.latencies)}}
	published := map[*phase]dist{}
	for _, p := range phases {
		lat := make([]time.Duration, len(p.calls))
		for i, c := range p.calls {
			lat[i] = c.latency
		}
		pub, err := w.published(p.calls)
		if err != nil {
			return err
		}
		d := summarize(pub)
		published[p] = d
		if p.name == "warm-up" {
			continue
		}
		rows = append(rows, row{name: p.name, callers: p.callers, entries: len(p.calls), elapsed: p.elapsed,
			retries: p.retries, append: summarize(lat), published: &d})
	}
	if err := writeTable(stdout, rows); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "(latencies in ms; append = Log.Append call to acknowledgement; published = call until a published checkpoint covers the entry; insert = one InsertOne of a one-entry batch document, no ledger)")
	fmt.Fprintf(stdout, "saturation: entries acknowledged in each second %v; %d checkpoints published during it; "+
		"a published checkpoint covered every entry %.2f s after its last acknowledgement\n",
		sat.perSecond(), w.publishedBetween(sat.began, sat.began.Add(sat.elapsed)), backlog.Seconds())

	// The checks.
	stopWatch()
	<-watched
	logOpen = false
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := l.Shutdown(sctx); err != nil {
		return err
	}
	batches, err := countBatches(ctx, store)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nbatches written: %d, %.1f entries each on average; resident memory at the end of saturation %s (peak %s)\n",
		batches.n, float64(batches.entries)/float64(max(batches.n, 1)), mib(mem.rss), mib(mem.peak))
	var problems []error
	acked := 0
	given := make(map[uint64]bool)
	for _, p := range phases {
		for _, c := range p.calls {
			acked++
			if given[c.index] {
				problems = append(problems, fmt.Errorf("index %d acknowledged twice", c.index))
			}
			given[c.index] = true
			if c.index >= final.Size {
				problems = append(problems, fmt.Errorf("acknowledged index %d is not below the final published checkpoint's size %d", c.index, final.Size))
			}
		}
	}
	if uint64(acked) != batches.entries {
		problems = append(problems, fmt.Errorf("%d appends acknowledged, %d entries stored", acked, batches.entries))
	}
	fmt.Fprintf(stdout, "final published checkpoint: size %d; %d acknowledged appends, every index below it and given once: %v\n",
		final.Size, acked, len(problems) == 0)
	if ws != nil {
		err := ledger.CheckCosignatures(final.Note, verifier, ws.verifiers, cfg.Quorum)
		fmt.Fprintf(stdout, "final checkpoint cosigned by a quorum (%d of %d witnesses): %v\n", cfg.Quorum, cfg.Witnesses, err == nil)
		if err != nil {
			problems = append(problems, err)
		}
	}
	t0 := time.Now()
	rep, err := ledger.Verify(ctx, store, verifier)
	if err == nil && rep.TreeSize < final.Size {
		err = fmt.Errorf("ledger.Verify checked a tree of %d entries, the final published checkpoint has %d", rep.TreeSize, final.Size)
	}
	if err != nil {
		problems = append(problems, fmt.Errorf("ledger.Verify: %w", err))
		fmt.Fprintf(stdout, "ledger.Verify: FAILED: %v\n", err)
	} else {
		fmt.Fprintf(stdout, "ledger.Verify: %d entries, %d checkpoints recomputed, root %v: consistent (%.1f s)\n",
			rep.Entries, rep.Checkpoints, rep.Root, time.Since(t0).Seconds())
	}

	// The targets.
	fmt.Fprintln(stdout, "\ntargets:")
	rate := float64(len(sat.calls)) / sat.elapsed.Seconds()
	fmt.Fprintf(stdout, "  sustained throughput >= %d entries/s: %.0f, %s\n", targetThroughput, rate,
		verdict(rate >= targetThroughput, rate, targetThroughput))
	if low != nil {
		var lat []time.Duration
		for _, c := range low.calls {
			lat = append(lat, c.latency)
		}
		got, ins := percentile(lat, 50), percentile(baseline.latencies, 50)
		fmt.Fprintf(stdout, "  low-load Append p50 <= %d x one store insert (p50 %s ms): %s ms, %.2f x, %s\n",
			targetLowLoadRatio, ms(ins), ms(got), float64(got)/float64(ins),
			verdict(got <= targetLowLoadRatio*ins, float64(got), float64(targetLowLoadRatio*ins)))
	}
	for _, p := range []*phase{low, sat} {
		if p == nil {
			continue
		}
		d := published[p]
		fmt.Fprintf(stdout, "  append -> published checkpoint p99 <= %v (%s): %s ms, %s\n", targetPublishedP99, p.name,
			ms(d.p99), verdict(d.p99 <= targetPublishedP99, float64(d.p99), float64(targetPublishedP99)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("the log failed its checks: %w", errors.Join(problems...))
	}
	return nil
}

// baseline is the cost of the store's write alone.
type baseline struct {
	latencies []time.Duration
	elapsed   time.Duration
}

// insertBaseline inserts n documents shaped like a batch of one entry into c, one at a time at
// rate a second, timing each, then drops c.
func insertBaseline(ctx context.Context, c *mongo.Collection, entries *entryMaker, rate float64, n int) (baseline, error) {
	var b baseline
	interval := time.Duration(float64(time.Second) / rate)
	began := time.Now()
	for i := range n {
		if wait := time.Until(began.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return b, ctx.Err()
			}
		}
		data, err := ledger.FormatEntry(entries.entry(uint64(i), time.Now()))
		if err != nil {
			return b, err
		}
		doc := bson.D{{Key: "_id", Value: fmt.Sprintf("%020d", i)}, {Key: "first", Value: int64(i)}, {Key: "leaves", Value: bson.A{data}}}
		t0 := time.Now()
		if _, err := c.InsertOne(ctx, doc); err != nil {
			return b, fmt.Errorf("baseline insert: %w", err)
		}
		b.latencies = append(b.latencies, time.Since(t0))
	}
	b.elapsed = time.Since(began)
	return b, c.Drop(ctx)
}

// batchCount is what the sequencer stored.
type batchCount struct{ n, entries uint64 }

// countBatches walks the stored batches from index 0.
func countBatches(ctx context.Context, s ledger.BatchStorage) (batchCount, error) {
	var c batchCount
	for {
		b, err := s.ReadBatch(ctx, c.entries)
		if errors.Is(err, ledger.ErrNotFound) {
			return c, nil
		}
		if err != nil {
			return c, fmt.Errorf("reading batch %d: %w", c.entries, err)
		}
		if b.First != c.entries || len(b.Leaves) == 0 {
			return c, fmt.Errorf("batch stored under %d starts at %d with %d entries", c.entries, b.First, len(b.Leaves))
		}
		c.n++
		c.entries = b.End()
	}
}

// startProfile starts a CPU profile into the named file (none if name is empty). The function it
// returns stops it; calling it again does nothing.
func startProfile(name string) (stop func() error, err error) {
	if name == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	var once sync.Once
	return func() error {
		once.Do(func() {
			pprof.StopCPUProfile()
			err = f.Close()
		})
		return err
	}, nil
}
