package hub

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
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
func (h *Hub) ReadCitizen(ctx context.Context, p auth.Principal, req ReadRequest) (*CitizenView, error) {
	snap := h.policy.Snapshot()
	d, err := h.decide(ctx, snap, p, req.Fields, req.Purpose)
	if err != nil {
		return nil, err
	}
	dept, role := usecase.Actor(p)
	entry := ledger.Entry{
		Kind: ledger.KindAccess, Time: h.now(), Department: dept, Role: role, Purpose: req.Purpose,
		Policy: snap.Version(), Request: h.requestDigest(req.Request), Outcome: ledger.OutcomeAllowed,
	}
	salt, subj, err := h.subject(req.Citizen)
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
		if _, err := h.logAttempt(ctx, entry, req.Citizen, salt); err != nil {
			return nil, err
		}
		return nil, ErrUnknownPurpose
	}
	entry.Fields = d.entryFields()
	if len(d.load) == 0 {
		entry.Outcome, entry.Reason = ledger.OutcomeDenied, "forbidden"
		r, err := h.logAttempt(ctx, entry, req.Citizen, salt)
		if err != nil {
			return nil, err
		}
		view.Receipt = r
		return view, nil
	}

	// Load what may be released: the records, and the data key only if a sensitive value is revealed.
	released, err := h.releaseCitizen(ctx, req.Citizen, d)
	if err != nil {
		return nil, err
	}
	view.Datasets = released.Datasets
	if len(view.Datasets) == 0 { // a citizen without these records, or no citizen at all?
		exists, err := h.store.CitizenExists(ctx, req.Citizen)
		if err != nil {
			return nil, fmt.Errorf("looking up citizen: %w", err)
		}
		if !exists {
			entry.Outcome, entry.Reason, entry.Fields = ledger.OutcomeDenied, "no-such-citizen", d.denied() // nothing was released
			if _, err := h.logAttempt(ctx, entry, req.Citizen, salt); err != nil {
				return nil, err
			}
			return nil, ErrNotFound
		}
	}

	// Log before release.
	r, err := h.appendEntry(ctx, entry)
	if err != nil {
		return nil, err
	}
	if err := h.indexSubject(ctx, req.Citizen, r.Index, salt); err != nil {
		return nil, err
	}
	view.Receipt = r
	return view, nil
}

// decisions are the levels of a request's fields, decided once per request.
type decisions struct {
	purposeKnown bool
	fields       []string // sorted
	levels       map[string]policy.Level
	load         []string // datasets with a field released at some level, sorted
	reveal       bool     // a sensitive value is revealed
}

// decide makes one decision per requested field for the principal and purpose, capped at what was
// selected (a field whose value was not selected is released at most as a commitment).
func (h *Hub) decide(ctx context.Context, snap *policy.Snapshot, p auth.Principal, want map[string]Want, purpose string) (decisions, error) {
	d := decisions{levels: map[string]policy.Level{}}
	for f := range want {
		if _, err := fieldOf(f); err != nil {
			return d, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		d.fields = append(d.fields, f)
	}
	sort.Strings(d.fields)
	_, d.purposeKnown = snap.Purpose(purpose)
	sub := policy.Subject{Department: p.Department, Role: p.Role}
	if d.purposeKnown && (p.Kind == auth.KindDepartment || p.Kind == auth.KindOfficer) {
		if err := snap.Prepare(ctx, sub, datasetsOf(d.fields)); err != nil {
			return d, fmt.Errorf("%w: loading the policy: %v", ErrUnavailable, err)
		}
	}
	load := map[string]bool{}
	for _, f := range d.fields {
		level := policy.Deny
		if d.purposeKnown && (p.Kind == auth.KindDepartment || p.Kind == auth.KindOfficer) {
			level = snap.Decide(sub, f, purpose)
		}
		if want[f]&WantValue == 0 && level == policy.Reveal {
			level = policy.Commit
		}
		d.levels[f] = level
		if level != policy.Deny {
			df, _ := fieldOf(f)
			load[df.dataset.Name] = true
			if level == policy.Reveal && df.field.Sensitive {
				d.reveal = true
			}
		}
	}
	d.load = sortedKeys(load)
	return d, nil
}

// datasetsOf lists the datasets of "dataset.field" names.
func datasetsOf(fields []string) []string {
	set := map[string]bool{}
	for _, f := range fields {
		ds, _, _ := strings.Cut(f, ".")
		set[ds] = true
	}
	return sortedKeys(set)
}

// entryFields are the entry's field lines: each field and the level it is released at.
func (d decisions) entryFields() []ledger.Field {
	out := make([]ledger.Field, len(d.fields))
	for i, f := range d.fields {
		out[i] = ledger.Field{Name: f, Level: d.levels[f].String()}
	}
	return out
}

// denied are the field lines of a refused request: every field denied.
func (d decisions) denied() []ledger.Field {
	out := make([]ledger.Field, len(d.fields))
	for i, f := range d.fields {
		out[i] = ledger.Field{Name: f, Level: policy.Deny.String()}
	}
	return out
}

// release builds the released view of one record.
func (h *Hub) release(citizen string, ds *dataset.Dataset, rec store.Record, levels map[string]policy.Level, dk *seal.DataKey) (*DatasetView, error) {
	dv := &DatasetView{Items: make([]map[string]FieldValue, len(rec.Items))}
	for i, item := range rec.Items {
		out := map[string]FieldValue{}
		for _, f := range ds.Fields {
			level, asked := levels[f.Path()]
			if !asked || level == policy.Deny {
				continue
			}
			if !f.Sensitive {
				if v, ok := item.Plain[f.Name]; ok && level == policy.Reveal {
					out[f.Name] = FieldValue{Value: v}
				}
				continue
			}
			sf, ok := item.Sealed[f.Name]
			if !ok {
				continue
			}
			c, err := commit.ParseCommitmentBytes(sf.Commitment)
			if err != nil {
				return nil, fmt.Errorf("stored commitment of %s: %w", f.Path(), err)
			}
			fv := FieldValue{Commitment: &Commitment{Scheme: commit.Scheme, Point: c.String(), Version: sf.Version}}
			if level == policy.Reveal {
				if dk == nil {
					return nil, fmt.Errorf("citizen %s has sealed values but no data key", citizen)
				}
				v, err := openValue(dk, citizen, ds, &f, i, sf)
				if err != nil {
					return nil, err
				}
				fv.Value = v
			}
			out[f.Name] = fv
		}
		dv.Items[i] = out
	}
	return dv, nil
}

// logAttempt appends an entry for a request that releases nothing, and indexes it for the citizen.
func (h *Hub) logAttempt(ctx context.Context, e ledger.Entry, citizen string, salt []byte) (ledger.Receipt, error) {
	r, err := h.appendEntry(ctx, e)
	if err != nil {
		return r, err
	}
	return r, h.indexSubject(ctx, citizen, r.Index, salt)
}

type datasetField struct {
	dataset *dataset.Dataset
	field   *dataset.Field
}

// fieldOf resolves "dataset.field".
func fieldOf(path string) (datasetField, error) {
	d, f, ok := strings.Cut(path, ".")
	if !ok {
		return datasetField{}, fmt.Errorf("%q is not dataset.field", path)
	}
	ds, ok := dataset.Lookup(d)
	if !ok {
		return datasetField{}, fmt.Errorf("no dataset %q", d)
	}
	fl, ok := ds.Field(f)
	if !ok {
		return datasetField{}, fmt.Errorf("dataset %s has no field %q", d, f)
	}
	return datasetField{dataset: ds, field: fl}, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// LogRefusal puts on the ledger a request refused before it could be read, by a principal the hub
// could still identify (an expired but authentic token, say): actor, reason and request digest;
// the request's citizen is not known at that point.
func (h *Hub) LogRefusal(ctx context.Context, p auth.Principal, reason string, request []byte) (ledger.Receipt, error) {
	dept, role := usecase.Actor(p)
	return h.appendEntry(ctx, ledger.Entry{
		Kind: ledger.KindAccess, Time: h.now(), Department: dept, Role: role, Policy: h.policy.Snapshot().Version(),
		Request: h.requestDigest(request), Outcome: ledger.OutcomeDenied, Reason: reason,
	})
}
