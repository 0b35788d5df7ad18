package hub

// Lawful erasure (ARCHITECTURE §4: crypto-shredding; docs/ERASURE.md). Officers decide an erasure
// (package governance: one proposes it with a legal basis, another approves it); Erasure.Apply
// then carries it out, in this order, each step idempotent so that an erasure interrupted at any
// point is finished by running it again (Resume, at every start):
//
//  1. intent: the request (store.Erasure, status approved) gets the erasure entry's fresh subject
//     salt, time and leaf hash before the entry is appended, so that a resumed erasure finds the
//     entry by its leaf hash instead of appending a second one;
//  2. the erasure entry (kind erasure, reason lawful-erasure, the approving officer as actor): its
//     subject line is the citizen's commitment under that fresh salt, its record line the keyed
//     digest ErasureDigest(indexKey, citizen), which a holder of the index key can recompute
//     from a citizen id (a restore does) while nobody else can (indexKey is the index key current
//     then; after a rotation every key held is tried: indexkeys.go);
//  3. the tombstone (_id = hex of that digest);
//  4. the citizen's record head: from now on every read and update of the citizen, on every
//     instance, finds no head, then the tombstone, and is refused with ErrErased (integrity.go;
//     a stale record cache or data-key cache of another instance is never consulted without the
//     head); this instance's caches drop the citizen too;
//  5. the data key (crypto-shredding: what it sealed, values and blindings, can never be opened
//     again, in this store or in any backup of it), then the records (sealed values, commitments,
//     plain fields), pending updates, the access log and every private index reference (so no
//     ledger entry can be linked to the citizen any more: their salts are gone), the citizen's
//     questions' texts, and the citizen's registration;
//  6. sealed accesses (sealed_erasure.go): the details, salt and citizen every sealed access of
//     the citizen keeps, and their oversight copies, are destroyed (a stub keeps the department
//     for the public counts), and such an access is never unsealed;
//  7. certificates: revoked through Certificates (CertificateRevoker), which fails closed;
//  8. the receipt: the erasure entry's C2SP tlog-proof, the salt and a statement of what was
//     destroyed, signed by the log key (FormatErasureReceipt), kept for the citizen sealed under a
//     key only their id and the index key give; then the request is marked applied and its
//     citizen id, salt and nonce are cleared.
//
// What the citizen still has: the receipt (MyErasureReceipt, and the file they saved), which shows
// that an erasure about them is on the ledger; their former access entries stay on the ledger, as
// salted commitments nobody can open any more. Their access log, records and openings are gone.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// ErrErased: the citizen's data was erased under a lawful erasure; nothing of it is left to read,
// update or open. Not an integrity failure.
var ErrErased = errors.New("this citizen's data was erased under a lawful erasure; nothing is left to read")

// ErrNoErasureReceipt: the caller has no erasure receipt here (their data was not erased, or the
// receipt was issued before the hub was restored from an older backup).
var ErrNoErasureReceipt = errors.New("no erasure receipt for you here: your data was not erased, or its receipt was issued before a restore (use the copy you saved)")

// ErasureReason is the reason line of every erasure entry.
const ErasureReason = "lawful-erasure"

// ErasureDigest is the keyed digest that names an erased citizen on the erasure entry's record
// line and in the tombstone's _id: HMAC-SHA-256 under the index key of
// "govhub/erasure/v1" ‖ 0x00 ‖ citizen id.
func ErasureDigest(indexKey []byte, citizen string) []byte {
	m := hmac.New(sha256.New, indexKey)
	m.Write([]byte("govhub/erasure/v1\x00"))
	m.Write([]byte(citizen))
	return m.Sum(nil)
}

// TombstoneStore keeps the tombstones of erased citizens (store.Tombstone): AddTombstone keeps
// one already there; Tombstone returns store.ErrNotFound for none. Safe for concurrent use.
type TombstoneStore interface {
	AddTombstone(ctx context.Context, t store.Tombstone) error
	Tombstone(ctx context.Context, digest string) (store.Tombstone, error)
	PutTombstone(ctx context.Context, t store.Tombstone) error
}

// Tombstones answers whether a citizen was erased: what a read or update asks when it finds no
// record head. Safe for concurrent use.
type Tombstones struct {
	store TombstoneStore
	keys  *subject.Ring
}

// NewTombstones returns the tombstones of st, named under the index key.
func NewTombstones(st TombstoneStore, indexKey []byte) (*Tombstones, error) {
	if st == nil || len(indexKey) != subject.KeySize {
		return nil, errors.New("hub: NewTombstones needs a tombstone store and the 32-byte index key")
	}
	return &Tombstones{store: st, keys: subject.FixedRing(indexKey)}, nil
}

// NewTombstoneRing returns the tombstones of st, named under any key of the index key ring
// (indexkeys.go): a tombstone made before a rotation still stops the citizen.
func NewTombstoneRing(st TombstoneStore, keys *subject.Ring) (*Tombstones, error) {
	if st == nil || keys == nil {
		return nil, errors.New("hub: NewTombstoneRing needs a tombstone store and the index key ring")
	}
	return &Tombstones{store: st, keys: keys}, nil
}

// Erased reports whether the citizen has a tombstone (under any index key held).
func (t *Tombstones) Erased(ctx context.Context, citizen string) (bool, error) {
	_, _, err := findTombstone(ctx, t.store, t.keys, citizen)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for an erasure tombstone: %w", err)
	}
	return true, nil
}

// findTombstone looks for the citizen's tombstone under each index key, the current first, and
// returns it with the key it is named under; store.ErrNotFound if there is none.
func findTombstone(ctx context.Context, st TombstoneStore, keys *subject.Ring, citizen string) (store.Tombstone, []byte, error) {
	for _, k := range keys.Keys() {
		t, err := st.Tombstone(ctx, hex.EncodeToString(ErasureDigest(k, citizen)))
		if err == nil {
			return t, k, nil
		}
		if !isNotFound(err) {
			return t, nil, err
		}
	}
	return store.Tombstone{}, nil, store.ErrNotFound
}

// ErasureRequests holds the officers' erasure requests (store.Erasure). UpdateErasure is a
// compare-and-swap on the stored status (store.ErrConflict). Safe for concurrent use.
type ErasureRequests interface {
	Erasure(ctx context.Context, id string) (store.Erasure, error)
	Erasures(ctx context.Context, status string) ([]store.Erasure, error)
	UpdateErasure(ctx context.Context, e store.Erasure, from string) error
}

// Shredder deletes what the store holds of one citizen, each call by _id and idempotent (nothing
// there is not an error). Safe for concurrent use.
type Shredder interface {
	DeleteRecordHead(ctx context.Context, citizen string) error
	DeleteDataKey(ctx context.Context, citizen string) error
	DeleteRecords(ctx context.Context, citizen string, datasets []string) error
	DeletePendingOf(ctx context.Context, citizen string) error
	// DeleteSubjectLog deletes the access logs and every private index reference of a citizen's
	// pseudonyms, given together so that the store looks for references without a log once.
	DeleteSubjectLog(ctx context.Context, pseudonyms ...string) error
	DeleteCitizen(ctx context.Context, citizen string) error
}

// QuestionScrubber clears a citizen's id and texts from their questions (by pseudonym).
type QuestionScrubber interface {
	ScrubQuestions(ctx context.Context, pseudonym string) error
}

// CertificateRevoker revokes every certificate issued to a citizen, because of the erasure entry
// at index (each revocation on the ledger first, as certificates require). It must return nil only
// once none of the citizen's certificates verifies any more; an error leaves the erasure
// unfinished (it is retried by Resume).
type CertificateRevoker interface {
	RevokeCitizenCertificates(ctx context.Context, citizen string, erasure uint64) error
}

// NoCertificates is the CertificateRevoker of a hub that issues no certificates. It fails closed:
// it refuses (and so holds the erasure unfinished) if asked with Issued set, so that wiring a
// certificate store without wiring its revocation cannot leave an erased citizen's certificates
// valid.
type NoCertificates struct {
	// Issued says the hub issues certificates (a certificate store is configured).
	Issued bool
}

// RevokeCitizenCertificates implements CertificateRevoker.
func (n NoCertificates) RevokeCitizenCertificates(context.Context, string, uint64) error {
	if n.Issued {
		return errors.New("hub: this hub issues certificates but no certificate revocation is wired for erasures; the erasure stays unfinished")
	}
	return nil
}

// ErasureConfig holds what applying erasures needs; all but Questions are required.
type ErasureConfig struct {
	Requests   ErasureRequests
	Tombstones TombstoneStore
	Shred      Shredder
	Questions  QuestionScrubber // nil: no questions to scrub
	// Certificates revokes the citizen's certificates (NoCertificates{} on a hub that issues none).
	Certificates CertificateRevoker
	// Sealed destroys the citizen's sealed accesses' details (every hub: the store may hold sealed
	// accesses from when it had an oversight key).
	Sealed *SealedEraser
	Ledger Appender
	// Leaves finds an erasure entry appended before a crash (the log's reader).
	Leaves LeafFinder
	// Published and Proofs build the receipt (the log, and its reader).
	Published Publisher
	Proofs    ProofReader
	// LogSigner returns the log's current note signer (the log key may rotate): it signs the
	// erasure receipt.
	LogSigner func() note.Signer
	// IndexKey (32 bytes) names citizens in the private index and in erasure digests.
	IndexKey []byte
	// IndexKeys, if set, is the index key ring used instead of IndexKey (indexkeys.go): new
	// tombstones, entries and receipts under its current key, lookups under all its keys.
	IndexKeys *subject.Ring
	// Integrity and Reader hold this instance's caches, which drop the citizen.
	Integrity *Integrity
	Reader    *Reader
	// PublishWait bounds how long Apply waits for a checkpoint covering the erasure entry (0: 30 s).
	PublishWait time.Duration
}

// Erasure applies approved erasures and gives citizens their receipts. Safe for concurrent use.
type Erasure struct {
	cfg  ErasureConfig
	keys *subject.Ring
	now  func() time.Time
	rand io.Reader
	// mu serialises applying within this instance, so that one request gets one intent and one
	// entry; two instances resuming the same request at once may each append an entry (both are
	// replayed alike, and either receipt verifies).
	mu sync.Mutex
}

// NewErasure checks cfg and returns the capability.
func NewErasure(cfg ErasureConfig, opts ...Option) (*Erasure, error) {
	if cfg.Requests == nil || cfg.Tombstones == nil || cfg.Shred == nil || cfg.Certificates == nil || cfg.Sealed == nil || cfg.Ledger == nil ||
		cfg.Leaves == nil || cfg.Published == nil || cfg.Proofs == nil || cfg.LogSigner == nil || len(cfg.IndexKey) != subject.KeySize && cfg.IndexKeys == nil ||
		cfg.Integrity == nil || cfg.Reader == nil {
		return nil, errors.New("hub: NewErasure needs requests, tombstones, a shredder, a certificate revoker, a sealed-access eraser, the ledger and its reader, the log signer, the index key, integrity and the reader")
	}
	if cfg.PublishWait <= 0 {
		cfg.PublishWait = 30 * time.Second
	}
	c := core{now: time.Now, rand: rand.Reader}
	for _, o := range opts {
		o(&c)
	}
	keys, err := indexRing(cfg.IndexKeys, cfg.IndexKey)
	if err != nil {
		return nil, err
	}
	return &Erasure{cfg: cfg, keys: keys, now: c.now, rand: c.rand}, nil
}

// ErasureResult is an applied erasure.
type ErasureResult struct {
	ID    string
	Index uint64 // the erasure entry
	// Receipt is the citizen's erasure receipt (FormatErasureReceipt).
	Receipt []byte
}

// Apply carries out the approved erasure request id (the steps above), or finishes it if it was
// interrupted; an erasure applied already returns its result again. It fails with ErrConflict for
// a request that is not approved, and with ErrUnavailable or ErrBusy if the ledger cannot take
// the entry (nothing is destroyed then).
func (er *Erasure) Apply(ctx context.Context, id string) (ErasureResult, error) {
	er.mu.Lock()
	defer er.mu.Unlock()
	req, err := er.cfg.Requests.Erasure(ctx, id)
	if isNotFound(err) {
		return ErasureResult{}, fmt.Errorf("%w: no erasure request %q", ErrInvalid, id)
	}
	if err != nil {
		return ErasureResult{}, err
	}
	switch req.Status {
	case store.ErasureApplied:
		return ErasureResult{ID: id, Index: req.ErasedEntry}, nil
	case store.ErasureApproved:
	default:
		return ErasureResult{}, fmt.Errorf("%w: erasure %s is %s, not approved", ErrConflict, id, req.Status)
	}
	if req.Citizen == "" {
		return ErasureResult{}, fmt.Errorf("erasure %s is approved but names no citizen", id)
	}
	// 1 and 2: the entry, once.
	if req, err = er.appendOnce(ctx, req); err != nil {
		return ErasureResult{}, err
	}
	key := er.keys.Current() // the tombstone's name and the receipt's seal, together
	digest := hex.EncodeToString(ErasureDigest(key, req.Citizen))
	// 3: the tombstone, before anything is deleted.
	if err := er.cfg.Tombstones.AddTombstone(ctx, store.Tombstone{Digest: digest, Erasure: id, Index: req.ErasedEntry, Time: req.EntryTime}); err != nil {
		return ErasureResult{}, fmt.Errorf("storing the tombstone: %w", err)
	}
	// 4 and 5.
	er.cfg.Integrity.forget(req.Citizen)
	er.cfg.Reader.keys.forget(req.Citizen)
	if err := Shred(ctx, er.cfg.Shred, er.cfg.Questions, er.keys, req.Citizen); err != nil {
		return ErasureResult{}, err
	}
	// A read that found the head just before it went may have cached the citizen again.
	er.cfg.Integrity.forget(req.Citizen)
	er.cfg.Reader.keys.forget(req.Citizen)
	// 6.
	if _, err := er.cfg.Sealed.EraseCitizen(ctx, req.Citizen); err != nil {
		return ErasureResult{}, fmt.Errorf("erasing the citizen's sealed access details (the erasure stays unfinished and is retried): %w", err)
	}
	// 7.
	if err := er.cfg.Certificates.RevokeCitizenCertificates(ctx, req.Citizen, req.ErasedEntry); err != nil {
		return ErasureResult{}, fmt.Errorf("revoking the citizen's certificates (the erasure stays unfinished and is retried): %w", err)
	}
	// 8.
	receipt, err := er.receipt(ctx, req)
	if err != nil {
		return ErasureResult{}, err
	}
	sealed, err := sealReceipt(key, req.Citizen, receipt, er.rand)
	if err != nil {
		return ErasureResult{}, err
	}
	if err := er.cfg.Tombstones.PutTombstone(ctx, store.Tombstone{Digest: digest, Erasure: id, Index: req.ErasedEntry, Time: req.EntryTime, Receipt: sealed}); err != nil {
		return ErasureResult{}, fmt.Errorf("storing the receipt: %w", err)
	}
	done := req
	done.Status, done.Applied, done.Digest = store.ErasureApplied, er.now(), ErasureDigest(key, req.Citizen)
	done.Citizen, done.Salt, done.Nonce, done.Reason = "", nil, nil, ""
	if err := er.cfg.Requests.UpdateErasure(ctx, done, store.ErasureApproved); err != nil && !errors.Is(err, store.ErrConflict) {
		return ErasureResult{}, fmt.Errorf("marking erasure %s applied: %w", id, err)
	}
	return ErasureResult{ID: id, Index: req.ErasedEntry, Receipt: receipt}, nil
}

// Resume applies every approved erasure not yet applied (at start-up: those a crash interrupted).
// It returns how many it applied, and the first error (it goes on with the others).
func (er *Erasure) Resume(ctx context.Context) (int, error) {
	reqs, err := er.cfg.Requests.Erasures(ctx, store.ErasureApproved)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, r := range reqs {
		if _, err := er.Apply(ctx, r.ID); err != nil {
			if first == nil {
				first = fmt.Errorf("erasure %s: %w", r.ID, err)
			}
			continue
		}
		n++
	}
	return n, first
}

// erasureEntry is the erasure entry of req.
func (er *Erasure) erasureEntry(req store.Erasure) ledger.Entry {
	return ledger.Entry{
		Kind: ledger.KindErasure, Time: req.EntryTime, Department: req.ApproverDepartment, Role: req.ApproverRole,
		Official: req.ApproverOfficial, Policy: req.Policy, Outcome: ledger.OutcomeAllowed, Reason: ErasureReason,
		Record: ErasureDigest(er.keys.Current(), req.Citizen), Subjects: [][]byte{subject.Commit(req.Salt, req.Citizen)},
	}
}

// appendOnce appends req's erasure entry unless it was appended before a crash, and returns req
// with the entry's index.
func (er *Erasure) appendOnce(ctx context.Context, req store.Erasure) (store.Erasure, error) {
	if req.HasIndex {
		return req, nil
	}
	if req.Salt != nil {
		// Intent recorded by an earlier attempt: did its entry become durable?
		if idx, found, err := er.cfg.Leaves.FindLeaf(ctx, req.After, [32]byte(req.LeafHash)); err != nil {
			return req, fmt.Errorf("looking for the erasure entry of an interrupted erasure: %w", err)
		} else if found {
			return er.recordIndex(ctx, req, idx)
		}
	} else {
		salt, err := subject.NewSalt(er.rand)
		if err != nil {
			return req, err
		}
		next := req
		next.Salt, next.EntryTime, next.After = salt, er.now().UTC().Truncate(time.Millisecond), er.cfg.Published.Latest().Size
		raw, err := ledger.FormatEntry(er.erasureEntry(next))
		if err != nil {
			return req, err
		}
		lh := ledger.LeafHash(raw)
		next.LeafHash = lh[:]
		if err := er.cfg.Requests.UpdateErasure(ctx, next, store.ErasureApproved); err != nil {
			return req, fmt.Errorf("recording the erasure's intent: %w", err)
		}
		req = next
	}
	r, err := usecase.Append(ctx, er.cfg.Ledger, er.erasureEntry(req))
	if err != nil {
		return req, err
	}
	return er.recordIndex(ctx, req, r.Index)
}

func (er *Erasure) recordIndex(ctx context.Context, req store.Erasure, index uint64) (store.Erasure, error) {
	next := req
	next.HasIndex, next.ErasedEntry = true, index
	if err := er.cfg.Requests.UpdateErasure(ctx, next, store.ErasureApproved); err != nil {
		return req, fmt.Errorf("recording the erasure entry's index: %w", err)
	}
	return next, nil
}

// receipt waits for a published checkpoint covering the erasure entry and builds the receipt.
func (er *Erasure) receipt(ctx context.Context, req store.Erasure) ([]byte, error) {
	deadline := time.Now().Add(er.cfg.PublishWait)
	for er.cfg.Published.Latest().Size <= req.ErasedEntry {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: the erasure entry %d (the erasure is otherwise done; retried at the next start)", ErrNotPublished, req.ErasedEntry)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	proof, err := ReceiptOf(ctx, er.cfg.Published, er.cfg.Proofs, req.ErasedEntry)
	if err != nil {
		return nil, err
	}
	return FormatErasureReceipt(ErasureReceipt{Index: req.ErasedEntry, Salt: req.Salt, Destroyed: Destroyed, Proof: proof}, er.cfg.LogSigner())
}

// MyErasureReceipt returns the erasure receipt of the citizen p (citizens only): ErrNotFound when
// they were not erased.
func (er *Erasure) MyErasureReceipt(ctx context.Context, p auth.Principal) ([]byte, error) {
	if p.Kind != auth.KindCitizen || p.Subject == "" {
		return nil, fmt.Errorf("%w: erasure receipts are for the citizen concerned", ErrForbidden)
	}
	t, key, err := findTombstone(ctx, er.cfg.Tombstones, er.keys, p.Subject)
	if isNotFound(err) {
		return nil, ErrNoErasureReceipt
	}
	if err != nil {
		return nil, err
	}
	if len(t.Receipt) == 0 && t.Erasure == ReplayedErasure {
		return nil, fmt.Errorf("%w (erasure entry %d)", ErrNoErasureReceipt, t.Index)
	}
	if len(t.Receipt) == 0 {
		return nil, fmt.Errorf("%w: your data is erased; the receipt is not ready yet", ErrNotPublished)
	}
	return openReceipt(key, p.Subject, t.Receipt)
}

// Shred deletes everything st holds of the citizen, in the order of step 5 above (the record head
// first, then the data key, then the rest), each step idempotent. It appends nothing: the caller
// has the erasure entry on the ledger already (Apply), or is replaying one (ReplayErasures).
// keys are the index keys: the citizen's access log, private index and questions are deleted under
// their pseudonym and under each former one (pseudonyms.go: data not moved yet).
func Shred(ctx context.Context, st Shredder, questions QuestionScrubber, keys *subject.Ring, citizen string) error {
	names := pseudonymsOf(keys, citizen)
	steps := []struct {
		what string
		do   func() error
	}{
		{"the record head", func() error { return st.DeleteRecordHead(ctx, citizen) }},
		{"the data key", func() error { return st.DeleteDataKey(ctx, citizen) }},
		{"the records", func() error { return st.DeleteRecords(ctx, citizen, dataset.Names()) }},
		{"pending updates", func() error { return st.DeletePendingOf(ctx, citizen) }},
		{"the access log and private index", func() error { return st.DeleteSubjectLog(ctx, names...) }},
		{"questions", func() error {
			for _, p := range names {
				if questions == nil {
					break
				}
				if err := questions.ScrubQuestions(ctx, p); err != nil {
					return err
				}
			}
			return nil
		}},
		{"the registration", func() error { return st.DeleteCitizen(ctx, citizen) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("erasing %s (the erasure stays unfinished and is retried): %w", s.what, err)
		}
	}
	return nil
}

// receiptKey is the key a citizen's stored receipt is sealed under: HMAC-SHA-256 under the index
// key of "govhub/erasure-receipt/v1" ‖ 0x00 ‖ citizen id.
func receiptKey(indexKey []byte, citizen string) []byte {
	m := hmac.New(sha256.New, indexKey)
	m.Write([]byte("govhub/erasure-receipt/v1\x00"))
	m.Write([]byte(citizen))
	return m.Sum(nil)
}

func receiptAEAD(indexKey []byte, citizen string) (cipher.AEAD, error) {
	b, err := aes.NewCipher(receiptKey(indexKey, citizen))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// sealReceipt seals a receipt for storage: nonce ‖ AES-256-GCM ciphertext.
func sealReceipt(indexKey []byte, citizen string, receipt []byte, rand io.Reader) ([]byte, error) {
	a, err := receiptAEAD(indexKey, citizen)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, err
	}
	return a.Seal(nonce, nonce, receipt, []byte("govhub/erasure-receipt/v1")), nil
}

func openReceipt(indexKey []byte, citizen string, sealed []byte) ([]byte, error) {
	a, err := receiptAEAD(indexKey, citizen)
	if err != nil {
		return nil, err
	}
	if len(sealed) < a.NonceSize() {
		return nil, errors.New("hub: stored erasure receipt is malformed")
	}
	out, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], []byte("govhub/erasure-receipt/v1"))
	if err != nil {
		return nil, fmt.Errorf("hub: stored erasure receipt does not open: %w", err)
	}
	return out, nil
}

// forget drops the citizen's records from the record cache (an erasure).
func (in *Integrity) forget(citizen string) {
	if in.cache != nil {
		in.cache.lru.Remove(citizen)
	}
}

// forget drops the citizen's data key from the data-key cache (an erasure).
func (k keyring) forget(citizen string) {
	if k.cache != nil {
		k.cache.lru.Remove(citizen)
	}
}

// ErasureChecker reports whether a citizen was erased (a *Tombstones).
type ErasureChecker interface {
	Erased(ctx context.Context, citizen string) (bool, error)
}

// HeadLister lists every citizen's record head (a registered citizen always has one).
type HeadLister interface {
	EachRecordHead(ctx context.Context, fn func(store.Head) error) error
}

// ErasuresOnLedger returns the record digests of the allowed erasure entries among raw entries
// (ErasureDigest, as a string of 32 bytes), each with its entry's index. entries calls its
// argument with every entry in order.
func ErasuresOnLedger(entries func(fn func(index uint64, raw []byte) error) error) (map[string]uint64, error) {
	out := map[string]uint64{}
	err := entries(func(i uint64, raw []byte) error {
		e, err := ledger.ParseEntry(raw)
		if err == nil && e.Kind == ledger.KindErasure && e.Outcome == ledger.OutcomeAllowed && len(e.Record) == 32 {
			out[string(e.Record)] = i
		}
		return nil
	})
	return out, err
}

// ReplayConfig is what ReplayErasures works on: a restored store.
type ReplayConfig struct {
	Heads      HeadLister
	Shred      Shredder
	Questions  QuestionScrubber // nil: none
	Tombstones TombstoneStore
	Requests   ErasureRequests
	// Sealed destroys the erased citizens' sealed access details again (required).
	Sealed   *SealedEraser
	IndexKey []byte
	// IndexKeys, if set, is the index key ring used instead of IndexKey: an erasure digest on the
	// ledger under any of its keys names the citizen (indexkeys.go).
	IndexKeys *subject.Ring
}

// Replayed is what ReplayErasures did.
type Replayed struct {
	// Citizens is how many citizens of the restored records were erased again.
	Citizens int
	// SealedAccesses is how many sealed accesses had their details destroyed again.
	SealedAccesses int
}

// ReplayErasures applies again, to a restored store, every erasure on the ledger (erased, from
// ErasuresOnLedger): each citizen whose ErasureDigest is there gets a tombstone and is shredded
// (Shred), and any erasure request the store still holds for them (from before the erasure) is
// marked applied and stripped of their id, so that an erased citizen never comes back from an
// older backup. Nothing is appended: the erasure entries are on the ledger already. The
// receipts issued then are not in an older backup; the citizens keep the copies they saved. The
// sealed accesses of every erased citizen lose their details again (SealedEraser), whether or
// not the citizen is among the restored records.
func ReplayErasures(ctx context.Context, cfg ReplayConfig, erased map[string]uint64) (Replayed, error) {
	if cfg.Sealed == nil {
		return Replayed{}, errors.New("hub: ReplayErasures needs the sealed-access eraser")
	}
	if len(erased) == 0 {
		return Replayed{}, nil
	}
	keys, err := indexRing(cfg.IndexKeys, cfg.IndexKey)
	if err != nil {
		return Replayed{}, err
	}
	// erasedAs returns the digest under which citizen is erased on the ledger (any key), or nil.
	erasedAs := func(citizen string) []byte {
		for _, k := range keys.Keys() {
			if d := ErasureDigest(k, citizen); hasKey(erased, d) {
				return d
			}
		}
		return nil
	}
	var found []string
	if err := cfg.Heads.EachRecordHead(ctx, func(h store.Head) error {
		if erasedAs(h.Citizen) != nil {
			found = append(found, h.Citizen)
		}
		return nil
	}); err != nil {
		return Replayed{}, fmt.Errorf("listing the restored citizens: %w", err)
	}
	for _, c := range found {
		d := erasedAs(c)
		if err := cfg.Tombstones.AddTombstone(ctx, store.Tombstone{Digest: hex.EncodeToString(d), Erasure: ReplayedErasure, Index: erased[string(d)]}); err != nil {
			return Replayed{}, fmt.Errorf("storing a tombstone: %w", err)
		}
		if err := Shred(ctx, cfg.Shred, cfg.Questions, keys, c); err != nil {
			return Replayed{}, err
		}
	}
	reqs, err := cfg.Requests.Erasures(ctx, "")
	if err != nil {
		return Replayed{}, fmt.Errorf("listing erasure requests: %w", err)
	}
	for _, r := range reqs {
		if r.Citizen == "" || r.Status == store.ErasureApplied {
			continue
		}
		d := erasedAs(r.Citizen)
		if d == nil {
			continue
		}
		at := erased[string(d)]
		// A backup taken in the middle of the erasure may hold what is left of it without a head.
		if err := cfg.Tombstones.AddTombstone(ctx, store.Tombstone{Digest: hex.EncodeToString(d), Erasure: ReplayedErasure, Index: at}); err != nil {
			return Replayed{}, fmt.Errorf("storing a tombstone: %w", err)
		}
		if err := Shred(ctx, cfg.Shred, cfg.Questions, keys, r.Citizen); err != nil {
			return Replayed{}, err
		}
		done := r
		done.Status, done.Digest, done.HasIndex, done.ErasedEntry = store.ErasureApplied, d, true, at
		done.Citizen, done.Salt, done.Nonce, done.Reason = "", nil, nil, ""
		if err := cfg.Requests.UpdateErasure(ctx, done, r.Status); err != nil {
			return Replayed{}, fmt.Errorf("closing erasure request %s: %w", r.ID, err)
		}
	}
	sealed := 0
	for _, k := range keys.Keys() {
		n, err := cfg.Sealed.ReplaySealedErasures(ctx, k, erased)
		if err != nil {
			return Replayed{}, fmt.Errorf("erasing the erased citizens' sealed access details: %w", err)
		}
		sealed += n
	}
	return Replayed{Citizens: len(found), SealedAccesses: sealed}, nil
}

// ReplayedErasure is the Erasure of a tombstone ReplayErasures wrote (its request may be gone).
const ReplayedErasure = "replayed"

// hasKey reports whether erased holds the digest d.
func hasKey(erased map[string]uint64, d []byte) bool {
	_, ok := erased[string(d)]
	return ok
}
