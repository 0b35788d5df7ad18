package governance

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Early unsealing of a sealed access (package hub, sealed.go), maker-checker like a policy
// change: a privacy-office officer proposes to disclose a sealed access before its unseal date,
// with a reason; another privacy-office officer approves it (or any of them rejects it). Each step
// is on the ledger before it is stored: a proposal entry, then an approval (or rejection) entry,
// each with reason early-unseal and as record line
//
//	SHA-256("govhub/early-unseal/v1" ‖ 0x00 ‖ <the sealed access's index, decimal> ‖ 0x00 ‖ <reason>)
//
// (the reason itself stays off the ledger: it is free text). After the approval entry the hub
// appends the unseal entry (hub.Sealed.UnsealEarly: kind unseal, about the sealed access, as the
// approving officer), and only then is the proposal stored as approved. Should the unseal fail, the
// proposal stays pending and the approval may be repeated (the unseal is idempotent). A sealed
// access has at most one early-unseal proposal.

// EarlyUnsealReason is the reason line of the workflow's entries.
const EarlyUnsealReason = "early-unseal"

// UnsealOffice is the department whose officers propose and approve early unseals.
const UnsealOffice = "privacy-office"

// ErrNoUnsealProposal: no early-unseal proposal for that access.
var ErrNoUnsealProposal = errors.New("no early-unseal proposal for this access")

// SealedAccesses is the hub's side of sealed accesses (a *hub.Sealed): SealedState reports a
// sealed access's unseal date and whether it is unsealed (an error wrapping ErrInvalid for an
// entry that is not one); UnsealEarly appends its unseal entry as the approving officer and
// returns that entry's index.
type SealedAccesses interface {
	SealedState(ctx context.Context, index uint64) (unsealOn time.Time, unsealed bool, err error)
	UnsealEarly(ctx context.Context, p auth.Principal, index uint64) (uint64, error)
}

// UnsealProposalStore keeps early-unseal proposals (a store.Store): AddUnsealProposal fails with
// store.ErrConflict if the access has one, DecideUnsealProposal if it was decided already;
// UnsealProposal with store.ErrNotFound.
type UnsealProposalStore interface {
	AddUnsealProposal(ctx context.Context, p store.UnsealProposal) error
	UnsealProposal(ctx context.Context, index uint64) (store.UnsealProposal, error)
	DecideUnsealProposal(ctx context.Context, p store.UnsealProposal) error
	UnsealProposals(ctx context.Context) ([]store.UnsealProposal, error)
}

// EarlyUnsealsConfig holds what early unsealing needs; all are required.
type EarlyUnsealsConfig struct {
	Sealed    SealedAccesses
	Proposals UnsealProposalStore
	Ledger    Ledger
	// Policy gives the policy version the entries name.
	Policy    *policy.Engine
	Officials *usecase.Officials
	Now       func() time.Time // nil: time.Now
}

// EarlyUnseals is the maker-checker workflow for unsealing a sealed access before its date. It
// is safe for concurrent use.
type EarlyUnseals struct {
	cfg EarlyUnsealsConfig
	mu  sync.Mutex // serialises decisions within this instance; across them the store arbitrates
}

// NewEarlyUnseals checks cfg and returns the workflow.
func NewEarlyUnseals(cfg EarlyUnsealsConfig) (*EarlyUnseals, error) {
	if cfg.Sealed == nil || cfg.Proposals == nil || cfg.Ledger == nil || cfg.Policy == nil || cfg.Officials == nil {
		return nil, errors.New("governance: NewEarlyUnseals needs the sealed accesses, a proposal store, a ledger, a policy engine and the officials")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &EarlyUnseals{cfg: cfg}, nil
}

// unsealOfficer checks that p is an officer of the privacy office.
func unsealOfficer(p auth.Principal, what string) error {
	if err := officer(p, what); err != nil {
		return err
	}
	if p.Department != UnsealOffice {
		return fmt.Errorf("%s: %w: early unseals are for %s officers", what, ErrForbidden, UnsealOffice)
	}
	return nil
}

// unsealDigest is the record line of the workflow's entries.
func unsealDigest(index uint64, reason string) []byte {
	d := sha256.Sum256([]byte("govhub/early-unseal/v1\x00" + strconv.FormatUint(index, 10) + "\x00" + reason))
	return d[:]
}

func (u *EarlyUnseals) logEntry(ctx context.Context, p auth.Principal, kind ledger.Kind, record []byte) (ledger.Receipt, error) {
	dept, role := usecase.Actor(p)
	official, err := u.cfg.Officials.Line(ctx, p)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return usecase.Append(ctx, u.cfg.Ledger, ledger.Entry{Kind: kind, Time: u.cfg.Now(), Department: dept, Role: role, Official: official,
		Policy: u.cfg.Policy.Snapshot().Version(), Outcome: ledger.OutcomeAllowed, Reason: EarlyUnsealReason, Record: record})
}

// Propose records a privacy-office officer's proposal to unseal the sealed access at index now,
// with a reason: refused (ErrInvalid) if the entry is not a sealed access or is unsealed already,
// ErrConflict if the access has a proposal already.
func (u *EarlyUnseals) Propose(ctx context.Context, p auth.Principal, index uint64, reason string) (store.UnsealProposal, error) {
	if err := unsealOfficer(p, "proposing an early unseal"); err != nil {
		return store.UnsealProposal{}, err
	}
	if err := checkReason(reason); err != nil {
		return store.UnsealProposal{}, err
	}
	reason = strings.TrimSpace(reason)
	_, unsealed, err := u.cfg.Sealed.SealedState(ctx, index)
	if err != nil {
		return store.UnsealProposal{}, err
	}
	if unsealed {
		return store.UnsealProposal{}, fmt.Errorf("%w: sealed access %d is unsealed already", ErrInvalid, index)
	}
	if _, err := u.cfg.Proposals.UnsealProposal(ctx, index); err == nil {
		return store.UnsealProposal{}, fmt.Errorf("%w: sealed access %d has an early-unseal proposal already", ErrConflict, index)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.UnsealProposal{}, fmt.Errorf("%w: reading unseal proposals: %v", ErrUnavailable, err)
	}
	r, err := u.logEntry(ctx, p, ledger.KindProposal, unsealDigest(index, reason))
	if err != nil {
		return store.UnsealProposal{}, err
	}
	sp := store.UnsealProposal{Index: index, Reason: reason, ProposedBy: p.Subject, Proposed: u.cfg.Now(), ProposalEntry: r.Index, Status: store.UnsealPending}
	if err := u.cfg.Proposals.AddUnsealProposal(ctx, sp); errors.Is(err, store.ErrConflict) {
		return store.UnsealProposal{}, fmt.Errorf("%w: sealed access %d has an early-unseal proposal already", ErrConflict, index)
	} else if err != nil {
		return store.UnsealProposal{}, fmt.Errorf("%w: storing the unseal proposal: %v", ErrUnavailable, err)
	}
	return sp, nil
}

// pending returns the pending proposal about index.
func (u *EarlyUnseals) pending(ctx context.Context, index uint64) (store.UnsealProposal, error) {
	sp, err := u.cfg.Proposals.UnsealProposal(ctx, index)
	if errors.Is(err, store.ErrNotFound) {
		return sp, fmt.Errorf("%w: %w", ErrInvalid, ErrNoUnsealProposal)
	}
	if err != nil {
		return sp, fmt.Errorf("%w: reading the unseal proposal: %v", ErrUnavailable, err)
	}
	if sp.Status != store.UnsealPending {
		return sp, fmt.Errorf("%w: the early-unseal proposal of %d is %s already", ErrConflict, index, sp.Status)
	}
	return sp, nil
}

// Approve approves the pending proposal about the sealed access at index: by a privacy-office
// officer other than the proposer (ErrSelfApproval). The approval goes on the ledger, then the
// unseal entry, then the proposal is stored as approved.
func (u *EarlyUnseals) Approve(ctx context.Context, p auth.Principal, index uint64) (store.UnsealProposal, error) {
	if err := unsealOfficer(p, "approving an early unseal"); err != nil {
		return store.UnsealProposal{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	sp, err := u.pending(ctx, index)
	if err != nil {
		return sp, err
	}
	if auth.CanonicalSubject(sp.ProposedBy) == auth.CanonicalSubject(p.Subject) {
		return sp, ErrSelfApproval
	}
	// An access whose citizen was erased since the proposal is never unsealed: refused before
	// the approval goes on the ledger.
	if _, _, err := u.cfg.Sealed.SealedState(ctx, index); err != nil {
		return sp, err
	}
	r, err := u.logEntry(ctx, p, ledger.KindApproval, unsealDigest(index, sp.Reason))
	if err != nil {
		return sp, err
	}
	unsealEntry, err := u.cfg.Sealed.UnsealEarly(ctx, p, index)
	if err != nil {
		return sp, fmt.Errorf("unsealing access %d after approval entry %d: %w", index, r.Index, err)
	}
	sp.Status, sp.DecidedBy, sp.Decided, sp.DecisionEntry, sp.UnsealEntry = store.UnsealApproved, p.Subject, u.cfg.Now(), r.Index, unsealEntry
	if err := u.cfg.Proposals.DecideUnsealProposal(ctx, sp); err != nil && !errors.Is(err, store.ErrConflict) {
		return sp, fmt.Errorf("%w: storing the approval: %v", ErrUnavailable, err)
	}
	return sp, nil
}

// Reject rejects the pending proposal about the sealed access at index, with a reason (kept off
// the ledger, whose rejection entry digests it); any privacy-office officer may, the proposer
// included (withdrawing it). The access then stays sealed until its date.
func (u *EarlyUnseals) Reject(ctx context.Context, p auth.Principal, index uint64, reason string) (store.UnsealProposal, error) {
	if err := unsealOfficer(p, "rejecting an early unseal"); err != nil {
		return store.UnsealProposal{}, err
	}
	if err := checkReason(reason); err != nil {
		return store.UnsealProposal{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	sp, err := u.pending(ctx, index)
	if err != nil {
		return sp, err
	}
	r, err := u.logEntry(ctx, p, ledger.KindRejection, unsealDigest(index, strings.TrimSpace(reason)))
	if err != nil {
		return sp, err
	}
	sp.Status, sp.DecidedBy, sp.Decided, sp.DecisionEntry, sp.DecisionNote = store.UnsealRejected, p.Subject, u.cfg.Now(), r.Index, strings.TrimSpace(reason)
	if err := u.cfg.Proposals.DecideUnsealProposal(ctx, sp); err != nil {
		return sp, fmt.Errorf("storing the rejection: %w", err)
	}
	return sp, nil
}

// Proposals lists the early-unseal proposals, newest first, optionally only those in one status.
// Officers and auditors.
func (u *EarlyUnseals) Proposals(ctx context.Context, p auth.Principal, status string) ([]store.UnsealProposal, error) {
	if err := overseer(p, "listing early-unseal proposals"); err != nil {
		return nil, err
	}
	all, err := u.cfg.Proposals.UnsealProposals(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: listing unseal proposals: %v", ErrUnavailable, err)
	}
	if status != "" {
		all = slices.DeleteFunc(all, func(sp store.UnsealProposal) bool { return sp.Status != status })
	}
	return all, nil
}
