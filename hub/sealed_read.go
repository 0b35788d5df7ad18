package hub

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// SealRequest is what a read under a sealed purpose names (sealed.go): the court order it serves
// and the day its details may be shown to the citizen, at most the purpose's MaxSealDays ahead.
type SealRequest struct {
	CourtOrder string
	UnsealOn   time.Time // a date: midnight UTC
}

// checkSeal checks a read's seal against its purpose: a sealed purpose needs a well-formed court
// order and an unseal date after today and within the purpose's maximum seal period; no other
// purpose may name one. A refusal is on the ledger (as a refusal naming no citizen: the request
// named one, but no data was read) before the error returns. nil, nil: not a sealed read.
func (rd *Reader) checkSeal(ctx context.Context, p auth.Principal, snap *policy.Snapshot, req ReadRequest) (*SealRequest, error) {
	pu, known := snap.Purpose(req.Purpose)
	refuse := func(reason string, cause error) (*SealRequest, error) {
		if _, err := rd.LogRefusal(ctx, p, reason, req.Request); err != nil {
			return nil, err
		}
		return nil, cause
	}
	switch {
	case !known:
		return nil, nil // ReadCitizen logs the unknown purpose
	case !pu.Sealed && req.Seal != nil:
		return refuse("not-sealed", fmt.Errorf("%w: purpose %q is not sealed; a court order is named only under a sealed purpose", ErrInvalid, req.Purpose))
	case !pu.Sealed:
		return nil, nil
	case rd.sealer == nil:
		return refuse("sealing-unavailable", fmt.Errorf("%w: this hub keeps no sealed accesses (no oversight key): purpose %q cannot be used", ErrUnavailable, req.Purpose))
	case req.Seal == nil || req.Seal.CourtOrder == "":
		return refuse("court-order-required", fmt.Errorf("%w: purpose %q is sealed: name the court order (courtOrder) and the unseal date (unsealOn)", ErrInvalid, req.Purpose))
	}
	if err := CheckCourtOrder(req.Seal.CourtOrder); err != nil {
		return refuse("court-order-invalid", err)
	}
	today := rd.now().UTC().Truncate(24 * time.Hour)
	u := req.Seal.UnsealOn
	last := today.AddDate(0, 0, pu.MaxSealDays)
	if u.Location() != time.UTC || !u.Equal(u.Truncate(24*time.Hour)) || !u.After(today) || u.After(last) {
		return refuse("unseal-date", fmt.Errorf("%w: purpose %q is sealed for at most %d days: the unseal date must be after %s and no later than %s",
			ErrInvalid, req.Purpose, pu.MaxSealDays, today.Format(sealedDateLayout), last.Format(sealedDateLayout)))
	}
	return req.Seal, nil
}

// appendAccess appends a read's access entry and indexes it for the citizen. For a sealed read
// (s not nil) the entry appended is the neutral one of sealed.go: the details are formatted,
// committed to with a fresh salt, kept (sealed under the master key and encrypted to the
// oversight body) before the append, and the kept access is given the entry's index after it; a
// failure of any step fails the read, before anything is released. g's entries go with the access
// entry (appendGrouped); a sealed read takes none.
func (rd *Reader) appendAccess(ctx context.Context, e ledger.Entry, citizen string, salt []byte, s *SealRequest, g *entryGroup) (ledger.Receipt, error) {
	if s == nil {
		return rd.appendGrouped(ctx, e, []subjectRef{{citizen, salt}}, g)
	}
	if !g.empty() {
		// No caller does: a sealed read's entry stands alone.
		return ledger.Receipt{}, errors.New("hub: a sealed read appends no other entry with its own")
	}
	fields := make([]ledger.Field, len(e.Fields))
	for i, f := range e.Fields {
		fields[i] = ledger.Field{Name: f.Name, Level: f.Level, Proved: f.Proved, Refused: f.Refused}
	}
	details, err := FormatSealedDetails(SealedDetails{Time: e.Time, Department: e.Department, Role: e.Role, Official: e.Official,
		Purpose: e.Purpose, CourtOrder: s.CourtOrder, UnsealOn: s.UnsealOn, Outcome: e.Outcome, Reason: e.Reason, Fields: fields})
	if err != nil {
		return ledger.Receipt{}, err
	}
	dsalt, err := subject.NewSalt(rd.rand)
	if err != nil {
		return ledger.Receipt{}, err
	}
	digest := SealedDigest(dsalt, details)
	id := hex.EncodeToString(digest[:])
	box, err := rd.sealer.lock(rd.rand, id, sealedBox{Citizen: citizen, Salt: dsalt, Details: string(details)})
	if err != nil {
		return ledger.Receipt{}, fmt.Errorf("%w: sealing the access's details: %v", ErrUnavailable, err)
	}
	oversight, err := rd.sealer.toOversight(id, dsalt, details)
	if err != nil {
		return ledger.Receipt{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := rd.sealer.store.AddSealedAccess(ctx, store.SealedAccess{ID: id, UnsealOn: s.UnsealOn, Box: box, Oversight: oversight, Created: rd.now()}); err != nil {
		return ledger.Receipt{}, fmt.Errorf("%w: keeping the sealed access's details: %v", ErrUnavailable, err)
	}
	// An erasure of the citizen under way since the read found their records: it may have looked
	// for their sealed accesses before this one was kept (sealed_erasure.go).
	if in := rd.integ; in.erased != nil {
		gone, err := in.erased.Erased(ctx, citizen)
		if err != nil {
			return ledger.Receipt{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if gone {
			if err := rd.sealer.eraseOne(ctx, id, e.Department); err != nil {
				return ledger.Receipt{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			return ledger.Receipt{}, ErrErased
		}
	}
	neutral := ledger.Entry{Kind: ledger.KindAccess, Time: e.Time, Department: SealedDepartment, Role: SealedRole, Policy: e.Policy,
		Outcome: e.Outcome, Sealed: &ledger.Sealing{Case: digest[:], Unseal: s.UnsealOn}, Subjects: e.Subjects}
	r, err := rd.appendFor(ctx, neutral, citizen, salt)
	if err != nil {
		return r, err
	}
	if err := rd.sealer.store.IndexSealedAccess(ctx, id, r.Index); err != nil {
		return ledger.Receipt{}, fmt.Errorf("%w: indexing sealed access %d: %v", ErrUnavailable, r.Index, err)
	}
	return r, nil
}
