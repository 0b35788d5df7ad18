package policy

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2/model"
)

func TestDigest(t *testing.T) {
	set := Demo()
	var b bytes.Buffer
	if err := FormatCSV(&b, set.Rules, set.Groupings); err != nil {
		t.Fatal(err)
	}
	b.WriteByte(0)
	if err := FormatPurposes(&b, set.Purposes); err != nil {
		t.Fatal(err)
	}
	if len(set.Predicates) == 0 {
		t.Fatal("the demo policy has no predicate catalogue to digest")
	}
	b.WriteByte(0)
	if err := FormatPredicates(&b, set.Predicates); err != nil {
		t.Fatal(err)
	}
	if len(set.CertificateTypes) == 0 {
		t.Fatal("the demo policy has no certificate types to digest")
	}
	b.WriteString("\x00certificate-types\x00")
	if err := FormatCertificateTypes(&b, set.CertificateTypes); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(b.Bytes())
	got, err := set.Digest()
	if err != nil || !bytes.Equal(got, want[:]) {
		t.Fatalf("Digest() = %x, %v, want %x", got, err, want)
	}
	// Order and version do not matter; content does.
	shuffled := set.Clone()
	slices.Reverse(shuffled.Rules)
	slices.Reverse(shuffled.Purposes)
	shuffled.Version = 9
	if d, _ := shuffled.Digest(); !bytes.Equal(d, got) {
		t.Errorf("Digest of the reordered set = %x, want %x", d, got)
	}
	changed := set.Clone()
	changed.Rules[0].Effect = EffectDeny
	if d, _ := changed.Digest(); bytes.Equal(d, got) {
		t.Errorf("Digest of a changed set = the original's")
	}
	bad := set.Clone()
	bad.Rules[0].Action = "peek"
	if _, err := bad.Digest(); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("Digest of a malformed set = %v, want %v", err, ErrInvalidPolicy)
	}

	info, err := set.Info()
	if err != nil {
		t.Fatalf("Info() = %v", err)
	}
	if info.Version != set.Version || info.Rules != len(set.Rules) || !bytes.Equal(info.Digest, got) ||
		len(info.Groupings) != len(set.Groupings) || len(info.Purposes) != len(set.Purposes) {
		t.Errorf("Info() = %+v, want version %d, %d rules, digest %x", info, set.Version, len(set.Rules), got)
	}
	if !slices.IsSortedFunc(info.Purposes, func(a, b Purpose) int { return strings.Compare(a.Code, b.Code) }) {
		t.Errorf("Info().Purposes not sorted")
	}
}

func TestMemoryAdapter(t *testing.T) {
	set := loadTestPolicy(t) // version 7
	a := MemoryLoader(set)
	load := func(filter any) ([][]string, [][]string, error) {
		m, err := model.NewModelFromString(modelConf)
		if err != nil {
			t.Fatal(err)
		}
		err = a.LoadFilteredPolicy(m, filter)
		return m["p"]["p"].Policy, m["g"]["g"].Policy, err
	}
	for _, c := range []struct {
		name   string
		filter any
		rules  []string // "role object action" of the p rows
		groups int
	}{
		{"dataset", PartitionFilter{7, "alpha", "tax"}, []string{
			"officer tax write", "officer tax.* commit", "officer tax.* reveal", "officer tax.taxPaid reveal",
		}, 2},
		{"pointer", &PartitionFilter{7, "alpha", "tax"}, []string{
			"officer tax write", "officer tax.* commit", "officer tax.* reveal", "officer tax.taxPaid reveal",
		}, 2},
		{"star", PartitionFilter{7, "alpha", "*"}, []string{"auditor * commit"}, 2},
		{"groupings only", PartitionFilter{7, "alpha", "health"}, nil, 2},
		{"write rule on *", PartitionFilter{7, "beta", "*"}, []string{"admin * write"}, 1},
		{"nothing", PartitionFilter{7, "gamma", "tax"}, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, groups, err := load(c.filter)
			if err != nil {
				t.Fatalf("LoadFilteredPolicy(%+v) = %v", c.filter, err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r[0]+" "+r[2]+" "+r[3])
			}
			if !slices.Equal(got, c.rules) || len(groups) != c.groups {
				t.Errorf("LoadFilteredPolicy(%+v) = %q and %d groupings, want %q and %d", c.filter, got, len(groups), c.rules, c.groups)
			}
		})
	}
	if _, _, err := load(PartitionFilter{8, "alpha", "tax"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("LoadFilteredPolicy(other version) = %v, want %v", err, ErrNotFound)
	}
	if _, _, err := load("alpha/tax"); err == nil {
		t.Errorf("LoadFilteredPolicy(a string) = nil error, want an error")
	}
	if _, _, err := load((*PartitionFilter)(nil)); err == nil {
		t.Errorf("LoadFilteredPolicy(nil pointer) = nil error, want an error")
	}
	if !a.IsFiltered() {
		t.Errorf("IsFiltered() = false")
	}

	m, _ := model.NewModelFromString(modelConf)
	if err := a.LoadPolicy(m); err != nil {
		t.Fatalf("LoadPolicy = %v", err)
	}
	if got, want := len(m["p"]["p"].Policy), len(set.Rules); got != want {
		t.Errorf("LoadPolicy loaded %d rules, want %d", got, want)
	}
	if got, want := len(m["g"]["g"].Policy), len(set.Groupings); got != want {
		t.Errorf("LoadPolicy loaded %d groupings, want %d", got, want)
	}
	for _, err := range []error{
		a.SavePolicy(m), a.AddPolicy("p", "p", nil), a.RemovePolicy("p", "p", nil), a.RemoveFilteredPolicy("p", "p", 0),
	} {
		if err == nil {
			t.Errorf("a write method of the memory adapter returned nil")
		}
	}
}

func TestPartitionOf(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"tax.year", "tax"}, {"tax.*", "tax"}, {"tax", "tax"}, {"*", "*"},
	} {
		if got := PartitionOf(c.in); got != c.want {
			t.Errorf("PartitionOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
