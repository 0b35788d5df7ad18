package hub

// Sealed accesses (docs/SEALED.md is the tour; this comment is the specification).
//
// A purpose the officers registered as sealed (policy.Purpose.Sealed, with a maximum seal period)
// serves court-ordered investigations that the citizen must not learn of until they are over. A
// read under it names a court-order reference and an unseal date no later than the purpose's
// maximum period allows. Its access entry is appended before anything is released, as every
// read's is (log before release), but says nothing of who read what:
//
//	govhub/entry/v2
//	kind access
//	time 2026-12-01T08:00:00.005Z
//	actor sealed/court-order
//	policy 7
//	outcome allowed
//	sealed <64 hex: the details' digest> 2027-06-30
//	subject <the citizen's salted commitment>
//
// (no official, purpose, request digest, request id, reason or field lines), so the citizen's log
// shows at once that a sealed access under a court order happened at that time, and nothing more.
// The details are committed to by the sealed line:
//
//	digest = SHA-256("govhub/sealed/v1" ‖ salt ‖ details)
//
// with a fresh 32-byte salt, where details is the canonical text FormatSealedDetails writes, one
// "key value" line each, in this fixed order, every line ending in "\n":
//
//	govhub/sealed/v1                          header, always
//	time <RFC 3339, UTC, milliseconds>        the access entry's time
//	actor <department>/<role>                 who read
//	official <64 hex>                         optional: the official's pseudonym (as entry v2)
//	purpose <code>                            the sealed purpose
//	court-order <reference>                   1 to 200 characters of UTF-8 text, no control
//	                                          characters, no leading or trailing space
//	unseal <YYYY-MM-DD>                       the unseal date, as on the sealed line
//	outcome <allowed|denied>
//	reason <token>                            optional: why it was denied
//	field <name> <level> [proved:<p>]… [refused:<p>]…
//	                                          0 or more, sorted by name: as the entry's field
//	                                          lines would have said (without commitments)
//
// For example (testdata/sealed-details.txt, with the salt 32 bytes of 0x42, the test vector of
// TestSealedDetailsVector):
//
//	govhub/sealed/v1
//	time 2026-12-01T08:00:00.005Z
//	actor public-security/investigator
//	official cd18f1264f26eeced6cd355aafeb268ce59367fbcf7555c4a9813daa83620d60
//	purpose court-sealed-investigation
//	court-order (2026)京0105刑侦字第123号
//	unseal 2027-06-30
//	outcome allowed
//	field identity.address reveal
//	field tax.annualIncome commit
//
// has the digest 93345ba31ab4ddb06b671a946ff46332a6939a8ed6bb25ae8d2b059f90c1212b (the test
// keeps this comment true).
//
// The details, their salt and the citizen are kept (store.SealedAccess) under the digest, sealed
// with the hub's master key, before the entry is appended: no sealed line is ever on the ledger
// without its details kept. The details and salt are also encrypted (age, X25519) to the
// oversight body's key, so that it can read them before unsealing (govhub sealed read). On the
// unseal date, or once an early unseal proposed by one officer is approved by another (package
// governance), an unseal entry discloses them: kind unseal, about the sealed access's index, its
// record line the same digest, with the citizen's commitment under a fresh salt, so that it shows
// in the citizen's log; the citizen is then given the details and salt (Sealed.Disclosure) and
// their browser checks that they hash to the sealed line of the original entry.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// SealedDetailsHeader is the first line of the details' encoding, and the digest's domain.
const SealedDetailsHeader = "govhub/sealed/v1"

// The actor a sealed access entry names in place of the real one.
const (
	SealedDepartment = "sealed"
	SealedRole       = "court-order"
)

// MaxCourtOrderLength is the most characters a court-order reference may have.
const MaxCourtOrderLength = 200

// SealedDetails are what a sealed access entry hides until it is unsealed.
type SealedDetails struct {
	Time             time.Time
	Department, Role string
	Official         []byte // nil or 32 bytes
	Purpose          string
	CourtOrder       string
	UnsealOn         time.Time // midnight UTC
	Outcome          ledger.Outcome
	Reason           string
	Fields           []ledger.Field // without commitments, sorted by name
}

const sealedDateLayout = "2006-01-02"

// CheckCourtOrder checks a court-order reference.
func CheckCourtOrder(s string) error {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxCourtOrderLength || strings.TrimSpace(s) != s {
		return fmt.Errorf("%w: a court-order reference is 1 to %d characters without leading or trailing space", ErrInvalid, MaxCourtOrderLength)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: a court-order reference has no control characters", ErrInvalid)
	}
	return nil
}

// FormatSealedDetails returns the canonical encoding of d (see the file comment).
func FormatSealedDetails(d SealedDetails) ([]byte, error) {
	if err := CheckCourtOrder(d.CourtOrder); err != nil {
		return nil, err
	}
	if u := d.UnsealOn; u.Location() != time.UTC || !u.Equal(u.Truncate(24*time.Hour)) {
		return nil, fmt.Errorf("%w: unseal date %v is not midnight UTC", ErrInvalid, u)
	}
	if d.Official != nil && len(d.Official) != 32 {
		return nil, fmt.Errorf("%w: official pseudonym of %d bytes", ErrInvalid, len(d.Official))
	}
	var b bytes.Buffer
	line := func(k, v string) { b.WriteString(k + " " + v + "\n") }
	b.WriteString(SealedDetailsHeader + "\n")
	line("time", d.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	line("actor", d.Department+"/"+d.Role)
	if d.Official != nil {
		line("official", hex.EncodeToString(d.Official))
	}
	line("purpose", d.Purpose)
	line("court-order", d.CourtOrder)
	line("unseal", d.UnsealOn.Format(sealedDateLayout))
	line("outcome", string(d.Outcome))
	if d.Reason != "" {
		line("reason", d.Reason)
	}
	fields := slices.Clone(d.Fields)
	slices.SortFunc(fields, func(a, b ledger.Field) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range fields {
		v := f.Name + " " + f.Level
		for _, p := range f.Proved {
			v += " proved:" + p
		}
		for _, p := range f.Refused {
			v += " refused:" + p
		}
		line("field", v)
	}
	// Every token must be what an entry would accept: check the lines by formatting them as an
	// entry would (department, role, purpose, reason and fields).
	probe := ledger.Entry{Kind: ledger.KindAccess, Time: d.Time, Department: d.Department, Role: d.Role, Official: d.Official,
		Purpose: d.Purpose, Outcome: d.Outcome, Reason: d.Reason, Fields: fields}
	if _, err := ledger.FormatEntry(probe); err != nil {
		return nil, fmt.Errorf("%w: sealed details: %v", ErrInvalid, err)
	}
	return b.Bytes(), nil
}

// SealedDigest is SHA-256("govhub/sealed/v1" ‖ salt ‖ details): what a sealed line carries.
func SealedDigest(salt, details []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(SealedDetailsHeader))
	h.Write(salt)
	h.Write(details)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// CheckDisclosure checks that details and salt hash to the sealed line of the access entry raw:
// what a citizen's browser checks (web/static/verify.js does the same).
func CheckDisclosure(raw, salt, details []byte) error {
	e, err := ledger.ParseEntry(raw)
	if err != nil {
		return err
	}
	if e.Sealed == nil {
		return errors.New("the entry is not a sealed access")
	}
	if len(salt) != 32 {
		return fmt.Errorf("a salt of %d bytes, want 32", len(salt))
	}
	d := SealedDigest(salt, details)
	if !bytes.Equal(d[:], e.Sealed.Case) {
		return errors.New("the disclosed details do not hash to the entry's sealed line")
	}
	if !bytes.HasPrefix(details, []byte(SealedDetailsHeader+"\n")) ||
		!bytes.Contains(details, []byte("\nunseal "+e.Sealed.Unseal.Format(sealedDateLayout)+"\n")) {
		return errors.New("the disclosed details do not name the entry's unseal date")
	}
	return nil
}

// Sealer keeps sealed accesses' details: under the master key in the store, and encrypted to the
// oversight body. It is safe for concurrent use.
type Sealer struct {
	store     SealedStore
	master    SealingKey
	oversight age.Recipient
}

// SealingKey wraps and unwraps the data key of a sealed access's box: the hub's master key (a
// *seal.MasterKey, or a ring of them whose earlier keys still unwrap).
type SealingKey interface {
	Wrap(label string, dk *seal.DataKey) ([]byte, error)
	Unwrap(label string, wrapped []byte) (*seal.DataKey, error)
}

// SealedStore keeps sealed accesses (a store.Store; store.SealedAccess). AddSealedAccess fails with
// store.ErrConflict on a taken id, IndexSealedAccess on another index, UnsealAccess when unsealed
// already; SealedAccess with store.ErrNotFound. EraseSealedAccess replaces one's box with a stub,
// deletes its oversight copy and marks it erased (idempotent; sealed_erasure.go). Safe for
// concurrent use.
type SealedStore interface {
	AddSealedAccess(ctx context.Context, a store.SealedAccess) error
	SealedAccess(ctx context.Context, id string) (store.SealedAccess, error)
	IndexSealedAccess(ctx context.Context, id string, index uint64) error
	UnsealAccess(ctx context.Context, id string, unsealIndex uint64, at time.Time) error
	SealedAccesses(ctx context.Context) ([]store.SealedAccess, error)
	EraseSealedAccess(ctx context.Context, id string, box []byte) error
}

// NewSealer returns a Sealer over st, sealing under master and encrypting to oversight (an age
// recipient, e.g. an X25519 public key "age1…"). All are required: without an oversight key no
// sealed read is possible (they fail closed).
func NewSealer(st SealedStore, master SealingKey, oversight age.Recipient) (*Sealer, error) {
	if st == nil || master == nil || oversight == nil {
		return nil, errors.New("hub: NewSealer needs a store, the master key and the oversight body's key")
	}
	return &Sealer{store: st, master: master, oversight: oversight}, nil
}

// sealedBox is the plaintext kept under the master key. Once its citizen is erased
// (sealed_erasure.go) it is a stub: Erased, and the Department alone.
type sealedBox struct {
	Citizen    string `json:"citizen,omitempty"`
	Salt       []byte `json:"salt,omitempty"`
	Details    string `json:"details,omitempty"`
	Erased     bool   `json:"erased,omitempty"`
	Department string `json:"department,omitempty"`
}

// OversightRecord is what the oversight body decrypts: format govhub/sealed-oversight/v1.
type OversightRecord struct {
	Format  string `json:"format"`
	ID      string `json:"id"`
	Salt    string `json:"salt"` // hex
	Details string `json:"details"`
}

// OversightFormat names the oversight record's encoding.
const OversightFormat = "govhub/sealed-oversight/v1"

// boxAD binds a box to its sealed access: a fresh data key, wrapped by the master key under
// "sealed-access/<id>", seals the JSON under this associated data.
func boxAD(id string) seal.AD {
	return seal.AD{Citizen: "sealed-access/" + id, Dataset: "sealed", Field: "details"}
}

// lock seals b for the sealed access id: the wrapped data key's length (2 bytes, big-endian),
// the wrapped key, and the sealed JSON.
func (s *Sealer) lock(rand io.Reader, id string, b sealedBox) ([]byte, error) {
	dk, err := seal.NewDataKey(rand)
	if err != nil {
		return nil, err
	}
	wrapped, err := s.master.Wrap("sealed-access/"+id, dk)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	sealed, err := dk.Seal(boxAD(id), plain)
	if err != nil {
		return nil, err
	}
	out := binary.BigEndian.AppendUint16(nil, uint16(len(wrapped)))
	return append(append(out, wrapped...), sealed...), nil
}

// unlock opens a box made by lock.
func (s *Sealer) unlock(id string, box []byte) (sealedBox, error) {
	var b sealedBox
	if len(box) < 2 || len(box) < 2+int(binary.BigEndian.Uint16(box)) {
		return b, errors.New("a sealed access's box is truncated")
	}
	n := int(binary.BigEndian.Uint16(box))
	dk, err := s.master.Unwrap("sealed-access/"+id, box[2:2+n])
	if err != nil {
		return b, fmt.Errorf("unwrapping sealed access %s: %w", id, err)
	}
	plain, err := dk.Open(boxAD(id), box[2+n:])
	if err != nil {
		return b, fmt.Errorf("opening sealed access %s: %w", id, err)
	}
	if err := json.Unmarshal(plain, &b); err != nil {
		return b, fmt.Errorf("sealed access %s: %w", id, err)
	}
	if b.Erased {
		if b.Citizen != "" || b.Salt != nil || b.Details != "" {
			return sealedBox{}, fmt.Errorf("sealed access %s: an erased box that holds details", id)
		}
		return b, nil
	}
	if d := SealedDigest(b.Salt, []byte(b.Details)); hex.EncodeToString(d[:]) != id {
		return b, fmt.Errorf("sealed access %s: its details do not hash to its id", id)
	}
	return b, nil
}

// toOversight encrypts the oversight record of a sealed access to the oversight body.
func (s *Sealer) toOversight(id string, salt, details []byte) ([]byte, error) {
	plain, err := json.Marshal(OversightRecord{Format: OversightFormat, ID: id, Salt: hex.EncodeToString(salt), Details: string(details)})
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, s.oversight)
	if err != nil {
		return nil, fmt.Errorf("encrypting to the oversight body: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// OpenOversight decrypts a sealed access's oversight copy with the oversight body's identity and
// checks that it hashes to its id.
func OpenOversight(blob []byte, ids ...age.Identity) (OversightRecord, error) {
	var rec OversightRecord
	r, err := age.Decrypt(bytes.NewReader(blob), ids...)
	if err != nil {
		return rec, fmt.Errorf("decrypting an oversight record: %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return rec, fmt.Errorf("decrypting an oversight record: %w", err)
	}
	if err := json.Unmarshal(plain, &rec); err != nil || rec.Format != OversightFormat {
		return rec, fmt.Errorf("an oversight record that is not %s", OversightFormat)
	}
	salt, err := hex.DecodeString(rec.Salt)
	if err != nil {
		return rec, fmt.Errorf("oversight record %s: salt: %w", rec.ID, err)
	}
	if d := SealedDigest(salt, []byte(rec.Details)); hex.EncodeToString(d[:]) != rec.ID {
		return rec, fmt.Errorf("oversight record %s: its details do not hash to its id", rec.ID)
	}
	return rec, nil
}
