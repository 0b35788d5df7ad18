package bench_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

const (
	// checkpointInterval is how often both logs may publish a checkpoint: the ledger's default
	// integration interval, and the shortest interval Tessera's POSIX driver accepts.
	checkpointInterval = ledger.DefaultIntegrationInterval
	// tesseraMaxAge is how long Tessera lets a batch wait for more entries. With the batch size set
	// to the number of callers (see openTessera) a batch fills before that, except at the very end
	// of a run; the age only bounds that last, partial batch.
	tesseraMaxAge = 10 * time.Millisecond
	// settle bounds the wait, after the last append, for a checkpoint that covers every entry.
	settle = time.Minute
)

// concurrency is the number of callers in each sub-benchmark: one (the latency of a lone append)
// and 64 (throughput under load).
var concurrency = []int{1, 64}

// BenchmarkTesseraPOSIX runs the workload against Tessera's POSIX driver in a temporary directory,
// with a batch size equal to the number of callers, so that every flush carries one entry from
// each waiting caller and none waits for the batch timer: Tessera's best case for this closed
// loop. Checkpoints are published every 100 ms (the driver's minimum).
//
//	go test -run '^$' -bench TesseraPOSIX -benchtime 20000x
func BenchmarkTesseraPOSIX(b *testing.B) {
	for _, c := range concurrency {
		b.Run(fmt.Sprintf("C=%d", c), func(b *testing.B) {
			measure(b, openTessera(b, uint(c), tesseraMaxAge), c)
		})
	}
}

// BenchmarkTesseraPOSIXDefaultBatching is the C=64 workload against Tessera with its default
// batching (256 entries or 250 ms): for reference only. A batch of 64 waiting callers never
// reaches 256 entries, so every flush waits for the 250 ms timer (about 256 entries/s; at
// -benchtime 20000x this takes some 80 s). With one caller it would be 4 entries/s, so that
// case is left out.
func BenchmarkTesseraPOSIXDefaultBatching(b *testing.B) {
	b.Run("C=64", func(b *testing.B) {
		measure(b, openTessera(b, tessera.DefaultBatchMaxSize, tessera.DefaultBatchMaxAge), 64)
	})
}

// BenchmarkGovhubLedger runs the same workload against ledger.Log on the embedded store (FerretDB
// on SQLite, in a temporary directory on the same file system), with the ledger's defaults.
//
//	go test -run '^$' -bench GovhubLedger -benchtime 20000x
func BenchmarkGovhubLedger(b *testing.B) {
	for _, c := range concurrency {
		b.Run(fmt.Sprintf("C=%d", c), func(b *testing.B) {
			measure(b, openGovhub(b), c)
		})
	}
}

// measure runs b.N appends from c callers and reports the metrics described in the package doc.
func measure(b *testing.B, tgt target, c int) {
	size := entrySize(b)
	res, err := run(b.Context(), tgt, b.N, c, b.ResetTimer, b.StopTimer)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/res.elapsed.Seconds(), "entries/s")
	b.ReportMetric(millis(percentile(res.latency, 50)), "p50-ms")
	b.ReportMetric(millis(percentile(res.latency, 99)), "p99-ms")
	b.ReportMetric(millis(percentile(res.inclusion, 50)), "incl-p50-ms")
	b.ReportMetric(millis(percentile(res.inclusion, 99)), "incl-p99-ms")
	b.ReportMetric(float64(size), "B/entry")
}

// sampleEntry is a typical access entry, the same as sampleEntry in ledger/entry_test.go: one
// citizen, three fields, one of them denied.
func sampleEntry() ledger.Entry {
	return ledger.Entry{
		Kind:       ledger.KindAccess,
		Time:       time.Date(2026, 11, 21, 6, 30, 5, 120_000_000, time.UTC),
		Department: "housing",
		Role:       "clerk",
		Purpose:    "home-purchase-eligibility",
		Policy:     1,
		Request:    bytes.Repeat([]byte{0x0f}, 32),
		Outcome:    ledger.OutcomeAllowed,
		Subjects:   [][]byte{bytes.Repeat([]byte{0x5b}, 32)},
		Fields: []ledger.Field{
			{Name: "tax.annualIncome", Level: "commit"},
			{Name: "identity.name", Level: "reveal"},
			{Name: "health.bloodType", Level: "deny"},
		},
	}
}

// entry is the i'th entry of the workload: the sample entry with a request digest and a subject
// commitment derived from i, so that entries differ but all have the same size.
func entry(i int) ledger.Entry {
	e := sampleEntry()
	req := sha256.Sum256(fmt.Appendf(nil, "request %d", i))
	sub := sha256.Sum256(fmt.Appendf(nil, "subject %d", i))
	e.Request = req[:]
	e.Subjects = [][]byte{sub[:]}
	return e
}

// entrySize is the size in bytes of every entry of the workload.
func entrySize(tb testing.TB) int {
	tb.Helper()
	data, err := ledger.FormatEntry(entry(0))
	if err != nil {
		tb.Fatalf("FormatEntry(entry(0)) = %v", err)
	}
	return len(data)
}

func keys(tb testing.TB) (note.Signer, note.Verifier) {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "bench.govhub.example/log")
	if err != nil {
		tb.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	return s, v
}

// target is one log under test.
type target struct {
	// append logs the i'th entry of the workload and returns its index once the log acknowledges
	// it as durable.
	append func(ctx context.Context, i int) (uint64, error)
	// watch calls seen with each published checkpoint that is larger than the ones before,
	// verified under the log key, until one covers n entries.
	watch func(ctx context.Context, n uint64, seen func(ledger.Checkpoint)) error
}

// openTessera starts a Tessera POSIX log in a temporary directory; it is shut down (every
// acknowledged entry published) when the test ends.
func openTessera(tb testing.TB, batchSize uint, batchAge time.Duration) target {
	tb.Helper()
	// The lifetime context outlives tb.Context: Tessera's shutdown needs its publisher running.
	ctx, cancel := context.WithCancel(context.Background())
	s, v := keys(tb)
	driver, err := posix.New(ctx, posix.Config{Path: tb.TempDir()})
	if err != nil {
		cancel()
		tb.Fatalf("posix.New = %v", err)
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(s).
		WithBatching(batchSize, batchAge).
		WithCheckpointInterval(checkpointInterval)
	app, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		cancel()
		tb.Fatalf("tessera.NewAppender = %v", err)
	}
	tb.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), settle)
		defer scancel()
		if err := shutdown(sctx); err != nil {
			tb.Errorf("Tessera shutdown = %v", err)
		}
		cancel()
	})
	return target{
		append: func(ctx context.Context, i int) (uint64, error) {
			data, err := ledger.FormatEntry(entry(i))
			if err != nil {
				return 0, err
			}
			idx, err := app.Add(ctx, tessera.NewEntry(data))()
			return idx.Index, err
		},
		// Tessera publishes by writing the checkpoint file; poll it every millisecond, as its own
		// PublicationAwaiter does (at a period of the caller's choosing).
		watch: func(ctx context.Context, n uint64, seen func(ledger.Checkpoint)) error {
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			var last []byte
			var size uint64
			for {
				raw, err := reader.ReadCheckpoint(ctx)
				switch {
				case errors.Is(err, os.ErrNotExist):
				case err != nil:
					return fmt.Errorf("reading Tessera's checkpoint: %w", err)
				case !bytes.Equal(raw, last):
					last = raw
					cp, err := ledger.ParseCheckpoint(raw, v)
					if err != nil {
						return fmt.Errorf("Tessera's checkpoint: %w", err)
					}
					if cp.Size > size || size == 0 {
						size = cp.Size
						seen(cp)
					}
					if size >= n {
						return nil
					}
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("waiting for a Tessera checkpoint of size %d (last %d): %w", n, size, ctx.Err())
				case <-tick.C:
				}
			}
		},
	}
}

// openGovhub opens a ledger.Log with its defaults on a fresh embedded store; it is shut down when
// the test ends.
func openGovhub(tb testing.TB) target {
	tb.Helper()
	env := storetest.Embedded(tb)
	ctx, cancel := context.WithCancel(context.Background())
	s, v := keys(tb)
	l, err := ledger.New(ctx, ledger.Config{Storage: env.Store, Signer: s, Verifier: v})
	if err != nil {
		cancel()
		tb.Fatalf("ledger.New = %v", err)
	}
	tb.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), settle)
		defer scancel()
		if err := l.Shutdown(sctx); err != nil {
			tb.Errorf("ledger Shutdown = %v", err)
		}
		cancel()
	})
	return target{
		append: func(ctx context.Context, i int) (uint64, error) {
			r, err := l.Append(ctx, entry(i))
			return r.Index, err
		},
		watch: func(ctx context.Context, n uint64, seen func(ledger.Checkpoint)) error {
			var size uint64
			for size < n {
				cp, err := l.WaitCheckpoint(ctx, size+1)
				if err != nil {
					return err
				}
				size = cp.Size
				seen(cp)
			}
			return nil
		},
	}
}

// result is what one run measured.
type result struct {
	elapsed   time.Duration   // from the first append's call to the last acknowledgement
	latency   []time.Duration // by entry number i: call to acknowledgement
	inclusion []time.Duration // by index: call to the first published checkpoint covering it
	entryAt   []int           // by index: which entry number the log put there
	final     ledger.Checkpoint
}

// run appends entries 0…n-1 of the workload from c callers, each waiting for its acknowledgement
// before taking the next entry number, and watches the log's checkpoints meanwhile. It calls start
// just before the first append and stop just after the last acknowledgement (a benchmark's timer).
// The log must be empty: run checks that the indices given out are exactly 0…n-1.
func run(ctx context.Context, tgt target, n, c int, start, stop func()) (*result, error) {
	res := &result{
		latency:   make([]time.Duration, n),
		inclusion: make([]time.Duration, n),
		entryAt:   make([]int, n),
	}
	called := make([]time.Time, n) // by index
	taken := make([]bool, n)       // by index

	type sighting struct {
		at   time.Time
		size uint64
	}
	var sightings []sighting // read only after the watcher is done
	watchCtx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	watched := make(chan error, 1)
	go func() {
		watched <- tgt.watch(watchCtx, uint64(n), func(cp ledger.Checkpoint) {
			sightings = append(sightings, sighting{at: time.Now(), size: cp.Size})
			if cp.Size >= uint64(n) && res.final.Note == nil {
				res.final = cp
			}
		})
	}()

	var (
		next atomic.Int64
		mu   sync.Mutex // guards called, taken, entryAt
		wg   sync.WaitGroup
	)
	errs := make(chan error, c)
	began := time.Now()
	start()
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				idx, err := tgt.append(ctx, i)
				res.latency[i] = time.Since(t0)
				if err != nil {
					errs <- fmt.Errorf("appending entry %d: %w", i, err)
					return
				}
				if idx >= uint64(n) {
					errs <- fmt.Errorf("entry %d got index %d, beyond the %d appended to an empty log", i, idx, n)
					return
				}
				mu.Lock()
				dup := taken[idx]
				taken[idx], called[idx], res.entryAt[idx] = true, t0, i
				mu.Unlock()
				if dup {
					errs <- fmt.Errorf("index %d given twice (again to entry %d)", idx, i)
					return
				}
			}
		})
	}
	wg.Wait()
	stop()
	res.elapsed = time.Since(began)
	close(errs)
	var failed []error
	for err := range errs {
		failed = append(failed, err)
	}
	if err := errors.Join(failed...); err != nil {
		return nil, err
	}

	timer := time.AfterFunc(settle, cancelWatch)
	defer timer.Stop()
	if err := <-watched; err != nil {
		return nil, fmt.Errorf("watching checkpoints: %w", err)
	}
	for idx := range n {
		k := sort.Search(len(sightings), func(k int) bool { return sightings[k].size > uint64(idx) })
		if k == len(sightings) {
			return nil, fmt.Errorf("no checkpoint seen covers index %d", idx)
		}
		res.inclusion[idx] = sightings[k].at.Sub(called[idx])
	}
	return res, nil
}

// percentile is the nearest-rank p-th percentile of ds (which it does not change).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 · n)
	return s[max(rank, 1)-1]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
