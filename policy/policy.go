// Package policy is GovHub's policy decision point: it decides, field by
// field and purpose by purpose, what a department's role may see of a
// citizen's data.
//
// # Model
//
// Decisions are made by Casbin with the embedded model.conf: RBAC with
// domains, where the domain is a department, plus a purpose attribute and
// allow/deny effects. A request is (role, department, object, action,
// purpose); a rule matches it when department, action and purpose agree
// (a rule purpose of "*" stands for any registered purpose), the rule's
// object pattern matches the object, and the request's role is the rule's
// role or inherits it through groupings in the same department. The request
// is allowed when some allow rule matches and no deny rule does: deny rules
// override allow rules, and no matching rule means no access.
//
// Objects are "dataset.field" names for the read actions reveal and commit,
// and dataset names for write and list. A rule's object may end in a
// wildcard: "tax.*" is every field of tax, "*" is everything. Department,
// role and purpose codes are lower-case ASCII words joined by hyphens
// ("home-purchase-eligibility"); dataset and field names are ASCII
// identifiers ("socialInsurance.contributionMonths"); each is at most 64
// bytes.
//
// # Field decisions
//
// [Snapshot.Decide] turns the read actions into one [Level] per field:
//
//   - Reveal if reveal is allowed (a revealed sensitive field also carries
//     its commitment);
//   - else Commit if commit is allowed and the field is sensitive;
//   - else Deny.
//
// Deny rules apply per action: a deny of reveal next to an allowed commit
// gives Commit. A field that is not sensitive has no commitment, so it is
// Reveal or Deny. Unknown departments, roles, fields and purposes are Deny.
//
// # Rules on disk
//
// Rules are Casbin CSV, one per line, fields separated by commas, blank lines
// and lines starting with '#' ignored:
//
//	p, role, department, object, action, purpose, effect
//	g, member, role, department
//
// For example
//
//	p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow
//	p, clerk, housing, health.*, reveal, *, deny
//	g, senior-clerk, clerk, housing
//
// lets housing clerks, and senior clerks who inherit the clerk role in the
// housing department, see citizens' names when checking home-purchase
// eligibility, and never see any health field. The purpose registry is a
// JSON array of {"code", "titleZh", "titleEn", "legalBasis"} objects; see
// [ParsePurposes].
//
// # Versions, storage and partitions
//
// Policies are immutable versions. A stored version is described by a
// [VersionInfo] (purposes, groupings, rule count, digest, provenance) and
// its rules are read through a [Loader], a Casbin filtered adapter, one
// partition at a time: a partition is one department's rules on one
// dataset ([PartitionFilter]), and a department's rules on "*" form one
// more. A request names one department and few datasets, so no other rule
// could match it. [Storage] is what keeps versions; store/mongostore
// implements both, and [MemoryLoader] serves a [Set] from memory.
//
// Officers change a policy by proposing a [Change]: [Set.Apply] makes the
// next version, [Set.ValidateWith] checks it against the dataset
// [Catalog], and [Impact] lists the decisions it moves. [Snapshot.Explain]
// says which rules produce a decision.
//
// # Performance
//
// Casbin evaluates every rule an enforcer holds on each Enforce call (about
// 1 µs a rule: 9 ms at 10,000 rules, 74 ms at 100,000, ARCHITECTURE §5), so an
// [Engine] never holds a whole policy in one enforcer.
// [Engine.Load] makes a [Snapshot] of a stored version without reading a
// rule; [Snapshot.Prepare] loads the partitions a request needs,
// concurrently and once per snapshot; a decision then asks a small
// enforcer holding the partition's rules for the request's purpose (or
// for any purpose), built on first use. Each snapshot memoises its answers
// per (department, role, field or object, purpose, action), so a repeated
// decision is one concurrent map lookup; inputs that can only be denied
// (unknown departments, roles, fields, purposes) are answered without
// Casbin and not memoised. Anything not loaded, or that failed to load, is
// denied: decisions never wait for I/O. A policy change makes a new
// snapshot and swaps it in atomically: memoised answers are never stale,
// and a request that pins one snapshot decides every field under one
// policy version.
//
// # Decisions and their cache
//
// The decision rules are kept apart from the cache that makes them fast.
// decide.go holds them as pure functions of one loaded partition (its
// rules, the department's "*" rules and groupings, and the enforcers built
// from them) and the request: no I/O, no cache, no lock, so they can be
// read, and tested, as the rules. cache.go holds everything a [Snapshot]
// remembers and how it fills it: [Snapshot.Prepare] and the loading and
// validation of partitions through the [Loader], the per-purpose
// enforcers within their budget ([WithEnforcerLimit]) and the memoised
// answers within theirs ([WithMemoLimit]). snapshot.go joins the two:
// [Snapshot.Decide], [Snapshot.Allowed] and [Snapshot.Explain] check their
// inputs against the version's registry, find the loaded partition and
// ask the rules. engine.go holds the [Engine] that swaps snapshots.
//
// Only [Snapshot.Prepare], and [Snapshot.Explain] and [Impact] through it, read through the loader,
// under the caller's context; a loader's optional abilities are the
// interfaces [ContextLoader] and [Warmer]. Decide and Allowed take no
// context because they do no I/O: a snapshot made from a [Set] reads its
// partitions from memory as it decides.
package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors reported by the package.
var (
	// ErrInvalidPolicy is wrapped by every error that reports malformed
	// rules, groupings, purposes or policy files.
	ErrInvalidPolicy = errors.New("invalid policy")
	// ErrUnknownPurpose reports a purpose code that is not registered.
	ErrUnknownPurpose = errors.New("unknown purpose")
	// ErrStaleVersion reports a replacement policy whose version is not
	// greater than the current one.
	ErrStaleVersion = errors.New("stale policy version")
)

// Level is the decision for one field: what of its value may be released.
// Levels are ordered, Deny < Commit < Prove < Reveal; a higher level
// includes the lower ones.
type Level int8

// The field decision levels.
const (
	// Deny releases nothing of the field.
	Deny Level = iota
	// Commit releases only the field's commitment.
	Commit
	// Prove releases the field's commitment and, for the catalogued
	// predicates a prove rule grants, whether each holds with a proof over
	// the commitment (see [Snapshot.Proves]); never the value.
	Prove
	// Reveal releases the field's value (and, for a sensitive field, its
	// commitment).
	Reveal
)

// String returns "deny", "commit", "prove" or "reveal".
func (l Level) String() string {
	switch l {
	case Deny:
		return "deny"
	case Commit:
		return "commit"
	case Prove:
		return "prove"
	case Reveal:
		return "reveal"
	}
	return fmt.Sprintf("Level(%d)", int8(l))
}

// ParseLevel parses the output of [Level.String].
func ParseLevel(s string) (Level, error) {
	switch s {
	case "deny":
		return Deny, nil
	case "commit":
		return Commit, nil
	case "prove":
		return Prove, nil
	case "reveal":
		return Reveal, nil
	}
	return Deny, fmt.Errorf("parsing level %q: unknown level", s)
}

// MarshalText implements [encoding.TextMarshaler].
func (l Level) MarshalText() ([]byte, error) {
	if l < Deny || l > Reveal {
		return nil, fmt.Errorf("marshaling level: invalid level %d", int8(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler].
func (l *Level) UnmarshalText(text []byte) error {
	v, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Action is what a request wants to do with an object.
type Action string

// The actions. Reveal and commit act on fields ("dataset.field"), prove on
// a field's catalogued predicates ("dataset.field:predicate"), write and
// list on datasets ("dataset").
const (
	// ActionReveal reads a field's value.
	ActionReveal Action = "reveal"
	// ActionCommit reads a field's commitment only.
	ActionCommit Action = "commit"
	// ActionProve reads whether a catalogued predicate holds of a
	// sensitive integer field, with a proof over its commitment.
	ActionProve Action = "prove"
	// ActionWrite updates a dataset's records.
	ActionWrite Action = "write"
	// ActionList runs bulk queries over a dataset.
	ActionList Action = "list"
)

// onFields reports whether a acts on fields rather than datasets (prove
// acts on a field's predicates).
func (a Action) onFields() bool { return a == ActionReveal || a == ActionCommit || a == ActionProve }

func (a Action) valid() bool {
	switch a {
	case ActionReveal, ActionCommit, ActionProve, ActionWrite, ActionList:
		return true
	}
	return false
}

// Effect is what a matching rule does to a request.
type Effect string

// The effects. A matching deny rule overrides every matching allow rule.
const (
	EffectAllow Effect = "allow"
	EffectDeny  Effect = "deny"
)

func (e Effect) valid() bool { return e == EffectAllow || e == EffectDeny }

// AnyPurpose, as a rule's purpose, matches every registered purpose.
const AnyPurpose = "*"

// Subject is who asks: a role within a department.
type Subject struct {
	Department string
	Role       string
}

// Purpose is an entry of the purpose registry: why data is being read, and
// the law that allows it.
type Purpose struct {
	Code       string `json:"code"`       // e.g. "home-purchase-eligibility"
	TitleZh    string `json:"titleZh"`    // e.g. "购房资格审核"
	TitleEn    string `json:"titleEn"`    // e.g. "Home-purchase eligibility review"
	LegalBasis string `json:"legalBasis"` // the statute or regulation relied on
	// Sealed marks a purpose for court-sealed investigations (package hub, sealed.go): a read under
	// it names a court order and an unseal date at most MaxSealDays days ahead, and its access
	// entry shows the citizen no details until that date. Only the officers' workflow adds one.
	Sealed      bool `json:"sealed,omitempty"`
	MaxSealDays int  `json:"maxSealDays,omitempty"` // with Sealed: 1 to MaxSealDays; else 0
}

// MaxSealDays bounds a sealed purpose's maximum seal period (ten years).
const MaxSealDays = 3660

// Rule allows or denies a role of a department an action on objects for a
// purpose. Object is a "dataset.field" name, a "dataset.*" or "*" pattern
// for reveal and commit, and a dataset name or "*" for write and list.
// Purpose is a registered code or [AnyPurpose].
type Rule struct {
	Role       string
	Department string
	Object     string
	Action     Action
	Purpose    string
	Effect     Effect
}

// String returns r as a Casbin CSV line.
func (r Rule) String() string {
	return strings.Join([]string{"p", r.Role, r.Department, r.Object, string(r.Action), r.Purpose, string(r.Effect)}, ", ")
}

// Grouping makes Member inherit every rule of Role within Department.
type Grouping struct {
	Member     string
	Role       string
	Department string
}

// String returns g as a Casbin CSV line.
func (g Grouping) String() string {
	return strings.Join([]string{"g", g.Member, g.Role, g.Department}, ", ")
}

// Set is a complete policy: rules, groupings, the purpose registry and
// the predicate catalogue (optional; see [Predicate]), under one version
// number.
type Set struct {
	Version    uint64
	Rules      []Rule
	Groupings  []Grouping
	Purposes   []Purpose
	Predicates []Predicate
	// CertificateTypes are the kinds of certificate the hub issues and their rules (optional;
	// see [CertificateType]).
	CertificateTypes []CertificateType
}

// maxRoleDepth is how many grouping links Casbin's role manager follows
// (its default maximum hierarchy level); longer chains would silently fail
// to match, so Validate rejects them.
const maxRoleDepth = 10

// Validate reports every problem with s, each wrapping [ErrInvalidPolicy]:
// malformed names and object patterns, unknown actions and effects, objects
// that do not suit their action, rule purposes that are not registered (other
// than [AnyPurpose]), duplicate rules, groupings and purpose codes, and role
// groupings that form a cycle or a chain longer than 10 links; and
// malformed or duplicate predicates and prove rules that allow a
// predicate not defined on their field.
func (s Set) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidPolicy}, args...)...))
	}

	codes := make(map[string]bool, len(s.Purposes))
	for i, p := range s.Purposes {
		if err := p.check(); err != nil {
			bad("purpose %d: %v", i, err)
			continue
		}
		if codes[p.Code] {
			bad("purpose %d: duplicate code %q", i, p.Code)
		}
		codes[p.Code] = true
	}

	rules := make(map[Rule]bool, len(s.Rules))
	for _, r := range s.Rules {
		if err := r.check(); err != nil {
			bad("rule %q: %v", r.String(), err)
			continue
		}
		if r.Purpose != AnyPurpose && !codes[r.Purpose] {
			bad("rule %q: purpose %q is not registered", r.String(), r.Purpose)
		}
		if rules[r] {
			bad("rule %q: duplicate", r.String())
		}
		rules[r] = true
	}

	groups := make(map[Grouping]bool, len(s.Groupings))
	edges := make(map[Subject][]string) // (department, member) → roles
	for _, g := range s.Groupings {
		if err := g.check(); err != nil {
			bad("grouping %q: %v", g.String(), err)
			continue
		}
		if groups[g] {
			bad("grouping %q: duplicate", g.String())
			continue
		}
		groups[g] = true
		k := Subject{Department: g.Department, Role: g.Member}
		edges[k] = append(edges[k], g.Role)
	}
	for _, err := range checkHierarchy(edges) {
		bad("%v", err)
	}
	s.checkPredicates(bad)
	s.checkCertificateTypes(codes, bad)
	return errors.Join(errs...)
}

// checkHierarchy rejects cycles and chains longer than maxRoleDepth in the
// member → role graph of each department.
func checkHierarchy(edges map[Subject][]string) []error {
	var errs []error
	depth := make(map[Subject]int) // longest chain from a role; -1 while on the stack
	var visit func(Subject) int
	visit = func(n Subject) int {
		if d, ok := depth[n]; ok {
			if d < 0 {
				errs = append(errs, fmt.Errorf("groupings form a cycle through role %q in department %q", n.Role, n.Department))
				return 0
			}
			return d
		}
		depth[n] = -1
		longest := 0
		for _, role := range edges[n] {
			if d := visit(Subject{Department: n.Department, Role: role}) + 1; d > longest {
				longest = d
			}
		}
		depth[n] = longest
		return longest
	}
	for n := range edges {
		if d := visit(n); d > maxRoleDepth {
			errs = append(errs, fmt.Errorf("role %q in department %q inherits through %d groupings, more than %d", n.Role, n.Department, d, maxRoleDepth))
		}
	}
	return errs
}

func (r Rule) check() error {
	if err := checkCode("role", r.Role); err != nil {
		return err
	}
	if err := checkCode("department", r.Department); err != nil {
		return err
	}
	if !r.Action.valid() {
		return fmt.Errorf("unknown action %q (want %s, %s, %s, %s or %s)", r.Action, ActionReveal, ActionCommit, ActionProve, ActionWrite, ActionList)
	}
	if r.Action == ActionProve {
		if err := checkProvePattern(r.Object, r.Effect); err != nil {
			return err
		}
	} else if err := checkPattern(r.Object, r.Action); err != nil {
		return err
	}
	if r.Purpose != AnyPurpose {
		if err := checkCode("purpose", r.Purpose); err != nil {
			return err
		}
	}
	if !r.Effect.valid() {
		return fmt.Errorf("unknown effect %q (want %s or %s)", r.Effect, EffectAllow, EffectDeny)
	}
	return nil
}

func (g Grouping) check() error {
	if err := checkCode("member", g.Member); err != nil {
		return err
	}
	if err := checkCode("role", g.Role); err != nil {
		return err
	}
	if err := checkCode("department", g.Department); err != nil {
		return err
	}
	if g.Member == g.Role {
		return fmt.Errorf("role %q inherits itself", g.Role)
	}
	return nil
}

func (p Purpose) check() error {
	if err := checkCode("purpose code", p.Code); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"titleZh", p.TitleZh}, {"titleEn", p.TitleEn}, {"legalBasis", p.LegalBasis},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("purpose %q: empty %s", p.Code, f.name)
		}
	}
	switch {
	case p.Sealed && (p.MaxSealDays < 1 || p.MaxSealDays > MaxSealDays):
		return fmt.Errorf("purpose %q: a sealed purpose needs a maximum seal period of 1 to %d days, not %d", p.Code, MaxSealDays, p.MaxSealDays)
	case !p.Sealed && p.MaxSealDays != 0:
		return fmt.Errorf("purpose %q: a maximum seal period (%d days) on a purpose that is not sealed", p.Code, p.MaxSealDays)
	}
	return nil
}

// maxNameLen bounds every code and name.
const maxNameLen = 64

// checkCode checks a department, role or purpose code: lower-case ASCII
// letters and digits in hyphen-separated words, starting with a letter, at
// most 64 bytes ("home-purchase-eligibility").
func checkCode(what, s string) error {
	if !isCode(s) {
		return fmt.Errorf("malformed %s %q (want lower-case words joined by hyphens)", what, s)
	}
	return nil
}

func isCode(s string) bool {
	if s == "" || len(s) > maxNameLen || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// isName reports whether s is a dataset or field name: an ASCII letter
// followed by letters, digits and underscores, at most 64 bytes
// ("socialInsurance", "contributionMonths").
func isName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// isField reports whether s is a "dataset.field" name.
func isField(s string) bool {
	ds, f, ok := strings.Cut(s, ".")
	return ok && isName(ds) && isName(f)
}

// checkPattern checks a rule object for action a: "*", "dataset.*" or
// "dataset.field" for field actions, "*" or "dataset" for dataset actions.
// Casbin's keyMatch treats everything after the first '*' as matching
// anything, so '*' is allowed only where it means exactly that.
func checkPattern(obj string, a Action) error {
	if obj == "*" {
		return nil
	}
	if a.onFields() {
		if ds, f, ok := strings.Cut(obj, "."); ok && isName(ds) && (f == "*" || isName(f)) {
			return nil
		}
		return fmt.Errorf("malformed object %q for %s (want dataset.field, dataset.* or *)", obj, a)
	}
	if isName(obj) {
		return nil
	}
	return fmt.Errorf("malformed object %q for %s (want a dataset name or *)", obj, a)
}

// Clone returns a deep copy of s.
func (s Set) Clone() Set {
	return Set{
		Version:   s.Version,
		Rules:     append([]Rule(nil), s.Rules...),
		Groupings: append([]Grouping(nil), s.Groupings...),
		Purposes:  append([]Purpose(nil), s.Purposes...),
		// nil stays nil: a set without predicates is as before them.
		Predicates:       slices.Clone(s.Predicates),
		CertificateTypes: cloneTypes(s.CertificateTypes),
	}
}
