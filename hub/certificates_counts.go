package hub

import (
	"bytes"
	"context"
	"errors"
	"slices"
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

// VerificationCountStore adds verifications, made at the given times, to a certificate's count
// and its latest verification times (store/mongostore).
type VerificationCountStore interface {
	AddVerifications(ctx context.Context, id string, times []time.Time) error
}

// CountFlushInterval is how often a running VerificationCounter adds its counts to the store.
const CountFlushInterval = time.Second

// VerificationCounter counts verifications in memory and adds them to the store in the
// background. Safe for concurrent use.
type VerificationCounter struct {
	store VerificationCountStore
	now   func() time.Time

	flushMu sync.Mutex // one flush at a time
	mu      sync.Mutex
	// pending holds, by certificate, the times (seconds) of the verifications not yet taken by a
	// flush; flushing those a flush has taken and not yet stored: still shown, and put back in
	// pending if the store refuses them.
	pending, flushing map[string][]time.Time
}

// NewVerificationCounter returns a counter over st.
func NewVerificationCounter(st VerificationCountStore) *VerificationCounter {
	return &VerificationCounter{store: st, now: time.Now, pending: map[string][]time.Time{}, flushing: map[string][]time.Time{}}
}

// Count counts one verification of certificate id, now, and returns how many of id's
// verifications this counter holds that are not in the store yet (this one included).
func (v *VerificationCounter) Count(id string) int64 {
	at := v.now().UTC().Truncate(time.Second)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pending[id] = append(v.pending[id], at)
	return int64(len(v.pending[id]) + len(v.flushing[id]))
}

// Flush adds every count held to the store. Counts the store refused are kept for the next flush,
// and the first error is returned.
func (v *VerificationCounter) Flush(ctx context.Context) error {
	v.flushMu.Lock()
	defer v.flushMu.Unlock()
	v.mu.Lock()
	if len(v.pending) == 0 {
		v.mu.Unlock()
		return nil
	}
	taken := v.pending
	v.pending = map[string][]time.Time{}
	for id, times := range taken {
		v.flushing[id] = append(v.flushing[id], times...)
	}
	v.mu.Unlock()

	var errs []error
	for id, times := range taken {
		err := v.store.AddVerifications(ctx, id, times)
		v.mu.Lock()
		if rest := v.flushing[id][len(times):]; len(rest) == 0 {
			delete(v.flushing, id)
		} else {
			v.flushing[id] = rest
		}
		if err != nil {
			v.pending[id] = append(slices.Clone(times), v.pending[id]...)
		}
		v.mu.Unlock()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// flushTimeout bounds one background flush. A flush is not cut short when Run's context ends: a
// write abandoned half-way could still land after the store's document lock was released.
const flushTimeout = 10 * time.Second

// Run flushes every CountFlushInterval until ctx ends, and reports each failed flush to warn.
func (v *VerificationCounter) Run(ctx context.Context, warn func(error)) {
	t := time.NewTicker(CountFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			err := v.Flush(fctx)
			cancel()
			if err != nil && warn != nil {
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
	key     []byte // the public key that signed it: a status from before a key rotation is not served after it
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

// get returns id's status signed by key as of asOf in the given state, if kept.
func (c *statusCache) get(id string, asOf time.Time, revoked bool, key []byte) ([]byte, bool) {
	s, ok := c.lru.Get(id)
	if !ok || !s.asOf.Equal(asOf) || s.revoked != revoked || !bytes.Equal(s.key, key) {
		return nil, false
	}
	return s.signed, true
}

func (c *statusCache) put(id string, asOf time.Time, revoked bool, key, signed []byte) {
	c.lru.Add(id, signedStatusAt{asOf: asOf, revoked: revoked, key: key, signed: signed})
}

// Pending returns the times of id's verifications this counter holds that are not in the store
// yet, oldest first (none for a nil counter).
func (v *VerificationCounter) Pending(id string) []time.Time {
	if v == nil {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return append(slices.Clone(v.flushing[id]), v.pending[id]...)
}

// certificate reads certificate id with its verifications counted so far and their latest times,
// those this instance has not added to the store yet included.
func (cs *Certificates) certificate(ctx context.Context, id string) (store.Certificate, error) {
	c, err := cs.store.Certificate(ctx, id)
	if err == nil {
		pending := cs.counter.Pending(id)
		c.Verifications += int64(len(pending))
		c.VerifiedAt = append(c.VerifiedAt, pending...)
		if len(c.VerifiedAt) > store.MaxVerifiedAt {
			c.VerifiedAt = c.VerifiedAt[len(c.VerifiedAt)-store.MaxVerifiedAt:]
		}
	}
	return c, err
}
