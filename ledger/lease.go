package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Several hub instances may share one database. One of them at a time sequences and integrates:
// the holder of the lease. The lease is a chain of documents, one per term, each created with an
// insert (a duplicate key is the only compare-and-swap every MongoDB-compatible store makes safe):
//
//	lease/<term, 20 digits>  {holder, expires}
//
// The holder inserts the next term well before its own expires (renewal); another instance inserts
// the next term only once the latest has expired (takeover). A holder stops sequencing a margin
// before its lease expires, so two instances never sequence at once as long as clocks agree to
// within that margin; and should they, the unique batch _id still keeps every index written once.
//
// An instance that does not hold the lease forwards its appends through a queue collection: the
// holder sequences queued entries with its own, and the forwarder learns its index by finding its
// entry's leaf hash in the batches written after it queued it. Each queued entry lands once: the
// holder drops those it finds already stored (a predecessor sequenced them), an instance that loses
// the lease never forwards a queued entry again, and a holder whose write collides with a
// predecessor's late one (same _id) answers the queued entries it finds there instead of writing
// them twice.

// Defaults for several instances.
const (
	DefaultLeaseTTL     = 5 * time.Second
	DefaultForwardLimit = 30 * time.Second
)

// Lease errors.
var (
	// ErrNotLeader: the call needs the lease.
	ErrNotLeader = errors.New("ledger: this instance does not hold the lease")
)

// LeaseStorage holds the lease chain.
type LeaseStorage interface {
	// AddLease stores term; ErrDuplicate if it exists.
	AddLease(ctx context.Context, term uint64, holder string, expires time.Time) error
	// LatestLease returns the stored term with the highest number, its holder and expiry, or
	// ErrNotFound when no term is stored.
	LatestLease(ctx context.Context) (term uint64, holder string, expires time.Time, err error)
	// DeleteLease removes an old term (housekeeping; the latest terms are kept).
	DeleteLease(ctx context.Context, term uint64) error
}

// Queued is an entry another instance forwarded to the lease holder.
type Queued struct {
	ID    string
	Leaf  []byte
	After uint64 // a batch boundary the entry was queued after
}

// QueueStorage holds entries forwarded to the lease holder.
type QueueStorage interface {
	Enqueue(ctx context.Context, q Queued) error
	// Queued returns up to limit queued entries, oldest first.
	Queued(ctx context.Context, limit int) ([]Queued, error)
	Dequeue(ctx context.Context, id string) error
}

// WithLeaseTTL sets how long a lease lasts without renewal (takeover happens after that).
func WithLeaseTTL(d time.Duration) Option { return func(l *Log) { l.leaseTTL = d } }

// WithInstance names this instance in the lease (default: random).
func WithInstance(name string) Option { return func(l *Log) { l.instance = name } }

func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Leading reports whether this instance holds a lease it may act on now.
func (l *Log) Leading() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading && time.Now().Before(l.leaseUntil.Add(-l.leaseTTL/5))
}

// leaseLoop keeps or takes the lease until ctx ends; on Shutdown the holder hands it over.
func (l *Log) leaseLoop(ctx context.Context) {
	defer close(l.leaseDone)
	tick := time.NewTicker(l.leaseTTL / 5)
	defer tick.Stop()
	for {
		l.leaseOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-l.stopLease:
			l.release(context.WithoutCancel(ctx))
			return
		case <-tick.C:
		}
	}
}

// latestTerm returns the newest stored term (0 and no holder when none was ever taken). It asks
// storage for the highest term rather than walking the chain from the last one known: old terms
// are deleted, so an instance starting from term 0 would find a gap, take a deleted term and
// lead alongside the real holder.
func (l *Log) latestTerm(ctx context.Context) (term uint64, holder string, expires time.Time, err error) {
	term, holder, expires, err = l.leaseStore.LatestLease(ctx)
	if errors.Is(err, ErrNotFound) {
		return 0, "", time.Time{}, nil
	}
	return term, holder, expires, err
}

func (l *Log) leaseOnce(ctx context.Context) {
	term, holder, expires, err := l.latestTerm(ctx)
	if err != nil {
		l.logger.WarnContext(ctx, "reading the lease", slog.String("error", err.Error()))
		return
	}
	l.term = term
	now := time.Now()
	mine := holder == l.instance && now.Before(expires)
	if !mine && now.Before(expires) {
		l.setLeading(false, time.Time{})
		return // someone else holds it
	}
	// Renew ours, or take an expired (or never taken) one.
	until := now.Add(l.leaseTTL)
	err = l.leaseStore.AddLease(ctx, term+1, l.instance, until)
	if errors.Is(err, ErrDuplicate) {
		l.setLeading(false, time.Time{}) // another instance got there first
		return
	}
	if err != nil {
		l.logger.WarnContext(ctx, "renewing the lease", slog.String("error", err.Error()))
		if !mine {
			l.setLeading(false, time.Time{})
		}
		return
	}
	l.term = term + 1
	if term > 8 {
		_ = l.leaseStore.DeleteLease(ctx, term-8)
	}
	if !mine {
		l.logger.InfoContext(ctx, "took the ledger lease", slog.String("instance", l.instance), slog.Uint64("term", l.term))
	}
	l.setLeading(true, until)
}

func (l *Log) setLeading(on bool, until time.Time) {
	l.mu.Lock()
	was := l.leading
	l.leading, l.leaseUntil = on, until
	l.mu.Unlock()
	if on != was {
		l.kickIntegrator()
	}
}

// release hands the lease over at shutdown: a term that has already expired lets another instance
// take over at once.
func (l *Log) release(ctx context.Context) {
	if !l.Leading() {
		return
	}
	l.setLeading(false, time.Time{})
	if err := l.leaseStore.AddLease(ctx, l.term+1, "", time.Now()); err == nil {
		l.term++
	}
}

// forwards are the appends this instance forwarded to the lease holder and waits on. Every
// waiter polls, but only one at a time scans the batches written since the last scan and wakes
// those whose entry it finds: the database sees one scan a poll interval however many appends wait.
type forwards struct {
	scan sync.Mutex // held by the waiter scanning
	mu   sync.Mutex // guards the fields below
	pos  uint64     // a batch boundary: the scans have read every batch before it
	wait map[tlog.Hash][]chan uint64
	link uint64 // the index of the latest link entry the scans met (a log key rotation, rotate.go)
}

// forward hands an entry to the lease holder through the queue and waits until it is sequenced.
func (l *Log) forward(ctx context.Context, data []byte) (uint64, error) {
	f := &l.fwd
	after := l.Integrated().Size
	leaf := LeafHash(data)
	found := make(chan uint64, 1)
	// Register before queueing: the entry is in no batch read before this point.
	f.mu.Lock()
	if len(f.wait) == 0 {
		f.pos = max(f.pos, after) // nobody needs what lies before
	}
	f.wait[leaf] = append(f.wait[leaf], found)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.wait[leaf] = slices.DeleteFunc(f.wait[leaf], func(c chan uint64) bool { return c == found })
		if len(f.wait[leaf]) == 0 {
			delete(f.wait, leaf)
		}
	}()
	q := Queued{ID: randomName() + randomName(), Leaf: data, After: after}
	if err := l.queueStore.Enqueue(ctx, q); err != nil {
		return 0, fmt.Errorf("ledger: queueing for the lease holder: %w", err)
	}
	deadline := time.NewTimer(DefaultForwardLimit)
	defer deadline.Stop()
	for {
		if f.scan.TryLock() {
			err := l.scanForwards(ctx)
			f.scan.Unlock()
			if err != nil {
				return 0, err
			}
		}
		select {
		case index := <-found:
			return index, nil
		case <-deadline.C:
			return 0, fmt.Errorf("ledger: no lease holder sequenced the entry within %s", DefaultForwardLimit)
		case <-ctx.Done():
			return 0, fmt.Errorf("ledger: waiting for the lease holder: %w", ctx.Err())
		case <-time.After(3 * time.Millisecond):
		}
	}
}

// scanForwards reads the batches stored since the last scan and wakes the waiters whose entry
// they hold. The caller holds l.fwd.scan.
func (l *Log) scanForwards(ctx context.Context) error {
	f := &l.fwd
	for {
		f.mu.Lock()
		pos, idle := f.pos, len(f.wait) == 0
		f.mu.Unlock()
		if idle {
			return nil
		}
		b, err := l.batchStore.ReadBatch(ctx, pos)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ledger: reading batch %d: %w", pos, err)
		}
		if b.First != pos || len(b.Leaves) == 0 {
			return fmt.Errorf("ledger: batch stored under %d claims to start at %d with %d entries", pos, b.First, len(b.Leaves))
		}
		_, isLink := IsLink(b.Leaves[0]) // a link entry always begins its batch
		f.mu.Lock()
		if isLink {
			f.link = max(f.link, b.First)
		}
		if f.pos == pos { // not moved on by a new waiter meanwhile
			for k, data := range b.Leaves {
				h := LeafHash(data)
				for _, c := range f.wait[h] {
					c <- b.First + uint64(k)
				}
				delete(f.wait, h)
			}
			f.pos = b.End()
		}
		f.mu.Unlock()
	}
}

// pullQueue feeds forwarded entries to the sequencer while this instance holds the lease.
func (l *Log) pullQueue(ctx context.Context) {
	defer close(l.pullDone)
	var mu sync.Mutex
	// Submitted entries, kept for a minute after they were sequenced and dequeued: a queue read that
	// raced with the dequeue must not sequence them again.
	inflight := map[string]time.Time{}
	// Poll every 2 ms while entries arrive, backing off to 100 ms while the queue stays empty (a
	// lone instance, or followers with nothing to forward, then cost a query every 100 ms).
	wait := 2 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.stopInt:
			return
		case <-time.After(wait):
		}
		if !l.Leading() {
			continue
		}
		mu.Lock()
		for id, done := range inflight {
			if !done.IsZero() && time.Since(done) > time.Minute {
				delete(inflight, id)
			}
		}
		mu.Unlock()
		qs, err := l.queueStore.Queued(ctx, l.maxBatch)
		if err != nil {
			l.logger.WarnContext(ctx, "reading the append queue", slog.String("error", err.Error()))
			continue
		}
		if len(qs) == 0 {
			wait = min(2*wait, 100*time.Millisecond)
		} else {
			wait = 2 * time.Millisecond
		}
		// The entries this holder has not submitted yet may have been sequenced already: by a
		// previous holder, or by this one in an earlier term whose answer it lost. One scan of the
		// batches from the oldest of them on tells, for all of them at once.
		var todo []Queued
		from := uint64(math.MaxUint64)
		mu.Lock()
		for _, q := range qs {
			if _, busy := inflight[q.ID]; !busy {
				todo = append(todo, q)
				from = min(from, q.After)
			}
		}
		mu.Unlock()
		if len(todo) == 0 {
			continue
		}
		stored, err := l.leavesFrom(ctx, from)
		if err != nil {
			l.logger.WarnContext(ctx, "reading the batches behind the append queue", slog.String("error", err.Error()))
			continue
		}
		for _, q := range todo {
			if _, done := stored[LeafHash(q.Leaf)]; done {
				_ = l.queueStore.Dequeue(ctx, q.ID) // the forwarder finds it; a failed dequeue is retried
				continue
			}
			req := &appendReq{data: q.Leaf, done: make(chan appendResult, 1), queued: true}
			if !l.submit(req) {
				continue
			}
			mu.Lock()
			inflight[q.ID] = time.Time{}
			mu.Unlock()
			go func() {
				res := <-req.done
				mu.Lock()
				defer mu.Unlock()
				if res.err != nil {
					delete(inflight, q.ID) // not sequenced: try again
					return
				}
				// A failed dequeue leaves the entry queued: seen again after the minute, it is found
				// among the stored entries and dequeued then.
				_ = l.queueStore.Dequeue(context.WithoutCancel(ctx), q.ID)
				inflight[q.ID] = time.Now()
			}()
		}
	}
}

// leavesFrom returns the leaf hashes of the entries stored from index from (a batch boundary) on.
func (l *Log) leavesFrom(ctx context.Context, from uint64) (map[tlog.Hash]struct{}, error) {
	out := map[tlog.Hash]struct{}{}
	for {
		b, err := l.batchStore.ReadBatch(ctx, from)
		if errors.Is(err, ErrNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ledger: reading batch %d: %w", from, err)
		}
		for _, data := range b.Leaves {
			out[LeafHash(data)] = struct{}{}
		}
		from = b.End()
	}
}
