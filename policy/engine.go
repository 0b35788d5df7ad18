package policy

import (
	"context"
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

// modelConf is the Casbin model every partition's enforcer runs.
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

// DefaultEnforcerLimit is how many per-purpose enforcers each snapshot
// keeps unless [WithEnforcerLimit] says otherwise; each takes about 12 KB
// plus its rules (11.6 KB holding 1.7 rules on average:
// go test ./policy -run '^$' -bench EnforcerMemory -benchtime 1x).
const DefaultEnforcerLimit = 4096

// Option adjusts an [Engine].
type Option func(*options)

type options struct {
	memoLimit     int
	enforcerLimit int
}

// WithMemoLimit caps the number of answers each snapshot memoises
// (default [DefaultMemoLimit]); past the cap, answers are computed afresh
// each time. Inputs that can only be denied (unknown departments, roles,
// fields or purposes) are never memoised, so the cap matters only for very
// large policies.
func WithMemoLimit(n int) Option {
	return func(o *options) { o.memoLimit = n }
}

// WithEnforcerLimit caps the number of per-purpose Casbin enforcers each
// snapshot builds (default [DefaultEnforcerLimit]). Past the cap, the
// decisions of a partition go through one enforcer holding its rules for
// every purpose: as correct, slower (Casbin takes about 1 µs per rule it
// holds), and bounded by the number of partitions.
func WithEnforcerLimit(n int) Option {
	return func(o *options) { o.enforcerLimit = n }
}

// Engine holds the current policy snapshot. It is safe for concurrent use.
type Engine struct {
	sensitive     func(string) (bool, bool)
	memoLimit     int
	enforcerLimit int
	base          model.Model // the parsed model.conf, copied for each enforcer; never modified

	mu  sync.Mutex // serialises Replace and Load
	cur atomic.Pointer[Snapshot]
}

// New validates set and returns an engine deciding under it. An engine
// that will take its policy from storage can start from the empty policy,
// New(Set{}, cfg), which denies everything, and then [Engine.Load] the
// stored version.
func New(set Set, cfg Config, opts ...Option) (*Engine, error) {
	if cfg.Sensitive == nil {
		return nil, errors.New("policy: Config.Sensitive is required")
	}
	o := options{memoLimit: DefaultMemoLimit, enforcerLimit: DefaultEnforcerLimit}
	for _, opt := range opts {
		opt(&o)
	}
	if o.memoLimit < 0 {
		return nil, fmt.Errorf("policy: negative memo limit %d", o.memoLimit)
	}
	if o.enforcerLimit < 0 {
		return nil, fmt.Errorf("policy: negative enforcer limit %d", o.enforcerLimit)
	}
	base, err := model.NewModelFromString(modelConf)
	if err != nil {
		return nil, fmt.Errorf("policy: loading model: %w", err)
	}
	e := &Engine{sensitive: cfg.Sensitive, memoLimit: o.memoLimit, enforcerLimit: o.enforcerLimit, base: base}
	s, err := e.fromSet(set)
	if err != nil {
		return nil, err
	}
	e.cur.Store(s)
	return e, nil
}

// Snapshot returns the current policy. A request should call it once and
// make all its decisions on the result, so that they share one version.
func (e *Engine) Snapshot() *Snapshot { return e.cur.Load() }

// Replace validates set and makes it the current policy. Snapshots
// already handed out keep deciding under the old policy. set.Version must
// be greater than the current version ([ErrStaleVersion] otherwise), so
// that a version number names one policy. The new snapshot serves its
// rules from memory, indexing them by partition: no enforcer is built
// until a decision needs it, and it needs no [Snapshot.Prepare].
func (e *Engine) Replace(set Set) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cur := e.cur.Load(); set.Version <= cur.Version() {
		return fmt.Errorf("replacing policy %d with %d: %w", cur.Version(), set.Version, ErrStaleVersion)
	}
	s, err := e.fromSet(set)
	if err != nil {
		return err
	}
	e.cur.Store(s)
	return nil
}

// Load makes the stored version described by info the current policy, its
// rules read through loader partition by partition when first needed (see
// [Snapshot.Prepare]): Load itself reads no rule. info.Version must be
// greater than the current version ([ErrStaleVersion] otherwise); its
// purposes and groupings are validated ([ErrInvalidPolicy]). Snapshots
// already handed out keep deciding under the old policy.
func (e *Engine) Load(ctx context.Context, info VersionInfo, loader Loader) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("loading policy %d: %w", info.Version, err)
	}
	if loader == nil {
		return fmt.Errorf("loading policy %d: nil loader", info.Version)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if cur := e.cur.Load(); info.Version <= cur.Version() {
		return fmt.Errorf("loading policy %d over %d: %w", info.Version, cur.Version(), ErrStaleVersion)
	}
	check := Set{Version: info.Version, Purposes: info.Purposes, Groupings: info.Groupings}
	if err := check.Validate(); err != nil {
		return fmt.Errorf("loading policy %d: %w", info.Version, err)
	}
	info = info.clone()
	sortSet(&Set{Purposes: info.Purposes, Groupings: info.Groupings})
	e.cur.Store(e.newSnapshot(info, loader, nil))
	return nil
}

// fromSet validates set and returns a snapshot serving it from memory.
func (e *Engine) fromSet(set Set) (*Snapshot, error) {
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("building policy %d: %w", set.Version, err)
	}
	set = set.Clone()
	sortSet(&set)
	d, err := set.Digest()
	if err != nil {
		return nil, fmt.Errorf("building policy %d: %w", set.Version, err)
	}
	info := VersionInfo{
		Version:   set.Version,
		Purposes:  set.Purposes,
		Groupings: set.Groupings,
		Rules:     len(set.Rules),
		Digest:    d,
	}
	return e.newSnapshot(info, MemoryLoader(set), &set), nil
}

func (e *Engine) newSnapshot(info VersionInfo, loader Loader, set *Set) *Snapshot {
	s := &Snapshot{
		info:      info,
		set:       set,
		purposes:  make(map[string]Purpose, len(info.Purposes)),
		groupings: make(map[string][][]string),
		loader:    loader,
		sensitive: e.sensitive,
		base:      e.base,
		memoLimit: int64(e.memoLimit),
		budget:    &enforcerBudget{limit: int64(e.enforcerLimit)},
	}
	for _, p := range info.Purposes {
		s.purposes[p.Code] = p
	}
	for _, g := range info.Groupings {
		s.groupings[g.Department] = append(s.groupings[g.Department], []string{g.Member, g.Role, g.Department})
	}
	return s
}

// Snapshot is one immutable version of the policy, with its memoised
// decisions. Its rules are read partition by partition, a partition being
// one department's rules on one dataset; see [Snapshot.Prepare]. It is
// safe for concurrent use.
type Snapshot struct {
	info      VersionInfo           // purposes and groupings sorted
	set       *Set                  // the whole policy, sorted, if the snapshot was built from a Set
	purposes  map[string]Purpose    // by code
	groupings map[string][][]string // department → g rows, as info.Groupings
	loader    Loader
	sensitive func(string) (bool, bool)
	base      model.Model

	parts sync.Map // partKey → *partition

	budget *enforcerBudget

	memoLimit int64
	memoSize  atomic.Int64
	levels    sync.Map // fieldKey → Level
	allowed   sync.Map // actionKey → bool
}

// partition is one department's rules on one dataset, loaded once. Its
// fields other than enforcers are written before ready is closed and only
// read after.
//
// Decisions are made by small Casbin enforcers, one per purpose, built
// when a decision first needs them: a request names one purpose, so only
// rules for that purpose or for any ("*") can match it, and Casbin's cost
// is proportional to the rules an enforcer holds (about 1 µs each).
type partition struct {
	ready chan struct{}
	err   error

	rules  []Rule     // the partition's own rules, sorted
	star   *partition // the department's "*" partition; nil for that one
	groups [][]string // the department's g rows
	roles  map[string]bool
	base   model.Model // the parsed model, copied for each enforcer

	budget    *enforcerBudget
	enforcers sync.Map        // purpose code → *purposeEnforcer
	all       purposeEnforcer // every purpose's rules, once the budget is spent
}

// enforcerBudget counts the per-purpose enforcers of a snapshot.
type enforcerBudget struct {
	limit int64
	n     atomic.Int64
}

// take reports whether one more per-purpose enforcer may be built, and
// counts it if so.
func (b *enforcerBudget) take() bool {
	if b.n.Add(1) <= b.limit {
		return true
	}
	b.n.Add(-1)
	return false
}

// purposeEnforcer is the enforcer of one partition for one purpose.
type purposeEnforcer struct {
	once sync.Once
	enf  *casbin.Enforcer // nil if no rule names the purpose or "*"
	err  error
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

// Version returns the policy version of the snapshot.
func (s *Snapshot) Version() uint64 { return s.info.Version }

// Info returns the description of the snapshot's version: purposes and
// groupings sorted, rule count and digest, and the provenance Engine.Load
// was given.
func (s *Snapshot) Info() VersionInfo { return s.info.clone() }

// Set returns a copy of the whole policy, rules, groupings and purposes
// sorted as [FormatCSV] and [FormatPurposes] sort them, and reports whether
// the snapshot has it: a snapshot made by [New] or [Engine.Replace] has it,
// one made by [Engine.Load] reads its rules partition by partition and
// does not.
func (s *Snapshot) Set() (Set, bool) {
	if s.set == nil {
		return Set{}, false
	}
	return s.set.Clone(), true
}

// Purpose returns the registered purpose with the given code, and reports
// whether there is one.
func (s *Snapshot) Purpose(code string) (Purpose, bool) {
	p, ok := s.purposes[code]
	return p, ok
}

// Purposes returns the purpose registry sorted by code.
func (s *Snapshot) Purposes() []Purpose { return slices.Clone(s.info.Purposes) }

// CheckPurpose returns an error wrapping [ErrUnknownPurpose] if code is not
// a registered purpose.
func (s *Snapshot) CheckPurpose(code string) error {
	if _, ok := s.purposes[code]; !ok {
		return fmt.Errorf("purpose %q: %w", code, ErrUnknownPurpose)
	}
	return nil
}

// Prepare loads, through the snapshot's loader, what decisions for sub
// about the given datasets need: the partitions of sub's department on
// each dataset and on "*". A request calls it once, before deciding;
// decisions whose partitions are not loaded are Deny. Partitions are
// loaded concurrently, once per snapshot however many requests ask at the
// same time; a partition that failed to load is tried again by the next
// Prepare. Prepare returns when everything is loaded, when loading failed
// (an error naming the partitions), or when ctx is done (ctx.Err()); a
// load it started keeps running to its end for the next caller. A
// snapshot made by [New] or [Engine.Replace] loads from memory within
// Decide and Allowed, so Prepare is optional there.
func (s *Snapshot) Prepare(ctx context.Context, sub Subject, datasets []string) error {
	if !isCode(sub.Department) {
		return nil // nothing to load: every decision is Deny
	}
	star := s.start(ctx, sub.Department, AnyObject, nil, true)
	waits := []*partition{star}
	for _, ds := range datasets {
		if !isName(ds) {
			continue
		}
		waits = append(waits, s.start(ctx, sub.Department, ds, star, true))
	}
	var errs []error
	for _, p := range waits {
		select {
		case <-p.ready:
			// A dataset partition that failed because its "*" partition did
			// wraps the latter's error: report it once.
			if p.err != nil && !slices.ContainsFunc(errs, func(err error) bool { return errors.Is(p.err, err) }) {
				errs = append(errs, p.err)
			}
		case <-ctx.Done():
			return fmt.Errorf("preparing policy %d for %s: %w", s.Version(), sub.Department, ctx.Err())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("preparing policy %d for %s: %w", s.Version(), sub.Department, err)
	}
	return nil
}

// AnyObject is the object "*", and the dataset of [PartitionFilter]
// selecting the rules on it.
const AnyObject = "*"

// start returns the partition (dept, ds), starting its load if nobody has:
// in a new goroutine if async, else in the caller's. star is the
// department's "*" partition, nil when ds is "*".
func (s *Snapshot) start(ctx context.Context, dept, ds string, star *partition, async bool) *partition {
	k := partKey{dept, ds}
	if v, ok := s.parts.Load(k); ok {
		return v.(*partition)
	}
	p := &partition{ready: make(chan struct{}), star: star, budget: s.budget}
	if v, loaded := s.parts.LoadOrStore(k, p); loaded {
		return v.(*partition)
	}
	// The load outlives the caller's cancellation, so that one request
	// giving up does not fail the others waiting for the same partition;
	// the loader's own timeouts bound it.
	ctx = context.WithoutCancel(ctx)
	if async {
		go s.fill(ctx, k, p)
	} else {
		s.fill(ctx, k, p)
	}
	return p
}

// fill loads partition k into p and marks it ready. A failed partition is
// forgotten, so that the next Prepare tries again.
func (s *Snapshot) fill(ctx context.Context, k partKey, p *partition) {
	p.err = s.load(ctx, k, p)
	if p.err != nil {
		p.err = fmt.Errorf("partition %s/%s: %w", k.department, k.dataset, p.err)
		s.parts.CompareAndDelete(k, p)
	}
	close(p.ready)
}

func (s *Snapshot) load(ctx context.Context, k partKey, p *partition) (err error) {
	defer func() {
		if r := recover(); r != nil { // a loader's bug must not take the hub down
			err = fmt.Errorf("loader panicked: %v", r)
		}
	}()
	m := s.base.Copy()
	f := PartitionFilter{Version: s.Version(), Department: k.department, Dataset: k.dataset}
	if cl, ok := s.loader.(contextLoader); ok {
		err = cl.LoadFilteredPolicyCtx(ctx, m, f)
	} else {
		err = s.loader.LoadFilteredPolicy(m, f)
	}
	if err != nil {
		return err
	}
	rows, groups := m["p"]["p"].Policy, m["g"]["g"].Policy
	if err := s.checkGroupings(k.department, groups); err != nil {
		return err
	}
	p.rules = make([]Rule, 0, len(rows))
	for _, row := range rows {
		r, err := s.checkRow(k, row)
		if err != nil {
			return err
		}
		p.rules = append(p.rules, r)
	}
	slices.SortFunc(p.rules, compareRules)
	p.groups = groups
	p.base = s.base
	if p.star != nil {
		<-p.star.ready
		if p.star.err != nil {
			return p.star.err
		}
	}
	p.roles = make(map[string]bool)
	for _, rs := range [][]Rule{p.rules, p.starRules()} {
		for _, r := range rs {
			p.roles[r.Role] = true
		}
	}
	if len(p.roles) == 0 {
		return nil // no rules: the groupings grant nothing
	}
	for _, g := range groups {
		p.roles[g[0]] = true
		p.roles[g[1]] = true
	}
	return nil
}

// enforcer returns p's enforcer for purpose, building it on first use; nil
// if no rule of p or of its department's "*" partition names purpose or
// "*".
func (p *partition) enforcer(purpose string) (*casbin.Enforcer, error) {
	if len(p.rules) == 0 && p.star != nil {
		return p.star.enforcer(purpose) // the "*" rules alone: share them
	}
	v, ok := p.enforcers.Load(purpose)
	if !ok {
		if !p.budget.take() {
			p.all.once.Do(func() { p.all.enf, p.all.err = p.build("") })
			return p.all.enf, p.all.err
		}
		var loaded bool
		if v, loaded = p.enforcers.LoadOrStore(purpose, new(purposeEnforcer)); loaded {
			p.budget.n.Add(-1) // another goroutine stored it first
		}
	}
	pe := v.(*purposeEnforcer)
	pe.once.Do(func() { pe.enf, pe.err = p.build(purpose) })
	return pe.enf, pe.err
}

// build returns an enforcer of p's rules (and its "*" partition's) for
// purpose, or for every purpose if purpose is "".
func (p *partition) build(purpose string) (*casbin.Enforcer, error) {
	m := p.base.Copy()
	n := 0
	for _, rs := range [][]Rule{p.rules, p.starRules()} {
		for _, r := range rs {
			if purpose == "" || r.Purpose == purpose || r.Purpose == AnyPurpose {
				if err := m.AddPolicy("p", "p", ruleRow(r)); err != nil {
					return nil, err
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil, nil
	}
	for _, g := range p.groups {
		if err := m.AddPolicy("g", "g", g); err != nil {
			return nil, err
		}
	}
	enf, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	if err := enf.BuildRoleLinks(); err != nil {
		return nil, err
	}
	return enf, nil
}

// starRules returns the department's rules on "*" that apply to p's
// dataset besides p's own.
func (p *partition) starRules() []Rule {
	if p.star == nil {
		return nil
	}
	return p.star.rules
}

// contextLoader is the method of [persist.ContextFilteredAdapter] that
// Prepare uses when a loader has it.
type contextLoader interface {
	LoadFilteredPolicyCtx(ctx context.Context, m model.Model, filter any) error
}

// checkRow parses a loaded "p" row and checks that it belongs to partition
// k and names registered purposes.
func (s *Snapshot) checkRow(k partKey, row []string) (Rule, error) {
	if len(row) != 6 {
		return Rule{}, fmt.Errorf("%w: loaded rule %q has %d fields, want 6", ErrInvalidPolicy, strings.Join(row, ", "), len(row))
	}
	r := Rule{Role: row[0], Department: row[1], Object: row[2], Action: Action(row[3]), Purpose: row[4], Effect: Effect(row[5])}
	if err := r.check(); err != nil {
		return Rule{}, fmt.Errorf("%w: loaded rule %q: %v", ErrInvalidPolicy, r.String(), err)
	}
	if r.Department != k.department || PartitionOf(r.Object) != k.dataset {
		return Rule{}, fmt.Errorf("%w: loaded rule %q does not belong to partition %s/%s", ErrInvalidPolicy, r.String(), k.department, k.dataset)
	}
	if _, ok := s.purposes[r.Purpose]; !ok && r.Purpose != AnyPurpose {
		return Rule{}, fmt.Errorf("%w: loaded rule %q: purpose %q is not registered", ErrInvalidPolicy, r.String(), r.Purpose)
	}
	return r, nil
}

// checkGroupings checks that the loaded groupings of dept are the
// version's.
func (s *Snapshot) checkGroupings(dept string, rows [][]string) error {
	want := s.groupings[dept]
	if len(rows) == len(want) {
		got := slices.Clone(rows)
		slices.SortFunc(got, func(a, b []string) int { return slices.Compare(a, b) })
		if slices.EqualFunc(got, want, slices.Equal) {
			return nil
		}
	}
	return fmt.Errorf("%w: loaded groupings of %s differ from those of version %d", ErrInvalidPolicy, dept, s.Version())
}

// partition returns the loaded partition of sub's department for the
// dataset of object, or nil if it is not loaded. A snapshot built from a
// Set loads it now.
func (s *Snapshot) partition(dept, object string) *partition {
	ds := datasetOf(object)
	v, ok := s.parts.Load(partKey{dept, ds})
	if !ok {
		if s.set == nil {
			return nil
		}
		// From memory, no I/O: load in this goroutine.
		ctx := context.Background()
		star := s.start(ctx, dept, AnyObject, nil, false)
		v = s.start(ctx, dept, ds, star, false)
	}
	p := v.(*partition)
	select {
	case <-p.ready:
	default:
		if s.set == nil {
			return nil // still loading: fail closed rather than wait
		}
		<-p.ready // another goroutine is loading it from memory
	}
	if p.err != nil {
		return nil
	}
	return p
}

// Decide returns the level at which sub may read field, a "dataset.field"
// name, for purpose: Reveal if reveal is allowed, else Commit if commit is
// allowed and the field is sensitive, else Deny. Unknown departments,
// roles, fields and purposes are Deny, and so is every field whose
// partition [Snapshot.Prepare] has not loaded.
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
	p := s.partitionFor(sub, field)
	if p == nil {
		return Deny, false
	}
	reveal, err := p.enforce(sub, ActionReveal, field, purpose)
	if err != nil {
		return Deny, false
	}
	if reveal {
		return Reveal, true
	}
	if !sensitive {
		return Deny, true
	}
	commit, err := p.enforce(sub, ActionCommit, field, purpose)
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
// and purposes, malformed objects, and objects whose partition
// [Snapshot.Prepare] has not loaded, are not allowed.
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
	p := s.partitionFor(sub, object)
	if p == nil {
		return false
	}
	ok, err := p.enforce(sub, act, object, purpose)
	if err != nil {
		return false
	}
	s.remember(&s.allowed, k, ok)
	return ok
}

// partitionFor returns the loaded partition deciding sub's requests about
// object, if sub's role appears in it.
func (s *Snapshot) partitionFor(sub Subject, object string) *partition {
	p := s.partition(sub.Department, object)
	if p == nil || !p.roles[sub.Role] {
		return nil
	}
	return p
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
func (p *partition) enforce(sub Subject, act Action, object, purpose string) (bool, error) {
	enf, err := p.enforcer(purpose)
	if enf == nil || err != nil {
		return false, err
	}
	return enf.Enforce(sub.Role, sub.Department, object, string(act), purpose)
}

// datasetOf returns the dataset part of an object: "tax" for "tax.year",
// "tax.*" and "tax", and "*" for "*".
func datasetOf(object string) string {
	ds, _, _ := strings.Cut(object, ".")
	return ds
}

// clone returns a deep copy of v.
func (v VersionInfo) clone() VersionInfo {
	v.Purposes = slices.Clone(v.Purposes)
	v.Groupings = slices.Clone(v.Groupings)
	v.Digest = slices.Clone(v.Digest)
	return v
}
