package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govhub/govhub/ledger"
)

// retryDelay is how long a caller waits after ErrQueueFull before it tries the same entry again.
const retryDelay = time.Millisecond

// appender is what the load drives: ledger.Log's Append and WaitCheckpoint.
type appender interface {
	Append(ctx context.Context, e ledger.Entry) (ledger.Receipt, error)
	WaitCheckpoint(ctx context.Context, size uint64) (ledger.Checkpoint, error)
}

// call is one acknowledged append.
type call struct {
	start   time.Time     // when Append was first called for the entry
	latency time.Duration // from start to the acknowledgement, retries included
	index   uint64
}

// phase is what one phase of the load measured.
type phase struct {
	name    string
	callers string // how the load was driven, e.g. "256" or "1 @ 50/s"
	began   time.Time
	elapsed time.Duration // from the first call to the last acknowledgement
	calls   []call
	retries int64   // ErrQueueFull answers, each followed by a retry of the same entry
	failed  []error // appends that failed otherwise: the run is invalid
}

// loader drives one log, numbering entries across phases.
type loader struct {
	log     appender
	entries *entryMaker
	next    atomic.Uint64 // number of the next entry to make
	watch   *watcher
}

// saturate runs callers goroutines that append back to back until d has passed.
func (ld *loader) saturate(ctx context.Context, name string, callers int, d time.Duration) *phase {
	p := &phase{name: name, callers: fmt.Sprint(callers)}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		retries atomic.Int64
	)
	began := time.Now()
	p.began = began
	deadline := began.Add(d)
	for range callers {
		wg.Go(func() {
			var calls []call
			var failed []error
			for time.Now().Before(deadline) && ctx.Err() == nil {
				c, n, err := ld.append(ctx)
				retries.Add(n)
				if err != nil {
					failed = append(failed, err)
					break
				}
				calls = append(calls, c)
			}
			mu.Lock()
			p.calls = append(p.calls, calls...)
			p.failed = append(p.failed, failed...)
			mu.Unlock()
		})
	}
	wg.Wait()
	p.elapsed = time.Since(began)
	p.retries = retries.Load()
	return p
}

// pace appends from one caller at rate entries a second for d (each append starts at its
// scheduled time, or at once if the one before ended late).
func (ld *loader) pace(ctx context.Context, name string, rate float64, d time.Duration) *phase {
	p := &phase{name: name, callers: fmt.Sprintf("1 @ %g/s", rate)}
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	began := time.Now()
	p.began = began
	for i := range n {
		if wait := time.Until(began.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			p.failed = append(p.failed, ctx.Err())
			break
		}
		c, retries, err := ld.append(ctx)
		p.retries += retries
		if err != nil {
			p.failed = append(p.failed, err)
			break
		}
		p.calls = append(p.calls, c)
	}
	p.elapsed = time.Since(began)
	return p
}

// append appends the next entry, retrying it after ErrQueueFull, and returns the acknowledged call
// and the number of retries.
func (ld *loader) append(ctx context.Context) (call, int64, error) {
	i := ld.next.Add(1) - 1
	start := time.Now()
	e := ld.entries.entry(i, start)
	var retries int64
	for {
		r, err := ld.log.Append(ctx, e)
		if errors.Is(err, ledger.ErrQueueFull) {
			retries++
			select {
			case <-time.After(retryDelay):
				continue
			case <-ctx.Done():
				return call{}, retries, fmt.Errorf("entry %d: %w (after %d retries on a full queue)", i, ctx.Err(), retries)
			}
		}
		if err != nil {
			return call{}, retries, fmt.Errorf("entry %d: %w", i, err)
		}
		return call{start: start, latency: time.Since(start), index: r.Index}, retries, nil
	}
}

// settle waits until a published checkpoint covers every entry acknowledged so far, and until the
// watcher has seen it.
func (ld *loader) settle(ctx context.Context, phases ...*phase) (ledger.Checkpoint, error) {
	var size uint64
	for _, p := range phases {
		for _, c := range p.calls {
			size = max(size, c.index+1)
		}
	}
	cp, err := ld.log.WaitCheckpoint(ctx, size)
	if err != nil {
		return cp, err
	}
	return cp, ld.watch.waitSeen(ctx, size)
}

// sighting is the moment the watcher learnt of a published checkpoint.
type sighting struct {
	at   time.Time
	size uint64
}

// watcher records every published checkpoint as soon as Log.WaitCheckpoint reports it.
type watcher struct {
	mu      sync.Mutex
	seen    []sighting // increasing sizes
	changed chan struct{}
	err     error
}

func newWatcher() *watcher { return &watcher{changed: make(chan struct{})} }

// run watches l until ctx ends.
func (w *watcher) run(ctx context.Context, l appender) {
	var size uint64
	for {
		cp, err := l.WaitCheckpoint(ctx, size+1)
		now := time.Now()
		w.mu.Lock()
		if err != nil {
			if ctx.Err() == nil {
				w.err = err
			}
			close(w.changed)
			w.mu.Unlock()
			return
		}
		size = cp.Size
		w.seen = append(w.seen, sighting{at: now, size: size})
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}
}

// waitSeen waits until the watcher has seen a checkpoint of at least size entries.
func (w *watcher) waitSeen(ctx context.Context, size uint64) error {
	for {
		w.mu.Lock()
		ch, err := w.changed, w.err
		ok := len(w.seen) > 0 && w.seen[len(w.seen)-1].size >= size
		w.mu.Unlock()
		if ok || size == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("watching checkpoints: %w", err)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting to see a checkpoint of size %d: %w", size, ctx.Err())
		}
	}
}

// published returns, for each call, the time from its start until the watcher saw a published
// checkpoint covering its index.
func (w *watcher) published(calls []call) ([]time.Duration, error) {
	w.mu.Lock()
	seen := slices.Clone(w.seen)
	w.mu.Unlock()
	out := make([]time.Duration, len(calls))
	for i, c := range calls {
		k := sort.Search(len(seen), func(k int) bool { return seen[k].size > c.index })
		if k == len(seen) {
			return nil, fmt.Errorf("no published checkpoint seen covers index %d", c.index)
		}
		out[i] = seen[k].at.Sub(c.start)
	}
	return out, nil
}

// perSecond counts the acknowledgements in each second of the phase.
func (p *phase) perSecond() []int {
	var out []int
	for _, c := range p.calls {
		s := int(c.start.Add(c.latency).Sub(p.began) / time.Second)
		for len(out) <= s {
			out = append(out, 0)
		}
		out[s]++
	}
	return out
}

// publishedBetween counts the published checkpoints the watcher saw from t0 to t1.
func (w *watcher) publishedBetween(t0, t1 time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, s := range w.seen {
		if !s.at.Before(t0) && !s.at.After(t1) {
			n++
		}
	}
	return n
}
