package policy

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// modelConf is the Casbin model every department's enforcer runs.
//
//go:embed model.conf
var modelConf string

// DefaultMemoLimit is how many answers a snapshot memoises unless
// [WithMemoLimit] says otherwise.
const DefaultMemoLimit = 1 << 18

// Config holds what an [Engine] needs from the rest of the hub.
type Config struct {
	// Sensitive reports whether field, a "dataset.field" name, is marked
	// sensitive, and whether such a field exists at all. Required. It is
	// called concurrently, and its answers must not change while the engine
	// is in use: snapshots memoise them.
	Sensitive func(field string) (sensitive, known bool)
}

// Option adjusts an [Engine].
type Option func(*options)

type options struct {
	memoLimit int
}

// WithMemoLimit caps the number of answers each snapshot memoises
// (default [DefaultMemoLimit]); past the cap, answers are computed afresh
// each time. Inputs that can only be denied (unknown departments, roles,
// fields or purposes) are never memoised, so the cap matters only for very
// large policies.
func WithMemoLimit(n int) Option {
	return func(o *options) { o.memoLimit = n }
}

// Engine holds the current policy snapshot. It is safe for concurrent use.
type Engine struct {
	sensitive func(string) (bool, bool)
	memoLimit int

	mu  sync.Mutex // serialises Replace
	cur atomic.Pointer[Snapshot]
}

// New validates set and returns an engine deciding under it.
func New(set Set, cfg Config, opts ...Option) (*Engine, error) {
	if cfg.Sensitive == nil {
		return nil, errors.New("policy: Config.Sensitive is required")
	}
	o := options{memoLimit: DefaultMemoLimit}
	for _, opt := range opts {
		opt(&o)
	}
	if o.memoLimit < 0 {
		return nil, fmt.Errorf("policy: negative memo limit %d", o.memoLimit)
	}
	e := &Engine{sensitive: cfg.Sensitive, memoLimit: o.memoLimit}
	s, err := e.build(set)
	if err != nil {
		return nil, err
	}
	e.cur.Store(s)
	return e, nil
}

// Snapshot returns the current policy. A request should call it once and
// make all its decisions on the result, so that they share one version.
func (e *Engine) Snapshot() *Snapshot { return e.cur.Load() }

// Replace validates set, builds a snapshot of it and makes that the current
// policy. Snapshots already handed out keep deciding under the old policy.
// set.Version must be greater than the current version ([ErrStaleVersion]
// otherwise), so that a version number names one policy.
func (e *Engine) Replace(set Set) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cur := e.cur.Load(); set.Version <= cur.version {
		return fmt.Errorf("replacing policy %d with %d: %w", cur.version, set.Version, ErrStaleVersion)
	}
	s, err := e.build(set)
	if err != nil {
		return err
	}
	e.cur.Store(s)
	return nil
}

// Snapshot is one immutable version of the policy, with its memoised
// decisions. It is safe for concurrent use.
type Snapshot struct {
	version   uint64
	set       Set // sorted deep copy
	purposes  map[string]Purpose
	depts     map[string]*department
	sensitive func(string) (bool, bool)

	memoLimit int64
	memoSize  atomic.Int64
	levels    sync.Map // fieldKey → Level
	allowed   sync.Map // actionKey → bool
}

// department is one department's share of the policy, split by dataset:
// a request names one dataset, and only rules on that dataset or on "*" can
// match it, so each enforcer holds just those (and all the department's
// groupings).
type department struct {
	roles    map[string]bool             // every role named in the rules and groupings
	datasets map[string]*casbin.Enforcer // dataset → its rules and the "*" rules
	other    *casbin.Enforcer            // the "*" rules alone, for other datasets; nil if none
}

type fieldKey struct {
	sub            Subject
	field, purpose string
}

type actionKey struct {
	sub             Subject
	act             Action
	object, purpose string
}

func (e *Engine) build(set Set) (*Snapshot, error) {
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("building policy %d: %w", set.Version, err)
	}
	set = set.clone()
	slices.SortFunc(set.Rules, compareRules)
	slices.SortFunc(set.Groupings, compareGroupings)
	slices.SortFunc(set.Purposes, func(a, b Purpose) int { return cmp.Compare(a.Code, b.Code) })

	s := &Snapshot{
		version:   set.Version,
		set:       set,
		purposes:  make(map[string]Purpose, len(set.Purposes)),
		depts:     make(map[string]*department),
		sensitive: e.sensitive,
		memoLimit: int64(e.memoLimit),
	}
	for _, p := range set.Purposes {
		s.purposes[p.Code] = p
	}

	type partition struct {
		roles    map[string]bool
		datasets map[string][][]string // dataset → p rows (without "p")
		wild     [][]string            // p rows on "*"
		groups   [][]string            // g rows (without "g")
	}
	parts := make(map[string]*partition)
	for _, r := range set.Rules {
		p := parts[r.Department]
		if p == nil {
			p = &partition{roles: make(map[string]bool), datasets: make(map[string][][]string)}
			parts[r.Department] = p
		}
		p.roles[r.Role] = true
		row := []string{r.Role, r.Department, r.Object, string(r.Action), r.Purpose, string(r.Effect)}
		if r.Object == "*" {
			p.wild = append(p.wild, row)
			continue
		}
		ds := datasetOf(r.Object)
		p.datasets[ds] = append(p.datasets[ds], row)
	}
	for _, g := range set.Groupings {
		p := parts[g.Department]
		if p == nil {
			continue // a department without rules grants nothing
		}
		p.groups = append(p.groups, []string{g.Member, g.Role, g.Department})
		p.roles[g.Member] = true
		p.roles[g.Role] = true
	}
	for name, p := range parts {
		d := &department{roles: p.roles, datasets: make(map[string]*casbin.Enforcer, len(p.datasets))}
		for ds, rows := range p.datasets {
			enf, err := newEnforcer(append(rows, p.wild...), p.groups)
			if err != nil {
				return nil, fmt.Errorf("loading rules of department %q on %q: %w", name, ds, err)
			}
			d.datasets[ds] = enf
		}
		if len(p.wild) > 0 {
			enf, err := newEnforcer(p.wild, p.groups)
			if err != nil {
				return nil, fmt.Errorf("loading rules of department %q on *: %w", name, err)
			}
			d.other = enf
		}
		s.depts[name] = d
	}
	return s, nil
}

// Version returns the policy version the snapshot was built from.
func (s *Snapshot) Version() uint64 { return s.version }

// Set returns a copy of the policy the snapshot was built from, rules,
// groupings and purposes sorted as [FormatCSV] and [FormatPurposes] sort
// them.
func (s *Snapshot) Set() Set { return s.set.clone() }

// Purpose returns the registered purpose with the given code, and reports
// whether there is one.
func (s *Snapshot) Purpose(code string) (Purpose, bool) {
	p, ok := s.purposes[code]
	return p, ok
}

// Purposes returns the purpose registry sorted by code.
func (s *Snapshot) Purposes() []Purpose { return slices.Clone(s.set.Purposes) }

// CheckPurpose returns an error wrapping [ErrUnknownPurpose] if code is not
// a registered purpose.
func (s *Snapshot) CheckPurpose(code string) error {
	if _, ok := s.purposes[code]; !ok {
		return fmt.Errorf("purpose %q: %w", code, ErrUnknownPurpose)
	}
	return nil
}

// Decide returns the level at which sub may read field, a "dataset.field"
// name, for purpose: Reveal if reveal is allowed, else Commit if commit is
// allowed and the field is sensitive, else Deny. Unknown departments,
// roles, fields and purposes are Deny.
func (s *Snapshot) Decide(sub Subject, field, purpose string) Level {
	k := fieldKey{sub: sub, field: field, purpose: purpose}
	if v, ok := s.levels.Load(k); ok {
		return v.(Level)
	}
	l, ok := s.decide(sub, field, purpose)
	if ok {
		s.remember(&s.levels, k, l)
	}
	return l
}

// decide computes Decide's answer and reports whether it may be memoised.
func (s *Snapshot) decide(sub Subject, field, purpose string) (Level, bool) {
	if _, ok := s.purposes[purpose]; !ok || !isField(field) {
		return Deny, false
	}
	sensitive, known := s.sensitive(field)
	if !known {
		return Deny, false
	}
	d := s.department(sub)
	if d == nil {
		return Deny, false
	}
	reveal, err := d.enforce(sub, ActionReveal, field, purpose)
	if err != nil {
		return Deny, false
	}
	if reveal {
		return Reveal, true
	}
	if !sensitive {
		return Deny, true
	}
	commit, err := d.enforce(sub, ActionCommit, field, purpose)
	if err != nil {
		return Deny, false
	}
	if commit {
		return Commit, true
	}
	return Deny, true
}

// Allowed reports whether sub may perform act on object for purpose, as the
// rules say and nothing more: object is a dataset name for write and list
// ("tax"), a "dataset.field" name for reveal and commit. Use [Snapshot.Decide]
// to decide what of a field to release. Unknown departments, roles, actions
// and purposes, and malformed objects, are not allowed.
func (s *Snapshot) Allowed(sub Subject, act Action, object, purpose string) bool {
	k := actionKey{sub: sub, act: act, object: object, purpose: purpose}
	if v, ok := s.allowed.Load(k); ok {
		return v.(bool)
	}
	if _, ok := s.purposes[purpose]; !ok || !act.valid() {
		return false
	}
	if act.onFields() && !isField(object) || !act.onFields() && !isName(object) {
		return false
	}
	d := s.department(sub)
	if d == nil {
		return false
	}
	ok, err := d.enforce(sub, act, object, purpose)
	if err != nil {
		return false
	}
	s.remember(&s.allowed, k, ok)
	return ok
}

// department returns sub's department if sub's role appears in its rules.
func (s *Snapshot) department(sub Subject) *department {
	d := s.depts[sub.Department]
	if d == nil || !d.roles[sub.Role] {
		return nil
	}
	return d
}

func (s *Snapshot) remember(m *sync.Map, k, v any) {
	if s.memoSize.Load() >= s.memoLimit {
		return
	}
	if _, loaded := m.LoadOrStore(k, v); !loaded {
		s.memoSize.Add(1)
	}
}

// enforce asks Casbin whether sub may perform act on object for purpose.
func (d *department) enforce(sub Subject, act Action, object, purpose string) (bool, error) {
	enf := d.datasets[datasetOf(object)]
	if enf == nil {
		enf = d.other
	}
	if enf == nil {
		return false, nil
	}
	return enf.Enforce(sub.Role, sub.Department, object, string(act), purpose)
}

// datasetOf returns the dataset part of an object: "tax" for "tax.year",
// "tax.*" and "tax".
func datasetOf(object string) string {
	ds, _, _ := strings.Cut(object, ".")
	return ds
}

// newEnforcer returns a Casbin enforcer of the embedded model holding the
// given p and g rows.
func newEnforcer(rules, groups [][]string) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(modelConf)
	if err != nil {
		return nil, fmt.Errorf("loading policy model: %w", err)
	}
	return casbin.NewEnforcer(m, &rowsAdapter{rules: rules, groups: groups})
}

// rowsAdapter is a read-only Casbin adapter over rows held in memory.
type rowsAdapter struct {
	rules  [][]string // p rows without the "p"
	groups [][]string // g rows without the "g"
}

var errReadOnly = errors.New("policy: enforcer adapter is read-only")

func (a *rowsAdapter) LoadPolicy(m model.Model) error {
	for _, r := range a.rules {
		if err := m.AddPolicy("p", "p", slices.Clone(r)); err != nil {
			return err
		}
	}
	for _, g := range a.groups {
		if err := m.AddPolicy("g", "g", slices.Clone(g)); err != nil {
			return err
		}
	}
	return nil
}

func (a *rowsAdapter) SavePolicy(model.Model) error                { return errReadOnly }
func (a *rowsAdapter) AddPolicy(string, string, []string) error    { return errReadOnly }
func (a *rowsAdapter) RemovePolicy(string, string, []string) error { return errReadOnly }
func (a *rowsAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errReadOnly
}
