package governance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Lawful erasure through maker-checker: an officer proposes the erasure of one citizen's data with
// a legal basis and a reason; a different officer approves it (ErrSelfApproval otherwise), and the
// approval hands it to the hub, which applies it (package hub, erasure.go) before ApproveErasure
// returns; or an officer rejects it. Proposal, approval and rejection each go on the ledger first
// (kinds proposal, approval and rejection, reason "erasure"), and name the request only by a salted
// digest, ErasureRequestDigest: the citizen's id, the basis and the reason stay off the ledger,
// and once the erasure is applied its nonce is destroyed with the rest, so the digests can no
// longer be opened.

// ErasureEntryReason is the reason line of the proposal, approval and rejection entries of erasures.
const ErasureEntryReason = "erasure"

// ErasureStore keeps erasure requests (store.Erasure). Safe for concurrent use.
type ErasureStore interface {
	AddErasure(ctx context.Context, e store.Erasure) error
	Erasure(ctx context.Context, id string) (store.Erasure, error)
	Erasures(ctx context.Context, status string) ([]store.Erasure, error)
	// UpdateErasure replaces the request if its stored status is from (store.ErrConflict otherwise).
	UpdateErasure(ctx context.Context, e store.Erasure, from string) error
}

// CitizenDirectory says whether a citizen is registered.
type CitizenDirectory interface {
	CitizenExists(ctx context.Context, id string) (bool, error)
}

// ApplyErasure carries out an approved erasure request (hub.Erasure.Apply) and returns the
// erasure entry's index.
type ApplyErasure func(ctx context.Context, id string) (uint64, error)

// ErasuresConfig holds the erasure workflow's dependencies; all are required.
type ErasuresConfig struct {
	Store    ErasureStore
	Citizens CitizenDirectory
	Ledger   Ledger
	// Policy gives the version in force, named on the entries.
	Policy    *policy.Engine
	Officials *usecase.Officials
	Apply     ApplyErasure
}

// Erasures is the officers' erasure workflow. It is safe for concurrent use.
type Erasures struct {
	cfg  ErasuresConfig
	now  func() time.Time
	rand io.Reader
	mu   sync.Mutex // decisions within this instance; across instances the status compare-and-swap
}

// NewErasures checks cfg and returns the workflow (options: WithClock, WithRand).
func NewErasures(cfg ErasuresConfig, opts ...Option) (*Erasures, error) {
	if cfg.Store == nil || cfg.Citizens == nil || cfg.Ledger == nil || cfg.Policy == nil || cfg.Officials == nil || cfg.Apply == nil {
		return nil, errors.New("governance: NewErasures needs a store, the citizens, a ledger, the policy, the officials and the hub's erasure")
	}
	o := &Officers{now: time.Now, rand: rand.Reader}
	for _, opt := range opts {
		opt(o)
	}
	return &Erasures{cfg: cfg, now: o.now, rand: o.rand}, nil
}

// ErasureRequestDigest names an erasure request on its entries: SHA-256 of
// "govhub/erasure-request/v1" ‖ 0x00 ‖ nonce (32 random bytes, kept off the ledger and destroyed
// by the erasure) ‖ request id ‖ 0x00 ‖ citizen id.
func ErasureRequestDigest(nonce []byte, id, citizen string) []byte {
	h := sha256.New()
	h.Write([]byte("govhub/erasure-request/v1\x00"))
	h.Write(nonce)
	h.Write([]byte(id + "\x00" + citizen))
	return h.Sum(nil)
}

var basisToken = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

func (w *Erasures) logEntry(ctx context.Context, p auth.Principal, kind ledger.Kind, record []byte) (ledger.Receipt, []byte, error) {
	dept, role := usecase.Actor(p)
	official, err := w.cfg.Officials.Line(ctx, p)
	if err != nil {
		return ledger.Receipt{}, nil, err
	}
	r, err := usecase.Append(ctx, w.cfg.Ledger, ledger.Entry{
		Kind: kind, Time: w.now(), Department: dept, Role: role, Official: official, Policy: w.cfg.Policy.Snapshot().Version(),
		Outcome: ledger.OutcomeAllowed, Reason: ErasureEntryReason, Record: record,
	})
	return r, official, err
}

// ProposeErasure records an officer's proposal to erase the citizen's data, with the legal basis
// (a lowercase token such as "court-order" or "consent-withdrawn") and a reason.
func (w *Erasures) ProposeErasure(ctx context.Context, p auth.Principal, citizen, basis, reason string) (store.Erasure, error) {
	if err := officer(p, "proposing an erasure"); err != nil {
		return store.Erasure{}, err
	}
	if err := checkReason(reason); err != nil {
		return store.Erasure{}, err
	}
	if !basisToken.MatchString(basis) {
		return store.Erasure{}, fmt.Errorf("%w: the legal basis must be a lowercase token (letters, digits, '-'), e.g. court-order", ErrInvalid)
	}
	exists, err := w.cfg.Citizens.CitizenExists(ctx, citizen)
	if err != nil {
		return store.Erasure{}, fmt.Errorf("looking up the citizen: %w", err)
	}
	if !exists {
		return store.Erasure{}, fmt.Errorf("%w: no such citizen (or erased already)", ErrInvalid)
	}
	nonce := make([]byte, 32)
	if _, err := io.ReadFull(w.rand, nonce); err != nil {
		return store.Erasure{}, err
	}
	id := usecase.RandomID(w.rand)
	r, _, err := w.logEntry(ctx, p, ledger.KindProposal, ErasureRequestDigest(nonce, id, citizen))
	if err != nil {
		return store.Erasure{}, err
	}
	e := store.Erasure{ID: id, Citizen: citizen, Nonce: nonce, Basis: basis, Reason: strings.TrimSpace(reason),
		ProposedBy: p.Subject, ProposerIssuer: p.Issuer, Created: w.now(), Entry: r.Index, Status: store.ErasurePending}
	if err := w.cfg.Store.AddErasure(ctx, e); err != nil {
		return store.Erasure{}, fmt.Errorf("storing the erasure request: %w", err)
	}
	return e, nil
}

// pending reads a pending request.
func (w *Erasures) pending(ctx context.Context, id string) (store.Erasure, error) {
	e, err := w.cfg.Store.Erasure(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return e, fmt.Errorf("%w: no erasure request %q", ErrInvalid, id)
	}
	if err != nil {
		return e, err
	}
	if e.Status != store.ErasurePending {
		return e, fmt.Errorf("%w: erasure request %s was %s already", ErrConflict, id, e.Status)
	}
	return e, nil
}

// ApproveErasure approves a pending erasure request: the approver must be an officer other than the
// proposer. The approval goes on the ledger, then the request is marked approved and the hub
// applies it; the request is returned as it then stands (status applied, or approved when applying
// failed part-way: the error says why, and the hub finishes it at its next start or on ResumeErasure).
func (w *Erasures) ApproveErasure(ctx context.Context, p auth.Principal, id string) (store.Erasure, error) {
	if err := officer(p, "approving an erasure"); err != nil {
		return store.Erasure{}, err
	}
	w.mu.Lock()
	e, err := w.pending(ctx, id)
	if err != nil {
		w.mu.Unlock()
		return store.Erasure{}, err
	}
	if sameProposer(store.Proposal{ProposedBy: e.ProposedBy, ProposerIssuer: e.ProposerIssuer}, p) {
		w.mu.Unlock()
		return store.Erasure{}, ErrSelfApproval
	}
	r, official, err := w.logEntry(ctx, p, ledger.KindApproval, ErasureRequestDigest(e.Nonce, e.ID, e.Citizen))
	if err != nil {
		w.mu.Unlock()
		return store.Erasure{}, err
	}
	approved := e
	approved.Status, approved.DecidedBy, approved.Decided, approved.DecisionEntry = store.ErasureApproved, p.Subject, w.now(), r.Index
	approved.ApproverDepartment, approved.ApproverRole = usecase.Actor(p)
	approved.ApproverOfficial, approved.Policy = official, w.cfg.Policy.Snapshot().Version()
	err = w.cfg.Store.UpdateErasure(ctx, approved, store.ErasurePending)
	w.mu.Unlock()
	if errors.Is(err, store.ErrConflict) {
		return store.Erasure{}, fmt.Errorf("%w: erasure request %s was decided meanwhile", ErrConflict, id)
	}
	if err != nil {
		return store.Erasure{}, fmt.Errorf("recording the approval: %w", err)
	}
	_, aerr := w.cfg.Apply(ctx, id)
	now, err := w.cfg.Store.Erasure(ctx, id)
	if err != nil {
		return approved, errors.Join(aerr, err)
	}
	if aerr != nil {
		return now, fmt.Errorf("the erasure is approved but not finished (the hub finishes it at its next start): %w", aerr)
	}
	return now, nil
}

// ResumeErasure asks the hub to finish an approved erasure that could not be finished (officers).
func (w *Erasures) ResumeErasure(ctx context.Context, p auth.Principal, id string) (store.Erasure, error) {
	if err := officer(p, "finishing an erasure"); err != nil {
		return store.Erasure{}, err
	}
	if _, err := w.cfg.Apply(ctx, id); err != nil {
		return store.Erasure{}, err
	}
	return w.cfg.Store.Erasure(ctx, id)
}

// RejectErasure rejects a pending erasure request with a reason (any officer, the proposer
// withdrawing it included). The rejected request keeps the citizen's id for the record.
func (w *Erasures) RejectErasure(ctx context.Context, p auth.Principal, id, reason string) (store.Erasure, error) {
	if err := officer(p, "rejecting an erasure"); err != nil {
		return store.Erasure{}, err
	}
	if err := checkReason(reason); err != nil {
		return store.Erasure{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	e, err := w.pending(ctx, id)
	if err != nil {
		return store.Erasure{}, err
	}
	r, _, err := w.logEntry(ctx, p, ledger.KindRejection, ErasureRequestDigest(e.Nonce, e.ID, e.Citizen))
	if err != nil {
		return store.Erasure{}, err
	}
	rejected := e
	rejected.Status, rejected.DecidedBy, rejected.Decided, rejected.DecisionReason, rejected.DecisionEntry = store.ErasureRejected, p.Subject, w.now(), strings.TrimSpace(reason), r.Index
	if err := w.cfg.Store.UpdateErasure(ctx, rejected, store.ErasurePending); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Erasure{}, fmt.Errorf("%w: erasure request %s was decided meanwhile", ErrConflict, id)
		}
		return store.Erasure{}, err
	}
	return rejected, nil
}

// ErasureRequests lists erasure requests (status "" for all), newest first: officers only (a pending request names its citizen).
// An applied request no longer names its citizen.
func (w *Erasures) ErasureRequests(ctx context.Context, p auth.Principal, status string) ([]store.Erasure, error) {
	if err := officer(p, "reading erasure requests"); err != nil {
		return nil, err
	}
	return w.cfg.Store.Erasures(ctx, status)
}
