package policy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// sorted returns set with rules, groupings and purposes in canonical order.
func sorted(set Set) Set {
	set = set.Clone()
	slices.SortFunc(set.Rules, compareRules)
	slices.SortFunc(set.Groupings, compareGroupings)
	slices.SortFunc(set.Purposes, func(a, b Purpose) int { return strings.Compare(a.Code, b.Code) })
	return set
}

func TestDemo(t *testing.T) {
	d := Demo()
	if d.Version != 1 {
		t.Errorf("Demo().Version = %d, want 1", d.Version)
	}
	var codes []string
	for _, p := range d.Purposes {
		codes = append(codes, p.Code)
	}
	want := []string{
		"business-registration", "home-purchase-eligibility", "identity-verification", "marriage-registration",
		"medical-treatment", "property-registration", "social-insurance-administration", "tax-administration",
	}
	if !slices.Equal(codes, want) {
		t.Errorf("Demo() purposes = %v, want %v", codes, want)
	}
	// Only the health department holds any rule allowing access to health.
	for _, r := range d.Rules {
		if r.Effect == EffectAllow && r.Department != "health" && (strings.HasPrefix(r.Object, "health") || r.Object == "*") {
			t.Errorf("Demo() rule %q gives health data outside the health department", r.String())
		}
	}
}

func TestWriteDirLoadDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, set := range []Set{Demo(), loadTestPolicy(t), {Version: 1 << 60}} {
		if err := WriteDir(dir, set); err != nil {
			t.Fatalf("WriteDir(v%d): %v", set.Version, err)
		}
		got, err := LoadDir(dir)
		if err != nil {
			t.Fatalf("LoadDir after WriteDir(v%d): %v", set.Version, err)
		}
		if want := sorted(set); !reflect.DeepEqual(sorted(got), want) {
			t.Errorf("LoadDir(WriteDir(v%d)) = %+v, want %+v", set.Version, got, want)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if mode := info.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s has mode %v, want 0600", e.Name(), mode)
			}
		}
		want := []string{PurposesFile, RulesFile} // predicates.json only with a catalogue, certificate-types.json only with types
		if len(set.Predicates) > 0 {
			want = append(want, PredicatesFile)
		}
		if len(set.CertificateTypes) > 0 {
			want = append(want, CertificateTypesFile)
		}
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("files in policy directory = %v, want %v", names, want)
		}
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("policy directory: %v, %v, want mode 0700", info.Mode(), err)
	}
}

func TestWriteDirRejectsInvalid(t *testing.T) {
	dir := t.TempDir()
	set := Demo()
	set.Purposes = set.Purposes[:1]
	if err := WriteDir(dir, set); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("WriteDir(invalid) = %v, want %v", err, ErrInvalidPolicy)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("WriteDir(invalid) left %d files", len(entries))
	}
}

func TestLoadDirErrors(t *testing.T) {
	purposes, err := os.ReadFile("testdata/policy/purposes.json")
	if err != nil {
		t.Fatal(err)
	}
	rule := "p, clerk, beta, tax.year, reveal, audit, allow\n"
	for _, c := range []struct {
		name            string
		rules, purposes string
		want            error
		msg             string
	}{
		{"no version", rule, string(purposes), ErrInvalidPolicy, "no \"# version: N\" line"},
		{"two versions", "# version: 1\n" + rule + "# version: 2\n", string(purposes), ErrInvalidPolicy, "line 3: invalid policy: second version line"},
		{"bad version", "# version: -1\n" + rule, string(purposes), ErrInvalidPolicy, "malformed version"},
		{"bad rule", "# version: 1\n" + rule + "p, clerk\n", string(purposes), ErrInvalidPolicy, "rules.csv: line 3"},
		{"unregistered purpose", "# version: 1\np, clerk, beta, tax.year, reveal, spying, allow\n", string(purposes), ErrInvalidPolicy, "not registered"},
		{"bad purposes", "# version: 1\n", "{}", ErrInvalidPolicy, "purposes.json"},
		{"no rules file", "", string(purposes), fs.ErrNotExist, ""},
		{"no purposes file", "# version: 1\n", "", fs.ErrNotExist, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.rules != "" {
				if err := os.WriteFile(filepath.Join(dir, RulesFile), []byte(c.rules), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if c.purposes != "" {
				if err := os.WriteFile(filepath.Join(dir, PurposesFile), []byte(c.purposes), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadDir(dir)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("LoadDir() = %v, want %v containing %q", err, c.want, c.msg)
			}
		})
	}
}
