package hub

import (
	"cmp"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// Record integrity at read (ARCHITECTURE §1.8: nothing altered is released). Every record the hub
// reads from the store is checked before it is used, against two things an attacker who can write
// the database cannot forge or roll back:
//
//   - A record MAC (store.Record.MAC): HMAC-SHA-256 under the integrity key (IntegrityKey: HKDF-SHA256
//     of the index key, info "govhub/record-mac/v1"; after an index key rotation, that of the
//     current key for what is written, and that of any key held for what is checked: see
//     indexkeys.go and RemacRecords) over
//
//     "govhub/record-mac/v1" ‖ lp(citizen) ‖ lp(dataset) ‖ u64(version) ‖ lp(recordDigest) ‖
//     u64(items) ‖ for each item: u64(sealed fields) ‖ for each sealed field, by name:
//     lp(name) ‖ u64(sealed version) ‖ lp(ciphertext)
//
//     where lp(x) is u64(len(x)) ‖ x and u64 is 8 bytes big-endian, and recordDigest is the salted
//     digest the update entry carries (plain values and commitments). The citizen and dataset are
//     those the hub asked for (the document's _id), not those the document claims. A changed
//     value, version, salt, commitment or ciphertext, or a record moved to another citizen or
//     dataset, fails the MAC: attacks (a) and (b).
//
//   - A record head per citizen (store.Head, collection record_heads, _id = citizen), MAC'd the
//     same way ("govhub/record-head/v1" ‖ lp(citizen) ‖ u64(head) ‖ u64(datasets) ‖ for each
//     dataset, by name: lp(dataset) ‖ u64(version)): the version of each of the citizen's records
//     and head, the ledger index of the citizen's latest update. Every update entry's base line
//     names the citizen's previous head (0 for their first update), so one citizen's update
//     entries form one chain on the ledger, and a head that a later entry names as its base is
//     superseded. The hub keeps the set of superseded heads in memory (every base of every
//     allowed update entry): built from the ledger at start-up, kept current as it appends its
//     own updates (the base is added once the append is acknowledged, before the head and record
//     are written) and by following the ledger's checkpoints for other instances' entries. A read
//     checks the head's MAC, that its head is not superseded, and that each requested dataset
//     has a record exactly when the head lists one, at the head's version. A record rolled back
//     to an older, validly MAC'd version (c) then fails against the head; a head rolled back with
//     it is superseded; a deleted record (d) is missing where the head lists it; a deleted head of
//     a registered citizen is refused too.
//
// Writes: an update appends its entry, then moves the head by compare-and-swap on its head index
// (which serialises the updates of one citizen across instances: the loser is overtaken and
// returns ErrConflict), then writes the record (compare-and-swap on the record's own version);
// recovery redoes both idempotently from the pending update. A read that meets a head and records
// out of step (an update between its two writes) reads again a few times before it decides; one
// that meets a head an update of its own instance has just superseded waits for that update to be
// applied first (noteWriting), however long the database takes to write it.
//
// A mismatch is an integrity alert: the read is refused with ErrIntegrity, the refusal is
// appended to the ledger (reason "integrity", every field denied), an error is logged and
// Integrity.Alerts counts it (the hub reports it as not ready).
//
// Limits: ledger index 0 cannot be told apart from "no earlier update" on a base line, so a head
// at index 0 is never counted superseded (a hub's first entry is its policy import, never an
// update); a citizen erased from the store entirely (citizen, head and every record) reads as no
// such citizen; the superseded set follows the integrated checkpoints, so a head rolled back
// within about a second of an update by another instance may pass until the checkpoint covers it;
// an update whose record write fails after its head moved (a database error, or a crash) leaves
// that citizen refused, with alerts, until recovery writes the record (at start-up, or
// periodically when instances share a database); the record's Updated time is not covered (it
// is never released). Reads and updates refuse the whole citizen, not only the dataset that
// failed: the other datasets of the request are not released either.

// ErrIntegrity: a stored record does not match what the hub wrote (changed, swapped, rolled back or
// deleted behind the hub's back); nothing of it was released.
var ErrIntegrity = errors.New("a stored record does not match what the hub wrote; refused")

// IntegrityKeyInfo is the HKDF info string of the integrity key.
const IntegrityKeyInfo = "govhub/record-mac/v1"

// IntegrityKey derives the record integrity key from the hub's index key: HKDF-SHA256 with no salt
// and info IntegrityKeyInfo, 32 bytes.
func IntegrityKey(indexKey []byte) ([]byte, error) {
	if len(indexKey) < 32 {
		return nil, fmt.Errorf("hub: index key has %d bytes, want at least 32", len(indexKey))
	}
	return hkdf.Key(sha256.New, indexKey, nil, IntegrityKeyInfo, 32)
}

// HeadStore holds the citizens' record heads. RecordHead returns store.ErrNotFound for a citizen
// without one; PutRecordHead is a compare-and-swap on the stored head index (store.ErrConflict).
// Safe for concurrent use.
type HeadStore interface {
	RecordHead(ctx context.Context, citizen string) (store.Head, error)
	PutRecordHead(ctx context.Context, h store.Head, base uint64, hadBase bool) error
	InsertRecordHeads(ctx context.Context, hs []store.Head) error
}

// EntrySource reads the ledger's entries (a ledger.Reader).
type EntrySource interface {
	Checkpoint(ctx context.Context) (ledger.Checkpoint, error)
	SequencedEntries(ctx context.Context, indexes []uint64) ([][]byte, error)
}

// SnapshotStore keeps small documents of hub state (the store's meta collection).
type SnapshotStore interface {
	Meta(ctx context.Context, key string, v any) error
	PutMeta(ctx context.Context, key string, v any) error
}

// IntegrityConfig holds what checking records needs.
type IntegrityConfig struct {
	// Key is the integrity key (IntegrityKey), 32 bytes; or IndexKeys is set instead.
	Key []byte
	// IndexKeys, if set, is the index key ring: records and heads are MAC'd under the integrity key
	// of its current key and checked under those of all its keys (indexkeys.go).
	IndexKeys *subject.Ring
	Heads     HeadStore
	// Snapshots keeps the superseded set between runs (nil: rebuilt from the whole ledger).
	Snapshots SnapshotStore
	// Logger receives the operator alerts (nil: none).
	Logger *slog.Logger
	// CacheCitizens bounds the record cache (recordcache.go), in citizens; 0: no cache.
	CacheCitizens int
	// CacheTTL is how long a citizen's records are served from the cache (0: DefaultRecordCacheTTL).
	CacheTTL time.Duration
	// Erased tells an erased citizen (a tombstone) from one never registered, when no head is
	// found: reads and updates then fail with ErrErased (erasure.go). nil: no erasures.
	Erased ErasureChecker
}

// Integrity checks records at read and authenticates them at write; one is shared by a hub's
// Reader and Updater. It is safe for concurrent use.
type Integrity struct {
	key       []byte        // without a ring
	ring      *subject.Ring // nil: key alone
	derived   atomic.Pointer[derivedKeys]
	heads     HeadStore
	snapshots SnapshotStore
	logger    *slog.Logger
	erased    ErasureChecker
	cache     *recordCache  // nil: none
	hits      atomic.Uint64 // reads whose records came from the cache
	alerts    atomic.Uint64
	ready     atomic.Bool

	mu         sync.RWMutex
	superseded map[uint64]struct{}
	inflight   map[uint64]chan struct{} // superseded heads whose update this instance is still writing
	covered    uint64                   // the entries [0, covered) are in superseded
	saved      uint64                   // covered when the snapshot was last saved
}

// NewIntegrity checks cfg and returns an Integrity that refuses every read (ErrUnavailable) until
// CatchUp has covered the ledger once.
func NewIntegrity(cfg IntegrityConfig) (*Integrity, error) {
	if len(cfg.Key) != 32 && cfg.IndexKeys == nil || cfg.Heads == nil {
		return nil, errors.New("hub: NewIntegrity needs a 32-byte key (or the index key ring) and a head store")
	}
	return &Integrity{key: cfg.Key, ring: cfg.IndexKeys, heads: cfg.Heads, snapshots: cfg.Snapshots, logger: cfg.Logger, erased: cfg.Erased,
		cache: newRecordCache(cfg.CacheCitizens, cfg.CacheTTL), superseded: map[uint64]struct{}{}}, nil
}

// CacheHits is how many reads took their records from the record cache since start.
func (in *Integrity) CacheHits() uint64 { return in.hits.Load() }

// Alerts is how many integrity alerts (records refused as altered) there were since start.
func (in *Integrity) Alerts() uint64 { return in.alerts.Load() }

// Ready reports whether the superseded set has caught up with the ledger once (reads are served).
func (in *Integrity) Ready() bool { return in.ready.Load() }

// derivedKeys are the integrity keys of a ring generation's index keys, the current first.
type derivedKeys struct {
	gen  uint64
	keys [][]byte
}

// macKeys returns the integrity keys, the current (which MACs what is written) first.
func (in *Integrity) macKeys() [][]byte {
	if in.ring == nil {
		return [][]byte{in.key}
	}
	gen := in.ring.Generation()
	if d := in.derived.Load(); d != nil && d.gen == gen {
		return d.keys
	}
	var out [][]byte
	for _, k := range in.ring.Keys() {
		ik, err := IntegrityKey(k)
		if err != nil {
			panic(err) // the ring holds 32-byte keys only
		}
		out = append(out, ik)
	}
	in.derived.Store(&derivedKeys{gen: gen, keys: out})
	return out
}

// matches reports whether sum is the MAC under one of the integrity keys (mac computes it under
// a key). If none matches, the ring is read again once (another instance may have rotated) and
// the keys it did not try are tried.
func (in *Integrity) matches(sum []byte, mac func(key []byte) []byte) bool {
	if len(sum) == 0 {
		return false
	}
	gen := uint64(0)
	if in.ring != nil {
		gen = in.ring.Generation()
	}
	tried := in.macKeys()
	for _, k := range tried {
		if hmac.Equal(sum, mac(k)) {
			return true
		}
	}
	if in.ring == nil || !in.ring.Refresh(gen) {
		return false
	}
	for _, k := range in.macKeys() {
		if !slices.ContainsFunc(tried, func(t []byte) bool { return hmac.Equal(t, k) }) && hmac.Equal(sum, mac(k)) {
			return true
		}
	}
	return false
}

// recordOK reports whether rec's MAC is that of the record of citizen in dataset under one of the
// integrity keys; current, whether under the current one.
func (in *Integrity) recordOK(citizen, dataset string, rec store.Record) (ok, current bool) {
	if len(rec.MAC) > 0 && hmac.Equal(rec.MAC, in.recordMAC(citizen, dataset, rec)) {
		return true, true
	}
	return in.matches(rec.MAC, func(k []byte) []byte { return recordMACUnder(k, citizen, dataset, rec) }), false
}

// recordValid is recordOK's ok.
func (in *Integrity) recordValid(citizen, dataset string, rec store.Record) bool {
	ok, _ := in.recordOK(citizen, dataset, rec)
	return ok
}

// headValid is headOK's ok.
func (in *Integrity) headValid(citizen string, h store.Head) bool {
	ok, _ := in.headOK(citizen, h)
	return ok
}

// headOK is recordOK for citizen's head h.
func (in *Integrity) headOK(citizen string, h store.Head) (ok, current bool) {
	if len(h.MAC) > 0 && hmac.Equal(h.MAC, in.headMAC(citizen, h)) {
		return true, true
	}
	return in.matches(h.MAC, func(k []byte) []byte { return headMACUnder(k, citizen, h) }), false
}

func macUnder(key []byte, label string) hash.Hash {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m
}

func (in *Integrity) mac(label string) hash.Hash { return macUnder(in.macKeys()[0], label) }

func putU64(h hash.Hash, n uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	h.Write(b[:])
}

func putLP(h hash.Hash, b []byte) {
	putU64(h, uint64(len(b)))
	h.Write(b)
}

// recordMAC is the MAC of rec as the record of citizen in dataset (see the encoding above),
// under the current integrity key.
func (in *Integrity) recordMAC(citizen, dataset string, rec store.Record) []byte {
	return recordMACUnder(in.macKeys()[0], citizen, dataset, rec)
}

// recordMACUnder is recordMAC under the integrity key key.
func recordMACUnder(key []byte, citizen, dataset string, rec store.Record) []byte {
	m := macUnder(key, "govhub/record-mac/v1")
	putLP(m, []byte(citizen))
	putLP(m, []byte(dataset))
	putU64(m, rec.Version)
	putLP(m, recordDigest(rec))
	putU64(m, uint64(len(rec.Items)))
	for _, item := range rec.Items {
		putU64(m, uint64(len(item.Sealed)))
		for _, name := range sortedKeys(item.Sealed) {
			sf := item.Sealed[name]
			putLP(m, []byte(name))
			putU64(m, sf.Version)
			putLP(m, sf.Ciphertext)
		}
	}
	return m.Sum(nil)
}

// sealRecord sets rec's MAC.
func (in *Integrity) sealRecord(rec store.Record) store.Record {
	rec.MAC = in.recordMAC(rec.Citizen, rec.Dataset, rec)
	return rec
}

// headMAC is the MAC of h as citizen's head, under the current integrity key.
func (in *Integrity) headMAC(citizen string, h store.Head) []byte {
	return headMACUnder(in.macKeys()[0], citizen, h)
}

// headMACUnder is headMAC under the integrity key key.
func headMACUnder(key []byte, citizen string, h store.Head) []byte {
	m := macUnder(key, "govhub/record-head/v1")
	putLP(m, []byte(citizen))
	putU64(m, h.Head)
	putU64(m, uint64(len(h.Versions)))
	for _, ds := range sortedKeys(h.Versions) {
		putLP(m, []byte(ds))
		putU64(m, h.Versions[ds])
	}
	return m.Sum(nil)
}

// newHead is the head after an update at index of dataset over prev (nil: the citizen's first).
func (in *Integrity) newHead(citizen string, prev *store.Head, dataset string, index uint64) store.Head {
	h := store.Head{Citizen: citizen, Head: index, Versions: map[string]uint64{}}
	if prev != nil {
		for ds, v := range prev.Versions {
			h.Versions[ds] = v
		}
	}
	h.Versions[dataset] = index
	h.MAC = in.headMAC(citizen, h)
	return h
}

// note records that an update entry named base as its base: that head is superseded.
func (in *Integrity) note(base uint64) {
	in.mu.Lock()
	in.superseded[base] = struct{}{}
	in.mu.Unlock()
}

// noteWriting is note for an update this instance goes on to apply (head, then record): until the
// returned done is called, a read that meets the superseded head waits for the update rather than
// taking it for a rollback.
func (in *Integrity) noteWriting(base uint64) (done func()) {
	in.note(base)
	return in.noteApplying(base)
}

// noteApplying makes a read that meets the head at index (the update's base, superseded, or its
// own entry, the head it moves to) wait until the returned done is called, when this instance has
// applied the update (head, then record): under load the record can follow the head by longer than
// a read's retries, and a head whose record is not written yet is not a rollback.
func (in *Integrity) noteApplying(index uint64) (done func()) {
	ch := make(chan struct{})
	in.mu.Lock()
	if in.inflight == nil {
		in.inflight = map[uint64]chan struct{}{}
	}
	in.inflight[index] = ch
	in.mu.Unlock()
	return func() {
		in.mu.Lock()
		if in.inflight[index] == ch {
			delete(in.inflight, index)
		}
		in.mu.Unlock()
		close(ch)
	}
}

// writing returns the channel closed when this instance's update superseding head, or moving the
// head to it, is applied; nil when there is none.
func (in *Integrity) writing(head uint64) chan struct{} {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return in.inflight[head]
}

// maxWaitForUpdate bounds how long a read waits for this instance's update of the same citizen.
const maxWaitForUpdate = 10 * time.Second

func (in *Integrity) isSuperseded(head uint64) bool {
	if head == 0 {
		return false // see Limits above
	}
	in.mu.RLock()
	_, ok := in.superseded[head]
	in.mu.RUnlock()
	return ok
}

// integrityError is a mismatch found in one citizen's records.
type integrityError struct {
	citizen, dataset, reason string
}

func (e *integrityError) Error() string {
	if e.dataset == "" {
		return fmt.Sprintf("%v: record head of %s: %s", ErrIntegrity, e.citizen, e.reason)
	}
	return fmt.Sprintf("%v: %s record of %s: %s", ErrIntegrity, e.dataset, e.citizen, e.reason)
}

func (e *integrityError) Unwrap() error { return ErrIntegrity }

// check verifies the records read for citizen in datasets against their head (hadHead false: none
// stored).
func (in *Integrity) check(citizen string, datasets []string, h store.Head, hadHead bool, recs map[string]store.Record) error {
	bad := func(ds, format string, args ...any) error {
		return &integrityError{citizen: citizen, dataset: ds, reason: fmt.Sprintf(format, args...)}
	}
	if hadHead {
		if ok, _ := in.headOK(citizen, h); !ok {
			return bad("", "its MAC does not match")
		}
		if in.isSuperseded(h.Head) {
			return bad("", "it names update %d, which a later update on the ledger replaced (rolled back)", h.Head)
		}
	}
	for _, ds := range datasets {
		want, listed := h.Versions[ds]
		rec, stored := recs[ds]
		switch {
		case listed && !stored:
			return bad(ds, "the head lists version %d but there is no record (deleted)", want)
		case !listed && stored:
			return bad(ds, "there is a record at version %d but the head lists none", rec.Version)
		case !stored:
			continue
		case rec.Version != want:
			return bad(ds, "the record is at version %d, the head at %d (rolled back or moved)", rec.Version, want)
		case rec.Citizen != citizen || rec.Dataset != ds:
			return bad(ds, "the document claims to be the %s record of %s", rec.Dataset, rec.Citizen)
		case !in.recordValid(citizen, ds, rec):
			return bad(ds, "its MAC does not match (changed or swapped)")
		}
	}
	return nil
}

// retryDelays are the pauses before reading again a head and records out of step: an update moves
// the head, then writes the record, within milliseconds.
var retryDelays = []time.Duration{2 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond}

// checked is one citizen's records in some datasets, checked, with their head.
type checked struct {
	records map[string]store.Record
	head    store.Head
	hadHead bool
	cached  bool // the records came from the record cache, not the store
}

// load reads and checks citizen's records in datasets (and their head). exists, if not nil, says
// whether the citizen is registered, for when no head is stored: a registered citizen always has
// one. It fails with an error wrapping ErrIntegrity on a mismatch (an alert: logged and counted),
// and with ErrUnavailable before the superseded set has caught up with the ledger.
func (in *Integrity) load(ctx context.Context, rr RecordReader, citizen string, datasets []string) (checked, error) {
	cached, _ := in.cache.get(citizen)
	return in.loadFrom(ctx, rr, citizen, datasets, cached)
}

// loadFresh is load without the record cache: the records are read and checked. Updates build on
// what it returns.
func (in *Integrity) loadFresh(ctx context.Context, rr RecordReader, citizen string, datasets []string) (checked, error) {
	return in.loadFrom(ctx, rr, citizen, datasets, nil)
}

func (in *Integrity) loadFrom(ctx context.Context, rr RecordReader, citizen string, datasets []string, cached *cachedCitizen) (checked, error) {
	if !in.ready.Load() {
		return checked{}, fmt.Errorf("%w: record integrity checks are still catching up with the ledger", ErrUnavailable)
	}
	waited := false // for an update of this instance, once
	for attempt := 0; ; attempt++ {
		c, err := in.read(ctx, rr, citizen, datasets, cached)
		if err != nil {
			return c, err
		}
		if !c.hadHead && in.erased != nil {
			if gone, err := in.erased.Erased(ctx, citizen); err != nil || gone {
				return checked{}, cmp.Or(err, ErrErased)
			}
		}
		recs := c.records
		cerr := in.check(citizen, datasets, c.head, c.hadHead, recs)
		if cerr == nil && !c.hadHead {
			// No head: only a citizen never registered (a registered one always has one).
			exists, err := rr.CitizenExists(ctx, citizen)
			if err != nil {
				return c, fmt.Errorf("looking up citizen: %w", err)
			}
			if exists {
				cerr = &integrityError{citizen: citizen, reason: "the citizen is registered but has no record head (deleted)"}
			}
		}
		if cerr == nil {
			if c.hadHead && !c.cached {
				// Only records just read from the store start a cache entry's TTL: a hit must not
				// extend it, or a citizen read often would never be read (and checked) again.
				in.cache.put(citizen, c.head, recs)
			}
			return c, nil
		}
		cached = nil // read everything again
		if ch := in.writing(c.head.Head); c.hadHead && ch != nil && !waited {
			waited = true
			// An update of this instance superseded the head and is writing the new one: wait for
			// it, then read again (not an attempt: nothing is out of step).
			select {
			case <-ch:
			case <-ctx.Done():
				return c, ctx.Err()
			case <-time.After(maxWaitForUpdate):
			}
			attempt--
			continue
		}
		if attempt == len(retryDelays) {
			in.alert(ctx, cerr)
			return c, cerr
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(retryDelays[attempt]):
		}
	}
}

// read reads citizen's head and records in datasets, unchecked. With a cached entry it reads the
// head first and takes the records from the entry when it was checked at that head (recordcache.go);
// without one, the head and the records are read at once.
func (in *Integrity) read(ctx context.Context, rr RecordReader, citizen string, datasets []string, cached *cachedCitizen) (checked, error) {
	var c checked
	var herr error
	if cached != nil {
		c.head, herr = in.heads.RecordHead(ctx, citizen)
		if herr == nil {
			if recs, ok := cached.serves(c.head, datasets); ok {
				in.hits.Add(1)
				c.records, c.hadHead, c.cached = recs, true, true
				return c, nil
			}
		}
		if herr != nil && !isNotFound(herr) {
			return c, fmt.Errorf("loading the record head: %w", herr)
		}
		recs, err := rr.Records(ctx, citizen, datasets)
		if err != nil {
			return c, fmt.Errorf("loading records: %w", err)
		}
		c.records, c.hadHead = recs, herr == nil
		return c, nil
	}
	if hr, ok := rr.(headRecordsReader); ok && any(hr) == any(in.heads) {
		h, had, recs, err := hr.HeadAndRecords(ctx, citizen, datasets)
		if err != nil {
			return c, fmt.Errorf("loading the record head and records: %w", err)
		}
		c.head, c.hadHead, c.records = h, had, recs
		return c, nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.head, herr = in.heads.RecordHead(ctx, citizen)
	}()
	recs, err := rr.Records(ctx, citizen, datasets)
	<-done
	if err != nil {
		return c, fmt.Errorf("loading records: %w", err)
	}
	if herr != nil && !isNotFound(herr) {
		return c, fmt.Errorf("loading the record head: %w", herr)
	}
	c.records, c.hadHead = recs, herr == nil
	return c, nil
}

// headRecordsReader reads a citizen's record head and records at once (store/mongostore keeps them
// in one document); read uses it when the records and the heads come from the same store.
type headRecordsReader interface {
	HeadAndRecords(ctx context.Context, citizen string, datasets []string) (h store.Head, hadHead bool, recs map[string]store.Record, err error)
}

// alert counts and logs an integrity alert.
func (in *Integrity) alert(ctx context.Context, err error) {
	n := in.alerts.Add(1)
	if in.logger != nil {
		in.logger.ErrorContext(ctx, "record integrity alert: a stored record was changed behind the hub's back; refusing it",
			slog.String("error", err.Error()), slog.Uint64("alerts", n))
	}
}

// scanChunk is how many entries CatchUp reads at a time (8 entry bundles).
const scanChunk = 2048

// CatchUp adds the bases of the update entries the ledger's latest checkpoint covers and the set
// does not yet, then marks the Integrity ready. The first call starts from the stored snapshot, if
// there is a valid one. progress, if not nil, is called after each chunk with the entries covered
// and the target.
func (in *Integrity) CatchUp(ctx context.Context, src EntrySource, progress func(covered, size uint64)) error {
	if !in.ready.Load() && in.snapshots != nil {
		if err := in.loadSnapshot(ctx); err != nil && in.logger != nil {
			in.logger.WarnContext(ctx, "record integrity snapshot not used; scanning the whole ledger", slog.String("error", err.Error()))
		}
	}
	cp, err := src.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("reading the ledger checkpoint: %w", err)
	}
	in.mu.RLock()
	from := in.covered
	in.mu.RUnlock()
	for from < cp.Size {
		to := min(cp.Size, (from/scanChunk+1)*scanChunk)
		indexes := make([]uint64, 0, to-from)
		for i := from; i < to; i++ {
			indexes = append(indexes, i)
		}
		raws, err := src.SequencedEntries(ctx, indexes)
		if err != nil {
			return fmt.Errorf("reading ledger entries %d to %d: %w", from, to, err)
		}
		var bases []uint64
		for i, raw := range raws {
			e, err := ledger.ParseEntry(raw)
			if err != nil {
				return fmt.Errorf("ledger entry %d: %w", from+uint64(i), err)
			}
			if e.Kind == ledger.KindUpdate && e.Outcome == ledger.OutcomeAllowed && e.Dataset != "" {
				bases = append(bases, e.Base)
			}
		}
		in.mu.Lock()
		for _, b := range bases {
			in.superseded[b] = struct{}{}
		}
		in.covered = max(in.covered, to)
		in.mu.Unlock()
		from = to
		if progress != nil {
			progress(to, cp.Size)
		}
	}
	in.ready.Store(true)
	return nil
}

// Follow runs CatchUp every interval until ctx ends (the entries of other instances), saving a
// snapshot whenever snapshotEvery more entries are covered. Errors are logged and retried.
func (in *Integrity) Follow(ctx context.Context, src EntrySource, interval time.Duration, snapshotEvery uint64) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := in.CatchUp(ctx, src, nil); err != nil {
			if ctx.Err() == nil && in.logger != nil {
				in.logger.WarnContext(ctx, "following the ledger for record integrity", slog.String("error", err.Error()))
			}
			continue
		}
		in.mu.RLock()
		due := in.covered >= in.saved+snapshotEvery
		in.mu.RUnlock()
		if due {
			if err := in.SaveSnapshot(ctx); err != nil && in.logger != nil {
				in.logger.WarnContext(ctx, "saving the record integrity snapshot", slog.String("error", err.Error()))
			}
		}
	}
}

// snapshotKey is the meta document holding the superseded set.
const snapshotKey = "record-integrity/superseded"

// snapshotDoc is the stored superseded set: the sorted bases, delta-encoded as uvarints, the
// ledger size they cover, and a MAC over both under the integrity key. A snapshot rolled back to
// an older one only makes the next start scan more entries.
type snapshotDoc struct {
	Size  int64  `bson:"size"`
	Bases []byte `bson:"bases"`
	MAC   []byte `bson:"mac"`
}

func (in *Integrity) snapshotMAC(size uint64, bases []byte) []byte {
	return snapshotMACUnder(in.macKeys()[0], size, bases)
}

func snapshotMACUnder(key []byte, size uint64, bases []byte) []byte {
	m := macUnder(key, "govhub/record-superseded/v1")
	putU64(m, size)
	putLP(m, bases)
	return m.Sum(nil)
}

// SaveSnapshot stores the superseded set and the ledger size it covers.
func (in *Integrity) SaveSnapshot(ctx context.Context) error {
	if in.snapshots == nil {
		return nil
	}
	in.mu.RLock()
	size := in.covered
	list := make([]uint64, 0, len(in.superseded))
	for b := range in.superseded {
		list = append(list, b)
	}
	in.mu.RUnlock()
	slices.Sort(list)
	var enc []byte
	prev := uint64(0)
	for _, b := range list {
		enc = binary.AppendUvarint(enc, b-prev)
		prev = b
	}
	if err := in.snapshots.PutMeta(ctx, snapshotKey, snapshotDoc{Size: int64(size), Bases: enc, MAC: in.snapshotMAC(size, enc)}); err != nil {
		return err
	}
	in.mu.Lock()
	in.saved = max(in.saved, size)
	in.mu.Unlock()
	return nil
}

func (in *Integrity) loadSnapshot(ctx context.Context) error {
	var d snapshotDoc
	if err := in.snapshots.Meta(ctx, snapshotKey, &d); err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	if d.Size < 0 || !in.matches(d.MAC, func(k []byte) []byte { return snapshotMACUnder(k, uint64(d.Size), d.Bases) }) {
		return errors.New("its MAC does not match")
	}
	set := map[uint64]struct{}{}
	prev := uint64(0)
	for rest := d.Bases; len(rest) > 0; {
		delta, n := binary.Uvarint(rest)
		if n <= 0 {
			return errors.New("it is malformed")
		}
		prev += delta
		set[prev] = struct{}{}
		rest = rest[n:]
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if uint64(d.Size) > in.covered {
		for b := range set {
			in.superseded[b] = struct{}{}
		}
		in.covered, in.saved = uint64(d.Size), uint64(d.Size)
	}
	return nil
}
