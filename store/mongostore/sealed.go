package mongostore

// Sealed accesses, addressable by string _id alone:
//
//	sealed_accesses  {_id: "<64 hex: the sealed line's digest>", index?, unsealOn, box, oversight?,
//	                  created, unsealIndex?, unsealedAt?, erased?}
//
// A document is inserted before its access entry is appended (so that no sealed line is ever on
// the ledger without its details kept), given the entry's index once it is known, and marked
// unsealed by compare-and-swap. An erasure of its citizen replaces the box and removes the
// oversight copy (EraseSealedAccess). Listing them all (SealedAccesses) scans the collection: it serves
// the daily unseal job and the public counts, never a request about one citizen.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/store"
)

type sealedAccessDoc struct {
	ID          string    `bson:"_id"`
	Index       *int64    `bson:"index,omitempty"`
	UnsealOn    time.Time `bson:"unsealOn"`
	Box         []byte    `bson:"box"`
	Oversight   []byte    `bson:"oversight,omitempty"`
	Created     time.Time `bson:"created"`
	UnsealIndex *int64    `bson:"unsealIndex,omitempty"`
	UnsealedAt  time.Time `bson:"unsealedAt,omitempty"`
	Erased      bool      `bson:"erased,omitempty"`
}

func toSealedAccessDoc(a store.SealedAccess) sealedAccessDoc {
	d := sealedAccessDoc{ID: a.ID, UnsealOn: a.UnsealOn.UTC(), Box: a.Box, Oversight: a.Oversight, Created: a.Created.UTC().Truncate(time.Millisecond), Erased: a.Erased}
	if a.Indexed {
		i := int64(a.Index)
		d.Index = &i
	}
	if a.Unsealed {
		i := int64(a.UnsealIndex)
		d.UnsealIndex, d.UnsealedAt = &i, a.UnsealedAt.UTC().Truncate(time.Millisecond)
	}
	return d
}

func fromSealedAccessDoc(d sealedAccessDoc) store.SealedAccess {
	a := store.SealedAccess{ID: d.ID, UnsealOn: d.UnsealOn.UTC(), Box: d.Box, Oversight: d.Oversight, Created: d.Created.UTC(), Erased: d.Erased}
	if d.Index != nil {
		a.Index, a.Indexed = uint64(*d.Index), true
	}
	if d.UnsealIndex != nil {
		a.UnsealIndex, a.Unsealed, a.UnsealedAt = uint64(*d.UnsealIndex), true, d.UnsealedAt.UTC()
	}
	return a
}

// AddSealedAccess stores a new sealed access (neither indexed nor unsealed): store.ErrConflict if
// its id is taken. Safe for concurrent use.
func (s *Store) AddSealedAccess(ctx context.Context, a store.SealedAccess) error {
	if len(a.ID) != 64 || a.Indexed || a.Unsealed {
		return errors.New("store: a new sealed access needs its 64-hex id, and no index or unsealing yet")
	}
	if _, err := s.sealed.InsertOne(ctx, toSealedAccessDoc(a)); err != nil {
		return fmt.Errorf("storing sealed access %s: %w", a.ID, mapErr(err))
	}
	return nil
}

// SealedAccess returns one sealed access, or store.ErrNotFound.
func (s *Store) SealedAccess(ctx context.Context, id string) (store.SealedAccess, error) {
	var d sealedAccessDoc
	if err := s.sealed.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return store.SealedAccess{}, mapErr(err)
	}
	return fromSealedAccessDoc(d), nil
}

// IndexSealedAccess records the ledger index of a sealed access's entry: store.ErrNotFound if
// there is no such access, store.ErrConflict if it has another index already (the same one again
// is fine). Safe for concurrent use.
func (s *Store) IndexSealedAccess(ctx context.Context, id string, index uint64) error {
	return s.swapSealed(ctx, id, func(a *store.SealedAccess) error {
		if a.Indexed {
			if a.Index == index {
				return errSame
			}
			return fmt.Errorf("%w: sealed access %s has index %d already", store.ErrConflict, id, a.Index)
		}
		a.Index, a.Indexed = index, true
		return nil
	})
}

// UnsealAccess marks a sealed access disclosed by the unseal entry at unsealIndex, only if it is
// still sealed: store.ErrConflict if it was unsealed already (by another entry), store.ErrNotFound
// if there is none. Safe for concurrent use: of two, one wins.
func (s *Store) UnsealAccess(ctx context.Context, id string, unsealIndex uint64, at time.Time) error {
	return s.swapSealed(ctx, id, func(a *store.SealedAccess) error {
		if a.Unsealed {
			return fmt.Errorf("%w: sealed access %s was unsealed by entry %d already", store.ErrConflict, id, a.UnsealIndex)
		}
		a.UnsealIndex, a.Unsealed, a.UnsealedAt = unsealIndex, true, at
		return nil
	})
}

// EraseSealedAccess destroys what a sealed access keeps of an erased citizen: its box becomes box
// (which must hold nothing of the citizen) and its oversight copy is removed, and it is marked
// erased; its id, indexes and unseal date stay. Erasing it again changes nothing (the first box
// stays). store.ErrNotFound if there is none. Safe for concurrent use.
func (s *Store) EraseSealedAccess(ctx context.Context, id string, box []byte) error {
	if len(box) == 0 {
		return errors.New("store: an erased sealed access keeps a box (its department, for the public counts)")
	}
	return s.swapSealed(ctx, id, func(a *store.SealedAccess) error {
		if a.Erased {
			return errSame
		}
		a.Box, a.Oversight, a.Erased = box, nil, true
		return nil
	})
}

// errSame: the change would leave the document as it is.
var errSame = errors.New("unchanged")

// swapSealed reads one sealed access, changes it and writes it back if it did not change in
// between: an atomic filter on its previous state on MongoDB, a read, compare and replace under the
// process's document lock on FerretDB. A conflicting write retries.
func (s *Store) swapSealed(ctx context.Context, id string, change func(*store.SealedAccess) error) error {
	if s.serialised() {
		defer s.lock(collSealed + "/" + id)()
	}
	for range 8 {
		var old sealedAccessDoc
		if err := s.sealed.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&old); err != nil {
			return mapErr(err)
		}
		a := fromSealedAccessDoc(old)
		if err := change(&a); errors.Is(err, errSame) {
			return nil
		} else if err != nil {
			return err
		}
		filter := bson.D{{Key: "_id", Value: id}}
		if !s.serialised() {
			filter = append(filter, bson.E{Key: "index", Value: old.Index}, bson.E{Key: "unsealIndex", Value: old.UnsealIndex})
			if old.Erased {
				filter = append(filter, bson.E{Key: "erased", Value: true})
			} else {
				filter = append(filter, bson.E{Key: "erased", Value: bson.D{{Key: "$ne", Value: true}}})
			}
		}
		res, err := s.sealed.ReplaceOne(ctx, filter, toSealedAccessDoc(a))
		if err != nil {
			return mapErr(err)
		}
		if res.MatchedCount == 1 {
			return nil
		}
	}
	return fmt.Errorf("%w: sealed access %s keeps changing", store.ErrConflict, id)
}

// SealedAccesses returns every sealed access (a scan; see the file comment), in no set order.
func (s *Store) SealedAccesses(ctx context.Context) ([]store.SealedAccess, error) {
	cur, err := s.sealed.Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("listing sealed accesses: %w", mapErr(err))
	}
	var docs []sealedAccessDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("listing sealed accesses: %w", mapErr(err))
	}
	out := make([]store.SealedAccess, len(docs))
	for i, d := range docs {
		out[i] = fromSealedAccessDoc(d)
	}
	return out, nil
}

// Early unseal proposals, one per sealed access:
//
//	unseal_proposals  {_id: "<the sealed access's ledger index>", reason, proposedBy, proposed,
//	                   proposalEntry, status, decidedBy?, decided?, decisionEntry?, decisionNote?,
//	                   unsealEntry?}
//
// Deciding is a compare-and-swap on {_id, status: "pending"}.

type unsealProposalDoc struct {
	ID            string    `bson:"_id"`
	Reason        string    `bson:"reason"`
	ProposedBy    string    `bson:"proposedBy"`
	Proposed      time.Time `bson:"proposed"`
	ProposalEntry int64     `bson:"proposalEntry"`
	Status        string    `bson:"status"`
	DecidedBy     string    `bson:"decidedBy,omitempty"`
	Decided       time.Time `bson:"decided,omitempty"`
	DecisionEntry int64     `bson:"decisionEntry,omitempty"`
	DecisionNote  string    `bson:"decisionNote,omitempty"`
	UnsealEntry   int64     `bson:"unsealEntry,omitempty"`
}

func toUnsealProposalDoc(p store.UnsealProposal) unsealProposalDoc {
	d := unsealProposalDoc{ID: strconv.FormatUint(p.Index, 10), Reason: p.Reason, ProposedBy: p.ProposedBy,
		Proposed: p.Proposed.UTC().Truncate(time.Millisecond), ProposalEntry: int64(p.ProposalEntry), Status: p.Status,
		DecidedBy: p.DecidedBy, DecisionEntry: int64(p.DecisionEntry), DecisionNote: p.DecisionNote, UnsealEntry: int64(p.UnsealEntry)}
	if !p.Decided.IsZero() {
		d.Decided = p.Decided.UTC().Truncate(time.Millisecond)
	}
	return d
}

func fromUnsealProposalDoc(d unsealProposalDoc) store.UnsealProposal {
	i, _ := strconv.ParseUint(d.ID, 10, 64)
	p := store.UnsealProposal{Index: i, Reason: d.Reason, ProposedBy: d.ProposedBy, Proposed: d.Proposed.UTC(),
		ProposalEntry: uint64(d.ProposalEntry), Status: d.Status, DecidedBy: d.DecidedBy, DecisionEntry: uint64(d.DecisionEntry),
		DecisionNote: d.DecisionNote, UnsealEntry: uint64(d.UnsealEntry)}
	if !d.Decided.IsZero() {
		p.Decided = d.Decided.UTC()
	}
	return p
}

// AddUnsealProposal stores a new pending proposal: store.ErrConflict if the sealed access has one
// already (whatever its status).
func (s *Store) AddUnsealProposal(ctx context.Context, p store.UnsealProposal) error {
	if p.Status != store.UnsealPending {
		return fmt.Errorf("store: a new unseal proposal is %s, want %s", p.Status, store.UnsealPending)
	}
	if _, err := s.unsealProposals.InsertOne(ctx, toUnsealProposalDoc(p)); err != nil {
		return fmt.Errorf("storing the unseal proposal of %d: %w", p.Index, mapErr(err))
	}
	return nil
}

// UnsealProposal returns the proposal about the sealed access at index, or store.ErrNotFound.
func (s *Store) UnsealProposal(ctx context.Context, index uint64) (store.UnsealProposal, error) {
	var d unsealProposalDoc
	if err := s.unsealProposals.FindOne(ctx, bson.D{{Key: "_id", Value: strconv.FormatUint(index, 10)}}).Decode(&d); err != nil {
		return store.UnsealProposal{}, mapErr(err)
	}
	return fromUnsealProposalDoc(d), nil
}

// DecideUnsealProposal writes p (approved or rejected) only if the stored proposal is still
// pending: store.ErrConflict if it was decided already. Safe for concurrent use: of two, one wins.
func (s *Store) DecideUnsealProposal(ctx context.Context, p store.UnsealProposal) error {
	if p.Status == store.UnsealPending {
		return errors.New("store: a decision must leave the unseal proposal decided")
	}
	id := strconv.FormatUint(p.Index, 10)
	if s.serialised() {
		defer s.lock(collUnsealProposals + "/" + id)()
		cur, err := s.UnsealProposal(ctx, p.Index)
		if err != nil {
			return err
		}
		if cur.Status != store.UnsealPending {
			return fmt.Errorf("%w: the unseal proposal of %d is %s already", store.ErrConflict, p.Index, cur.Status)
		}
		_, err = s.unsealProposals.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, toUnsealProposalDoc(p))
		return mapErr(err)
	}
	res, err := s.unsealProposals.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: store.UnsealPending}}, toUnsealProposalDoc(p))
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		if _, err := s.UnsealProposal(ctx, p.Index); err != nil {
			return err
		}
		return fmt.Errorf("%w: the unseal proposal of %d was decided already", store.ErrConflict, p.Index)
	}
	return nil
}

// UnsealProposals returns every unseal proposal (a scan: officers' listing, not a hot path),
// newest first.
func (s *Store) UnsealProposals(ctx context.Context) ([]store.UnsealProposal, error) {
	cur, err := s.unsealProposals.Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("listing unseal proposals: %w", mapErr(err))
	}
	var docs []unsealProposalDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("listing unseal proposals: %w", mapErr(err))
	}
	out := make([]store.UnsealProposal, len(docs))
	for i, d := range docs {
		out[i] = fromUnsealProposalDoc(d)
	}
	slices.SortFunc(out, func(a, b store.UnsealProposal) int { return b.Proposed.Compare(a.Proposed) })
	return out, nil
}
