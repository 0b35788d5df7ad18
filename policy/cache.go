package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// This file holds what a [Snapshot] caches and how it fills the cache:
// partitions loaded once per snapshot through its [Loader], the per-purpose
// enforcers built from them within a budget, and the memoised answers
// within a limit. The decision rules themselves are in decide.go.

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
	// The loads outlive the caller's cancellation, so that one request
	// giving up does not fail the others waiting for the same partition;
	// the loader's own timeouts bound them.
	loadCtx := context.WithoutCancel(ctx)
	read := func(k partKey) (rows, groups [][]string, err error) { return s.read(loadCtx, k) }
	star := s.start(partKey{sub.Department, AnyObject}, nil, read, true)
	waits := []*partition{star}
	for _, ds := range datasets {
		if !isName(ds) {
			continue
		}
		waits = append(waits, s.start(partKey{sub.Department, ds}, star, read, true))
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

// partition is one department's rules on one dataset, loaded once, with
// the enforcers built from them. Its partRules are written before ready is
// closed and only read after.
//
// Decisions are made by small Casbin enforcers, one per purpose, built
// when a decision first needs them: a request names one purpose, so only
// rules for that purpose or for any ("*") can match it, and Casbin's cost
// is proportional to the rules an enforcer holds (about 1 µs each).
type partition struct {
	ready chan struct{}
	err   error
	partRules

	starPart *partition  // the department's "*" partition; nil for that one
	base     model.Model // the parsed model, copied for each enforcer

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

// readFunc reads the "p" and "g" rows of partition k.
type readFunc func(k partKey) (rows, groups [][]string, err error)

// start returns the partition k, starting its load with read if nobody
// has: in a new goroutine if async, else in the caller's. star is the
// department's "*" partition, nil when k is that one.
func (s *Snapshot) start(k partKey, star *partition, read readFunc, async bool) *partition {
	if v, ok := s.parts.Load(k); ok {
		return v.(*partition)
	}
	p := &partition{ready: make(chan struct{}), starPart: star, budget: s.budget}
	if v, loaded := s.parts.LoadOrStore(k, p); loaded {
		return v.(*partition)
	}
	if async {
		go s.fill(read, k, p)
	} else {
		s.fill(read, k, p)
	}
	return p
}

// fill loads partition k into p and marks it ready. A failed partition is
// forgotten, so that the next Prepare tries again.
func (s *Snapshot) fill(read readFunc, k partKey, p *partition) {
	p.err = s.load(read, k, p)
	if p.err != nil {
		p.err = fmt.Errorf("partition %s/%s: %w", k.department, k.dataset, p.err)
		s.parts.CompareAndDelete(k, p)
	}
	close(p.ready)
}

func (s *Snapshot) load(read readFunc, k partKey, p *partition) (err error) {
	defer func() {
		if r := recover(); r != nil { // a loader's bug must not take the hub down
			err = fmt.Errorf("loader panicked: %v", r)
		}
	}()
	rows, groups, err := read(k)
	if err != nil {
		return err
	}
	if err := s.checkGroupings(k.department, groups); err != nil {
		return err
	}
	own := make([]Rule, 0, len(rows))
	for _, row := range rows {
		r, err := s.checkRow(k, row)
		if err != nil {
			return err
		}
		own = append(own, r)
	}
	slices.SortFunc(own, compareRules)
	p.base = s.base
	var star []Rule
	if p.starPart != nil {
		<-p.starPart.ready
		if p.starPart.err != nil {
			return p.starPart.err
		}
		star = p.starPart.own
	}
	p.partRules = newPartRules(own, star, groups)
	return nil
}

// read reads partition k through the snapshot's loader, under ctx if the
// loader is a [ContextLoader].
func (s *Snapshot) read(ctx context.Context, k partKey) (rows, groups [][]string, err error) {
	m := s.base.Copy()
	f := PartitionFilter{Version: s.Version(), Department: k.department, Dataset: k.dataset}
	if cl, ok := s.loader.(ContextLoader); ok {
		err = cl.LoadFilteredPolicyCtx(ctx, m, f)
	} else {
		err = s.loader.LoadFilteredPolicy(m, f)
	}
	if err != nil {
		return nil, nil, err
	}
	return m["p"]["p"].Policy, m["g"]["g"].Policy, nil
}

// readMemory reads partition k of a snapshot built from a [Set]: its
// loader is the set's [MemoryAdapter], which does no I/O and so takes no
// context.
func (s *Snapshot) readMemory(k partKey) (rows, groups [][]string, err error) {
	m := s.base.Copy()
	f := PartitionFilter{Version: s.Version(), Department: k.department, Dataset: k.dataset}
	if err := s.loader.LoadFilteredPolicy(m, f); err != nil {
		return nil, nil, err
	}
	return m["p"]["p"].Policy, m["g"]["g"].Policy, nil
}

// enforcer returns p's enforcer for purpose, building it on first use
// within the snapshot's budget, past which it builds one enforcer holding
// every purpose's rules; nil if no rule of p or of its department's "*"
// partition names purpose or "*". It implements [enforcers].
func (p *partition) enforcer(purpose string) (*casbin.Enforcer, error) {
	if len(p.own) == 0 && p.starPart != nil {
		return p.starPart.enforcer(purpose) // the "*" rules alone: share them
	}
	v, ok := p.enforcers.Load(purpose)
	if !ok {
		if !p.budget.take() {
			p.all.once.Do(func() { p.all.enf, p.all.err = p.newEnforcer(p.base, "") })
			return p.all.enf, p.all.err
		}
		var loaded bool
		if v, loaded = p.enforcers.LoadOrStore(purpose, new(purposeEnforcer)); loaded {
			p.budget.n.Add(-1) // another goroutine stored it first
		}
	}
	pe := v.(*purposeEnforcer)
	pe.once.Do(func() { pe.enf, pe.err = p.newEnforcer(p.base, purpose) })
	return pe.enf, pe.err
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

// partition returns the loaded partition of dept for the dataset of
// object, or nil if it is not loaded. A snapshot built from a Set loads it
// now, from memory: deciding never waits for I/O, and so needs no context.
func (s *Snapshot) partition(dept, object string) *partition {
	ds := datasetOf(object)
	v, ok := s.parts.Load(partKey{dept, ds})
	if !ok {
		if s.set == nil {
			return nil
		}
		// From memory, no I/O: load in this goroutine.
		star := s.start(partKey{dept, AnyObject}, nil, s.readMemory, false)
		v = s.start(partKey{dept, ds}, star, s.readMemory, false)
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

// partitionFor returns the loaded partition deciding sub's requests about
// object, if sub's role appears in it.
func (s *Snapshot) partitionFor(sub Subject, object string) *partition {
	p := s.partition(sub.Department, object)
	if p == nil || !p.roles[sub.Role] {
		return nil
	}
	return p
}

// memo holds a snapshot's memoised answers, at most limit of them. It is
// safe for concurrent use.
type memo struct {
	limit   int64
	size    atomic.Int64
	levels  sync.Map // fieldKey → Level
	allowed sync.Map // actionKey → bool
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

// level returns the memoised answer of Decide for k, if there is one.
func (m *memo) level(k fieldKey) (Level, bool) {
	v, ok := m.levels.Load(k)
	if !ok {
		return Deny, false
	}
	return v.(Level), true
}

// allowance returns the memoised answer of Allowed for k, and reports
// whether there is one.
func (m *memo) allowance(k actionKey) (allowed, found bool) {
	v, ok := m.allowed.Load(k)
	if !ok {
		return false, false
	}
	return v.(bool), true
}

func (m *memo) rememberLevel(k fieldKey, l Level)    { m.remember(&m.levels, k, l) }
func (m *memo) rememberAllowed(k actionKey, ok bool) { m.remember(&m.allowed, k, ok) }

func (m *memo) remember(to *sync.Map, k, v any) {
	if m.size.Load() >= m.limit {
		return
	}
	if _, loaded := to.LoadOrStore(k, v); !loaded {
		m.size.Add(1)
	}
}
