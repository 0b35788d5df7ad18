package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
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
// entry's leaf hash in the batches written after it queued it. A new holder first drops queued
// entries that its predecessor had already sequenced, so each lands exactly once.

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
	// ReadLease returns term's holder and expiry, or ErrNotFound.
	ReadLease(ctx context.Context, term uint64) (holder string, expires time.Time, err error)
	// DeleteLease removes an old term (housekeeping).
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

// latestTerm finds the newest term from the last one known.
func (l *Log) latestTerm(ctx context.Context) (term uint64, holder string, expires time.Time, err error) {
	term = l.term
	holder, expires, err = l.store.ReadLease(ctx, term)
	if errors.Is(err, ErrNotFound) {
		holder, expires, err = "", time.Time{}, nil
	}
	if err != nil {
		return 0, "", time.Time{}, err
	}
	for {
		h, e, err := l.store.ReadLease(ctx, term+1)
		if errors.Is(err, ErrNotFound) {
			return term, holder, expires, nil
		}
		if err != nil {
			return 0, "", time.Time{}, err
		}
		term, holder, expires = term+1, h, e
	}
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
	err = l.store.AddLease(ctx, term+1, l.instance, until)
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
		_ = l.store.DeleteLease(ctx, term-8)
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
	if err := l.store.AddLease(ctx, l.term+1, "", time.Now()); err == nil {
		l.term++
	}
}

// forward hands an entry to the lease holder through the queue and waits until it is sequenced.
func (l *Log) forward(ctx context.Context, data []byte) (uint64, error) {
	after := l.Integrated().Size
	q := Queued{ID: randomName() + randomName(), Leaf: data, After: after}
	if err := l.store.Enqueue(ctx, q); err != nil {
		return 0, fmt.Errorf("ledger: queueing for the lease holder: %w", err)
	}
	leaf := LeafHash(data)
	pos := after
	deadline := time.Now().Add(DefaultForwardLimit)
	for {
		index, found, next, err := l.findFrom(ctx, pos, leaf)
		if err != nil {
			return 0, err
		}
		if found {
			return index, nil
		}
		pos = next
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("ledger: no lease holder sequenced the entry within %s", DefaultForwardLimit)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("ledger: waiting for the lease holder: %w", ctx.Err())
		case <-time.After(3 * time.Millisecond):
		}
	}
}

// findFrom looks for a leaf in the batches from pos (a batch boundary); it also returns where the
// stored batches end, to continue from there.
func (l *Log) findFrom(ctx context.Context, pos uint64, leaf [32]byte) (uint64, bool, uint64, error) {
	for {
		b, err := l.store.ReadBatch(ctx, pos)
		if errors.Is(err, ErrNotFound) {
			return 0, false, pos, nil
		}
		if err != nil {
			return 0, false, pos, fmt.Errorf("ledger: reading batch %d: %w", pos, err)
		}
		for i, data := range b.Leaves {
			if LeafHash(data) == leaf {
				return b.First + uint64(i), true, pos, nil
			}
		}
		pos = b.End()
	}
}

// pullQueue feeds forwarded entries to the sequencer while this instance holds the lease.
func (l *Log) pullQueue(ctx context.Context) {
	defer close(l.pullDone)
	var mu sync.Mutex
	// Submitted entries, kept for a minute after they were sequenced and dequeued: a queue read that
	// raced with the dequeue must not sequence them again.
	inflight := map[string]time.Time{}
	leading := false
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
			leading = false
			continue
		}
		mu.Lock()
		for id, done := range inflight {
			if !done.IsZero() && time.Since(done) > time.Minute {
				delete(inflight, id)
			}
		}
		mu.Unlock()
		// Just took the lease: what is queued now may have been sequenced by the previous holder.
		reconcile := !leading
		leading = true
		qs, err := l.store.Queued(ctx, l.maxBatch)
		if err != nil {
			l.logger.WarnContext(ctx, "reading the append queue", slog.String("error", err.Error()))
			continue
		}
		if len(qs) == 0 {
			wait = min(2*wait, 100*time.Millisecond)
		} else {
			wait = 2 * time.Millisecond
		}
		for _, q := range qs {
			mu.Lock()
			_, busy := inflight[q.ID]
			mu.Unlock()
			if busy {
				continue
			}
			if reconcile {
				if _, found, _, err := l.findFrom(ctx, q.After, LeafHash(q.Leaf)); err != nil {
					continue
				} else if found {
					_ = l.store.Dequeue(ctx, q.ID)
					continue
				}
			}
			req := &appendReq{data: q.Leaf, done: make(chan appendResult, 1)}
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
				if err := l.store.Dequeue(context.WithoutCancel(ctx), q.ID); err != nil {
					return // stays in flight for good: never sequenced twice by this holder
				}
				inflight[q.ID] = time.Now()
			}()
		}
	}
}
