package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Releasing, shared by ReadCitizen and ListCitizens: one decision per requested field, then each
// citizen's records loaded and cut down to what the decisions release.

// decisions are the levels of a request's fields, decided once per request.
type decisions struct {
	purposeKnown bool
	fields       []string // sorted
	levels       map[string]policy.Level
	load         []string // datasets with a field released at some level, sorted
	reveal       bool     // a sensitive value is revealed
	// The predicates asked (prove.go), by field: granted ones with their catalogue entry, and the
	// names of refused ones, sorted.
	proofs  map[string][]policy.Predicate
	refused map[string][]string
	context []byte // what proofs are bound to, when some predicate is granted
	on      string // the day asked (UTC, YYYY-MM-DD), which age predicates are decided on
}

// decide makes one decision per requested field for the principal and purpose, capped at what was
// selected (a field whose value was not selected is released at most as a commitment).
func (rd *Reader) decide(ctx context.Context, snap *policy.Snapshot, p auth.Principal, want map[string]Want, purpose string) (decisions, error) {
	d := decisions{levels: map[string]policy.Level{}, proofs: map[string][]policy.Predicate{}, refused: map[string][]string{}}
	var asked []askedProof
	fields := map[string]bool{}
	for f := range want {
		a, isProof, err := splitProofKey(f)
		if err != nil {
			return d, err
		}
		if isProof {
			asked = append(asked, a)
			f = a.field
		}
		if _, err := fieldOf(f); err != nil {
			return d, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if !fields[f] {
			fields[f] = true
			d.fields = append(d.fields, f)
		}
	}
	sort.Strings(d.fields)
	_, d.purposeKnown = snap.Purpose(purpose)
	sub := policy.Subject{Department: p.Department, Role: p.Role}
	if d.purposeKnown && (p.Kind == auth.KindDepartment || p.Kind == auth.KindOfficer) {
		if err := snap.Prepare(ctx, sub, datasetsOf(d.fields)); err != nil {
			return d, fmt.Errorf("%w: loading the policy: %v", ErrUnavailable, err)
		}
	}
	deciding := d.purposeKnown && (p.Kind == auth.KindDepartment || p.Kind == auth.KindOfficer)
	// Each asked predicate is decided once: granted only if catalogued for its field and allowed
	// (Snapshot.Proves); anything else is refused, and logged so.
	for _, a := range asked {
		pred, ok := policy.Predicate{}, false
		if deciding {
			pred, ok = snap.Proves(sub, a.field, a.predicate, purpose)
		}
		switch {
		case ok:
			d.proofs[a.field] = append(d.proofs[a.field], pred)
		case catalogued(snap, a):
			d.refused[a.field] = append(d.refused[a.field], a.predicate)
		default:
			// A name the catalogue does not define for the field is the asker's text: it never
			// goes on the public ledger (it could be anything, a citizen's id included).
			d.refused[a.field] = append(d.refused[a.field], UncataloguedPredicate)
		}
	}
	for f := range d.refused {
		slices.Sort(d.refused[f])
		d.refused[f] = slices.Compact(d.refused[f])
	}
	load := map[string]bool{}
	var counts [4]int // by level: deny, commit, prove, reveal
	for _, f := range d.fields {
		level := policy.Deny
		if deciding {
			level = snap.Decide(sub, f, purpose)
		}
		// Capped at what was selected: a value not selected is released at most as a commitment,
		// and the prove level is reached only by a granted predicate.
		if want[f]&WantValue == 0 && level == policy.Reveal || level == policy.Prove {
			level = policy.Commit
		}
		if len(d.proofs[f]) > 0 && level < policy.Prove {
			level = policy.Prove
		}
		d.levels[f] = level
		if i := int(level - policy.Deny); i >= 0 && i < len(counts) {
			counts[i]++
		}
		if level != policy.Deny {
			df, _ := fieldOf(f)
			load[df.dataset.Name] = true
			if level == policy.Reveal && df.field.Sensitive {
				d.reveal = true
			}
		}
	}
	d.load = sortedKeys(load)
	if len(d.proofs) > 0 {
		var err error
		if d.context, err = proofContext(ctx); err != nil {
			return d, err
		}
		d.on = rd.now().UTC().Format(time.DateOnly)
	}
	for i, n := range counts {
		if n > 0 {
			rd.metrics.Decided(policy.Deny+policy.Level(i), n)
		}
	}
	return d, nil
}

// UncataloguedPredicate stands on an access entry's field line (refused:*) for the asked
// predicate names that the policy's catalogue does not define for the field.
const UncataloguedPredicate = "*"

// catalogued reports whether the asked predicate is one the snapshot's catalogue defines for its
// field.
func catalogued(snap *policy.Snapshot, a askedProof) bool {
	for _, p := range snap.Info().Predicates {
		if p.Name == a.predicate && p.Field == a.field {
			return true
		}
	}
	return false
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

// entryFields are the entry's field lines: each field, the level it is released at, and the
// predicates asked about it, answered or refused (never the answers).
func (d decisions) entryFields() []ledger.Field {
	out := make([]ledger.Field, len(d.fields))
	for i, f := range d.fields {
		out[i] = ledger.Field{Name: f, Level: d.levels[f].String(), Refused: d.refused[f]}
		for _, p := range d.proofs[f] {
			out[i].Proved = append(out[i].Proved, p.Name)
		}
	}
	return out
}

// denied are the field lines of a refused request: every field denied, every predicate refused.
func (d decisions) denied() []ledger.Field {
	out := make([]ledger.Field, len(d.fields))
	for i, f := range d.fields {
		out[i] = ledger.Field{Name: f, Level: policy.Deny.String(), Refused: slices.Clone(d.refused[f])}
		for _, p := range d.proofs[f] {
			out[i].Refused = append(out[i].Refused, p.Name)
		}
		slices.Sort(out[i].Refused)
	}
	return out
}

// release builds the released view of one record, with the proofs of the granted predicates.
func (rd *Reader) release(citizen string, ds *dataset.Dataset, rec store.Record, d decisions, dk *seal.DataKey) (*DatasetView, error) {
	levels := d.levels
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
			// The record's MAC, checked when it was loaded, covers the commitment, and the hub
			// checked the point before storing it: not checked again at every read.
			c, err := commit.CommitmentFromAuthenticated(sf.Commitment)
			if err != nil {
				return nil, fmt.Errorf("stored commitment of %s: %w", f.Path(), err)
			}
			fv := FieldValue{Commitment: &Commitment{Scheme: schemeName(sf), Point: c.String(), Version: sf.Version}}
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
			if preds := d.proofs[f.Path()]; len(preds) > 0 && level >= policy.Prove {
				if fv.Proofs, err = prove(dk, citizen, ds, &f, i, sf, preds, d.context, d.on); err != nil {
					return nil, err
				}
			}
			out[f.Name] = fv
		}
		dv.Items[i] = out
	}
	return dv, nil
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

// releaseCitizen loads one citizen's records and builds what the decisions release of them.
func (rd *Reader) releaseCitizen(ctx context.Context, id string, d decisions) (*CitizenView, error) {
	view := &CitizenView{ID: id, Levels: d.levels, Datasets: map[string]*DatasetView{}}
	if len(d.load) == 0 {
		return view, nil
	}
	// Every record is checked against its MAC and the citizen's record head before use
	// (integrity.go): a mismatch is ErrIntegrity, and nothing of the citizen is released.
	c, err := rd.integ.load(ctx, rd.records, id, d.load)
	if err != nil {
		return nil, err
	}
	records := c.records
	var dk *seal.DataKey
	if d.reveal || len(d.proofs) > 0 {
		if dk, err = rd.keys.dataKey(ctx, id); err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	for name, rec := range records {
		ds, _ := dataset.Lookup(name)
		if view.Datasets[name], err = rd.release(id, ds, rec, d, dk); err != nil {
			return nil, err
		}
	}
	return view, nil
}
