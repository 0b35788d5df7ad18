package hub

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// The preview of a certificate type change: how many of the citizens held the change turns
// eligible or ineligible, counts only, computed on the current store. The hub reads what the old
// and new rules need of each citizen (and spouse) internally, deciding the compared predicates on
// the opened values; nothing leaves the hub but the counts, and the preview is on the ledger
// before anything is read, as one aggregate access entry naming the officer, the fields read (a
// sealed field at level prove: only whether its statements hold is used) and no citizen.

// DefaultPreviewCitizens is how many citizens a preview reads at most.
const DefaultPreviewCitizens = 10000

// TypeImpact is how a change of one certificate type moves the citizens held.
type TypeImpact struct {
	Type string
	// Citizens is how many were evaluated; Truncated says the store holds more.
	Citizens   int
	Truncated  bool
	Eligible   int // not eligible before, eligible after
	Ineligible int // eligible before, not after
}

// PreviewTypes computes the impact of changing the certificate types before into after (by code:
// added, replaced or retired) over the first limit citizens, as officer p.
func (cs *Certificates) PreviewTypes(ctx context.Context, p auth.Principal, before, after []policy.CertificateType, limit int) ([]TypeImpact, error) {
	if p.Kind != auth.KindOfficer {
		return nil, fmt.Errorf("%w: previews are for officers", ErrForbidden)
	}
	if limit <= 0 {
		limit = DefaultPreviewCitizens
	}
	type pair struct{ old, new *certificate.Rule }
	rules := map[string]*pair{}
	compile := func(t policy.CertificateType) (*certificate.Rule, error) { return certificate.Compile(t) }
	for _, t := range before {
		r, err := compile(t)
		if err != nil {
			r = nil // an old rule that no longer compiles decides nobody eligible
		}
		rules[t.Code] = &pair{old: r}
	}
	for _, t := range after {
		r, err := compile(t)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if rules[t.Code] == nil {
			rules[t.Code] = &pair{}
		}
		rules[t.Code].new = r
	}
	var codes []string
	var needs []certificate.Needs
	for code, pr := range rules {
		if pr.old != nil && pr.new != nil && pr.old.Type.Rule == pr.new.Type.Rule {
			delete(rules, code) // the rule did not change: nobody moves
			continue
		}
		codes = append(codes, code)
		for _, r := range []*certificate.Rule{pr.old, pr.new} {
			if r != nil {
				needs = append(needs, r.Needs)
			}
		}
	}
	slices.Sort(codes)
	if len(codes) == 0 {
		return nil, nil
	}
	want := unionNeeds(needs)

	// Log before reading: one aggregate entry.
	dept, role, official, err := cs.rd.actor(ctx, p)
	if err != nil {
		return nil, err
	}
	e := ledger.Entry{Kind: ledger.KindAccess, Time: cs.rd.now(), Department: dept, Role: role, Official: official,
		Policy: cs.rd.policy.Snapshot().Version(), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Reason: "certificate-preview"}
	for _, f := range want.fields {
		level := policy.Reveal
		if sensitive, _ := dataset.Sensitive(f); sensitive {
			level = policy.Prove
		}
		e.Fields = append(e.Fields, ledger.Field{Name: f, Level: level.String()})
	}
	if _, err := cs.rd.appendEntry(ctx, e); err != nil {
		return nil, err
	}

	out := make([]TypeImpact, len(codes))
	for i, code := range codes {
		out[i].Type = code
	}
	n, last := 0, ""
	for n < limit {
		ids, err := cs.rd.lister.ListCitizens(ctx, last, min(500, limit-n), nil)
		if err != nil {
			return nil, fmt.Errorf("%w: listing citizens: %v", ErrUnavailable, err)
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			in, err := cs.internalInputs(ctx, id, want)
			if err != nil {
				return nil, err
			}
			for i, code := range codes {
				pr := rules[code]
				was, is := eligible(pr.old, in), eligible(pr.new, in)
				out[i].Citizens++
				switch {
				case !was && is:
					out[i].Eligible++
				case was && !is:
					out[i].Ineligible++
				}
			}
		}
		n += len(ids)
		last = ids[len(ids)-1]
	}
	if n >= limit {
		if more, err := cs.rd.lister.ListCitizens(ctx, last, 1, nil); err == nil && len(more) > 0 {
			for i := range out {
				out[i].Truncated = true
			}
		}
	}
	return out, nil
}

func eligible(r *certificate.Rule, in certificate.Inputs) bool {
	if r == nil {
		return false
	}
	out, err := r.Eval(in)
	return err == nil && out.Eligible
}

// wanted is the union of what some rules read.
type wanted struct {
	fields     []string // plain and sealed "dataset.field", sorted
	statements map[string][]policy.Statement
	lists      []string
	spouse     []string
}

func unionNeeds(ns []certificate.Needs) wanted {
	w := wanted{statements: map[string][]policy.Statement{}}
	add := func(list []string, s string) []string {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
		return list
	}
	for _, n := range ns {
		for _, f := range slices.Concat(n.Reveal, n.Present) {
			w.fields = add(w.fields, f)
		}
		for f, sts := range n.Predicates {
			w.fields = add(w.fields, f)
			for _, st := range sts {
				if !slices.Contains(w.statements[f], st) {
					w.statements[f] = append(w.statements[f], st)
				}
			}
		}
		for _, ds := range n.Lists {
			w.lists = add(w.lists, ds)
			for _, f := range plainFields(ds) {
				w.fields = add(w.fields, f)
			}
		}
		for _, ds := range n.SpouseLists {
			w.spouse = add(w.spouse, ds)
		}
	}
	slices.Sort(w.fields)
	return w
}

// internalInputs reads a citizen's inputs inside the hub (nothing released; the caller logged it).
func (cs *Certificates) internalInputs(ctx context.Context, citizen string, w wanted) (certificate.Inputs, error) {
	rd := cs.rd
	d := decisions{purposeKnown: true, fields: w.fields, levels: map[string]policy.Level{}}
	load := map[string]bool{}
	for _, f := range w.fields {
		d.levels[f] = policy.Reveal
		load[datasetOf(f)] = true
		if s, _ := dataset.Sensitive(f); s {
			d.reveal = true
		}
	}
	d.load = sortedKeys(load)
	view, err := rd.releaseCitizen(ctx, citizen, d)
	if err != nil {
		return nil, err
	}
	in := certificate.Inputs{}
	today := rd.now().UTC().Format(time.DateOnly)
	for _, f := range w.fields {
		ds, name := datasetOf(f), fieldName(f)
		dv := view.Datasets[ds]
		if dv == nil || len(dv.Items) == 0 || slices.Contains(w.lists, ds) {
			continue
		}
		v, ok := dv.Items[0][name]
		if sensitive, _ := dataset.Sensitive(f); sensitive {
			s := certificate.Sealed{Present: ok && v.Commitment != nil, Holds: map[policy.Statement]bool{}}
			if n, isInt := v.Value.(int64); isInt {
				for _, st := range w.statements[f] {
					if !st.OnDates() {
						s.Holds[st] = Statement(policy.Predicate{Statement: st}).Holds(n)
					}
				}
			}
			if date, isDate := v.Value.(string); isDate {
				// An age as of today (UTC), as issuing would decide it.
				for _, st := range w.statements[f] {
					if st.OnDates() {
						if holds, err := ageHolds(date, today, st); err == nil {
							s.Holds[st] = holds
						}
					}
				}
			}
			in[f] = s
			continue
		}
		if ok && v.Value != nil {
			in[f] = v.Value
		}
	}
	for _, ds := range w.lists {
		in[ds] = listItems(view.Datasets[ds])
	}
	if len(w.spouse) > 0 {
		spouse, err := rd.openSpouse(ctx, citizen)
		if err != nil {
			return nil, err
		}
		for _, ds := range w.spouse {
			in[certificate.SpousePrefix+ds] = []map[string]any{}
		}
		if spouse != "" {
			sd := decisions{purposeKnown: true, levels: map[string]policy.Level{}, load: w.spouse}
			for _, ds := range w.spouse {
				for _, f := range plainFields(ds) {
					sd.fields = append(sd.fields, f)
					sd.levels[f] = policy.Reveal
				}
			}
			sv, err := rd.releaseCitizen(ctx, spouse, sd)
			if err != nil {
				return nil, err
			}
			for _, ds := range w.spouse {
				in[certificate.SpousePrefix+ds] = listItems(sv.Datasets[ds])
			}
		}
	}
	return in, nil
}

func datasetOf(f string) string { ds, _, _ := strings.Cut(f, "."); return ds }
func fieldName(f string) string { _, n, _ := strings.Cut(f, "."); return n }

// ageHolds reports whether someone born on date is at least st.Min years old on day today.
func ageHolds(date, today string, st policy.Statement) (bool, error) {
	born, err := commit.DayNumber(date)
	if err != nil {
		return false, err
	}
	t, err := AgeThreshold(today, st.Min)
	if err != nil {
		return false, err
	}
	return born <= t, nil
}
