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
}

// decide makes one decision per requested field for the principal and purpose, capped at what was
// selected (a field whose value was not selected is released at most as a commitment).
func (rd *Reader) decide(ctx context.Context, snap *policy.Snapshot, p auth.Principal, want map[string]Want, purpose string) (decisions, error) {
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
	var counts [3]int // by level: deny, commit, reveal
	for _, f := range d.fields {
		level := policy.Deny
		if d.purposeKnown && (p.Kind == auth.KindDepartment || p.Kind == auth.KindOfficer) {
			level = snap.Decide(sub, f, purpose)
		}
		if want[f]&WantValue == 0 && level == policy.Reveal {
			level = policy.Commit
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
	for i, n := range counts {
		if n > 0 {
			rd.metrics.Decided(policy.Deny+policy.Level(i), n)
		}
	}
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
func (rd *Reader) release(citizen string, ds *dataset.Dataset, rec store.Record, levels map[string]policy.Level, dk *seal.DataKey) (*DatasetView, error) {
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
	if d.reveal {
		if dk, err = rd.keys.dataKey(ctx, id); err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	for name, rec := range records {
		ds, _ := dataset.Lookup(name)
		if view.Datasets[name], err = rd.release(id, ds, rec, d.levels, dk); err != nil {
			return nil, err
		}
	}
	return view, nil
}
