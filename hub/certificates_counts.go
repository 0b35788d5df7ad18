package hub

import (
	"context"
	"errors"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/govhub/govhub/store"
)

// Counting verifications, and the signed status they carry, without a write and a signature for
// every request.
//
// A verification through the public link is counted in memory (VerificationCounter.Count) and
// the counts are added to the store about once a second (Run) and when the hub stops (Flush): one
// $inc per certificate verified in that second instead of one read-modify-write per request. The
// count a verification document shows is the stored count plus what this instance has not added
// yet; what other instances have not added yet shows within a second. A hub that dies loses at
// most a second of counts: the count is a statistic for the holder, not evidence (the ledger is).
//
// The status credential in a verification document is signed "as of" the current second: a
// certificate verified many times a second shares one signature per second and state
// (statusCache). A revocation changes the state, so it shows at once.

// VerificationCountStore adds verifications to a certificate's count (store/mongostore).
type VerificationCountStore interface {
	AddVerifications(ctx context.Context, id string, n int64) error
}

// CountFlushInterval is how often a running VerificationCounter adds its counts to the store.
const CountFlushInterval = time.Second

// VerificationCounter counts verifications in memory and adds them to the store in the
// background. Safe for concurrent use.
type VerificationCounter struct {
	store VerificationCountStore

	mu      sync.Mutex
	pending map[string]int64
	// flushing holds the counts a flush has taken and not yet stored: still shown, not lost if
	// the store refuses them (they go back to pending).
	flushing map[string]int64
}

// NewVerificationCounter returns a counter over st.
func NewVerificationCounter(st VerificationCountStore) *VerificationCounter {
	return &VerificationCounter{store: st, pending: map[string]int64{}, flushing: map[string]int64{}}
}

// Count counts one verification of certificate id and returns how many of id's verifications
// this counter holds that are not in the store yet (this one included).
func (v *VerificationCounter) Count(id string) int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pending[id]++
	return v.pending[id] + v.flushing[id]
}

// Flush adds every count held to the store. Counts the store refused are kept for the next flush,
// and the first error is returned.
func (v *VerificationCounter) Flush(ctx context.Context) error {
	v.mu.Lock()
	if len(v.pending) == 0 {
		v.mu.Unlock()
		return nil
	}
	taken := v.pending
	v.pending = map[string]int64{}
	for id, n := range taken {
		v.flushing[id] += n
	}
	v.mu.Unlock()

	var errs []error
	for id, n := range taken {
		err := v.store.AddVerifications(ctx, id, n)
		v.mu.Lock()
		if v.flushing[id] -= n; v.flushing[id] == 0 {
			delete(v.flushing, id)
		}
		if err != nil {
			v.pending[id] += n
		}
		v.mu.Unlock()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run flushes every CountFlushInterval until ctx ends, and reports each failed flush to warn.
func (v *VerificationCounter) Run(ctx context.Context, warn func(error)) {
	t := time.NewTicker(CountFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := v.Flush(ctx); err != nil && warn != nil && ctx.Err() == nil {
				warn(err)
			}
		}
	}
}

// statusCache keeps, per certificate, the status credential last signed: reused while the second
// it is "as of" and the certificate's state are those asked.
type statusCache struct {
	lru *lru.Cache[string, signedStatusAt]
}

type signedStatusAt struct {
	asOf    time.Time
	revoked bool
	signed  []byte
}

// statusCacheSize is how many certificates' signed statuses are kept (about 1 kB each).
const statusCacheSize = 4096

func newStatusCache() *statusCache {
	c, err := lru.New[string, signedStatusAt](statusCacheSize)
	if err != nil {
		panic(err) // only for a size < 1
	}
	return &statusCache{lru: c}
}

// get returns id's status signed as of asOf in the given state, if kept.
func (c *statusCache) get(id string, asOf time.Time, revoked bool) ([]byte, bool) {
	s, ok := c.lru.Get(id)
	if !ok || !s.asOf.Equal(asOf) || s.revoked != revoked {
		return nil, false
	}
	return s.signed, true
}

func (c *statusCache) put(id string, asOf time.Time, revoked bool, signed []byte) {
	c.lru.Add(id, signedStatusAt{asOf: asOf, revoked: revoked, signed: signed})
}

// Pending returns how many of id's verifications this counter holds that are not in the store
// yet (0 for a nil counter).
func (v *VerificationCounter) Pending(id string) int64 {
	if v == nil {
		return 0
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.pending[id] + v.flushing[id]
}

// certificate reads certificate id with its verifications counted so far, those this instance
// has not added to the store yet included.
func (cs *Certificates) certificate(ctx context.Context, id string) (store.Certificate, error) {
	c, err := cs.store.Certificate(ctx, id)
	if err == nil {
		c.Verifications += cs.counter.Pending(id)
	}
	return c, err
}
