package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
)

// Errors reported by [Storage] implementations.
var (
	// ErrNotFound reports a policy version that is not stored.
	ErrNotFound = errors.New("policy version not found")
	// ErrVersionExists reports that a version number is already taken:
	// another approval stored that version first.
	ErrVersionExists = errors.New("policy version already exists")
)

// PartitionFilter selects the rules of one department about one dataset
// ("*" for the rules whose object is "*"), with the department's groupings:
// what one enforcer needs. It is the filter a [Loader]'s LoadFilteredPolicy
// receives, as a PartitionFilter value.
//
// For example, under the rules
//
//	p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow
//	p, clerk, housing, identity.*, commit, *, allow
//	p, auditor, housing, *, commit, *, allow
//	p, clerk, tax, tax.year, reveal, *, allow
//	g, senior-clerk, clerk, housing
//
// of version 3, PartitionFilter{3, "housing", "identity"} selects the first
// two rules and the grouping, PartitionFilter{3, "housing", "*"} the third
// rule and the grouping, and PartitionFilter{3, "housing", "tax"} only the
// grouping. Write and list rules name a dataset ("tax"), and belong to that
// dataset's partition like the field rules on it.
type PartitionFilter struct {
	Version    uint64
	Department string
	Dataset    string // a dataset name, or "*"
}

// PartitionOf returns the dataset a rule's object belongs to: "tax" for
// "tax.year", "tax.*" and "tax", and "*" for "*". Rule r belongs to
// PartitionFilter{v, r.Department, PartitionOf(r.Object)}.
func PartitionOf(object string) string { return datasetOf(object) }

// datasetOf returns the dataset part of an object: "tax" for "tax.year",
// "tax.*" and "tax", and "*" for "*".
func datasetOf(object string) string {
	ds, _, _ := strings.Cut(object, ".")
	return ds
}

// AnyObject is the object "*", and the dataset of [PartitionFilter]
// selecting the rules on it.
const AnyObject = "*"

// VersionInfo is a stored version without its rules.
type VersionInfo struct {
	Version   uint64
	Purposes  []Purpose
	Groupings []Grouping
	// Predicates is the predicate catalogue, sorted by name; nil if the
	// version has none.
	Predicates []Predicate
	// CertificateTypes are the certificate types, sorted by code; nil if the version has none.
	CertificateTypes []CertificateType
	Rules            int // how many
	// Digest is SHA-256 of FormatCSV(rules, groupings) ‖ 0x00 ‖
	// FormatPurposes(purposes), followed by 0x00 ‖ FormatPredicates(predicates)
	// when there are predicates, and by 0x00 ‖ "certificate-types" ‖ 0x00 ‖
	// FormatCertificateTypes(types) when there are certificate types; see [Set.Digest].
	Digest     []byte
	Created    time.Time
	ProposalID string // "" for an import
	ProposedBy string
	ApprovedBy string
	Reason     string
}

// Storage keeps policy versions. Versions are immutable once stored.
// Implementations are safe for concurrent use.
type Storage interface {
	// SaveVersion stores a whole version: info (whose Version, Rules count
	// and Digest describe rules) and the rules. It returns an error wrapping
	// ErrVersionExists if that version number is taken (another approval
	// won); nothing is then changed.
	SaveVersion(ctx context.Context, info VersionInfo, rules []Rule) error
	// LatestVersion returns the highest stored version, 0 if none; hint is a
	// version known to exist, or 0 (implementations probe upwards from it by
	// _id).
	LatestVersion(ctx context.Context, hint uint64) (uint64, error)
	// VersionInfo returns a stored version without its rules, or an error
	// wrapping ErrNotFound.
	VersionInfo(ctx context.Context, version uint64) (VersionInfo, error)
	// AllRules returns every rule of a version (for export and impact), or
	// an error wrapping ErrNotFound; it may be slow.
	AllRules(ctx context.Context, version uint64) ([]Rule, error)
}

// Loader gives an engine the rules of one partition. It is a Casbin
// filtered adapter whose LoadFilteredPolicy(m, f) is called with a
// [PartitionFilter] value f and adds to m, through
// [persist.LoadPolicyArray] (which skips duplicates) or m.AddPolicy:
//
//   - the "p" rows of the partition's rules, role, department, object,
//     action, purpose, effect (the fields of [Rule] in that order);
//   - the "g" rows of all of the department's groupings, member, role,
//     department.
//
// A partition without rules adds only the groupings, and a version or
// department without any adds nothing; that is not an error. Errors mean
// the partition could not be read (the engine then denies everything that
// needs it), and should wrap ErrNotFound when the version is not stored.
// A loader may have optional abilities besides, each an interface of its
// own: a [ContextLoader] is read under the context of [Snapshot.Prepare],
// and a [Warmer] can read a version's description ahead of its rules. The
// engine never calls the write methods. Loaders are called concurrently,
// for different partitions.
//
// store/mongostore provides one that reads, by _id, one document per
// department (more if it is split) and cuts every dataset partition of
// that department from it, and has both abilities; [MemoryLoader] serves
// one [Set] from memory, and has neither.
type Loader interface {
	persist.FilteredAdapter
}

// ContextLoader is the optional ability of a [Loader] to read a partition
// under a context: the method LoadFilteredPolicyCtx of
// [persist.ContextFilteredAdapter], which must do what LoadFilteredPolicy
// does, return ctx's error if ctx ends first, and be safe for concurrent
// use. When a loader has it, [Snapshot.Prepare] calls it instead of
// LoadFilteredPolicy, with its own context without the cancellation (a
// load started for one request serves all that wait for it), so only
// ctx's values and the loader's own timeouts bound the read.
type ContextLoader interface {
	LoadFilteredPolicyCtx(ctx context.Context, m model.Model, filter any) error
}

// Warmer is the optional ability of a [Loader] to read what it needs of a
// stored version before any partition of it (for a store, the version's
// description: partition list and groupings), so that the first decisions
// under that version read only the partitions they need. Warm returns an
// error if the version cannot be read, wrapping [ErrNotFound] if it is not
// stored; it is safe for concurrent use, and warming a version twice is
// harmless. The engine does not call it: whoever follows stored versions
// calls it, when the loader has it, before [Engine.Load].
type Warmer interface {
	Warm(ctx context.Context, version uint64) error
}

// Digest returns SHA-256 of FormatCSV(s.Rules, s.Groupings) ‖ 0x00 ‖
// FormatPurposes(s.Purposes), followed by 0x00 ‖
// FormatPredicates(s.Predicates) only when s has predicates (so a set
// without predicates has the digest it had before them), and by 0x00 ‖
// "certificate-types" ‖ 0x00 ‖ FormatCertificateTypes(s.CertificateTypes)
// only when s has certificate types: it names the
// content of a policy version independently of its number and of the
// order of its rules.
func (s Set) Digest() ([]byte, error) {
	var b bytes.Buffer
	if err := FormatCSV(&b, s.Rules, s.Groupings); err != nil {
		return nil, fmt.Errorf("digesting policy %d: %w", s.Version, err)
	}
	b.WriteByte(0)
	if err := FormatPurposes(&b, s.Purposes); err != nil {
		return nil, fmt.Errorf("digesting policy %d: %w", s.Version, err)
	}
	if len(s.Predicates) > 0 {
		b.WriteByte(0)
		if err := FormatPredicates(&b, s.Predicates); err != nil {
			return nil, fmt.Errorf("digesting policy %d: %w", s.Version, err)
		}
	}
	if len(s.CertificateTypes) > 0 {
		b.WriteString("\x00certificate-types\x00")
		if err := FormatCertificateTypes(&b, s.CertificateTypes); err != nil {
			return nil, fmt.Errorf("digesting policy %d: %w", s.Version, err)
		}
	}
	d := sha256.Sum256(b.Bytes())
	return d[:], nil
}

// Info returns the [VersionInfo] describing s: its version, purposes and
// groupings (sorted by code, and by department, member and role), rule
// count and digest. The caller fills in the rest (Created, ProposalID…).
func (s Set) Info() (VersionInfo, error) {
	d, err := s.Digest()
	if err != nil {
		return VersionInfo{}, err
	}
	s = s.Clone()
	sortSet(&s)
	return VersionInfo{
		Version:          s.Version,
		Purposes:         s.Purposes,
		Groupings:        s.Groupings,
		Predicates:       s.Predicates,
		CertificateTypes: s.CertificateTypes,
		Rules:            len(s.Rules),
		Digest:           d,
	}, nil
}

// MemoryAdapter is a read-only [Loader] over one policy [Set] held in
// memory, for tests and for policies read from files. It is safe for
// concurrent use.
type MemoryAdapter struct {
	version uint64
	parts   map[partKey][][]string // p rows, sorted
	groups  map[string][][]string  // department → g rows, sorted
}

type partKey struct{ department, dataset string }

// MemoryLoader returns a loader serving the rules and groupings of set
// under set.Version. The set is not validated; the engine validates what
// it is given with [New] and [Engine.Replace].
func MemoryLoader(set Set) *MemoryAdapter {
	set = set.Clone()
	sortSet(&set)
	a := &MemoryAdapter{
		version: set.Version,
		parts:   make(map[partKey][][]string),
		groups:  make(map[string][][]string),
	}
	for _, r := range set.Rules {
		k := partKey{r.Department, PartitionOf(r.Object)}
		a.parts[k] = append(a.parts[k], ruleRow(r))
	}
	for _, g := range set.Groupings {
		a.groups[g.Department] = append(a.groups[g.Department], []string{g.Member, g.Role, g.Department})
	}
	return a
}

// LoadFilteredPolicy adds the partition selected by filter, a
// [PartitionFilter] or *PartitionFilter, to m. A filter naming another
// version than the set's is an error wrapping ErrNotFound.
func (a *MemoryAdapter) LoadFilteredPolicy(m model.Model, filter any) error {
	var f PartitionFilter
	switch v := filter.(type) {
	case PartitionFilter:
		f = v
	case *PartitionFilter:
		if v == nil {
			return errors.New("policy: nil partition filter")
		}
		f = *v
	default:
		return fmt.Errorf("policy: unsupported filter type %T (want PartitionFilter)", filter)
	}
	if f.Version != a.version {
		return fmt.Errorf("loading policy %d: %w", f.Version, ErrNotFound)
	}
	// The engine loads each partition into a fresh model: add the rows
	// without LoadPolicyArray's search for duplicates.
	for _, row := range a.parts[partKey{f.Department, f.Dataset}] {
		if err := m.AddPolicy("p", "p", slices.Clone(row)); err != nil {
			return err
		}
	}
	for _, row := range a.groups[f.Department] {
		if err := m.AddPolicy("g", "g", slices.Clone(row)); err != nil {
			return err
		}
	}
	return nil
}

// IsFiltered reports true: the adapter loads partitions.
func (a *MemoryAdapter) IsFiltered() bool { return true }

// LoadPolicy adds every rule and grouping of the set to m.
func (a *MemoryAdapter) LoadPolicy(m model.Model) error {
	keys := make([]partKey, 0, len(a.parts))
	for k := range a.parts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y partKey) int {
		if c := strings.Compare(x.department, y.department); c != 0 {
			return c
		}
		return strings.Compare(x.dataset, y.dataset)
	})
	for _, k := range keys {
		for _, row := range a.parts[k] {
			if err := persist.LoadPolicyArray(append([]string{"p"}, row...), m); err != nil {
				return err
			}
		}
	}
	depts := make([]string, 0, len(a.groups))
	for d := range a.groups {
		depts = append(depts, d)
	}
	slices.Sort(depts)
	for _, d := range depts {
		for _, row := range a.groups[d] {
			if err := persist.LoadPolicyArray(append([]string{"g"}, row...), m); err != nil {
				return err
			}
		}
	}
	return nil
}

var errReadOnly = errors.New("policy: the adapter is read-only")

// SavePolicy returns an error: the adapter is read-only.
func (a *MemoryAdapter) SavePolicy(model.Model) error { return errReadOnly }

// AddPolicy returns an error: the adapter is read-only.
func (a *MemoryAdapter) AddPolicy(string, string, []string) error { return errReadOnly }

// RemovePolicy returns an error: the adapter is read-only.
func (a *MemoryAdapter) RemovePolicy(string, string, []string) error { return errReadOnly }

// RemoveFilteredPolicy returns an error: the adapter is read-only.
func (a *MemoryAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errReadOnly
}

// ruleRow returns r as a Casbin "p" row without the "p".
func ruleRow(r Rule) []string {
	return []string{r.Role, r.Department, r.Object, string(r.Action), r.Purpose, string(r.Effect)}
}

// sortSet sorts the rules, groupings and purposes of s in place, in the
// order of FormatCSV and FormatPurposes.
func sortSet(s *Set) {
	slices.SortFunc(s.Rules, compareRules)
	slices.SortFunc(s.Groupings, compareGroupings)
	slices.SortFunc(s.Purposes, func(a, b Purpose) int { return strings.Compare(a.Code, b.Code) })
	slices.SortFunc(s.Predicates, comparePredicates)
	slices.SortFunc(s.CertificateTypes, compareTypes)
}
