package policy

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/casbin/casbin/v2/model"
)

// Snapshot is one immutable version of the policy, with its memoised
// decisions. Its rules are read partition by partition, a partition being
// one department's rules on one dataset; see [Snapshot.Prepare]. It is
// safe for concurrent use.
//
// Its decisions are made by the pure functions of decide.go over a loaded
// partition; the partitions, the enforcers built from them and the
// memoised answers are cached by the methods of cache.go.
type Snapshot struct {
	info      VersionInfo           // purposes and groupings sorted
	set       *Set                  // the whole policy, sorted, if the snapshot was built from a Set
	purposes  map[string]Purpose    // by code
	groupings map[string][][]string // department → g rows, as info.Groupings
	sensitive func(string) (bool, bool)

	// The partition cache (cache.go).
	loader Loader
	base   model.Model // the parsed model.conf, copied for each enforcer; never modified
	parts  sync.Map    // partKey → *partition
	budget *enforcerBudget

	memo memo // answers (cache.go)
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

// Decide returns the level at which sub may read field, a "dataset.field"
// name, for purpose: Reveal if reveal is allowed, else (the field being
// sensitive) Prove if a prove rule allows some catalogued predicate of the
// field, else Commit if commit is allowed, else Deny. Unknown departments,
// roles, fields and purposes are Deny, and so is every field whose
// partition [Snapshot.Prepare] has not loaded.
func (s *Snapshot) Decide(sub Subject, field, purpose string) Level {
	k := fieldKey{sub: sub, field: field, purpose: purpose}
	if l, ok := s.memo.level(k); ok {
		return l
	}
	l, ok := s.decide(sub, field, purpose)
	if ok {
		s.memo.rememberLevel(k, l)
	}
	return l
}

// decide computes Decide's answer without the memo, and reports whether it
// may be memoised: answers about unknown inputs, partitions not loaded and
// Casbin's errors may not.
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
	l, err := decideField(p, sub, field, purpose, sensitive, s.predicatesOf(field))
	return l, err == nil
}

// Allowed reports whether sub may perform act on object for purpose, as the
// rules say and nothing more: object is a dataset name for write and list
// ("tax"), a "dataset.field" name for reveal and commit. Use [Snapshot.Decide]
// to decide what of a field to release. Unknown departments, roles, actions
// and purposes, malformed objects, and objects whose partition
// [Snapshot.Prepare] has not loaded, are not allowed.
func (s *Snapshot) Allowed(sub Subject, act Action, object, purpose string) bool {
	k := actionKey{sub: sub, act: act, object: object, purpose: purpose}
	if ok, found := s.memo.allowance(k); found {
		return ok
	}
	if _, ok := s.purposes[purpose]; !ok || !act.valid() {
		return false
	}
	switch {
	case act == ActionProve:
		if _, pred, ok := splitProofObject(object); !ok || pred == "*" {
			return false
		}
	case act.onFields() && !isField(object) || !act.onFields() && !isName(object):
		return false
	}
	p := s.partitionFor(sub, object)
	if p == nil {
		return false
	}
	ok, err := allowed(p, sub, act, object, purpose)
	if err != nil {
		return false
	}
	s.memo.rememberAllowed(k, ok)
	return ok
}

// Explain returns the decision for sub reading field for purpose, as
// [Snapshot.Decide] makes it, and the rules that produced it: the allow
// and deny rules that match, sub's role or a role it inherits through the
// department's groupings, the field (exactly or by a wildcard) and the
// purpose (exactly or by "*"). Explain works the decision out from those
// rules itself, so it doubles as a check of the Casbin model. It loads the
// partitions it needs as [Snapshot.Prepare] does, and returns an error
// only if they cannot be loaded. Unknown purposes and fields are Deny,
// with the reason.
func (s *Snapshot) Explain(ctx context.Context, sub Subject, field, purpose string) (Explanation, error) {
	pu, ok := s.purposes[purpose]
	if !ok {
		return unknownPurpose(purpose), nil
	}
	sensitive, known := false, false
	if isField(field) {
		sensitive, known = s.sensitive(field)
	}
	if !known {
		return unknownField(field), nil
	}
	if !isCode(sub.Department) || !isCode(sub.Role) {
		return noRuleMatches, nil
	}
	ds := datasetOf(field)
	if err := s.Prepare(ctx, sub, []string{ds}); err != nil {
		return Explanation{}, fmt.Errorf("explaining %s/%s on %s for %s: %w", sub.Department, sub.Role, field, purpose, err)
	}
	p := s.partition(sub.Department, ds)
	if p == nil {
		return Explanation{}, fmt.Errorf("explaining %s/%s on %s for %s: partition %s/%s is not loaded", sub.Department, sub.Role, field, purpose, sub.Department, ds)
	}
	x := explain(&p.partRules, sub, field, purpose, sensitive, s.predicatesOf(field))
	if pu.Sealed {
		x.Reason += fmt.Sprintf(" Purpose %q is sealed: each read names a court order and an unseal date at most %d days ahead, and its access entry shows the citizen no details until then.", purpose, pu.MaxSealDays)
	}
	return x, nil
}
