package hub

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// The officers' workflow (maker-checker): an officer proposes a policy change with a reason and
// sees its impact; a different officer approves it against the version it was proposed on, and it
// becomes the next policy version everywhere; or an officer rejects it. Proposals, approvals and
// rejections are ledger entries; the change takes effect only after its approval is on the ledger.

// ProposalStore keeps proposals.
type ProposalStore interface {
	AddProposal(ctx context.Context, p store.Proposal) error
	Proposal(ctx context.Context, id string) (store.Proposal, error)
	Proposals(ctx context.Context, status string) ([]store.Proposal, error)
	DecideProposal(ctx context.Context, p store.Proposal) error
}

// Governance is where the policy versions and proposals live, and how an engine reads them.
type Governance struct {
	Versions  policy.Storage
	Loader    policy.Loader
	Proposals ProposalStore
}

var (
	// ErrConflict: the proposal was decided already, or the policy moved on since it was made; or
	// the record an update was built on changed before the update could be written.
	ErrConflict = errors.New("conflict")
	// ErrSelfApproval: the proposer tried to approve their own proposal.
	ErrSelfApproval = fmt.Errorf("%w: an officer cannot approve their own proposal; another officer must", ErrForbidden)
	// ErrOfficersOnly: the call is for privacy officers (reading the policy's workings: and auditors).
	ErrOfficersOnly = fmt.Errorf("%w: this is for privacy officers (reading the policy: and auditors)", ErrForbidden)
)

// Proposal is a proposal as the hub shows it.
type Proposal struct {
	store.Proposal
	Change policy.Change
	Impact []policy.FieldChange
}

// proposalJSON is the stored form of a change.
type proposalJSON struct {
	AddRules, RemoveRules         []policy.Rule
	AddGroupings, RemoveGroupings []policy.Grouping
	AddPurposes                   []policy.Purpose
	RetirePurposes                []string
}

func encodeChange(c policy.Change) ([]byte, error) {
	return json.Marshal(proposalJSON(c))
}

func decodeProposal(p store.Proposal) (Proposal, error) {
	out := Proposal{Proposal: p}
	var c proposalJSON
	if err := json.Unmarshal(p.Change, &c); err != nil {
		return out, fmt.Errorf("proposal %s: %w", p.ID, err)
	}
	out.Change = policy.Change(c)
	if len(p.Impact) > 0 {
		if err := json.Unmarshal(p.Impact, &out.Impact); err != nil {
			return out, fmt.Errorf("proposal %s impact: %w", p.ID, err)
		}
	}
	return out, nil
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

// changeDigest names a change on the ledger: SHA-256 of its stored JSON. (Reasons stay off the
// ledger: they are free text.)
func changeDigest(b []byte) []byte {
	d := sha256.Sum256(append([]byte("govhub/policy-change/v1\x00"), b...))
	return d[:]
}

// policySet reads a whole stored version; the latest one read is kept, so that proposing and then
// approving against the version in force reads its rules once.
func (h *Hub) policySet(ctx context.Context, version uint64) (policy.Set, error) {
	h.setMu.Lock()
	cached := h.set
	h.setMu.Unlock()
	if cached.Version == version && version != 0 {
		return cached.Clone(), nil
	}
	set, err := h.readPolicySet(ctx, version)
	if err != nil {
		return set, err
	}
	h.setMu.Lock()
	h.set = set
	h.setMu.Unlock()
	return set.Clone(), nil
}

func (h *Hub) readPolicySet(ctx context.Context, version uint64) (policy.Set, error) {
	g := h.governance
	info, err := g.Versions.VersionInfo(ctx, version)
	if err != nil {
		return policy.Set{}, fmt.Errorf("reading policy %d: %w", version, err)
	}
	rules, err := g.Versions.AllRules(ctx, version)
	if err != nil {
		return policy.Set{}, fmt.Errorf("reading policy %d: %w", version, err)
	}
	return policy.Set{Version: version, Rules: rules, Groupings: info.Groupings, Purposes: info.Purposes}, nil
}

// apply reads the base version and applies c to it, validating the result against the catalog.
func (h *Hub) apply(ctx context.Context, base uint64, c policy.Change) (before, after policy.Set, err error) {
	if before, err = h.policySet(ctx, base); err != nil {
		return before, after, err
	}
	if after, err = before.Apply(c); err != nil {
		return before, after, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := after.ValidateWith(dataset.Catalog{}); err != nil {
		return before, after, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return before, after, nil
}

// preview applies c to the base version and computes the impact: every decision that moves.
func (h *Hub) preview(ctx context.Context, base uint64, c policy.Change) (policy.Set, []policy.FieldChange, error) {
	before, after, err := h.apply(ctx, base, c)
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
func (h *Hub) logPolicyEntry(ctx context.Context, p auth.Principal, kind ledger.Kind, version uint64, outcome ledger.Outcome, reason string, record []byte) (ledger.Receipt, error) {
	dept, role := actor(p)
	return h.appendEntry(ctx, ledger.Entry{
		Kind: kind, Time: h.now(), Department: dept, Role: role, Policy: version,
		Outcome: outcome, Reason: reason, Record: record,
	})
}

// ProposePolicyChange records an officer's proposal against the version in force, with its
// impact preview. A change that does not apply, names an unknown dataset, field or purpose, commits
// a field that is not sensitive, or holds a malformed pattern is refused with the reason, and
// nothing is recorded.
func (h *Hub) ProposePolicyChange(ctx context.Context, p auth.Principal, c policy.Change, reason string) (Proposal, error) {
	if h.governance.Versions == nil {
		return Proposal{}, errors.New("hub: no policy storage configured")
	}
	if err := officer(p, "proposing a policy change"); err != nil {
		return Proposal{}, err
	}
	if err := checkReason(reason); err != nil {
		return Proposal{}, err
	}
	base := h.policy.Snapshot().Version()
	_, impact, err := h.preview(ctx, base, c)
	if err != nil {
		return Proposal{}, err
	}
	change, err := encodeChange(c)
	if err != nil {
		return Proposal{}, err
	}
	imp, err := json.Marshal(impact)
	if err != nil {
		return Proposal{}, err
	}
	r, err := h.logPolicyEntry(ctx, p, ledger.KindProposal, base, ledger.OutcomeAllowed, "", changeDigest(change))
	if err != nil {
		return Proposal{}, err
	}
	sp := store.Proposal{
		ID: randomID(h.rand), Base: base, Reason: strings.TrimSpace(reason), ProposedBy: p.Subject, Created: h.now(),
		Change: change, Impact: imp, Entry: r.Index, Status: store.ProposalPending,
	}
	if err := h.governance.Proposals.AddProposal(ctx, sp); err != nil {
		return Proposal{}, fmt.Errorf("storing the proposal: %w", err)
	}
	return Proposal{Proposal: sp, Change: c, Impact: impact}, nil
}

// ApprovePolicyChange approves a pending proposal. The approver must be an officer other than the
// proposer; the proposal must still be pending and made against the version in force (a proposal
// overtaken by a newer version is stale). The approval goes on the ledger, then the new version is
// stored; every instance (this one at once) then decides under it.
func (h *Hub) ApprovePolicyChange(ctx context.Context, p auth.Principal, id string) (Proposal, error) {
	if err := officer(p, "approving a policy change"); err != nil {
		return Proposal{}, err
	}
	h.decideMu.Lock()
	defer h.decideMu.Unlock()
	sp, err := h.governance.Proposals.Proposal(ctx, id)
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
	case sp.ProposedBy == p.Subject:
		return Proposal{}, ErrSelfApproval
	}
	latest, err := h.governance.Versions.LatestVersion(ctx, h.policy.Snapshot().Version())
	if err != nil {
		return Proposal{}, err
	}
	if sp.Base != latest {
		return Proposal{}, fmt.Errorf("%w: proposal %s was made against policy version %d, but version %d is in force now; propose it again against the current policy", ErrConflict, id, sp.Base, latest)
	}
	// The base is the version in force, so the change applies as it did when proposed; apply it
	// again (the impact shown then still holds).
	_, next, err := h.apply(ctx, sp.Base, prop.Change)
	if err != nil {
		return Proposal{}, err
	}
	info, err := next.Info()
	if err != nil {
		return Proposal{}, err
	}
	info.Created, info.ProposalID, info.ProposedBy, info.ApprovedBy, info.Reason = h.now(), sp.ID, sp.ProposedBy, p.Subject, sp.Reason
	// On the ledger first: the change takes effect only once its approval is recorded.
	r, err := h.logPolicyEntry(ctx, p, ledger.KindApproval, next.Version, ledger.OutcomeAllowed, "", info.Digest)
	if err != nil {
		return Proposal{}, err
	}
	if err := h.governance.Versions.SaveVersion(ctx, info, next.Rules); err != nil {
		if errors.Is(err, policy.ErrVersionExists) {
			// Another instance approved another proposal for the same number first: record that
			// this approval did not take effect.
			if _, lerr := h.logPolicyEntry(ctx, p, ledger.KindRejection, next.Version, ledger.OutcomeDenied, "superseded", info.Digest); lerr != nil {
				return Proposal{}, errors.Join(err, lerr)
			}
			return Proposal{}, fmt.Errorf("%w: another change became version %d first; propose again", ErrConflict, next.Version)
		}
		return Proposal{}, fmt.Errorf("storing policy version %d: %w", next.Version, err)
	}
	h.setMu.Lock()
	h.set = next.Clone()
	h.setMu.Unlock()
	decided := sp
	decided.Status, decided.DecidedBy, decided.Decided, decided.Version, decided.DecisionEntry = store.ProposalApproved, p.Subject, h.now(), next.Version, r.Index
	derr := h.governance.Proposals.DecideProposal(ctx, decided)
	// The version is stored, so every other instance puts it in force: this one too, whatever
	// happened to the proposal's record.
	if err := h.ReloadPolicy(ctx); err != nil {
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
func (h *Hub) RejectPolicyChange(ctx context.Context, p auth.Principal, id, reason string) (Proposal, error) {
	if err := officer(p, "rejecting a policy change"); err != nil {
		return Proposal{}, err
	}
	if err := checkReason(reason); err != nil {
		return Proposal{}, err
	}
	h.decideMu.Lock() // not between an approval's status check and its decision
	defer h.decideMu.Unlock()
	sp, err := h.governance.Proposals.Proposal(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Proposal{}, fmt.Errorf("%w: no proposal %q", ErrInvalid, id)
	}
	if err != nil {
		return Proposal{}, err
	}
	if sp.Status != store.ProposalPending {
		return Proposal{}, fmt.Errorf("%w: proposal %s was %s already", ErrConflict, id, sp.Status)
	}
	r, err := h.logPolicyEntry(ctx, p, ledger.KindRejection, sp.Base, ledger.OutcomeAllowed, "", changeDigest(sp.Change))
	if err != nil {
		return Proposal{}, err
	}
	decided := sp
	decided.Status, decided.DecidedBy, decided.Decided, decided.DecisionReason, decided.DecisionEntry = store.ProposalRejected, p.Subject, h.now(), strings.TrimSpace(reason), r.Index
	if err := h.governance.Proposals.DecideProposal(ctx, decided); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Proposal{}, fmt.Errorf("%w: proposal %s was decided meanwhile", ErrConflict, id)
		}
		return Proposal{}, err
	}
	return decodeProposal(decided)
}

// PolicyProposals lists proposals (status "" for all), newest first.
func (h *Hub) PolicyProposals(ctx context.Context, p auth.Principal, status string) ([]Proposal, error) {
	if err := overseer(p, "reading proposals"); err != nil {
		return nil, err
	}
	sps, err := h.governance.Proposals.Proposals(ctx, status)
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
func (h *Hub) PolicyVersions(ctx context.Context, p auth.Principal) ([]policy.VersionInfo, error) {
	if err := overseer(p, "reading the policy history"); err != nil {
		return nil, err
	}
	latest, err := h.governance.Versions.LatestVersion(ctx, h.policy.Snapshot().Version())
	if err != nil {
		return nil, err
	}
	out := make([]policy.VersionInfo, 0, latest)
	for v := uint64(1); v <= latest; v++ {
		info, err := h.governance.Versions.VersionInfo(ctx, v)
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
func (h *Hub) PolicyInForce(ctx context.Context, p auth.Principal) (policy.VersionInfo, error) {
	if err := overseer(p, "reading the policy"); err != nil {
		return policy.VersionInfo{}, err
	}
	return h.governance.Versions.VersionInfo(ctx, h.policy.Snapshot().Version())
}

// PolicyRules returns the rules and groupings of a version (0: the one in force).
func (h *Hub) PolicyRules(ctx context.Context, p auth.Principal, version uint64) (policy.Set, error) {
	if err := overseer(p, "reading the policy"); err != nil {
		return policy.Set{}, err
	}
	if version == 0 {
		version = h.policy.Snapshot().Version()
	}
	set, err := h.policySet(ctx, version)
	if errors.Is(err, policy.ErrNotFound) {
		return set, fmt.Errorf("%w: no policy version %d", ErrInvalid, version)
	}
	return set, err
}

// ExplainAccess says what a department's role gets of a field for a purpose under the policy in
// force, and which rules decide it.
func (h *Hub) ExplainAccess(ctx context.Context, p auth.Principal, sub policy.Subject, field, purpose string) (policy.Explanation, uint64, error) {
	if err := overseer(p, "explaining access"); err != nil {
		return policy.Explanation{}, 0, err
	}
	if _, known := dataset.Sensitive(field); !known {
		return policy.Explanation{}, 0, fmt.Errorf("%w: %q is not a dataset.field of the catalog", ErrInvalid, field)
	}
	snap := h.policy.Snapshot()
	e, err := snap.Explain(ctx, sub, field, purpose)
	return e, snap.Version(), err
}

// ReloadPolicy makes the newest stored version the one in force, if it is newer.
func (h *Hub) ReloadPolicy(ctx context.Context) error {
	g := h.governance
	if g.Versions == nil {
		return nil
	}
	cur := h.policy.Snapshot().Version()
	latest, err := g.Versions.LatestVersion(ctx, cur)
	if err != nil {
		return fmt.Errorf("looking for a new policy version: %w", err)
	}
	if latest <= cur {
		return nil
	}
	info, err := g.Versions.VersionInfo(ctx, latest)
	if err != nil {
		return fmt.Errorf("reading policy %d: %w", latest, err)
	}
	// Read the version's description now, so that the first request under it reads only the
	// partitions it needs.
	if w, ok := g.Loader.(policy.Warmer); ok {
		if err := w.Warm(ctx, latest); err != nil {
			return fmt.Errorf("reading policy %d: %w", latest, err)
		}
	}
	if err := h.policy.Load(ctx, info, g.Loader); err != nil && !errors.Is(err, policy.ErrStaleVersion) {
		return fmt.Errorf("loading policy %d: %w", latest, err)
	}
	return nil
}

// WatchPolicy polls for new policy versions until ctx ends, applying each within interval: how
// every instance follows approvals made on any of them.
func (h *Hub) WatchPolicy(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		before := h.policy.Snapshot().Version()
		if err := h.ReloadPolicy(ctx); err != nil {
			logger.WarnContext(ctx, "policy reload", slog.String("error", err.Error()))
			continue
		}
		if after := h.policy.Snapshot().Version(); after != before {
			logger.InfoContext(ctx, "policy version now in force", slog.Uint64("version", after), slog.Uint64("was", before))
		}
	}
}

// ImportPolicy stores set as the first policy version when the store holds none, and puts it on the
// ledger (a policy entry naming its digest). It returns the version in force afterwards.
func ImportPolicy(ctx context.Context, versions policy.Storage, lg Ledger, set policy.Set, source string, now time.Time) (uint64, error) {
	latest, err := versions.LatestVersion(ctx, 0)
	if err != nil || latest > 0 {
		return latest, err
	}
	if err := set.ValidateWith(dataset.Catalog{}); err != nil {
		return 0, fmt.Errorf("importing the policy: %w", err)
	}
	set.Version = 1
	info, err := set.Info()
	if err != nil {
		return 0, err
	}
	info.Created, info.Reason = now, "imported from "+source
	if _, err := lg.Append(ctx, ledger.Entry{Kind: ledger.KindPolicy, Time: now, Department: "hub", Role: "system",
		Policy: 1, Outcome: ledger.OutcomeAllowed, Record: info.Digest}); err != nil {
		return 0, fmt.Errorf("recording the policy import on the ledger: %w", err)
	}
	if err := versions.SaveVersion(ctx, info, set.Rules); err != nil && !errors.Is(err, policy.ErrVersionExists) {
		return 0, fmt.Errorf("storing the imported policy: %w", err)
	}
	return versions.LatestVersion(ctx, 0)
}
