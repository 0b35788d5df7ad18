package mongostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"golang.org/x/sync/errgroup"

	"github.com/govhub/govhub/policy"
)

// The adapter is a policy.Loader, with contexts, that can be warmed.
var (
	_ policy.Loader                  = (*PolicyAdapter)(nil)
	_ persist.ContextFilteredAdapter = (*PolicyAdapter)(nil)
	_ policy.ContextLoader           = (*PolicyAdapter)(nil)
	_ policy.Warmer                  = (*PolicyAdapter)(nil)
)

// errPolicyImmutable is returned by every write method of the adapter.
var errPolicyImmutable = errors.New("mongostore: stored policy versions are immutable; policy changes go through proposals and approvals")

// maxCachedPolicyVersions bounds how many versions an adapter keeps: each one's partition list and
// groupings, and the rules of every department read under it, up to the whole version's. Two are
// the version in force and the one before it, which requests that started under it may still be
// preparing: an engine only moves forward. An evicted version is read again if asked for.
const maxCachedPolicyVersions = 2

// PolicyAdapter is a read-only Casbin adapter over the policy versions of a [Store]: a
// policy.Loader, and a persist.FilteredAdapter and persist.ContextFilteredAdapter of Casbin v2.
//
// LoadFilteredPolicy, given a policy.PartitionFilter (or a pointer to one), adds to the model the
// rules of that partition, cut from its department's one stored document, read by _id (more if a
// huge department is split), and all of the department's groupings. A partition without rules adds
// only the groupings, and a department without any adds nothing; a version that is not stored is an
// error wrapping policy.ErrNotFound. LoadPolicy adds every rule and grouping of the latest version
// (nothing if there is none). The write methods return an error: versions are immutable, and policy
// changes go through proposals and approvals.
//
// What a version document says (its attempt key, partitions and groupings) never changes, so the
// adapter caches it for two versions (the one last asked for and the newest other), with the
// departments' rules it read: a department's rules are read once, and every dataset partition of
// the department is served from them. The methods without a context run under
// context.Background(), because Casbin's interface has none; the client's operation timeout
// (options.Client().SetTimeout) bounds them. Prefer the …Ctx methods.
//
// A PolicyAdapter is safe for concurrent use, by enforcers loading different partitions at once.
// It never closes or disconnects the store's client.
type PolicyAdapter struct {
	s        *Store
	filtered atomic.Bool
	latest   atomic.Uint64 // the latest version LoadPolicy found: the next probe's hint

	mu    sync.Mutex
	metas map[uint64]*policyMetaCall
}

// policyMeta is what an adapter keeps of one version document, and the departments' rules read.
type policyMeta struct {
	attempt string
	parts   map[policyPartKey]policyPart
	order   []policyPart          // every partition, by department and dataset
	groups  map[string][][]string // department → its g rows, "g" included
	depts   []string              // the departments with groupings, sorted

	mu    sync.Mutex
	rules map[string]*deptRulesCall // department → its rules, read once
}

// deptRulesCall is one department's rules of one version, read once, by dataset (policy.PartitionOf).
type deptRulesCall struct {
	done chan struct{}
	rows map[string][][]string
	err  error
}

// departmentRules returns a department's rules by dataset, reading its stored partition once.
func (a *PolicyAdapter) departmentRules(ctx context.Context, version uint64, meta *policyMeta, dept string) (map[string][][]string, error) {
	meta.mu.Lock()
	c, ok := meta.rules[dept]
	if !ok {
		c = &deptRulesCall{done: make(chan struct{})}
		meta.rules[dept] = c
	}
	meta.mu.Unlock()
	if ok {
		select {
		case <-c.done:
			return c.rows, c.err
		case <-ctx.Done():
			return nil, fmt.Errorf("reading the policy of %s: %w", dept, context.Cause(ctx))
		}
	}
	c.rows = map[string][][]string{}
	if p, ok := meta.parts[policyPartKey{dept, wholeDepartment}]; ok {
		c.err = a.s.readPolicyPartition(ctx, version, meta.attempt, p, func(row []string) error {
			ds := policy.PartitionOf(row[3])
			c.rows[ds] = append(c.rows[ds], row)
			return nil
		})
	}
	if c.err != nil {
		meta.mu.Lock()
		if meta.rules[dept] == c {
			delete(meta.rules, dept) // not remembered: the next load tries again
		}
		meta.mu.Unlock()
	}
	close(c.done)
	return c.rows, c.err
}

type policyPartKey struct{ department, dataset string }

// policyMetaCall is one version's cache entry, loaded once by the first caller that needs it.
type policyMetaCall struct {
	done chan struct{}
	meta *policyMeta
	err  error
}

// PolicyAdapter returns a new adapter over the store's policy versions, with an empty cache.
func (s *Store) PolicyAdapter() *PolicyAdapter {
	return &PolicyAdapter{s: s, metas: make(map[uint64]*policyMetaCall)}
}

// Warm reads a version's description (partition list, groupings) into the cache, so that the first
// decisions under a newly loaded version read only the partitions they need.
func (a *PolicyAdapter) Warm(ctx context.Context, version uint64) error {
	_, err := a.meta(ctx, version)
	return err
}

// meta returns the cached description of a version, reading its version document once.
func (a *PolicyAdapter) meta(ctx context.Context, version uint64) (*policyMeta, error) {
	a.mu.Lock()
	c, ok := a.metas[version]
	if !ok {
		c = &policyMetaCall{done: make(chan struct{})}
		a.metas[version] = c
		a.evictLocked(version)
	}
	a.mu.Unlock()
	if ok {
		select {
		case <-c.done:
			return c.meta, c.err
		case <-ctx.Done():
			return nil, fmt.Errorf("reading policy version %d: %w", version, context.Cause(ctx))
		}
	}
	c.meta, c.err = a.readMeta(ctx, version)
	if c.err != nil {
		// Not remembered: the version may be stored later, the network may recover.
		a.mu.Lock()
		if a.metas[version] == c {
			delete(a.metas, version)
		}
		a.mu.Unlock()
	}
	close(c.done)
	return c.meta, c.err
}

// evictLocked forgets the oldest loaded versions other than keep, beyond maxCachedPolicyVersions.
func (a *PolicyAdapter) evictLocked(keep uint64) {
	for len(a.metas) > maxCachedPolicyVersions {
		oldest, found := uint64(0), false
		for v, c := range a.metas {
			select {
			case <-c.done:
			default:
				continue // still loading
			}
			if v != keep && (!found || v < oldest) {
				oldest, found = v, true
			}
		}
		if !found {
			return
		}
		delete(a.metas, oldest)
	}
}

func (a *PolicyAdapter) readMeta(ctx context.Context, version uint64) (*policyMeta, error) {
	d, err := a.s.readPolicyVersion(ctx, version, true)
	if err != nil {
		return nil, err
	}
	m := &policyMeta{attempt: d.attempt, parts: make(map[policyPartKey]policyPart, len(d.parts)),
		order: d.parts, groups: make(map[string][][]string), rules: make(map[string]*deptRulesCall)}
	for _, p := range d.parts {
		m.parts[policyPartKey{p.Department, p.Dataset}] = p
	}
	for _, g := range d.info.Groupings {
		if _, ok := m.groups[g.Department]; !ok {
			m.depts = append(m.depts, g.Department)
		}
		m.groups[g.Department] = append(m.groups[g.Department], []string{"g", g.Member, g.Role, g.Department})
	}
	slices.Sort(m.depts)
	slices.SortFunc(m.order, func(x, y policyPart) int {
		if c := strings.Compare(x.Department, y.Department); c != 0 {
			return c
		}
		return strings.Compare(x.Dataset, y.Dataset)
	})
	return m, nil
}

// partitionFilter accepts a policy.PartitionFilter or a non-nil pointer to one.
func partitionFilter(filter any) (policy.PartitionFilter, error) {
	var f policy.PartitionFilter
	switch v := filter.(type) {
	case policy.PartitionFilter:
		f = v
	case *policy.PartitionFilter:
		if v == nil {
			return f, errors.New("mongostore: nil policy partition filter")
		}
		f = *v
	default:
		return f, fmt.Errorf("mongostore: unsupported policy filter type %T (want policy.PartitionFilter)", filter)
	}
	if f.Department == "" || f.Dataset == "" {
		return f, fmt.Errorf("mongostore: policy partition filter %+v names no department or dataset", f)
	}
	return f, nil
}

// LoadFilteredPolicyCtx implements persist.ContextFilteredAdapter: it adds one partition of one
// version, and the department's groupings, to m (see [PolicyAdapter]).
func (a *PolicyAdapter) LoadFilteredPolicyCtx(ctx context.Context, m model.Model, filter any) error {
	f, err := partitionFilter(filter)
	if err != nil {
		return err
	}
	meta, err := a.meta(ctx, f.Version)
	if err != nil {
		return err
	}
	rows, err := a.departmentRules(ctx, f.Version, meta, f.Department)
	if err != nil {
		return fmt.Errorf("loading policy %d partition %s/%s: %w", f.Version, f.Department, f.Dataset, err)
	}
	for _, row := range rows[f.Dataset] {
		if err := persist.LoadPolicyArray(slices.Clone(row), m); err != nil {
			return fmt.Errorf("loading policy %d partition %s/%s: %w", f.Version, f.Department, f.Dataset, err)
		}
	}
	if err := loadGroupings(m, meta.groups[f.Department]); err != nil {
		return fmt.Errorf("loading policy %d groupings of %s: %w", f.Version, f.Department, err)
	}
	a.filtered.Store(true)
	return nil
}

// loadGroupings adds g rows to m, each as a fresh slice: models keep what they are given.
func loadGroupings(m model.Model, rows [][]string) error {
	for _, row := range rows {
		if err := persist.LoadPolicyArray(slices.Clone(row), m); err != nil {
			return err
		}
	}
	return nil
}

// LoadFilteredPolicy implements persist.FilteredAdapter, as LoadFilteredPolicyCtx.
func (a *PolicyAdapter) LoadFilteredPolicy(m model.Model, filter any) error {
	return a.LoadFilteredPolicyCtx(context.Background(), m, filter)
}

// IsFilteredCtx implements persist.ContextFilteredAdapter, as IsFiltered.
func (a *PolicyAdapter) IsFilteredCtx(context.Context) bool { return a.IsFiltered() }

// IsFiltered implements persist.FilteredAdapter: it reports whether the adapter's last load was a
// filtered one. (Casbin then neither loads the whole policy into a new enforcer nor saves one.)
func (a *PolicyAdapter) IsFiltered() bool { return a.filtered.Load() }

// LoadPolicyCtx implements persist.ContextAdapter: it adds every rule of the latest version to m,
// partition by partition (by department, then dataset), then every grouping; with no version stored
// it adds nothing.
func (a *PolicyAdapter) LoadPolicyCtx(ctx context.Context, m model.Model) error {
	v, err := a.s.LatestVersion(ctx, a.latest.Load())
	if err != nil {
		return fmt.Errorf("loading the latest policy: %w", err)
	}
	if v == 0 {
		a.filtered.Store(false)
		return nil
	}
	meta, err := a.meta(ctx, v)
	if err != nil {
		return fmt.Errorf("loading policy %d: %w", v, err)
	}
	rows := make([][][]string, len(meta.order))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(policyReaders)
	for i, p := range meta.order {
		g.Go(func() error {
			rows[i] = make([][]string, 0, p.Rules)
			return a.s.readPolicyPartition(gctx, v, meta.attempt, p, func(row []string) error {
				rows[i] = append(rows[i], row)
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("loading policy %d: %w", v, err)
	}
	for _, part := range rows {
		for _, row := range part {
			if err := persist.LoadPolicyArray(row, m); err != nil {
				return fmt.Errorf("loading policy %d: %w", v, err)
			}
		}
	}
	for _, d := range meta.depts {
		if err := loadGroupings(m, meta.groups[d]); err != nil {
			return fmt.Errorf("loading policy %d groupings of %s: %w", v, d, err)
		}
	}
	a.latest.Store(v)
	a.filtered.Store(false)
	return nil
}

// LoadPolicy implements persist.Adapter, as LoadPolicyCtx.
func (a *PolicyAdapter) LoadPolicy(m model.Model) error {
	return a.LoadPolicyCtx(context.Background(), m)
}

// SavePolicyCtx returns an error: stored versions are immutable.
func (a *PolicyAdapter) SavePolicyCtx(context.Context, model.Model) error { return errPolicyImmutable }

// SavePolicy returns an error: stored versions are immutable.
func (a *PolicyAdapter) SavePolicy(model.Model) error { return errPolicyImmutable }

// AddPolicyCtx returns an error: stored versions are immutable.
func (a *PolicyAdapter) AddPolicyCtx(context.Context, string, string, []string) error {
	return errPolicyImmutable
}

// AddPolicy returns an error: stored versions are immutable.
func (a *PolicyAdapter) AddPolicy(string, string, []string) error { return errPolicyImmutable }

// RemovePolicyCtx returns an error: stored versions are immutable.
func (a *PolicyAdapter) RemovePolicyCtx(context.Context, string, string, []string) error {
	return errPolicyImmutable
}

// RemovePolicy returns an error: stored versions are immutable.
func (a *PolicyAdapter) RemovePolicy(string, string, []string) error { return errPolicyImmutable }

// RemoveFilteredPolicyCtx returns an error: stored versions are immutable.
func (a *PolicyAdapter) RemoveFilteredPolicyCtx(context.Context, string, string, int, ...string) error {
	return errPolicyImmutable
}

// RemoveFilteredPolicy returns an error: stored versions are immutable.
func (a *PolicyAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errPolicyImmutable
}
