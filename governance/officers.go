package governance

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Errors callers test for; graph maps them to GraphQL error codes. ErrForbidden, ErrInvalid,
// ErrConflict, ErrUnavailable and ErrBusy are the same values as hub's.
var (
	// ErrForbidden: the principal may not do this.
	ErrForbidden = usecase.ErrForbidden
	// ErrInvalid: the change, reason or name given is invalid; the error says why.
	ErrInvalid = usecase.ErrInvalid
	// ErrConflict: the proposal was decided already, or the policy moved on since it was made.
	ErrConflict = usecase.ErrConflict
	// ErrUnavailable: the ledger could not record the request, so nothing changed.
	ErrUnavailable = usecase.ErrUnavailable
	// ErrBusy: too many requests are waiting for the ledger; retry shortly.
	ErrBusy = usecase.ErrBusy
	// ErrSelfApproval: the proposer tried to approve their own proposal.
	ErrSelfApproval = fmt.Errorf("%w: an officer cannot approve their own proposal; another officer must", ErrForbidden)
	// ErrOfficersOnly: the call is for privacy officers (reading the policy's workings: and auditors).
	ErrOfficersOnly = fmt.Errorf("%w: this is for privacy officers (reading the policy: and auditors)", ErrForbidden)
)

// ProposalStore keeps proposals. Implementations are safe for concurrent use.
type ProposalStore interface {
	// AddProposal stores a new proposal.
	AddProposal(ctx context.Context, p store.Proposal) error
	// Proposal returns one proposal, or an error wrapping store.ErrNotFound.
	Proposal(ctx context.Context, id string) (store.Proposal, error)
	// Proposals lists proposals with the status ("" for all), newest first.
	Proposals(ctx context.Context, status string) ([]store.Proposal, error)
	// DecideProposal records the decision on a pending proposal, or returns an error wrapping
	// store.ErrConflict if it is no longer pending.
	DecideProposal(ctx context.Context, p store.Proposal) error
}

// Ledger is where the workflow's entries go. Append returns once the entry is durable.
type Ledger interface {
	Append(ctx context.Context, e ledger.Entry) (ledger.Receipt, error)
}

// Config holds the workflow's dependencies; all are required.
type Config struct {
	// Policy is the engine whose snapshot is the version in force.
	Policy *policy.Engine
	// Versions holds the stored policy versions.
	Versions policy.Storage
	// Proposals holds the proposals.
	Proposals ProposalStore
	// Ledger records proposals, approvals and rejections.
	Ledger Ledger
	// Follower puts an approved version in force on this instance at once (other instances
	// follow with their own Follower's Watch).
	Follower *Follower
	// Officials names the officer behind each entry.
	Officials *usecase.Officials
}

// Option changes a default of New.
type Option func(*Officers)

// WithClock sets the clock entries, proposals and versions are stamped with.
func WithClock(now func() time.Time) Option { return func(o *Officers) { o.now = now } }

// WithRand sets the source of proposal ids (tests only; the default is crypto/rand).
func WithRand(r io.Reader) Option { return func(o *Officers) { o.rand = r } }

// Officers runs the maker-checker workflow and answers the officers' and auditors' questions
// about the policy. It is safe for concurrent use.
type Officers struct {
	policy    *policy.Engine
	versions  policy.Storage
	proposals ProposalStore
	ledger    Ledger
	follower  *Follower
	officials *usecase.Officials
	now       func() time.Time
	rand      io.Reader
	// certPreview counts the citizens a certificate type change moves (optional).
	certPreview CertificatePreview

	setMu sync.Mutex
	set   policy.Set // the latest whole policy version read
	// decideMu serialises decisions on proposals within this instance; across instances the
	// version number is the arbiter (a second save of the same number fails).
	decideMu sync.Mutex
}

// New checks cfg and returns the workflow.
func New(cfg Config, opts ...Option) (*Officers, error) {
	if cfg.Policy == nil || cfg.Versions == nil || cfg.Proposals == nil || cfg.Ledger == nil || cfg.Follower == nil || cfg.Officials == nil {
		return nil, errors.New("governance: New needs a policy engine, policy versions, proposals, a ledger, a follower and the officials")
	}
	o := &Officers{policy: cfg.Policy, versions: cfg.Versions, proposals: cfg.Proposals, ledger: cfg.Ledger,
		follower: cfg.Follower, officials: cfg.Officials, now: time.Now, rand: rand.Reader}
	for _, opt := range opts {
		opt(o)
	}
	return o, nil
}

// officer checks that p is an officer.
func officer(p auth.Principal, what string) error {
	if p.Kind != auth.KindOfficer || p.Subject == "" {
		return fmt.Errorf("%s: %w", what, ErrOfficersOnly)
	}
	return nil
}

// overseer checks that p may read the policy's workings: officers and auditors.
func overseer(p auth.Principal, what string) error {
	if p.Kind != auth.KindOfficer && p.Kind != auth.KindAuditor {
		return fmt.Errorf("%s: %w", what, ErrOfficersOnly)
	}
	return nil
}

func checkReason(reason string) error {
	r := strings.TrimSpace(reason)
	if r == "" || utf8.RuneCountInString(r) > 2000 || !utf8.ValidString(r) {
		return fmt.Errorf("%w: a reason (1 to 2,000 characters) is required", ErrInvalid)
	}
	return nil
}

// policySet reads a whole stored version; the latest one read is kept, so that proposing and then
// approving against the version in force reads its rules once.
func (o *Officers) policySet(ctx context.Context, version uint64) (policy.Set, error) {
	o.setMu.Lock()
	cached := o.set
	o.setMu.Unlock()
	if cached.Version == version && version != 0 {
		return cached.Clone(), nil
	}
	set, err := o.readPolicySet(ctx, version)
	if err != nil {
		return set, err
	}
	o.setMu.Lock()
	o.set = set
	o.setMu.Unlock()
	return set.Clone(), nil
}

func (o *Officers) readPolicySet(ctx context.Context, version uint64) (policy.Set, error) {
	info, err := o.versions.VersionInfo(ctx, version)
	if err != nil {
		return policy.Set{}, fmt.Errorf("reading policy %d: %w", version, err)
	}
	rules, err := o.versions.AllRules(ctx, version)
	if err != nil {
		return policy.Set{}, fmt.Errorf("reading policy %d: %w", version, err)
	}
	return policy.Set{Version: version, Rules: rules, Groupings: info.Groupings, Purposes: info.Purposes, Predicates: info.Predicates,
		CertificateTypes: info.CertificateTypes}, nil
}

// apply reads the base version and applies c to it, validating the result against the catalog.
func (o *Officers) apply(ctx context.Context, base uint64, c policy.Change) (before, after policy.Set, err error) {
	if before, err = o.policySet(ctx, base); err != nil {
		return before, after, err
	}
	if after, err = before.Apply(c); err != nil {
		return before, after, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := after.ValidateWith(catalog{}); err != nil {
		return before, after, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := checkCertificateTypes(ctx, after); err != nil {
		return before, after, err
	}
	return before, after, nil
}

// preview applies c to the base version and computes the impact: every decision that moves.
func (o *Officers) preview(ctx context.Context, base uint64, c policy.Change) (policy.Set, []policy.FieldChange, error) {
	before, after, err := o.apply(ctx, base, c)
	if err != nil {
		return policy.Set{}, nil, err
	}
	eb, err := policy.New(before, policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		return policy.Set{}, nil, err
	}
	ea, err := policy.New(after, policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		return policy.Set{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	impact, err := policy.Impact(ctx, eb.Snapshot(), ea.Snapshot(), c, dataset.FieldPaths())
	if err != nil {
		return policy.Set{}, nil, err
	}
	return after, impact, nil
}

// logPolicyEntry appends an officer's entry about the policy.
func (o *Officers) logPolicyEntry(ctx context.Context, p auth.Principal, kind ledger.Kind, version uint64, outcome ledger.Outcome, reason string, record []byte) (ledger.Receipt, error) {
	dept, role := usecase.Actor(p)
	official, err := o.officials.Line(ctx, p)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return usecase.Append(ctx, o.ledger, ledger.Entry{
		Kind: kind, Time: o.now(), Department: dept, Role: role, Official: official, Policy: version,
		Outcome: outcome, Reason: reason, Record: record,
	})
}

// PreviewPolicyChange is a dry run of ProposePolicyChange: it applies c to the version in force
// and returns that version and the impact, every decision the change would move, refusing an
// invalid change with the reason as ProposePolicyChange does. Officers only. Nothing is stored and
// nothing goes on the ledger: a preview releases no citizen data and changes no policy; the
// proposal, if the officer then submits one, is what the ledger records.
func (o *Officers) PreviewPolicyChange(ctx context.Context, p auth.Principal, c policy.Change) (base uint64, impact []policy.FieldChange, err error) {
	if err := officer(p, "previewing a policy change"); err != nil {
		return 0, nil, err
	}
	base = o.policy.Snapshot().Version()
	if _, impact, err = o.preview(ctx, base, c); err != nil {
		return 0, nil, err
	}
	return base, impact, nil
}

// ProposePolicyChange records an officer's proposal against the version in force, with its
// impact preview. A change that does not apply, names an unknown dataset, field or purpose, commits
// a field that is not sensitive, or holds a malformed pattern is refused with the reason, and
// nothing is recorded.
func (o *Officers) ProposePolicyChange(ctx context.Context, p auth.Principal, c policy.Change, reason string) (Proposal, error) {
	if err := officer(p, "proposing a policy change"); err != nil {
		return Proposal{}, err
	}
	if err := checkReason(reason); err != nil {
		return Proposal{}, err
	}
	base := o.policy.Snapshot().Version()
	after, impact, err := o.preview(ctx, base, c)
	if err != nil {
		return Proposal{}, err
	}
	var certImpact []CertificateImpact
	if o.certPreview != nil && touchesTypes(c) {
		before, err := o.policySet(ctx, base)
		if err != nil {
			return Proposal{}, err
		}
		if certImpact, err = o.certPreview(ctx, p, before.CertificateTypes, after.CertificateTypes); err != nil {
			return Proposal{}, fmt.Errorf("previewing the certificate types: %w", err)
		}
	}
	change, err := encodeChange(c)
	if err != nil {
		return Proposal{}, err
	}
	imp, err := json.Marshal(impact)
	if err != nil {
		return Proposal{}, err
	}
	r, err := o.logPolicyEntry(ctx, p, ledger.KindProposal, base, ledger.OutcomeAllowed, "", changeDigest(change))
	if err != nil {
		return Proposal{}, err
	}
	sp := store.Proposal{
		ID: usecase.RandomID(o.rand), Base: base, Reason: strings.TrimSpace(reason), ProposedBy: p.Subject, ProposerIssuer: p.Issuer, Created: o.now(),
		Change: change, Impact: imp, Entry: r.Index, Status: store.ProposalPending,
	}
	if certImpact != nil {
		if sp.CertificateImpact, err = json.Marshal(certImpact); err != nil {
			return Proposal{}, err
		}
	}
	if err := o.proposals.AddProposal(ctx, sp); err != nil {
		return Proposal{}, fmt.Errorf("storing the proposal: %w", err)
	}
	return Proposal{Proposal: sp, Change: c, Impact: impact, CertificateImpact: certImpact}, nil
}

// ApprovePolicyChange approves a pending proposal. The approver must be an officer other than the
// proposer; the proposal must still be pending and made against the version in force (a proposal
// overtaken by a newer version is stale). The approval goes on the ledger, then the new version is
// stored; every instance (this one at once) then decides under it.
func (o *Officers) ApprovePolicyChange(ctx context.Context, p auth.Principal, id string) (Proposal, error) {
	if err := officer(p, "approving a policy change"); err != nil {
		return Proposal{}, err
	}
	o.decideMu.Lock()
	defer o.decideMu.Unlock()
	sp, err := o.proposals.Proposal(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Proposal{}, fmt.Errorf("%w: no proposal %q", ErrInvalid, id)
	}
	if err != nil {
		return Proposal{}, err
	}
	prop, err := decodeProposal(sp)
	if err != nil {
		return Proposal{}, err
	}
	switch {
	case sp.Status != store.ProposalPending:
		return Proposal{}, fmt.Errorf("%w: proposal %s was %s already", ErrConflict, id, sp.Status)
	case sameProposer(sp, p):
		// The proposer is (issuer, canonical subject): the same name in any case from the same
		// issuer is the proposer; the same name from another identity provider is another person.
		// A proposal stored without its issuer compares the subject alone (failing closed).
		return Proposal{}, ErrSelfApproval
	}
	latest, err := o.versions.LatestVersion(ctx, o.policy.Snapshot().Version())
	if err != nil {
		return Proposal{}, err
	}
	if sp.Base != latest {
		return Proposal{}, fmt.Errorf("%w: proposal %s was made against policy version %d, but version %d is in force now; propose it again against the current policy", ErrConflict, id, sp.Base, latest)
	}
	// The base is the version in force, so the change applies as it did when proposed; apply it
	// again (the impact shown then still holds).
	_, next, err := o.apply(ctx, sp.Base, prop.Change)
	if err != nil {
		return Proposal{}, err
	}
	info, err := next.Info()
	if err != nil {
		return Proposal{}, err
	}
	info.Created, info.ProposalID, info.ProposedBy, info.ApprovedBy, info.Reason = o.now(), sp.ID, sp.ProposedBy, p.Subject, sp.Reason
	// On the ledger first: the change takes effect only once its approval is recorded.
	r, err := o.logPolicyEntry(ctx, p, ledger.KindApproval, next.Version, ledger.OutcomeAllowed, "", info.Digest)
	if err != nil {
		return Proposal{}, err
	}
	if err := o.versions.SaveVersion(ctx, info, next.Rules); err != nil {
		if errors.Is(err, policy.ErrVersionExists) {
			// Another instance approved another proposal for the same number first: record that
			// this approval did not take effect.
			if _, lerr := o.logPolicyEntry(ctx, p, ledger.KindRejection, next.Version, ledger.OutcomeDenied, "superseded", info.Digest); lerr != nil {
				return Proposal{}, errors.Join(err, lerr)
			}
			return Proposal{}, fmt.Errorf("%w: another change became version %d first; propose again", ErrConflict, next.Version)
		}
		return Proposal{}, fmt.Errorf("storing policy version %d: %w", next.Version, err)
	}
	o.setMu.Lock()
	o.set = next.Clone()
	o.setMu.Unlock()
	decided := sp
	decided.Status, decided.DecidedBy, decided.Decided, decided.Version, decided.DecisionEntry = store.ProposalApproved, p.Subject, o.now(), next.Version, r.Index
	derr := o.proposals.DecideProposal(ctx, decided)
	// The version is stored, so every other instance puts it in force: this one too, whatever
	// happened to the proposal's record.
	if err := o.follower.Reload(ctx); err != nil {
		return Proposal{}, errors.Join(fmt.Errorf("version %d is stored, but this instance has not loaded it yet: %w", next.Version, err), derr)
	}
	if derr != nil {
		return Proposal{}, fmt.Errorf("recording the approval (version %d is stored and in force): %w", next.Version, derr)
	}
	prop.Proposal = decided
	return prop, nil
}

// RejectPolicyChange rejects a pending proposal with a reason (any officer, the proposer
// withdrawing it included).
func (o *Officers) RejectPolicyChange(ctx context.Context, p auth.Principal, id, reason string) (Proposal, error) {
	if err := officer(p, "rejecting a policy change"); err != nil {
		return Proposal{}, err
	}
	if err := checkReason(reason); err != nil {
		return Proposal{}, err
	}
	o.decideMu.Lock() // not between an approval's status check and its decision
	defer o.decideMu.Unlock()
	sp, err := o.proposals.Proposal(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Proposal{}, fmt.Errorf("%w: no proposal %q", ErrInvalid, id)
	}
	if err != nil {
		return Proposal{}, err
	}
	if sp.Status != store.ProposalPending {
		return Proposal{}, fmt.Errorf("%w: proposal %s was %s already", ErrConflict, id, sp.Status)
	}
	r, err := o.logPolicyEntry(ctx, p, ledger.KindRejection, sp.Base, ledger.OutcomeAllowed, "", changeDigest(sp.Change))
	if err != nil {
		return Proposal{}, err
	}
	decided := sp
	decided.Status, decided.DecidedBy, decided.Decided, decided.DecisionReason, decided.DecisionEntry = store.ProposalRejected, p.Subject, o.now(), strings.TrimSpace(reason), r.Index
	if err := o.proposals.DecideProposal(ctx, decided); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Proposal{}, fmt.Errorf("%w: proposal %s was decided meanwhile", ErrConflict, id)
		}
		return Proposal{}, err
	}
	return decodeProposal(decided)
}

// PolicyProposals lists proposals (status "" for all), newest first.
func (o *Officers) PolicyProposals(ctx context.Context, p auth.Principal, status string) ([]Proposal, error) {
	if err := overseer(p, "reading proposals"); err != nil {
		return nil, err
	}
	sps, err := o.proposals.Proposals(ctx, status)
	if err != nil {
		return nil, err
	}
	out := make([]Proposal, 0, len(sps))
	for _, sp := range sps {
		prop, err := decodeProposal(sp)
		if err != nil {
			return nil, err
		}
		out = append(out, prop)
	}
	return out, nil
}

// PolicyVersions lists every stored version, oldest first.
func (o *Officers) PolicyVersions(ctx context.Context, p auth.Principal) ([]policy.VersionInfo, error) {
	if err := overseer(p, "reading the policy history"); err != nil {
		return nil, err
	}
	latest, err := o.versions.LatestVersion(ctx, o.policy.Snapshot().Version())
	if err != nil {
		return nil, err
	}
	out := make([]policy.VersionInfo, 0, latest)
	for v := uint64(1); v <= latest; v++ {
		info, err := o.versions.VersionInfo(ctx, v)
		if errors.Is(err, policy.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// PolicyInForce returns the version in force.
func (o *Officers) PolicyInForce(ctx context.Context, p auth.Principal) (policy.VersionInfo, error) {
	if err := overseer(p, "reading the policy"); err != nil {
		return policy.VersionInfo{}, err
	}
	return o.versions.VersionInfo(ctx, o.policy.Snapshot().Version())
}

// PolicyRules returns the rules and groupings of a version (0: the one in force).
func (o *Officers) PolicyRules(ctx context.Context, p auth.Principal, version uint64) (policy.Set, error) {
	if err := overseer(p, "reading the policy"); err != nil {
		return policy.Set{}, err
	}
	if version == 0 {
		version = o.policy.Snapshot().Version()
	}
	set, err := o.policySet(ctx, version)
	if errors.Is(err, policy.ErrNotFound) {
		return set, fmt.Errorf("%w: no policy version %d", ErrInvalid, version)
	}
	return set, err
}

// ExplainAccess says what a department's role gets of a field for a purpose under the policy in
// force, and which rules decide it.
func (o *Officers) ExplainAccess(ctx context.Context, p auth.Principal, sub policy.Subject, field, purpose string) (policy.Explanation, uint64, error) {
	if err := overseer(p, "explaining access"); err != nil {
		return policy.Explanation{}, 0, err
	}
	if _, known := dataset.Sensitive(field); !known {
		return policy.Explanation{}, 0, fmt.Errorf("%w: %q is not a dataset.field of the catalog", ErrInvalid, field)
	}
	snap := o.policy.Snapshot()
	e, err := snap.Explain(ctx, sub, field, purpose)
	return e, snap.Version(), err
}

// sameProposer reports whether p is the officer who made the stored proposal sp.
func sameProposer(sp store.Proposal, p auth.Principal) bool {
	if auth.CanonicalSubject(sp.ProposedBy) != auth.CanonicalSubject(p.Subject) {
		return false
	}
	return sp.ProposerIssuer == "" || p.Issuer == "" || sp.ProposerIssuer == p.Issuer
}
