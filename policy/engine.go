package policy

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

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
	check := Set{Version: info.Version, Purposes: info.Purposes, Groupings: info.Groupings, Predicates: info.Predicates, CertificateTypes: info.CertificateTypes}
	if err := check.Validate(); err != nil {
		return fmt.Errorf("loading policy %d: %w", info.Version, err)
	}
	info = info.clone()
	sortSet(&Set{Purposes: info.Purposes, Groupings: info.Groupings, Predicates: info.Predicates, CertificateTypes: info.CertificateTypes})
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
		Version:          set.Version,
		Purposes:         set.Purposes,
		Groupings:        set.Groupings,
		Predicates:       set.Predicates,
		CertificateTypes: set.CertificateTypes,
		Rules:            len(set.Rules),
		Digest:           d,
	}
	return e.newSnapshot(info, MemoryLoader(set), &set), nil
}

func (e *Engine) newSnapshot(info VersionInfo, loader Loader, set *Set) *Snapshot {
	s := &Snapshot{
		info:      info,
		set:       set,
		purposes:  make(map[string]Purpose, len(info.Purposes)),
		groupings: make(map[string][][]string),
		sensitive: e.sensitive,
		loader:    loader,
		base:      e.base,
		budget:    &enforcerBudget{limit: int64(e.enforcerLimit)},
	}
	s.memo.limit = int64(e.memoLimit)
	for _, p := range info.Purposes {
		s.purposes[p.Code] = p
	}
	for _, g := range info.Groupings {
		s.groupings[g.Department] = append(s.groupings[g.Department], []string{g.Member, g.Role, g.Department})
	}
	return s
}

// clone returns a deep copy of v.
func (v VersionInfo) clone() VersionInfo {
	v.Purposes = slices.Clone(v.Purposes)
	v.Groupings = slices.Clone(v.Groupings)
	v.Predicates = slices.Clone(v.Predicates)
	v.CertificateTypes = cloneTypes(v.CertificateTypes)
	v.Digest = slices.Clone(v.Digest)
	return v
}
