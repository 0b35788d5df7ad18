package certificate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/policy"
)

// ErrRule wraps every refusal of a type's rule or claims: they do not compile, or read something
// the issuer's policy does not grant. The message names the type and what is wrong.
var ErrRule = errors.New("certificate rule refused")

// SpousePrefix prefixes the variables that read the spouse's records ("spouse.property").
const SpousePrefix = "spouse."

// spouseField is the sealed field through which the hub finds the spouse.
const spouseField = "marriage.spouseCitizenId"

// sealedType is the CEL type of a sensitive field: opaque, usable only through catalogued
// predicates (comparisons with an integer literal) and present().
var sealedType = cel.OpaqueType("govhub.Sealed")

// Sealed is the value of a sensitive field in a rule's inputs: whether the citizen has one, and
// whether each gathered predicate holds (by statement).
type Sealed struct {
	Present bool
	Holds   map[policy.Statement]bool
}

// sealedVal is Sealed as a CEL value.
type sealedVal struct{ Sealed }

func (v sealedVal) ConvertToNative(reflect.Type) (any, error) {
	return nil, errors.New("a sealed field has no value a rule may read")
}
func (v sealedVal) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return sealedType
	}
	return types.NewErr("a sealed field converts to nothing")
}
func (v sealedVal) Equal(ref.Val) ref.Val { return types.NewErr("a sealed field cannot be compared") }
func (v sealedVal) Type() ref.Type        { return sealedType }
func (v sealedVal) Value() any            { return v.Sealed }

// comparisons maps the comparison operators a rule may apply to a sealed field to the statement
// each makes with an integer literal t.
var comparisons = map[string]func(t int64) (policy.Statement, bool){
	operators.GreaterEquals: func(t int64) (policy.Statement, bool) {
		return policy.Statement{Kind: policy.StatementAtLeast, Min: t}, true
	},
	operators.Greater: func(t int64) (policy.Statement, bool) {
		return policy.Statement{Kind: policy.StatementAtLeast, Min: t + 1}, t < math.MaxInt64
	},
	operators.LessEquals: func(t int64) (policy.Statement, bool) {
		return policy.Statement{Kind: policy.StatementAtMost, Max: t}, true
	},
	operators.Less: func(t int64) (policy.Statement, bool) {
		return policy.Statement{Kind: policy.StatementAtMost, Max: t - 1}, t > math.MinInt64
	},
}

// AgeFunction is the function by which a rule or claim states an age: ageAtLeast(f, N), f a
// sensitive date, N an integer literal of years (1 to policy.MaxAgeYears), holds when the date is
// at least N years before the day the certificate is decided (the statement kind ageAtLeast with
// Min N, which a catalogued predicate the issuer may prove must make).
const AgeFunction = "ageAtLeast"

// presentOverload is the overload id of present(Sealed).
const presentOverload = "govhub_present_sealed"

// comparePrefix names the bool variable a comparison of a sealed field with an integer literal is
// rewritten to before checking: "govhub_compare_<n>", bound at evaluation to whether the
// statement holds (from the gathered predicate).
const comparePrefix = "govhub_compare_"

// comparison is one rewritten comparison: the sealed field and the statement it makes.
type comparison struct {
	field string
	st    policy.Statement
}

// newEnv returns the CEL environment of rules: one variable per catalog field ("identity.name";
// a sensitive field is Sealed), one list variable per list dataset ("property", items as maps of
// their non-sensitive fields) and the same for the spouse ("spouse.property").
func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{}
	for _, ds := range dataset.All() {
		if ds.List {
			t := cel.ListType(cel.MapType(cel.StringType, cel.DynType))
			opts = append(opts, cel.Variable(ds.Name, t), cel.Variable(SpousePrefix+ds.Name, t))
			continue
		}
		for i := range ds.Fields {
			f := &ds.Fields[i]
			opts = append(opts, cel.Variable(f.Path(), celType(f)))
		}
	}
	opts = append(opts, cel.Function("present", cel.Overload(presentOverload, []*cel.Type{sealedType}, cel.BoolType,
		cel.UnaryBinding(func(v ref.Val) ref.Val {
			s, ok := v.(sealedVal)
			if !ok {
				return types.NewErr("present() takes a sealed field")
			}
			return types.Bool(s.Present)
		}))))
	return cel.NewEnv(opts...)
}

func celType(f *dataset.Field) *cel.Type {
	if f.Sensitive {
		return sealedType
	}
	switch f.Kind {
	case dataset.Int:
		return cel.IntType
	case dataset.Float:
		return cel.DoubleType
	case dataset.Bool:
		return cel.BoolType
	case dataset.StringList:
		return cel.ListType(cel.StringType)
	}
	return cel.StringType // String, Enum, Date ("YYYY-MM-DD")
}

// Rule is a certificate type compiled: its rule and claims as CEL programs, and what they read.
// It is safe for concurrent use.
type Rule struct {
	Type   policy.CertificateType
	Needs  Needs
	rule   cel.Program
	claims []namedProgram
	// compares are the rewritten comparisons, by variable (comparePrefix and their number).
	compares []comparison
	// proven maps each claim that is exactly one comparison (ageAtLeast(identity.birthDate, 18))
	// to it: such a claim, when true, is made verifiable by the comparison's proof.
	proven map[string]comparison
}

type namedProgram struct {
	name string
	prg  cel.Program
}

// Needs is what a rule reads of a citizen (and spouse).
type Needs struct {
	// Reveal lists the non-sensitive "dataset.field" values read, sorted.
	Reveal []string
	// Predicates maps each sensitive field read through comparisons to the statements compared.
	Predicates map[string][]policy.Statement
	// Present lists the sensitive fields whose presence is read, sorted.
	Present []string
	// Lists names the list datasets read, sorted; SpouseLists those read of the spouse.
	Lists, SpouseLists []string
}

// Datasets returns every dataset the rule reads, sorted (marriage included for a spouse).
func (n Needs) Datasets() []string {
	var out []string
	add := func(ds string) {
		if !slices.Contains(out, ds) {
			out = append(out, ds)
		}
	}
	for _, f := range n.Reveal {
		add(datasetOf(f))
	}
	for f := range n.Predicates {
		add(datasetOf(f))
	}
	for _, f := range n.Present {
		add(datasetOf(f))
	}
	for _, ds := range slices.Concat(n.Lists, n.SpouseLists) {
		add(ds)
	}
	if len(n.SpouseLists) > 0 {
		add(datasetOf(spouseField))
	}
	slices.Sort(out)
	return out
}

func datasetOf(f string) string { ds, _, _ := strings.Cut(f, "."); return ds }

// Compile compiles t's rule (which must be a bool) and claims, and finds what they read: the
// variables, and for each sensitive field every comparison with an integer literal (each a
// statement a catalogued predicate must make) or present(). Any other use of a sensitive field is
// refused: a rule never reads a sensitive value. Errors wrap ErrRule.
func Compile(t policy.CertificateType) (*Rule, error) {
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("building the rule environment: %w", err)
	}
	r := &Rule{Type: t, Needs: Needs{Predicates: map[string][]policy.Statement{}}, proven: map[string]comparison{}}
	rootCmp := -1 // the comparison the last expression compiled is, if it is exactly one
	compile := func(what, src string, wantBool bool) (cel.Program, error) {
		a, iss := env.Parse(src)
		if iss != nil && iss.Err() != nil {
			return nil, fmt.Errorf("%w: type %q: %s: %v", ErrRule, t.Code, what, iss.Err())
		}
		cmpEnv, err := r.rewriteComparisons(env, a.NativeRep())
		if err != nil {
			return nil, fmt.Errorf("%w: type %q: %s: %v", ErrRule, t.Code, what, err)
		}
		rootCmp = -1
		if root := a.NativeRep().Expr(); root.Kind() == ast.IdentKind {
			if i, err := strconv.Atoi(strings.TrimPrefix(root.AsIdent(), comparePrefix)); err == nil && strings.HasPrefix(root.AsIdent(), comparePrefix) {
				rootCmp = i
			}
		}
		a, iss = cmpEnv.Check(a)
		if iss != nil && iss.Err() != nil {
			return nil, fmt.Errorf("%w: type %q: %s: %v", ErrRule, t.Code, what, iss.Err())
		}
		env := cmpEnv
		if wantBool && !a.OutputType().IsExactType(cel.BoolType) {
			return nil, fmt.Errorf("%w: type %q: %s is a %s, not a bool", ErrRule, t.Code, what, a.OutputType())
		}
		if err := r.Needs.collect(a.NativeRep()); err != nil {
			return nil, fmt.Errorf("%w: type %q: %s: %v", ErrRule, t.Code, what, err)
		}
		prg, err := env.Program(a, cel.CostLimit(100000), cel.EvalOptions(cel.OptOptimize))
		if err != nil {
			return nil, fmt.Errorf("%w: type %q: %s: %v", ErrRule, t.Code, what, err)
		}
		return prg, nil
	}
	if r.rule, err = compile("the rule", t.Rule, true); err != nil {
		return nil, err
	}
	for _, c := range t.Claims {
		prg, err := compile("claim "+c.Name, c.Expr, false)
		if err != nil {
			return nil, err
		}
		r.claims = append(r.claims, namedProgram{name: c.Name, prg: prg})
		if rootCmp >= 0 {
			r.proven[c.Name] = r.compares[rootCmp]
		}
	}
	r.Needs.sort()
	return r, nil
}

// collect adds what the checked expression a reads.
func (n *Needs) collect(a *ast.AST) error {
	refs := a.ReferenceMap()
	var errs []error
	root := ast.NavigateAST(a)
	for _, e := range ast.MatchDescendants(root, ast.AllMatcher()) {
		ref, ok := refs[e.ID()]
		if !ok || ref.Name == "" || (e.Kind() != ast.IdentKind && e.Kind() != ast.SelectKind) {
			continue
		}
		name := ref.Name
		if rest, ok := strings.CutPrefix(name, SpousePrefix); ok {
			n.SpouseLists = appendNew(n.SpouseLists, rest)
			continue
		}
		if ds, ok := dataset.Lookup(name); ok && ds.List {
			n.Lists = appendNew(n.Lists, name)
			continue
		}
		if strings.HasPrefix(name, comparePrefix) {
			continue // a rewritten comparison, counted when rewritten
		}
		sensitive, known := dataset.Sensitive(name)
		if !known {
			continue // a comprehension's own variable
		}
		if !sensitive {
			n.Reveal = appendNew(n.Reveal, name)
			continue
		}
		parent, ok := e.Parent()
		if !ok || parent.Kind() != ast.CallKind {
			errs = append(errs, fmt.Errorf("the sensitive field %s may be read only through a catalogued predicate (%s >= 60…) or present(%s)", name, name, name))
			continue
		}
		if call := parent.AsCall(); call.FunctionName() == "present" {
			n.Present = appendNew(n.Present, name)
		} else {
			errs = append(errs, fmt.Errorf("the sensitive field %s may be read only as %s >= N, > N, <= N or < N with an integer literal N that a catalogued predicate states, or as present(%s)", name, name, name))
		}
	}
	return errors.Join(errs...)
}

// rewriteComparisons replaces, in the parsed expression a, every comparison of a sensitive field
// with an integer literal (identity.x >= 60, > , <=, <) by a bool variable naming it, records the
// statement in r.Needs, and returns env extended with those variables.
func (r *Rule) rewriteComparisons(env *cel.Env, a *ast.AST) (*cel.Env, error) {
	fac := ast.NewExprFactory()
	var errs []error
	var vars []cel.EnvOption
	for _, e := range ast.MatchDescendants(ast.NavigateAST(a), ast.KindMatcher(ast.CallKind)) {
		call := e.AsCall()
		stmt := comparisons[call.FunctionName()]
		age := call.FunctionName() == AgeFunction
		if age && (len(call.Args()) != 2 || call.IsMemberFunction()) {
			errs = append(errs, fmt.Errorf("%s takes a sensitive date and a number of years: %s(identity.birthDate, 18)", AgeFunction, AgeFunction))
			continue
		}
		if stmt == nil && !age || len(call.Args()) != 2 || call.IsMemberFunction() {
			continue
		}
		field := qualifiedName(call.Args()[0])
		sensitive, known := dataset.Sensitive(field)
		if age && (!known || !sensitive || !isDate(field)) {
			errs = append(errs, fmt.Errorf("%s applies to a sensitive date field (identity.birthDate), not to %q", AgeFunction, field))
			continue
		}
		if !known || !sensitive {
			continue
		}
		if !age && isDate(field) {
			errs = append(errs, fmt.Errorf("%s is a date: a rule states an age with %s(%s, N), not by comparing it", field, AgeFunction, field))
			continue
		}
		lit := call.Args()[1]
		if lit.Kind() != ast.LiteralKind || lit.AsLiteral().Type() != types.IntType {
			errs = append(errs, fmt.Errorf("%s is compared with something other than an integer literal", field))
			continue
		}
		n := int64(lit.AsLiteral().(types.Int))
		var st policy.Statement
		ok := n >= 1 && n <= policy.MaxAgeYears
		if age {
			st = policy.Statement{Kind: policy.StatementAgeAtLeast, Min: n}
		} else {
			st, ok = stmt(n)
		}
		if !ok {
			errs = append(errs, fmt.Errorf("threshold out of range for %s", field))
			continue
		}
		name := fmt.Sprintf("%s%d", comparePrefix, len(r.compares))
		r.compares = append(r.compares, comparison{field: field, st: st})
		if !slices.Contains(r.Needs.Predicates[field], st) {
			r.Needs.Predicates[field] = append(r.Needs.Predicates[field], st)
		}
		vars = append(vars, cel.Variable(name, cel.BoolType))
		e.SetKindCase(fac.NewIdent(e.ID(), name))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(vars) == 0 {
		return env, nil
	}
	return env.Extend(vars...)
}

// isDate reports whether the catalogued field f ("dataset.field") is a date.
func isDate(f string) bool {
	ds, ok := dataset.Lookup(datasetOf(f))
	if !ok {
		return false
	}
	_, name, _ := strings.Cut(f, ".")
	for i := range ds.Fields {
		if ds.Fields[i].Name == name {
			return ds.Fields[i].Kind == dataset.Date
		}
	}
	return false
}

// qualifiedName returns the dotted name a chain of selects on an identifier spells
// ("socialInsurance.contributionMonths"), or "".
func qualifiedName(e ast.Expr) string {
	switch e.Kind() {
	case ast.IdentKind:
		return e.AsIdent()
	case ast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return ""
		}
		if op := qualifiedName(sel.Operand()); op != "" {
			return op + "." + sel.FieldName()
		}
	}
	return ""
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func (n *Needs) sort() {
	for _, l := range [][]string{n.Reveal, n.Present, n.Lists, n.SpouseLists} {
		slices.Sort(l)
	}
}

// Grants checks that the issuer of r's type (its department and role, for its purpose) may read
// everything r reads under the policy snap, and returns, for each sensitive field compared, the
// catalogued predicates that make the statements compared. Errors wrap ErrRule and name each
// value not granted:
//   - a non-sensitive field: reveal;
//   - a sensitive field compared: a catalogued predicate on the field stating exactly what the
//     comparison states, which the issuer may prove (policy.Snapshot.Proves);
//   - a sensitive field's presence: commit or more;
//   - a list dataset (its own or the spouse's): reveal of every non-sensitive field of its items;
//   - the spouse's records: commit or more of marriage.spouseCitizenId, which the hub opens
//     internally to find the spouse and never releases.
//
// The purpose must be registered.
func (r *Rule) Grants(ctx context.Context, snap *policy.Snapshot) (map[string][]policy.Predicate, error) {
	t := r.Type
	if err := snap.CheckPurpose(t.Purpose); err != nil {
		return nil, fmt.Errorf("%w: type %q: %v", ErrRule, t.Code, err)
	}
	sub := policy.Subject{Department: t.Department, Role: t.Role}
	if err := snap.Prepare(ctx, sub, r.Needs.Datasets()); err != nil {
		return nil, fmt.Errorf("type %q: loading the issuer's policy: %w", t.Code, err)
	}
	var errs []error
	refuse := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: type %q: "+format, append([]any{ErrRule, t.Code}, args...)...))
	}
	level := func(f string) policy.Level { return snap.Decide(sub, f, t.Purpose) }
	for _, f := range r.Needs.Reveal {
		if level(f) != policy.Reveal {
			refuse("the rule reads %s, which %s/%s may not reveal for %s", f, t.Department, t.Role, t.Purpose)
		}
	}
	for _, f := range r.Needs.Present {
		if level(f) < policy.Commit {
			refuse("the rule reads whether %s is present, and %s/%s may not even see its commitment for %s", f, t.Department, t.Role, t.Purpose)
		}
	}
	for _, ds := range slices.Concat(r.Needs.Lists, r.Needs.SpouseLists) {
		d, _ := dataset.Lookup(ds)
		for _, f := range d.Fields {
			if !f.Sensitive && level(f.Path()) != policy.Reveal {
				refuse("the rule reads the records of %s, but %s/%s may not reveal %s for %s", ds, t.Department, t.Role, f.Path(), t.Purpose)
			}
		}
	}
	if len(r.Needs.SpouseLists) > 0 && level(spouseField) < policy.Commit {
		refuse("the rule reads the spouse's records, which needs %s/%s to be granted at least commit of %s for %s", t.Department, t.Role, spouseField, t.Purpose)
	}
	preds := make(map[string][]policy.Predicate)
	catalogue := snap.Info().Predicates
	for _, f := range sortedKeys(r.Needs.Predicates) {
		for _, st := range r.Needs.Predicates[f] {
			i := slices.IndexFunc(catalogue, func(p policy.Predicate) bool { return p.Field == f && p.Statement == st })
			if i < 0 {
				refuse("the rule compares %s %s, which no catalogued predicate states", f, st)
				continue
			}
			p, ok := snap.Proves(sub, f, catalogue[i].Name, t.Purpose)
			if !ok {
				refuse("the rule compares %s %s (predicate %s), which %s/%s may not prove for %s", f, st, catalogue[i].Name, t.Department, t.Role, t.Purpose)
				continue
			}
			preds[f] = append(preds[f], p)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return preds, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// CheckTypes compiles every certificate type of snap's policy and checks its grants under snap:
// what governance runs on a proposed policy, so that a rule needing a value the issuer may not
// read is refused when proposed, not when a certificate is asked for. Errors wrap ErrRule.
func CheckTypes(ctx context.Context, snap *policy.Snapshot) error {
	var errs []error
	for _, t := range snap.Info().CertificateTypes {
		r, err := Compile(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := r.Grants(ctx, snap); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Inputs are the values a rule is evaluated over, by variable name: for a non-sensitive field
// its value (package dataset's Go types; absent when unset), for a sensitive field a Sealed, for
// a list dataset a []map[string]any of its items' non-sensitive fields.
type Inputs map[string]any

// Outcome is what a rule decided.
type Outcome struct {
	Eligible bool
	// Claims holds each claim's value (string, int64, float64, bool or []string) when Eligible.
	Claims map[string]any
}

// Eval evaluates the rule over in and, when it holds, the claims. A rule that cannot be decided
// (a value missing for a comparison, say) is an error, never an eligibility; a claim must be a
// string, integer, number, bool or list of strings.
func (r *Rule) Eval(in Inputs) (Outcome, error) {
	act := make(map[string]any, len(in))
	for k, v := range in {
		switch v := v.(type) {
		case Sealed:
			act[k] = sealedVal{v}
		case nil:
		default:
			act[k] = v
		}
	}
	for _, ds := range slices.Concat(r.Needs.Lists) {
		if _, ok := act[ds]; !ok {
			act[ds] = []map[string]any{}
		}
	}
	for _, ds := range r.Needs.SpouseLists {
		if _, ok := act[SpousePrefix+ds]; !ok {
			act[SpousePrefix+ds] = []map[string]any{}
		}
	}
	for _, f := range r.Needs.Reveal {
		if _, ok := act[f]; !ok {
			act[f] = types.NullValue
		}
	}
	for i, c := range r.compares {
		s, ok := in[c.field].(Sealed)
		if !ok {
			continue // unbound: the rule cannot be decided if it needs it
		}
		if holds, ok := s.Holds[c.st]; ok {
			act[fmt.Sprintf("%s%d", comparePrefix, i)] = holds
		}
	}
	out, _, err := r.rule.Eval(act)
	if err != nil {
		return Outcome{}, fmt.Errorf("the rule of %s could not be decided: %w", r.Type.Code, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return Outcome{}, fmt.Errorf("the rule of %s gave a %s, not a bool", r.Type.Code, out.Type().TypeName())
	}
	if !b {
		return Outcome{}, nil
	}
	res := Outcome{Eligible: true, Claims: make(map[string]any, len(r.claims))}
	for _, c := range r.claims {
		v, _, err := c.prg.Eval(act)
		if err != nil {
			return Outcome{}, fmt.Errorf("claim %s of %s: %w", c.name, r.Type.Code, err)
		}
		nv, err := claimValue(v)
		if err != nil {
			return Outcome{}, fmt.Errorf("claim %s of %s: %w", c.name, r.Type.Code, err)
		}
		res.Claims[c.name] = nv
	}
	return res, nil
}

var reflectStrings = reflect.TypeOf([]string(nil))

func claimValue(v ref.Val) (any, error) {
	switch v := v.(type) {
	case types.String:
		return string(v), nil
	case types.Int:
		return int64(v), nil
	case types.Double:
		return float64(v), nil
	case types.Bool:
		return bool(v), nil
	case types.Null:
		return nil, nil
	}
	if l, ok := v.Value().([]string); ok {
		return slices.Clone(l), nil
	}
	native, err := v.ConvertToNative(reflectStrings)
	if err == nil {
		return native, nil
	}
	return nil, fmt.Errorf("a claim must be a string, integer, number, bool or list of strings, not a %s", v.Type().TypeName())
}

// LinkClaims returns proofs with each proof's Claim set to the claim of out it makes verifiable: a
// claim whose expression is exactly the proof's predicate (ageAtLeast(identity.birthDate, 18), or
// socialInsurance.contributionMonths >= 60), and which out states true. A claim is linked to one
// proof at most, a proof to one claim at most.
func (r *Rule) LinkClaims(out Outcome, proofs []ProofEvidence) []ProofEvidence {
	proofs = slices.Clone(proofs)
	for _, name := range sortedKeys(r.proven) {
		if v, ok := out.Claims[name].(bool); !ok || !v {
			continue
		}
		c := r.proven[name]
		for i := range proofs {
			if proofs[i].Claim == "" && proofs[i].Field == c.field && proofs[i].Statement == c.st {
				proofs[i].Claim = name
				break
			}
		}
	}
	return proofs
}
