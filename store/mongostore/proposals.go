package mongostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

type proposalDoc struct {
	ID             string    `bson:"_id"`
	Base           int64     `bson:"base"`
	Reason         string    `bson:"reason"`
	ProposedBy     string    `bson:"proposedBy"`
	ProposerIssuer string    `bson:"proposerIssuer,omitempty"`
	Created        time.Time `bson:"created"`
	Change         []byte    `bson:"change"`
	Impact         []byte    `bson:"impact"`
	Entry          int64     `bson:"entry"`
	Status         string    `bson:"status"`
	DecidedBy      string    `bson:"decidedBy,omitempty"`
	Decided        time.Time `bson:"decided,omitempty"`
	DecisionReason string    `bson:"decisionReason,omitempty"`
	Version        int64     `bson:"version,omitempty"`
	DecisionEntry  int64     `bson:"decisionEntry,omitempty"`
	// CertificateImpact: the certificate types' preview, JSON; absent without one.
	CertificateImpact []byte `bson:"certificateImpact,omitempty"`
}

func toProposalDoc(p store.Proposal) proposalDoc {
	return proposalDoc{ID: p.ID, Base: int64(p.Base), Reason: p.Reason, ProposedBy: p.ProposedBy, ProposerIssuer: p.ProposerIssuer, Created: p.Created.UTC(),
		Change: p.Change, Impact: p.Impact, Entry: int64(p.Entry), Status: p.Status, DecidedBy: p.DecidedBy,
		Decided: p.Decided.UTC(), DecisionReason: p.DecisionReason, Version: int64(p.Version), DecisionEntry: int64(p.DecisionEntry),
		CertificateImpact: p.CertificateImpact}
}

func fromProposalDoc(d proposalDoc) store.Proposal {
	return store.Proposal{ID: d.ID, Base: uint64(d.Base), Reason: d.Reason, ProposedBy: d.ProposedBy, ProposerIssuer: d.ProposerIssuer, Created: d.Created,
		Change: d.Change, Impact: d.Impact, Entry: uint64(d.Entry), Status: d.Status, DecidedBy: d.DecidedBy,
		Decided: d.Decided, DecisionReason: d.DecisionReason, Version: uint64(d.Version), DecisionEntry: uint64(d.DecisionEntry),
		CertificateImpact: d.CertificateImpact}
}

// AddProposal stores a new proposal (store.ErrConflict if the id is taken).
func (s *Store) AddProposal(ctx context.Context, p store.Proposal) error {
	_, err := s.proposals.InsertOne(ctx, toProposalDoc(p))
	return mapErr(err)
}

// Proposal returns one proposal, or store.ErrNotFound.
func (s *Store) Proposal(ctx context.Context, id string) (store.Proposal, error) {
	var d proposalDoc
	if err := s.proposals.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return store.Proposal{}, mapErr(err)
	}
	return fromProposalDoc(d), nil
}

// Proposals returns the proposals in a state ("" for all), newest first. Officers' lists are
// short; this scans.
func (s *Store) Proposals(ctx context.Context, status string) ([]store.Proposal, error) {
	filter := bson.D{}
	if status != "" {
		filter = bson.D{{Key: "status", Value: status}}
	}
	cur, err := s.proposals.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "created", Value: -1}}))
	if err != nil {
		return nil, mapErr(err)
	}
	var docs []proposalDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]store.Proposal, len(docs))
	for i, d := range docs {
		out[i] = fromProposalDoc(d)
	}
	return out, nil
}

// DecideProposal records the decision on a pending proposal: it writes p (whose Status is the
// decision) only if the stored proposal is still pending, and returns store.ErrConflict otherwise
// (decided meanwhile: a second approval is refused).
func (s *Store) DecideProposal(ctx context.Context, p store.Proposal) error {
	if p.Status == store.ProposalPending {
		return errors.New("store: a decision cannot leave the proposal pending")
	}
	if s.serialised() {
		defer s.lock(collProposals + "/" + p.ID)()
		cur, err := s.Proposal(ctx, p.ID)
		if err != nil {
			return err
		}
		if cur.Status != store.ProposalPending {
			return fmt.Errorf("%w: proposal %s is %s already", store.ErrConflict, p.ID, cur.Status)
		}
		_, err = s.proposals.ReplaceOne(ctx, bson.D{{Key: "_id", Value: p.ID}}, toProposalDoc(p))
		return mapErr(err)
	}
	res, err := s.proposals.ReplaceOne(ctx, bson.D{{Key: "_id", Value: p.ID}, {Key: "status", Value: store.ProposalPending}}, toProposalDoc(p))
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		// Missing, or decided already: only a proposal that is there is a conflict.
		if _, err := s.Proposal(ctx, p.ID); err != nil {
			return err
		}
		return fmt.Errorf("%w: proposal %s was decided already", store.ErrConflict, p.ID)
	}
	return nil
}
