package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Catalog is what validation needs to know of the datasets: their names,
// and each field's existence and sensitivity. Package dataset provides
// one.
type Catalog interface {
	// Datasets returns the names of every dataset.
	Datasets() []string
	// Field reports whether path, a "dataset.field" name, is sensitive, and
	// whether it exists at all.
	Field(path string) (sensitive, known bool)
}

// ValidateWith reports every problem [Set.Validate] reports and, in
// addition, every rule that does not fit cat: an object naming a dataset
// or field that is not in the catalog ("tax.*" and "*" are fine,
// "tax.nothing" and "nothing.*" are not), and a commit rule on a field
// that is not sensitive, which has no commitment ("tax.*" is fine: it
// applies to the sensitive fields of tax); and every predicate whose field
// is not a sensitive integer field of the catalog (which must then tell
// field kinds, [FieldKinds]). Each reason names the rule or predicate, and
// each error wraps [ErrInvalidPolicy].
func (s Set) ValidateWith(cat Catalog) error {
	var errs []error
	if err := s.Validate(); err != nil {
		errs = append(errs, err)
	}
	datasets := make(map[string]bool)
	for _, ds := range cat.Datasets() {
		datasets[ds] = true
	}
	for _, r := range s.Rules {
		if r.check() != nil {
			continue // reported by Validate
		}
		if err := checkCatalog(r, datasets, cat); err != nil {
			errs = append(errs, fmt.Errorf("%w: rule %q: %v", ErrInvalidPolicy, r.String(), err))
		}
	}
	for _, p := range s.Predicates {
		if p.check() != nil {
			continue // reported by Validate
		}
		if err := checkPredicateCatalog(p, cat); err != nil {
			errs = append(errs, fmt.Errorf("%w: %v", ErrInvalidPolicy, err))
		}
	}
	return errors.Join(errs...)
}

// checkCatalog checks the object of a well-formed rule against the
// catalog.
func checkCatalog(r Rule, datasets map[string]bool, cat Catalog) error {
	if r.Object == AnyObject {
		return nil
	}
	if !r.Action.onFields() {
		if !datasets[r.Object] {
			return fmt.Errorf("dataset %q is not in the catalog", r.Object)
		}
		return nil
	}
	if r.Action == ActionProve {
		if field, _, ok := splitProofObject(r.Object); ok {
			// The predicate's own field is checked with the predicate.
			if _, known := cat.Field(field); !known {
				return fmt.Errorf("field %q is not in the catalog", field)
			}
			return nil
		}
	}
	ds, f, _ := strings.Cut(r.Object, ".")
	if f == "*" {
		if !datasets[ds] {
			return fmt.Errorf("dataset %q is not in the catalog", ds)
		}
		return nil
	}
	sensitive, known := cat.Field(r.Object)
	if !known {
		return fmt.Errorf("field %q is not in the catalog", r.Object)
	}
	if r.Action == ActionCommit && !sensitive {
		return fmt.Errorf("commit on field %q, which is not sensitive and has no commitment", r.Object)
	}
	return nil
}

// Change is an edit of a policy, as an officer proposes it.
type Change struct {
	AddRules, RemoveRules         []Rule
	AddGroupings, RemoveGroupings []Grouping
	AddPurposes                   []Purpose
	// RetirePurposes lists purpose codes to remove from the registry;
	// refused while a remaining rule names them.
	RetirePurposes []string
	// AddPredicates adds to the predicate catalogue.
	AddPredicates []Predicate
	// RetirePredicates lists predicate names to remove from the
	// catalogue; refused while a remaining prove rule allows them.
	RetirePredicates []string
	// AddCertificateTypes defines new certificate types; ReplaceCertificateTypes changes the
	// rule, claims or anything else of defined ones (by code); RetireCertificateTypes removes
	// types by code. Added and replaced types take the new version as their Since.
	AddCertificateTypes     []CertificateType
	ReplaceCertificateTypes []CertificateType
	RetireCertificateTypes  []string
}

// IsZero reports whether c changes nothing.
func (c Change) IsZero() bool {
	return len(c.AddRules)+len(c.RemoveRules)+len(c.AddGroupings)+len(c.RemoveGroupings)+
		len(c.AddPurposes)+len(c.RetirePurposes)+len(c.AddPredicates)+len(c.RetirePredicates)+
		len(c.AddCertificateTypes)+len(c.ReplaceCertificateTypes)+len(c.RetireCertificateTypes) == 0
}

// Diff returns the change that turns from into to: the rules and groupings
// of one not in the other, and the purposes registered or retired. A
// purpose whose code stays but whose titles or legal basis change is
// retired and registered again, as [Set.Apply] expects. Versions are
// ignored. from.Apply(Diff(from, to)) holds what to holds, unless the
// change is empty ([Change.IsZero]).
func Diff(from, to Set) Change {
	c := Change{
		AddRules: minus(to.Rules, from.Rules), RemoveRules: minus(from.Rules, to.Rules),
		AddGroupings: minus(to.Groupings, from.Groupings), RemoveGroupings: minus(from.Groupings, to.Groupings),
		AddPurposes: minus(to.Purposes, from.Purposes),
	}
	for _, p := range minus(from.Purposes, to.Purposes) {
		c.RetirePurposes = append(c.RetirePurposes, p.Code)
	}
	c.AddPredicates = minus(to.Predicates, from.Predicates)
	for _, p := range minus(from.Predicates, to.Predicates) {
		c.RetirePredicates = append(c.RetirePredicates, p.Name)
	}
	diffCertificateTypes(&c, from.CertificateTypes, to.CertificateTypes)
	return c
}

// minus returns the items of a not in b, in a's order.
func minus[T comparable](a, b []T) []T {
	in := make(map[T]bool, len(b))
	for _, x := range b {
		in[x] = true
	}
	var out []T
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

// Apply returns s changed by c, under version s.Version+1, sorted as
// [FormatCSV] and [FormatPurposes] sort. Removals are applied before
// additions. It refuses, naming each offending item, an empty change, the
// removal of a rule, grouping or purpose that is not there, the addition
// of one that already is (or twice), and the retirement of a purpose that
// a remaining rule names; and the result must pass [Set.Validate]. Errors
// wrap [ErrInvalidPolicy]. s is not modified.
func (s Set) Apply(c Change) (Set, error) {
	if c.IsZero() {
		return Set{}, fmt.Errorf("applying a change to policy %d: %w: the change is empty", s.Version, ErrInvalidPolicy)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidPolicy}, args...)...))
	}
	next := Set{Version: s.Version + 1}

	rules := make(map[Rule]bool, len(s.Rules))
	for _, r := range s.Rules {
		rules[r] = true
	}
	for _, r := range c.RemoveRules {
		if !rules[r] {
			bad("removing rule %q: not in the policy", r.String())
		}
		delete(rules, r)
	}
	for _, r := range c.AddRules {
		if rules[r] {
			bad("adding rule %q: already in the policy", r.String())
		}
		rules[r] = true
	}
	next.Rules = make([]Rule, 0, len(rules))
	for _, r := range s.Rules {
		if rules[r] {
			next.Rules = append(next.Rules, r)
			delete(rules, r)
		}
	}
	for _, r := range c.AddRules {
		if rules[r] {
			next.Rules = append(next.Rules, r)
			delete(rules, r)
		}
	}

	groups := make(map[Grouping]bool, len(s.Groupings))
	for _, g := range s.Groupings {
		groups[g] = true
	}
	for _, g := range c.RemoveGroupings {
		if !groups[g] {
			bad("removing grouping %q: not in the policy", g.String())
		}
		delete(groups, g)
	}
	for _, g := range c.AddGroupings {
		if groups[g] {
			bad("adding grouping %q: already in the policy", g.String())
		}
		groups[g] = true
	}
	for _, g := range append(slices.Clone(s.Groupings), c.AddGroupings...) {
		if groups[g] {
			next.Groupings = append(next.Groupings, g)
			delete(groups, g)
		}
	}

	codes := make(map[string]bool, len(s.Purposes))
	for _, p := range s.Purposes {
		codes[p.Code] = true
	}
	retired := make(map[string]bool)
	for _, code := range c.RetirePurposes {
		if !codes[code] {
			bad("retiring purpose %q: not registered", code)
		}
		delete(codes, code)
		retired[code] = true
	}
	for _, p := range s.Purposes {
		if !retired[p.Code] {
			next.Purposes = append(next.Purposes, p)
		}
	}
	for _, p := range c.AddPurposes {
		if codes[p.Code] {
			bad("adding purpose %q: already registered", p.Code)
			continue
		}
		codes[p.Code] = true
		next.Purposes = append(next.Purposes, p)
	}
	for _, r := range next.Rules {
		if retired[r.Purpose] && !codes[r.Purpose] {
			bad("retiring purpose %q: rule %q names it", r.Purpose, r.String())
		}
	}

	names := make(map[string]bool, len(s.Predicates))
	for _, p := range s.Predicates {
		names[p.Name] = true
	}
	retiredPreds := make(map[string]bool)
	for _, n := range c.RetirePredicates {
		if !names[n] {
			bad("retiring predicate %q: not defined", n)
		}
		delete(names, n)
		retiredPreds[n] = true
	}
	for _, p := range s.Predicates {
		if !retiredPreds[p.Name] {
			next.Predicates = append(next.Predicates, p)
		}
	}
	for _, p := range c.AddPredicates {
		if names[p.Name] {
			bad("adding predicate %q: already defined", p.Name)
			continue
		}
		names[p.Name] = true
		next.Predicates = append(next.Predicates, p)
	}
	for _, r := range next.Rules {
		if r.Action != ActionProve {
			continue
		}
		if _, n, ok := splitProofObject(r.Object); ok && retiredPreds[n] && !names[n] {
			bad("retiring predicate %q: rule %q allows it", n, r.String())
		}
	}
	s.applyCertificateTypes(&next, c, bad)
	if len(errs) == 0 {
		if err := next.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Set{}, fmt.Errorf("applying a change to policy %d: %w", s.Version, err)
	}
	sortSet(&next)
	return next, nil
}

// FieldChange is one decision that a change moves: what Role of
// Department may see of Field for Purpose, Before and After.
type FieldChange struct {
	Department, Role, Purpose, Field string
	Before, After                    Level
}

// Impact evaluates decisions under before and after (it does not compare
// rule text) for every (department, role, purpose) that c can affect, over
// the given fields, and returns the decisions that differ, sorted by
// department, role, purpose and field. The departments are those of the
// rules and groupings c adds or removes and, when c adds or retires
// purposes, every department with a rule for any purpose ("*"), found in
// whichever snapshot holds its whole [Set] (an error if neither does).
// The roles are every role named in those departments' rules and
// groupings in either snapshot (inheriting roles included), the purposes
// every purpose registered in either. The partitions needed are loaded as
// [Snapshot.Prepare] does. Impact does not memoise what it decides.
func Impact(ctx context.Context, before, after *Snapshot, c Change, fields []string) ([]FieldChange, error) {
	depts := make(map[string]bool)
	for _, r := range slices.Concat(c.AddRules, c.RemoveRules) {
		depts[r.Department] = true
	}
	for _, g := range slices.Concat(c.AddGroupings, c.RemoveGroupings) {
		depts[g.Department] = true
	}
	if len(c.AddPurposes)+len(c.RetirePurposes) > 0 {
		whole := before.set
		if whole == nil {
			whole = after.set
		}
		if whole == nil {
			return nil, errors.New("computing the impact of a purpose change: neither snapshot holds its whole policy")
		}
		for _, r := range whole.Rules {
			if r.Purpose == AnyPurpose {
				depts[r.Department] = true
			}
		}
	}

	var datasets []string
	for _, f := range fields {
		if ds := datasetOf(f); isName(ds) && !slices.Contains(datasets, ds) {
			datasets = append(datasets, ds)
		}
	}
	purposes := make(map[string]bool)
	for _, s := range []*Snapshot{before, after} {
		for code := range s.purposes {
			purposes[code] = true
		}
	}
	sortedPurposes := sortedKeys(purposes)
	sortedFields := slices.Sorted(slices.Values(fields))

	var out []FieldChange
	for _, dept := range sortedKeys(depts) {
		roles := make(map[string]bool)
		for _, s := range []*Snapshot{before, after} {
			rs, err := s.roles(ctx, dept, datasets)
			if err != nil {
				return nil, fmt.Errorf("computing impact: %w", err)
			}
			for r := range rs {
				roles[r] = true
			}
		}
		for _, role := range sortedKeys(roles) {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("computing impact: %w", err)
			}
			sub := Subject{Department: dept, Role: role}
			for _, pur := range sortedPurposes {
				for _, f := range sortedFields {
					b, _ := before.decide(sub, f, pur)
					a, _ := after.decide(sub, f, pur)
					if a != b {
						out = append(out, FieldChange{Department: dept, Role: role, Purpose: pur, Field: f, Before: b, After: a})
					}
				}
			}
		}
	}
	return out, nil
}

// roles loads dept's partitions on datasets and "*", and returns every role
// their rules and the department's groupings name.
func (s *Snapshot) roles(ctx context.Context, dept string, datasets []string) (map[string]bool, error) {
	if err := s.Prepare(ctx, Subject{Department: dept}, datasets); err != nil {
		return nil, err
	}
	roles := make(map[string]bool)
	for _, g := range s.groupings[dept] {
		roles[g[0]] = true
		roles[g[1]] = true
	}
	for _, ds := range append([]string{AnyObject}, datasets...) {
		if p := s.partition(dept, ds); p != nil {
			for r := range p.roles {
				roles[r] = true
			}
		}
	}
	return roles, nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
