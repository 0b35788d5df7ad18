package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// # Predicates and the prove level
//
// A predicate is a named threshold statement about one sensitive integer
// field, defined once in a policy's predicate catalogue ([Set.Predicates]):
//
//	{"name": "atLeast60", "field": "socialInsurance.contributionMonths",
//	 "statement": {"kind": "atLeast", "min": 60}}
//
// A rule with action prove grants one predicate: its object is
// "dataset.field:predicate" ("socialInsurance.contributionMonths:atLeast60").
// The hub then answers whether the predicate holds of the citizen's value
// and, when it does, with a zero-knowledge proof over the field's
// commitment (package crypto/rangeproof), never the value. Deny rules of
// prove may also name every predicate of a field ("dataset.field:*"), of a
// dataset ("dataset.*") or of all ("*"). Only catalogued predicates can be
// asked: a department cannot choose its own thresholds, so it cannot
// narrow a value down question by question.
//
// Statements about integers are those of crypto/rangeproof (the policy
// package imports nothing of ours, so it restates them): kind "atLeast"
// (value ≥ min, max 0), "atMost" (value ≤ max, min 0) or "between"
// (min ≤ value ≤ max).
//
// Statements about dates have kind "ageAtLeast" with min the years (max 0):
//
//	{"name": "adult", "field": "identity.birthDate",
//	 "statement": {"kind": "ageAtLeast", "min": 18}}
//
// holds when the date (a birth date) is on or before the day the question is
// asked, min years back: someone is at least min years old that day. The
// hub proves it as an atMost range proof on the date's day number (dates
// committed as day numbers, crypto/commit's scheme v2), the threshold
// computed from the day asked, which the proof is bound to (package hub).
//
// Integer statements may name only sensitive integer fields, and age
// statements only sensitive date fields; strings are committed as digests,
// which no range proof can speak about.

// PredicatesFile is the optional file of a policy directory holding the
// predicate catalogue, a JSON array of [Predicate] objects.
const PredicatesFile = "predicates.json"

// The statement kinds, as crypto/rangeproof names them.
const (
	StatementAtLeast = "atLeast"
	StatementAtMost  = "atMost"
	StatementBetween = "between"
	// StatementAgeAtLeast is about a date: at least Min years before the day asked.
	StatementAgeAtLeast = "ageAtLeast"
)

// MaxAgeYears bounds the years of an ageAtLeast statement.
const MaxAgeYears = 150

// OnDates reports whether s is a statement about dates (kind ageAtLeast)
// rather than about integers.
func (s Statement) OnDates() bool { return s.Kind == StatementAgeAtLeast }

// Statement is a threshold statement about an integer value, as
// crypto/rangeproof's Statement: Kind is "atLeast" (Min used, Max 0),
// "atMost" (Max used, Min 0) or "between" (Min ≤ Max); or about a date:
// "ageAtLeast" (Min years, Max 0).
type Statement struct {
	Kind string `json:"kind"`
	Min  int64  `json:"min"`
	Max  int64  `json:"max"`
}

// String returns the statement in a short readable form: "≥ 60",
// "≤ 100", "10 … 20", "age ≥ 18 years".
func (s Statement) String() string {
	switch s.Kind {
	case StatementAtLeast:
		return fmt.Sprintf("≥ %d", s.Min)
	case StatementAtMost:
		return fmt.Sprintf("≤ %d", s.Max)
	case StatementBetween:
		return fmt.Sprintf("%d … %d", s.Min, s.Max)
	case StatementAgeAtLeast:
		return fmt.Sprintf("age ≥ %d years", s.Min)
	}
	return "invalid statement"
}

func (s Statement) check() error {
	switch s.Kind {
	case StatementAtLeast:
		if s.Max != 0 {
			return errors.New("an atLeast statement has no maximum (max must be 0)")
		}
	case StatementAtMost:
		if s.Min != 0 {
			return errors.New("an atMost statement has no minimum (min must be 0)")
		}
	case StatementBetween:
		if s.Min > s.Max {
			return fmt.Errorf("a between statement has its minimum %d above its maximum %d", s.Min, s.Max)
		}
	case StatementAgeAtLeast:
		if s.Max != 0 {
			return errors.New("an ageAtLeast statement has no maximum (max must be 0)")
		}
		if s.Min < 1 || s.Min > MaxAgeYears {
			return fmt.Errorf("an ageAtLeast statement's years (min) must be 1 to %d, not %d", MaxAgeYears, s.Min)
		}
	default:
		return fmt.Errorf("unknown statement kind %q (want %s, %s, %s, or %s for a date)", s.Kind, StatementAtLeast, StatementAtMost, StatementBetween, StatementAgeAtLeast)
	}
	return nil
}

// Predicate is a named statement about one sensitive integer or date
// field, which prove rules may grant.
type Predicate struct {
	Name      string    `json:"name"`  // e.g. "atLeast60": an ASCII letter, then letters, digits and underscores, at most 64 bytes
	Field     string    `json:"field"` // "dataset.field"
	Statement Statement `json:"statement"`
}

func (p Predicate) check() error {
	if !isName(p.Name) {
		return fmt.Errorf("malformed predicate name %q (want an ASCII letter followed by letters, digits and underscores, at most 64 bytes)", p.Name)
	}
	if !isField(p.Field) {
		return fmt.Errorf("predicate %q: malformed field %q (want dataset.field)", p.Name, p.Field)
	}
	if err := p.Statement.check(); err != nil {
		return fmt.Errorf("predicate %q: %v", p.Name, err)
	}
	return nil
}

// ProofObject returns the object of a prove rule granting predicate on
// field: "dataset.field:predicate".
func ProofObject(field, predicate string) string { return field + ":" + predicate }

// splitProofObject splits "dataset.field:predicate"; the predicate may be
// "*" (any).
func splitProofObject(obj string) (field, predicate string, ok bool) {
	field, predicate, ok = strings.Cut(obj, ":")
	if !ok || !isField(field) || predicate != "*" && !isName(predicate) {
		return "", "", false
	}
	return field, predicate, true
}

// checkProvePattern checks the object of a prove rule: "*", "dataset.*",
// "dataset.field:*" or "dataset.field:predicate", the wildcards for deny
// rules only. An allow rule must name one predicate.
func checkProvePattern(obj string, e Effect) error {
	exact := false
	switch {
	case obj == AnyObject:
	case strings.HasSuffix(obj, ".*") && isName(strings.TrimSuffix(obj, ".*")):
	default:
		_, pred, ok := splitProofObject(obj)
		if !ok {
			return fmt.Errorf("malformed object %q for %s (want dataset.field:predicate, or for a deny rule dataset.field:*, dataset.* or *)", obj, ActionProve)
		}
		exact = pred != "*"
	}
	if e == EffectAllow && !exact {
		return fmt.Errorf("a prove rule that allows must name one predicate (dataset.field:predicate), not %q", obj)
	}
	return nil
}

// checkPredicates checks the catalogue and the prove rules against it:
// well-formed, unique names, and every allow rule of prove naming a
// predicate defined on its field.
func (s Set) checkPredicates(bad func(string, ...any)) {
	byName := make(map[string]Predicate, len(s.Predicates))
	for i, p := range s.Predicates {
		if err := p.check(); err != nil {
			bad("predicate %d: %v", i, err)
			continue
		}
		if _, dup := byName[p.Name]; dup {
			bad("predicate %d: duplicate name %q", i, p.Name)
			continue
		}
		byName[p.Name] = p
	}
	for _, r := range s.Rules {
		if r.Action != ActionProve || r.Effect != EffectAllow || r.check() != nil {
			continue
		}
		field, name, _ := splitProofObject(r.Object)
		p, ok := byName[name]
		switch {
		case !ok:
			bad("rule %q: predicate %q is not defined in the policy's predicates", r.String(), name)
		case p.Field != field:
			bad("rule %q: predicate %q is about %s, not %s", r.String(), name, p.Field, field)
		}
	}
}

// FieldKinds is the optional ability of a [Catalog] to tell a field's kind
// ("Int", "String", "Date", …, as package dataset names them; case does
// not matter), which
// [Set.ValidateWith] needs to accept predicates: only sensitive "int"
// fields may have integer statements, and only sensitive "date" fields
// ageAtLeast ones.
type FieldKinds interface {
	FieldKind(path string) string
}

// checkPredicateCatalog checks each predicate's field against the catalog.
func checkPredicateCatalog(p Predicate, cat Catalog) error {
	sensitive, known := cat.Field(p.Field)
	if !known {
		return fmt.Errorf("predicate %q: field %q is not in the catalog", p.Name, p.Field)
	}
	if !sensitive {
		return fmt.Errorf("predicate %q: field %q is not sensitive: it has no commitment to prove anything about", p.Name, p.Field)
	}
	fk, ok := cat.(FieldKinds)
	if !ok {
		return fmt.Errorf("predicate %q: the catalog cannot tell whether field %q is an integer", p.Name, p.Field)
	}
	switch k := fk.FieldKind(p.Field); strings.ToLower(k) {
	case "int":
		if p.Statement.OnDates() {
			return fmt.Errorf("predicate %q: field %q is an integer: an %s statement is about a date", p.Name, p.Field, p.Statement.Kind)
		}
		return nil
	case "date":
		if !p.Statement.OnDates() {
			return fmt.Errorf("predicate %q: field %q is a date: the only statement about a date is %s (years before the day asked), not %s", p.Name, p.Field, StatementAgeAtLeast, p.Statement.Kind)
		}
		return nil
	default:
		return fmt.Errorf("predicate %q: field %q is a %s, not an integer or a date: only sensitive integer and date fields may have predicates", p.Name, p.Field, k)
	}
}

// ParsePredicates reads a predicate catalogue: a JSON array of
// {"name", "field", "statement": {"kind", "min", "max"}} objects. Unknown
// keys are refused. The predicates are not validated ([Set.Validate]
// does).
func ParsePredicates(r io.Reader) ([]Predicate, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var ps []Predicate
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("%w: predicates: %v", ErrInvalidPolicy, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: predicates: trailing data after the array", ErrInvalidPolicy)
	}
	return ps, nil
}

// FormatPredicates writes ps as an indented JSON array sorted by name,
// one predicate per line group, ending in a newline.
func FormatPredicates(w io.Writer, ps []Predicate) error {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, comparePredicates)
	if ps == nil {
		ps = []Predicate{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ps); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

func comparePredicates(a, b Predicate) int { return strings.Compare(a.Name, b.Name) }

// predicate returns the catalogued predicate with the given name, and
// reports whether there is one.
func (s *Snapshot) predicate(name string) (Predicate, bool) {
	i, ok := slices.BinarySearchFunc(s.info.Predicates, name, func(p Predicate, n string) int { return strings.Compare(p.Name, n) })
	if !ok {
		return Predicate{}, false
	}
	return s.info.Predicates[i], true
}

// predicatesOf returns the names of the predicates defined on field.
func (s *Snapshot) predicatesOf(field string) []string {
	var out []string
	for _, p := range s.info.Predicates {
		if p.Field == field {
			out = append(out, p.Name)
		}
	}
	return out
}

// Proves reports whether sub may be told, with a proof, whether the
// catalogued predicate named predicate holds of field, a "dataset.field"
// name, for purpose, and returns the predicate when it may: the predicate
// must be defined on that field, and either the field is at Reveal for
// sub (who may see the value anyway) or a prove rule allows the predicate
// ("dataset.field:predicate") and no deny rule of prove matches it.
// Everything else, unknown names included, is not allowed.
func (s *Snapshot) Proves(sub Subject, field, predicate, purpose string) (Predicate, bool) {
	p, ok := s.predicate(predicate)
	if !ok || p.Field != field {
		return Predicate{}, false
	}
	switch s.Decide(sub, field, purpose) {
	case Reveal:
		return p, true
	case Prove:
		if s.Allowed(sub, ActionProve, ProofObject(field, predicate), purpose) {
			return p, true
		}
	}
	return Predicate{}, false
}
