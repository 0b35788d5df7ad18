// Package hub holds GovHub's use cases over citizen data, one type per capability, each built
// from the few dependencies it needs:
//
//   - [Reader] releases citizen data under policy: ReadCitizen (read.go), ListCitizens (list.go),
//     a citizen opening their own commitments (OpenOwn, opening.go), and refusals logged before
//     a request could be read (LogRefusal);
//   - [Updater] changes records: Update (update.go), bulk Import (import.go), and Recover of
//     updates a crash interrupted (recover.go);
//   - [Review] shows the ledger: checkpoints, inclusion and consistency proofs, entries and
//     receipts (review.go); [AuditRecords] checks the record store against it (audit.go);
//   - [Citizens] shows citizens their own log (citizens.go): every entry that concerns them, from
//     the per-citizen access log written before each response, with what a browser needs to
//     verify one, their own records and openings, and a watch for new entries;
//   - [Questions] lets a citizen question an access and the department answer it (questions.go),
//     both on the ledger before they are stored;
//   - [Sealed] serves sealed accesses under court orders (sealed.go, the format; sealed_read.go,
//     the read; sealed_access.go): the citizen's disclosure once unsealed, unsealing on the date
//     or early (approved through package governance), and the public counts.
//   - [Erasure] applies lawful erasures the officers approved (erasure.go: crypto-shredding, an
//     erasure entry, a tombstone every read meets as ErrErased, a signed receipt; [SealedEraser]
//     destroys the details of the citizen's sealed accesses, sealed_erasure.go), and
//     ReplayErasures applies them again to a restored store.
//
// They share one small unexported core (core.go) that appends entries (ledger failures become
// ErrBusy or ErrUnavailable) and names subjects (salted subject commitments, pseudonyms in the
// private subject index, keyed request digests) and the official behind each request (an
// official line only their department can resolve). Its types are plain Go: no GraphQL, no BSON. The
// officers' policy workflow is package governance.
//
// The invariants of ARCHITECTURE §1 live here, per capability:
//   - log before release (Reader): ReadCitizen, ListCitizens and OpenOwn return data only after
//     the access entry describing exactly the fields and levels they return is durably appended
//     and indexed for each citizen concerned; if the append fails they return ErrUnavailable (or
//     ErrBusy) and no data. Refused and denied requests are appended too, and fail if they
//     cannot be;
//   - every change is on the ledger (Updater): Update appends its entry before it writes the
//     record, with version = the entry's index, and a crash between the two is repaired by
//     Recover from the pending update; Import writes records only after their entries;
//   - nothing altered is released (Reader, Updater): every record read from the store, for a
//     release or as the base of an update, is first checked against its MAC and the citizen's
//     record head, whose own freshness is anchored on the ledger's chain of the citizen's
//     updates (Integrity, integrity.go); a mismatch is ErrIntegrity, on the ledger as a refusal,
//     and nothing of the citizen is released; and a sealed value is released only if it opens
//     the commitment stored with it, under associated data binding citizen, dataset, field and
//     version;
//   - no personal data in the ledger (all): entries carry salted subject commitments
//     (crypto: "govhub/subject/v1", a fresh 32-byte salt per entry, kept off the ledger in the
//     private subject index), keyed request digests, field names, levels and Pedersen
//     commitments; never a citizen id or a value;
//   - sealed at rest (Reader, Updater): sensitive values are stored only as AES-GCM seals under
//     the citizen's data key next to their commitment, and unsealed only when a policy reveals
//     them (or the citizen opens their own);
//   - deny by default, field by field (Reader, Updater): one policy decision per requested field
//     and request; no write without the write permission, no list without the list permission;
//   - history never changes silently (Review): proofs are given only against published
//     checkpoints (ErrNotPublished otherwise).
package hub

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
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

// ErrIntegrity (integrity.go): a stored record does not match what the hub wrote.

// RecordReader reads citizens and their dataset records. Errors wrap store.ErrNotFound for a
// record that is not there. Implementations are safe for concurrent use.
type RecordReader interface {
	Records(ctx context.Context, citizen string, datasets []string) (map[string]store.Record, error)
	Record(ctx context.Context, citizen, dataset string) (store.Record, error)
	CitizenExists(ctx context.Context, id string) (bool, error)
}

// RecordWriter writes dataset records and registers citizens. CreateRecord fails with
// store.ErrConflict where a record exists, ReplaceRecord where the stored version is not base;
// PutHeadAndRecord writes a record with its citizen's new head, or neither (store.ErrConflict)
// where either is not as the update found it. Implementations are safe for concurrent use.
type RecordWriter interface {
	CreateRecord(ctx context.Context, r store.Record) error
	ReplaceRecord(ctx context.Context, r store.Record, base uint64) error
	PutHeadAndRecord(ctx context.Context, w store.HeadAndRecord) error
	InsertRecords(ctx context.Context, rs []store.Record) error
	AddCitizens(ctx context.Context, ids []string, now time.Time) error
}

// RecordStore reads and writes records: what updating needs.
type RecordStore interface {
	RecordReader
	RecordWriter
}

// KeyReader reads a citizen's wrapped data key, or an error wrapping store.ErrNotFound.
type KeyReader interface {
	DataKey(ctx context.Context, citizen string) ([]byte, error)
}

// KeyStore holds the citizens' wrapped data keys. AddDataKey fails with store.ErrConflict where
// the citizen has one.
type KeyStore interface {
	KeyReader
	AddDataKey(ctx context.Context, citizen string, wrapped []byte) error
	AddDataKeys(ctx context.Context, keys map[string][]byte) error
}

// PendingStore holds updates between their two durable steps.
type PendingStore interface {
	AddPending(ctx context.Context, p store.Pending) error
	// DeletePending removes the pending updates ids (those not stored are no error).
	DeletePending(ctx context.Context, ids ...string) error
	PendingUpdates(ctx context.Context) ([]store.Pending, error)
}

// SubjectIndex is the private index from citizen pseudonyms to ledger entries, with each
// citizen's access log (a store.Store): an append stores both, durably when it returns nil.
// Safe for concurrent use.
type SubjectIndex interface {
	AppendSubjectLog(ctx context.Context, ref store.LogRef) (uint64, error)
	AppendSubjectLogs(ctx context.Context, refs []store.LogRef) ([]uint64, error)
	// SubjectRef returns the citizen's reference to entry index, store.ErrNotFound if the entry
	// is not in their access log: how recovery learns that an update it finishes was indexed.
	SubjectRef(ctx context.Context, pseudonym string, index uint64) (store.SubjectRef, error)
}

// Appender is the ledger as reading writes to it: Append returns once the entry is durable.
type Appender interface {
	Append(ctx context.Context, e ledger.Entry) (ledger.Receipt, error)
}

// Option changes a default of NewReader or NewUpdater.
type Option func(*core)

// WithClock sets the clock entries are stamped with.
func WithClock(now func() time.Time) Option { return func(c *core) { c.now = now } }

// WithPseudonyms names citizens with ps, shared by the hub's capabilities (pseudonyms.go); without
// it they are named under the index key ring's pseudonym key, and a ring whose pseudonyms are being
// re-keyed fails every request that names a citizen.
func WithPseudonyms(ps *Pseudonyms) Option { return func(c *core) { c.names = ps } }

// WithRand sets the source of salts, blindings and keys (tests only; the default is crypto/rand).
func WithRand(r io.Reader) Option { return func(c *core) { c.rand = r } }
