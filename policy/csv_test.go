package policy

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestParseCSV(t *testing.T) {
	in := "\uFEFF# comment\r\n" +
		"\n" +
		"  p ,clerk,  housing , identity.name,reveal, home-purchase-eligibility ,allow  \r\n" +
		"   # indented comment\n" +
		"\t\n" +
		"p, auditor, alpha, *, commit, *, deny\n" +
		"g, senior-clerk, clerk, housing" // no final newline
	rules, groups, err := ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	wantRules := []Rule{
		{Role: "clerk", Department: "housing", Object: "identity.name", Action: ActionReveal, Purpose: hpe, Effect: EffectAllow},
		{Role: "auditor", Department: "alpha", Object: "*", Action: ActionCommit, Purpose: "*", Effect: EffectDeny},
	}
	wantGroups := []Grouping{{Member: "senior-clerk", Role: "clerk", Department: "housing"}}
	if !reflect.DeepEqual(rules, wantRules) {
		t.Errorf("ParseCSV rules = %v, want %v", rules, wantRules)
	}
	if !reflect.DeepEqual(groups, wantGroups) {
		t.Errorf("ParseCSV groupings = %v, want %v", groups, wantGroups)
	}

	rules, groups, err = ParseCSV(strings.NewReader("# nothing\n\n"))
	if err != nil || len(rules) != 0 || len(groups) != 0 {
		t.Errorf("ParseCSV(comments only) = %v, %v, %v, want nothing", rules, groups, err)
	}
}

func TestParseCSVErrors(t *testing.T) {
	ok := "p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow\n"
	for _, c := range []struct {
		name, in string
		line     int
		want     string
	}{
		{"short rule", "p, clerk, housing, identity.name, reveal, allow", 1, "6 fields, want 7"},
		{"long rule", ok[:len(ok)-1] + ", extra", 1, "8 fields, want 7"},
		{"short grouping", ok + "# c\ng, senior-clerk, clerk", 3, "3 fields, want 4"},
		{"unknown type", ok + "x, a, b, c", 2, `unknown line type "x"`},
		{"upper-case type", "P, clerk, housing, identity.name, reveal, hpe, allow", 1, `unknown line type "P"`},
		{"quoted field", `p, "clerk", housing, identity.name, reveal, hpe, allow`, 1, "malformed role"},
		{"empty field", "p, clerk, , identity.name, reveal, hpe, allow", 1, "malformed department"},
		{"bad action", ok + ok + "p, clerk, housing, identity.name, read, hpe, allow", 3, "unknown action"},
		{"bad effect", "p, clerk, housing, identity.name, reveal, hpe, permit", 1, "unknown effect"},
		{"bad object", "p, clerk, housing, identity, reveal, hpe, allow", 1, "malformed object"},
		{"self grouping", "g, clerk, clerk, housing", 1, "inherits itself"},
		{"long line", ok + "# " + strings.Repeat("x", maxLineLen) + "\n", 2, "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ParseCSV(strings.NewReader(c.in))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != c.line || !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ParseCSV() = %v, want a ParseError at line %d wrapping %v and containing %q", err, c.line, ErrInvalidPolicy, c.want)
			}
		})
	}
}

func TestFormatCSVGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/policy/rules.csv")
	if err != nil {
		t.Fatal(err)
	}
	rules, groups, err := ParseCSV(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	var buf bytes.Buffer
	if err := FormatCSV(&buf, rules, groups); err != nil {
		t.Fatalf("FormatCSV: %v", err)
	}
	golden := filepath.Join("testdata", "canonical.csv")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("FormatCSV(testdata policy) =\n%s\nwant (%s)\n%s", got, golden, want)
	}
	checkCSVRoundTrip(t, buf.Bytes())
}

func TestFormatCSVRejectsInvalid(t *testing.T) {
	for _, c := range []struct {
		name   string
		rules  []Rule
		groups []Grouping
	}{
		{"comma in object", []Rule{{Role: "clerk", Department: "housing", Object: "a,b", Action: ActionReveal, Purpose: "*", Effect: EffectAllow}}, nil},
		{"newline in role", []Rule{{Role: "clerk\np", Department: "housing", Object: "*", Action: ActionReveal, Purpose: "*", Effect: EffectAllow}}, nil},
		{"empty grouping", nil, []Grouping{{}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := FormatCSV(&buf, c.rules, c.groups); !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("FormatCSV() = %v, want %v", err, ErrInvalidPolicy)
			}
		})
	}
}

// checkCSVRoundTrip checks that data, a canonical rules file, parses and
// formats back to itself, and that ParseCSV returns rules in its order.
func checkCSVRoundTrip(t *testing.T, data []byte) {
	t.Helper()
	rules, groups, err := ParseCSV(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ParseCSV(canonical) = %v", err)
	}
	var buf bytes.Buffer
	if err := FormatCSV(&buf, rules, groups); err != nil {
		t.Fatalf("FormatCSV(ParseCSV(canonical)) = %v", err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("FormatCSV(ParseCSV(canonical)) =\n%s\nwant\n%s", buf.Bytes(), data)
	}
	if !slices.IsSortedFunc(rules, compareRules) || !slices.IsSortedFunc(groups, compareGroupings) {
		t.Errorf("ParseCSV(canonical) not in canonical order")
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, name := range []string{"testdata/policy/rules.csv", "testdata/canonical.csv", "demo/rules.csv"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("g, a, b, c\np, r, d, *, write, *, deny\n"))
	f.Add([]byte("p,a,b,c.d,commit,e,allow\r\n#x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, groups, err := ParseCSV(bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("ParseCSV error %v is not a ParseError with a line", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := FormatCSV(&buf, rules, groups); err != nil {
			t.Fatalf("FormatCSV(ParseCSV(data)) = %v", err)
		}
		rules2, groups2, err := ParseCSV(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("ParseCSV(FormatCSV(...)) = %v\n%s", err, buf.Bytes())
		}
		slices.SortFunc(rules, compareRules)
		slices.SortFunc(groups, compareGroupings)
		if !slices.Equal(rules, rules2) || !slices.Equal(groups, groups2) {
			t.Fatalf("round trip changed the policy:\n%v %v\n%v %v", rules, groups, rules2, groups2)
		}
		checkCSVRoundTrip(t, buf.Bytes())
	})
}
