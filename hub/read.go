package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// Want says which parts of a field the caller selected.
type Want uint8

// What a request can select of a field: a plain field has only a value; a sensitive field has a
// value and a commitment.
const (
	WantCommitment Want = 1 << iota
	WantValue
)

// ReadRequest asks for some fields of one citizen's data.
type ReadRequest struct {
	Citizen string
	Purpose string
	// Fields maps "dataset.field" to what was selected of it.
	Fields map[string]Want
	// Request is the request as received; only its keyed digest goes on the ledger.
	Request []byte
	// Seal names the court order and unseal date a read under a sealed purpose must give
	// (sealed_read.go); nil for any other purpose.
	Seal *SealRequest
	// group holds entries to append together with the read's access entry (entryGroup); nil for
	// none.
	group *entryGroup
}

// entryGroup is what goes on the ledger with a read's access entry (ReadRequest.group), in one
// ledger write and one index write (core.appendIndexed): entries made before the read that nothing
// released separates from it (a certificate application's step before its gathering), and entries
// about the read that must be durable before anything it found is used (the family lookup). The
// read appends them with whichever access entry it appends, a refusal's too. A read that fails
// before appending one, or whose append fails, leaves the rest (rest) to its caller.
type entryGroup struct {
	before, after []pendingEntry
	// appended are the entries appended so far, in ledger order (the access entry among them once
	// the read appended), and receipts their receipts.
	appended []pendingEntry
	receipts []ledger.Receipt
	// settled: the caller appended the rest and took the group's steps (Certificates.settle).
	settled bool
}

// empty reports whether g holds nothing to append.
func (g *entryGroup) empty() bool { return g == nil || len(g.before)+len(g.after) == 0 }

// rest is what of g is not yet appended, in order: all of it before the read appended, what a
// failed append left after.
func (g *entryGroup) rest() []pendingEntry {
	k := len(g.appended)
	if k <= len(g.before) {
		return append(append([]pendingEntry{}, g.before[k:]...), g.after...)
	}
	return g.after[k-len(g.before)-1:]
}

// appendGrouped appends the access entry e, naming subjects (none for an erased citizen), together
// with g's entries (before it, then after it) and indexes each in its citizens' logs.
func (rd *Reader) appendGrouped(ctx context.Context, e ledger.Entry, subjects []subjectRef, g *entryGroup) (ledger.Receipt, error) {
	if g.empty() {
		if len(subjects) == 0 {
			return rd.appendEntry(ctx, e)
		}
		return rd.appendFor(ctx, e, subjects[0].citizen, subjects[0].salt)
	}
	ps := append(append(append([]pendingEntry{}, g.before...), pendingEntry{entry: e, subjects: subjects}), g.after...)
	rs, err := rd.appendIndexed(ctx, ps)
	g.appended, g.receipts = ps[:len(rs)], rs
	if err != nil {
		return ledger.Receipt{}, err
	}
	return rs[len(g.before)], nil
}

// Commitment is a Pedersen commitment as the hub hands it out.
type Commitment struct {
	Scheme string
	Point  string // compressed G1 point, hex
	// Version is the ledger index of the update entry that committed the value.
	Version uint64
}

// FieldValue is one released field: Value when revealed (package dataset's conventions), and for a
// sensitive field at commit level or above its Commitment.
type FieldValue struct {
	Value      any
	Commitment *Commitment
	// Proofs holds the answers to the predicates granted about the value (prove.go), by name.
	Proofs map[string]Proof
}

// DatasetView is what is released of one dataset record: one item for a plain dataset, any number
// for a list dataset; each maps field name to value. Fields not released are absent.
type DatasetView struct {
	Items []map[string]FieldValue
}

// CitizenView is the outcome of a read.
type CitizenView struct {
	ID string
	// Levels holds the decision for every requested field (after capping at what was selected).
	Levels map[string]policy.Level
	// Datasets holds the records released, by dataset name; a dataset with a record absent here
	// either has no record or had every requested field denied (see DatasetDenied).
	Datasets map[string]*DatasetView
	// Receipt is the ledger's receipt for the access entry.
	Receipt ledger.Receipt
	// PolicyVersion is the policy version the read was decided under.
	PolicyVersion uint64
}

// DatasetDenied reports whether every requested field of the dataset was denied.
func (v *CitizenView) DatasetDenied(ds string) bool {
	any := false
	for f, l := range v.Levels {
		if d, _, _ := strings.Cut(f, "."); d == ds {
			any = true
			if l != policy.Deny {
				return false
			}
		}
	}
	return any
}

// ReadCitizen releases the requested fields of one citizen as far as the policy allows the
// principal for the purpose. Before it returns any data it appends an access entry naming exactly
// the fields and levels released (denied fields as deny) and indexes it for the citizen. A request
// with an unregistered purpose, or with every field denied, is logged as denied and returns
// ErrUnknownPurpose or a view with every field denied. A request for a citizen that does not exist
// is logged and returns ErrNotFound.
func (rd *Reader) ReadCitizen(ctx context.Context, p auth.Principal, req ReadRequest) (*CitizenView, error) {
	snap := rd.policy.Snapshot()
	d, err := rd.decide(ctx, snap, p, req.Fields, req.Purpose)
	if err != nil {
		return nil, err
	}
	sealed, err := rd.checkSeal(ctx, p, snap, req)
	if err != nil {
		return nil, err
	}
	dept, role, official, err := rd.actor(ctx, p)
	if err != nil {
		return nil, err
	}
	entry := ledger.Entry{
		Kind: ledger.KindAccess, Time: rd.now(), Department: dept, Role: role, Official: official, Purpose: req.Purpose,
		Policy: snap.Version(), Request: rd.requestDigest(req.Request), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed,
	}
	salt, subj, err := rd.subject(req.Citizen)
	if err != nil {
		return nil, err
	}
	entry.Subjects = [][]byte{subj}

	view := &CitizenView{ID: req.Citizen, Levels: d.levels, Datasets: map[string]*DatasetView{}, PolicyVersion: snap.Version()}
	if !d.purposeKnown {
		// The stated text is not a registered code, and may be anything (even personal data): it
		// stays off the ledger.
		entry.Fields, entry.Purpose = d.denied(), ""
		entry.Outcome, entry.Reason = ledger.OutcomeDenied, "unknown-purpose"
		if _, err := rd.appendAccess(ctx, entry, req.Citizen, salt, sealed, req.group); err != nil {
			return nil, err
		}
		return nil, ErrUnknownPurpose
	}
	entry.Fields = d.entryFields()
	if len(d.load) == 0 {
		entry.Outcome, entry.Reason = ledger.OutcomeDenied, "forbidden"
		r, err := rd.appendAccess(ctx, entry, req.Citizen, salt, sealed, req.group)
		if err != nil {
			return nil, err
		}
		view.Receipt = r
		return view, nil
	}

	// Load what may be released: the records, and the data key only if a sensitive value is revealed.
	released, err := rd.releaseCitizen(ctx, req.Citizen, d)
	if errors.Is(err, ErrErased) {
		// Refused and on the ledger, without a subject line: nothing may link the entry to the
		// erased citizen (erasure.go).
		entry.Subjects, entry.Outcome, entry.Reason, entry.Fields = nil, ledger.OutcomeDenied, "erased", d.denied()
		if _, aerr := rd.appendGrouped(ctx, entry, nil, req.group); aerr != nil {
			return nil, errors.Join(err, aerr)
		}
		return nil, err
	}
	if errors.Is(err, ErrIntegrity) {
		// A record changed behind the hub's back: refused, and the refusal is on the ledger.
		entry.Outcome, entry.Reason, entry.Fields = ledger.OutcomeDenied, "integrity", d.denied()
		if _, aerr := rd.appendAccess(ctx, entry, req.Citizen, salt, sealed, req.group); aerr != nil {
			return nil, errors.Join(err, aerr)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	view.Datasets = released.Datasets
	if len(view.Datasets) == 0 { // a citizen without these records, or no citizen at all?
		exists, err := rd.records.CitizenExists(ctx, req.Citizen)
		if err != nil {
			return nil, fmt.Errorf("looking up citizen: %w", err)
		}
		if !exists {
			entry.Outcome, entry.Reason, entry.Fields = ledger.OutcomeDenied, "no-such-citizen", d.denied() // nothing was released
			if _, err := rd.appendAccess(ctx, entry, req.Citizen, salt, sealed, req.group); err != nil {
				return nil, err
			}
			return nil, ErrNotFound
		}
	}

	// Log before release (a sealed read's entry hides its details: sealed_read.go).
	r, err := rd.appendAccess(ctx, entry, req.Citizen, salt, sealed, req.group)
	if err != nil {
		return nil, err
	}
	view.Receipt = r
	return view, nil
}

// LogRefusal puts on the ledger a request refused before it could be read, by a principal the hub
// could still identify (an expired but authentic token, say): actor, reason and request digest;
// the request's citizen is not known at that point.
func (rd *Reader) LogRefusal(ctx context.Context, p auth.Principal, reason string, request []byte) (ledger.Receipt, error) {
	dept, role, official, err := rd.actor(ctx, p)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return rd.appendEntry(ctx, ledger.Entry{
		Kind: ledger.KindAccess, Time: rd.now(), Department: dept, Role: role, Official: official, Policy: rd.policy.Snapshot().Version(),
		Request: rd.requestDigest(request), RequestID: requestID(ctx), Outcome: ledger.OutcomeDenied, Reason: reason,
	})
}
