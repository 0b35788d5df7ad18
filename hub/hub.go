// Package hub holds GovHub's use cases: reading a citizen's data under policy (read.go), listing
// citizens (list.go), updating a record (update.go), bulk import (import.go), recovery of
// interrupted updates (recover.go), a citizen opening their own commitments (opening.go), reviewing
// the ledger (review.go), checking records against it (audit.go), and the officers' policy
// Its types are plain Go: no GraphQL, no BSON. The officers' policy workflow is package governance.
//
// The invariants of DESIGN §1 live here:
//   - log before release: ReadCitizen returns data only after the access entry describing exactly
//     the fields and levels it returns is durably appended; if the append fails, it returns
//     ErrUnavailable and no data;
//   - every change is on the ledger: Update appends its entry before it writes the record, and a
//     crash between the two is repaired by Recover from the pending update;
//   - no personal data in the ledger: entries carry salted subject commitments
//     SHA-256("govhub/subject/v1" ‖ salt ‖ citizenID) with a fresh 32-byte salt per entry (the salt
//     is kept off the ledger in the private subject index), keyed request digests, field names,
//     levels and Pedersen commitments; never a citizen id or a value;
//   - sealed at rest: sensitive values are stored only as AES-GCM seals under the citizen's data key
//     next to their commitment, and unsealed only when a policy reveals them;
//   - deny by default, field by field: one policy decision per requested field and request.
package hub

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sync"
	"time"

	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Errors callers test for; graph maps them to GraphQL error codes. ErrForbidden, ErrInvalid,
// ErrConflict, ErrUnavailable and ErrBusy are the same values as governance's.
var (
	// ErrForbidden: the policy does not allow the action (the attempt is on the ledger).
	ErrForbidden = usecase.ErrForbidden
	// ErrUnknownPurpose: the stated purpose is not in the registry (the attempt is on the ledger).
	ErrUnknownPurpose = errors.New("purpose is not registered")
	// ErrNotFound: no such citizen.
	ErrNotFound = errors.New("no such citizen")
	// ErrInvalid: an input value is invalid; the error wraps a *dataset.ValidationError naming the field.
	ErrInvalid = usecase.ErrInvalid
	// ErrConflict: the record an update was built on changed before the update could be written.
	ErrConflict = usecase.ErrConflict
	// ErrUnavailable: the ledger could not record the request, so nothing was released or written.
	ErrUnavailable = usecase.ErrUnavailable
	// ErrBusy: too many requests are waiting for the ledger; retry shortly.
	ErrBusy = usecase.ErrBusy
)

// RecordStore holds citizens and their dataset records.
type RecordStore interface {
	Records(ctx context.Context, citizen string, datasets []string) (map[string]store.Record, error)
	Record(ctx context.Context, citizen, dataset string) (store.Record, error)
	CreateRecord(ctx context.Context, r store.Record) error
	ReplaceRecord(ctx context.Context, r store.Record, base uint64) error
	InsertRecords(ctx context.Context, rs []store.Record) error
	AddCitizens(ctx context.Context, ids []string, now time.Time) error
	CitizenExists(ctx context.Context, id string) (bool, error)
}

// KeyStore holds the citizens' wrapped data keys.
type KeyStore interface {
	DataKey(ctx context.Context, citizen string) ([]byte, error)
	AddDataKey(ctx context.Context, citizen string, wrapped []byte) error
	AddDataKeys(ctx context.Context, keys map[string][]byte) error
}

// PendingStore holds updates between their two durable steps.
type PendingStore interface {
	AddPending(ctx context.Context, p store.Pending) error
	DeletePending(ctx context.Context, id string) error
	PendingUpdates(ctx context.Context) ([]store.Pending, error)
}

// SubjectIndex is the private index from citizen pseudonyms to ledger entries.
type SubjectIndex interface {
	AddSubjectRefs(ctx context.Context, refs []store.SubjectRef) error
}

// Store is everything the hub keeps in the database besides the ledger.
type Store interface {
	RecordStore
	KeyStore
	PendingStore
	SubjectIndex
}

// Ledger is the log the hub writes to.
type Ledger interface {
	Append(ctx context.Context, e ledger.Entry) (ledger.Receipt, error)
	Latest() ledger.Checkpoint
	FindLeaf(ctx context.Context, from uint64, leafHash [32]byte) (uint64, bool, error)
	Sign(index uint64, leafHash [32]byte) (ledger.Receipt, error)
	LatestCosigned(ctx context.Context) (ledger.Checkpoint, error)
	LedgerReader
}

// Config holds the hub's dependencies; all are required.
type Config struct {
	Store  Store
	Ledger Ledger
	Policy *policy.Engine
	// Master wraps the citizens' data keys.
	Master *seal.MasterKey
	// IndexKey (32 bytes) keys citizen pseudonyms in the private subject index and request digests.
	IndexKey []byte
}

// Option changes a default of New.
type Option func(*Hub)

// WithClock sets the clock entries are stamped with.
func WithClock(now func() time.Time) Option { return func(h *Hub) { h.now = now } }

// WithRand sets the source of salts, blindings and keys (tests only; the default is crypto/rand).
func WithRand(r io.Reader) Option { return func(h *Hub) { h.rand = r } }

// Hub runs the use cases. It is safe for concurrent use.
type Hub struct {
	store    Store
	ledger   Ledger
	policy   *policy.Engine
	master   *seal.MasterKey
	indexKey []byte
	now      func() time.Time
	rand     io.Reader
	locks    [256]sync.Mutex // one writer per record at a time in this process
}

// New checks cfg and returns a hub.
func New(cfg Config, opts ...Option) (*Hub, error) {
	if cfg.Store == nil || cfg.Ledger == nil || cfg.Policy == nil || cfg.Master == nil {
		return nil, errors.New("hub: New needs a store, a ledger, a policy engine and a master key")
	}
	if len(cfg.IndexKey) != 32 {
		return nil, fmt.Errorf("hub: index key has %d bytes, want 32", len(cfg.IndexKey))
	}
	h := &Hub{store: cfg.Store, ledger: cfg.Ledger, policy: cfg.Policy, master: cfg.Master,
		indexKey: cfg.IndexKey, now: time.Now, rand: rand.Reader}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// Policy returns the policy snapshot in force.
func (h *Hub) Policy() *policy.Snapshot { return h.policy.Snapshot() }

// lockRecord serialises writers of one record within this process.
func (h *Hub) lockRecord(citizen, dataset string) func() {
	f := fnv.New32a()
	f.Write([]byte(citizen + "/" + dataset))
	m := &h.locks[f.Sum32()%uint32(len(h.locks))]
	m.Lock()
	return m.Unlock
}

// pseudonym names a citizen in the private subject index: the first 16 bytes, hex, of
// HMAC-SHA-256(IndexKey, "govhub/pseudonym/v1" ‖ 0x00 ‖ citizenID).
func (h *Hub) pseudonym(citizen string) string { return pseudonymOf(h.indexKey, citizen) }

func pseudonymOf(key []byte, citizen string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("govhub/pseudonym/v1\x00"))
	m.Write([]byte(citizen))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// requestDigest is HMAC-SHA-256(IndexKey, "govhub/request/v1" ‖ 0x00 ‖ request): the hub can show a
// request matches its entry, while nobody without the key can test guesses of its contents
// (a plain hash of a request naming a citizen and a value would give both away).
func (h *Hub) requestDigest(req []byte) []byte {
	m := hmac.New(sha256.New, h.indexKey)
	m.Write([]byte("govhub/request/v1\x00"))
	m.Write(req)
	return m.Sum(nil)
}

// SubjectCommitment is the salted commitment to a citizen that entries carry:
// SHA-256("govhub/subject/v1" ‖ salt ‖ citizenID).
func SubjectCommitment(salt []byte, citizen string) []byte {
	s := sha256.New()
	s.Write([]byte("govhub/subject/v1"))
	s.Write(salt)
	s.Write([]byte(citizen))
	return s.Sum(nil)
}

// subject makes a fresh salt and the commitment for one citizen in one entry.
func (h *Hub) subject(citizen string) (salt, commitment []byte, err error) {
	salt = make([]byte, 32)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return nil, nil, fmt.Errorf("drawing a subject salt: %w", err)
	}
	return salt, SubjectCommitment(salt, citizen), nil
}

// appendEntry appends e, mapping ledger failures to ErrBusy or ErrUnavailable.
func (h *Hub) appendEntry(ctx context.Context, e ledger.Entry) (ledger.Receipt, error) {
	return usecase.Append(ctx, h.ledger, e)
}

// indexSubject records, in the private subject index, that entry index concerns citizen.
func (h *Hub) indexSubject(ctx context.Context, citizen string, index uint64, salt []byte) error {
	err := h.store.AddSubjectRefs(ctx, []store.SubjectRef{{Pseudonym: h.pseudonym(citizen), Index: index, Salt: salt}})
	if err != nil {
		return fmt.Errorf("%w: indexing entry %d: %v", ErrUnavailable, index, err)
	}
	return nil
}
