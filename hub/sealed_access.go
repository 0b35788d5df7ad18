package hub

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// Unseal entries' reasons.
const (
	UnsealExpired = "seal-expired" // the unseal date came (Sealed.UnsealDue)
	UnsealEarly   = "early-unseal" // two officers approved an early unseal (package governance)
)

// UnsealRole is the role the unseal job's entries name, with PrivacyOffice as department.
const UnsealRole = "hub"

// countsTTL is how long the public counts are cached: they decrypt every sealed access.
const countsTTL = 30 * time.Second

// SealedConfig holds what sealed accesses need; all are required.
type SealedConfig struct {
	// Reader appends the unseal entries; its Sealer keeps the details (nil: every method fails
	// closed with ErrUnavailable).
	Reader *Reader
	// Log finds a citizen's own entries; Entries reads sealed accesses' entries.
	Log     AccessLog
	Entries SequencedEntryReader
}

// Sealed is the sealed accesses' side that comes after the read (sealed.go): the citizen's
// disclosure, unsealing (on the date, or early once approved through package governance) and the
// public counts. It is safe for concurrent use.
type Sealed struct {
	rd      *Reader
	log     AccessLog
	entries SequencedEntryReader

	mu       sync.Mutex
	counts   map[string]int
	countsAt time.Time
}

// NewSealed checks cfg and returns the sealed accesses' capability.
func NewSealed(cfg SealedConfig) (*Sealed, error) {
	if cfg.Reader == nil || cfg.Log == nil || cfg.Entries == nil {
		return nil, errors.New("hub: NewSealed needs a reader, the access log and an entry reader")
	}
	return &Sealed{rd: cfg.Reader, log: cfg.Log, entries: cfg.Entries}, nil
}

// Disclosure is what a citizen is told of one of their sealed accesses: while sealed, its unseal
// date; once unsealed, the details, their salt and the unseal entry's index, which their browser
// checks against the access entry's sealed line (CheckDisclosure).
type Disclosure struct {
	Index       uint64
	UnsealOn    time.Time
	Unsealed    bool
	UnsealIndex uint64
	Details     []byte
	Salt        []byte
}

// ErrNotSealed: the entry is not a sealed access.
var ErrNotSealed = errors.New("not a sealed access")

func (s *Sealed) sealer() (*Sealer, error) {
	if s.rd.sealer == nil {
		return nil, fmt.Errorf("%w: this hub keeps no sealed accesses", ErrUnavailable)
	}
	return s.rd.sealer, nil
}

// access reads the sealed access entry at index and what is kept of it.
func (s *Sealed) access(ctx context.Context, index uint64) (ledger.Entry, store.SealedAccess, error) {
	sl, err := s.sealer()
	if err != nil {
		return ledger.Entry{}, store.SealedAccess{}, err
	}
	raw, err := s.entries.SequencedEntry(ctx, index)
	if err != nil {
		return ledger.Entry{}, store.SealedAccess{}, ledgerErr(err)
	}
	e, err := ledger.ParseEntry(raw)
	if err != nil {
		return e, store.SealedAccess{}, fmt.Errorf("%w: ledger entry %d: %v", ErrUnavailable, index, err)
	}
	if e.Sealed == nil || e.Kind != ledger.KindAccess {
		return e, store.SealedAccess{}, fmt.Errorf("%w: entry %d is %w", ErrInvalid, index, ErrNotSealed)
	}
	a, err := sl.store.SealedAccess(ctx, hex.EncodeToString(e.Sealed.Case))
	if errors.Is(err, store.ErrNotFound) || err == nil && a.Indexed && a.Index != index {
		return e, a, fmt.Errorf("%w: entry %d: its sealed details are not kept", ErrUnavailable, index)
	}
	if err != nil {
		return e, a, fmt.Errorf("%w: reading sealed access %d: %v", ErrUnavailable, index, err)
	}
	if a.Erased {
		return e, a, errSealedErased(index) // its details are destroyed (sealed_erasure.go)
	}
	return e, a, nil
}

// Disclosure returns what the citizen p may know of their sealed access at index. An index that
// does not concern them fails with ErrNoAccess, as one that does not exist; any other principal
// is refused with ErrForbidden (on the ledger).
func (s *Sealed) Disclosure(ctx context.Context, p auth.Principal, index uint64) (*Disclosure, error) {
	if p.Kind != auth.KindCitizen || p.Subject == "" {
		if _, err := s.rd.LogRefusal(ctx, p, "forbidden", []byte("mySealedDisclosure")); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: mySealedDisclosure is for the citizen themselves", ErrForbidden)
	}
	name, err := s.rd.pseudonym(ctx, p.Subject)
	if err != nil {
		return nil, err
	}
	ref, err := s.log.SubjectRef(ctx, name, index)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoAccess
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading your access log: %v", ErrUnavailable, err)
	}
	e, a, err := s.access(ctx, index)
	if err != nil {
		return nil, err
	}
	raw, err := ledger.FormatEntry(e)
	if err != nil {
		return nil, err
	}
	if _, err := concerns(raw, p.Subject, ref.Salt, ref.Page); err != nil {
		return nil, ErrNoAccess
	}
	d := &Disclosure{Index: index, UnsealOn: e.Sealed.Unseal}
	if !a.Unsealed {
		return d, nil
	}
	// Disclosed only if the ledger says so: the stored mark must name an unseal entry about this
	// access, with its digest (a mark set behind the hub's back discloses nothing).
	if err := s.checkUnsealEntry(ctx, a.UnsealIndex, index, e.Sealed.Case); err != nil {
		return nil, err
	}
	b, err := s.rd.sealer.unlock(a.ID, a.Box)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if b.Citizen != p.Subject {
		return nil, ErrNoAccess
	}
	d.Unsealed, d.UnsealIndex, d.Details, d.Salt = true, a.UnsealIndex, []byte(b.Details), b.Salt
	return d, nil
}

// checkUnsealEntry checks that the entry at unsealIndex is the unseal of the sealed access at
// index whose sealed line carries digest.
func (s *Sealed) checkUnsealEntry(ctx context.Context, unsealIndex, index uint64, digest []byte) error {
	raw, err := s.entries.SequencedEntry(ctx, unsealIndex)
	if err != nil {
		return fmt.Errorf("%w: reading unseal entry %d: %v", ErrUnavailable, unsealIndex, err)
	}
	u, err := ledger.ParseEntry(raw)
	if err != nil || u.Kind != ledger.KindUnseal || u.About != index || !bytes.Equal(u.Record, digest) {
		return fmt.Errorf("%w: sealed access %d is marked unsealed by entry %d, which is not its unseal", ErrIntegrity, index, unsealIndex)
	}
	return nil
}

// UnsealEarly discloses the sealed access at index now, as the officer p (actor and official
// line of the unseal entry), with reason early-unseal. Package governance calls it once a second
// officer has approved an early unseal (on the ledger); nothing else may. It returns the unseal
// entry's index (the earlier one if the access was unsealed already).
func (s *Sealed) UnsealEarly(ctx context.Context, p auth.Principal, index uint64) (uint64, error) {
	if p.Kind != auth.KindOfficer || p.Subject == "" {
		return 0, fmt.Errorf("%w: an early unseal is an officer's", ErrForbidden)
	}
	dept, role, official, err := s.rd.actor(ctx, p)
	if err != nil {
		return 0, err
	}
	return s.unseal(ctx, dept, role, official, index, UnsealEarly)
}

// SealedState reports whether the entry at index is a sealed access still sealed (for the
// officers' workflow): ErrInvalid wrapping ErrNotSealed if it is not a sealed access, ErrErased if
// its citizen was erased (it is never unsealed).
func (s *Sealed) SealedState(ctx context.Context, index uint64) (unsealOn time.Time, unsealed bool, err error) {
	e, a, err := s.access(ctx, index)
	if err != nil {
		return time.Time{}, false, err
	}
	return e.Sealed.Unseal, a.Unsealed, nil
}

// UnsealDue discloses every sealed access whose unseal date has come (today, UTC, or earlier)
// and that is still sealed, with reason seal-expired, as privacy-office/hub. It is idempotent:
// the sequencing instance runs it periodically. It returns how many it unsealed; the errors of
// the others are joined.
func (s *Sealed) UnsealDue(ctx context.Context) (int, error) {
	sl, err := s.sealer()
	if err != nil {
		return 0, err
	}
	all, err := sl.store.SealedAccesses(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: listing sealed accesses: %v", ErrUnavailable, err)
	}
	today := s.rd.now().UTC().Truncate(24 * time.Hour)
	n := 0
	var errs []error
	for _, a := range all {
		if !a.Indexed || a.Unsealed || a.Erased || a.UnsealOn.After(today) {
			continue
		}
		if _, err := s.unseal(ctx, PrivacyOffice, UnsealRole, nil, a.Index, UnsealExpired); err != nil {
			errs = append(errs, fmt.Errorf("unsealing entry %d: %w", a.Index, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// unseal appends the unseal entry of the sealed access at index (kind unseal, about index, record
// the sealed line's digest, the citizen's commitment under a fresh salt), indexes it for the
// citizen, and then marks the access unsealed. Should two unseal at once, both entries disclose
// the same details and the first marked is the one the citizen is shown.
func (s *Sealed) unseal(ctx context.Context, dept, role string, official []byte, index uint64, reason string) (uint64, error) {
	e, a, err := s.access(ctx, index)
	if err != nil {
		return 0, err
	}
	if a.Unsealed {
		return a.UnsealIndex, nil
	}
	// The date that counts is the one on the ledger, not the stored copy a database writer could
	// move: an expired seal is one whose entry's unseal date has come.
	if reason == UnsealExpired && e.Sealed.Unseal.After(s.rd.now().UTC().Truncate(24*time.Hour)) {
		return 0, fmt.Errorf("%w: entry %d is sealed until %s, whatever the stored copy says", ErrIntegrity, index, e.Sealed.Unseal.Format(sealedDateLayout))
	}
	b, err := s.rd.sealer.unlock(a.ID, a.Box)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	// An erasure writes the tombstone before it destroys the box: one under way fails closed here.
	if in := s.rd.integ; in.erased != nil {
		if gone, err := in.erased.Erased(ctx, b.Citizen); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
		} else if gone {
			return 0, errSealedErased(index)
		}
	}
	salt, subj, err := s.rd.subject(b.Citizen)
	if err != nil {
		return 0, err
	}
	entry := ledger.Entry{Kind: ledger.KindUnseal, Time: s.rd.now(), Department: dept, Role: role, Official: official,
		Policy: s.rd.policy.Snapshot().Version(), Outcome: ledger.OutcomeAllowed, Reason: reason,
		Record: bytes.Clone(e.Sealed.Case), About: index, Subjects: [][]byte{subj}}
	r, err := s.rd.appendFor(ctx, entry, b.Citizen, salt)
	if err != nil {
		return 0, err
	}
	if !a.Indexed { // its read failed after the append: the entry stands, so record where
		if err := s.rd.sealer.store.IndexSealedAccess(ctx, a.ID, index); err != nil {
			return 0, fmt.Errorf("%w: indexing sealed access %d: %v", ErrUnavailable, index, err)
		}
	}
	err = s.rd.sealer.store.UnsealAccess(ctx, a.ID, r.Index, s.rd.now())
	if errors.Is(err, store.ErrConflict) {
		if cur, gerr := s.rd.sealer.store.SealedAccess(ctx, a.ID); gerr == nil && cur.Unsealed {
			return cur.UnsealIndex, nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("%w: marking sealed access %d unsealed: %v", ErrUnavailable, index, err)
	}
	return r.Index, nil
}

// DepartmentCount is how many sealed accesses one department made.
type DepartmentCount struct {
	Department string `json:"department"`
	Count      int    `json:"count"`
}

// Counts returns how many sealed accesses each department has made (those on the ledger,
// sealed or unsealed), sorted by department: counts only, for the public. It decrypts every kept
// access, so the result is cached for 30 s.
func (s *Sealed) Counts(ctx context.Context) ([]DepartmentCount, error) {
	sl, err := s.sealer()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil || s.rd.now().Sub(s.countsAt) > countsTTL {
		all, err := sl.store.SealedAccesses(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: listing sealed accesses: %v", ErrUnavailable, err)
		}
		counts := map[string]int{}
		for _, a := range all {
			if !a.Indexed {
				continue // its request failed before its entry was acknowledged
			}
			b, err := sl.unlock(a.ID, a.Box)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			if b.Erased {
				counts[b.Department]++ // its citizen was erased: the stub keeps the department
			} else {
				counts[detailsDepartment(b.Details)]++
			}
		}
		s.counts, s.countsAt = counts, s.rd.now()
	}
	out := make([]DepartmentCount, 0, len(s.counts))
	for d, n := range s.counts {
		out = append(out, DepartmentCount{Department: d, Count: n})
	}
	slices.SortFunc(out, func(a, b DepartmentCount) int { return strings.Compare(a.Department, b.Department) })
	return out, nil
}

// detailsDepartment is the department of the details' actor line.
func detailsDepartment(details string) string {
	for line := range strings.SplitSeq(details, "\n") {
		if v, ok := strings.CutPrefix(line, "actor "); ok {
			d, _, _ := strings.Cut(v, "/")
			return d
		}
	}
	return ""
}
