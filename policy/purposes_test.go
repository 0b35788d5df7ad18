package policy

import (
	"bytes"
	"cmp"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParsePurposes(t *testing.T) {
	in := ` [ {"code": "b-code", "titleZh": "乙", "titleEn": "B & <b>", "legalBasis": "《法》第一条"},
	{"titleEn": "A", "code": "a", "legalBasis": "x", "titleZh": "甲"} ] `
	got, err := ParsePurposes(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParsePurposes: %v", err)
	}
	want := []Purpose{
		{Code: "b-code", TitleZh: "乙", TitleEn: "B & <b>", LegalBasis: "《法》第一条"},
		{Code: "a", TitleZh: "甲", TitleEn: "A", LegalBasis: "x"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePurposes() = %v, want %v", got, want)
	}
	var buf bytes.Buffer
	if err := FormatPurposes(&buf, got); err != nil {
		t.Fatalf("FormatPurposes: %v", err)
	}
	wantText := `[
  {
    "code": "a",
    "titleZh": "甲",
    "titleEn": "A",
    "legalBasis": "x"
  },
  {
    "code": "b-code",
    "titleZh": "乙",
    "titleEn": "B & <b>",
    "legalBasis": "《法》第一条"
  }
]
`
	if buf.String() != wantText {
		t.Errorf("FormatPurposes() =\n%s\nwant\n%s", buf.String(), wantText)
	}
	checkPurposesRoundTrip(t, buf.Bytes())

	if got, err := ParsePurposes(strings.NewReader("[]")); err != nil || len(got) != 0 {
		t.Errorf("ParsePurposes([]) = %v, %v, want empty, nil", got, err)
	}
	buf.Reset()
	if err := FormatPurposes(&buf, nil); err != nil || buf.String() != "[]\n" {
		t.Errorf("FormatPurposes(nil) = %q, %v, want %q, nil", buf.String(), err, "[]\n")
	}
}

func TestParsePurposesErrors(t *testing.T) {
	entry := `{"code": "a", "titleZh": "甲", "titleEn": "A", "legalBasis": "x"}`
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "EOF"},
		{"null", "null", "not a JSON array"},
		{"object", entry, "cannot unmarshal"},
		{"trailing data", "[" + entry + "] []", "after the array"},
		{"unknown key", `[{"code": "a", "titleZh": "甲", "titleEn": "A", "legalBasis": "x", "owner": "y"}]`, "unknown field"},
		{"missing title", `[{"code": "a", "titleZh": "甲", "legalBasis": "x"}]`, "empty titleEn"},
		{"bad code", `[{"code": "A b", "titleZh": "甲", "titleEn": "A", "legalBasis": "x"}]`, "malformed purpose code"},
		{"wildcard code", `[{"code": "*", "titleZh": "甲", "titleEn": "A", "legalBasis": "x"}]`, "malformed purpose code"},
		{"duplicate", "[" + entry + "," + entry + "]", "duplicate code"},
		{"too large", "[" + strings.Repeat(" ", maxPurposesSize) + "]", "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePurposes(strings.NewReader(c.in))
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ParsePurposes() = %v, want an %v containing %q", err, ErrInvalidPolicy, c.want)
			}
		})
	}
}

func TestFormatPurposesRejects(t *testing.T) {
	p := Purpose{Code: "a", TitleZh: "甲", TitleEn: "A", LegalBasis: "x"}
	for _, c := range []struct {
		name string
		ps   []Purpose
	}{
		{"duplicate", []Purpose{p, p}},
		{"bad code", []Purpose{{Code: "", TitleZh: "甲", TitleEn: "A", LegalBasis: "x"}}},
		{"empty basis", []Purpose{{Code: "a", TitleZh: "甲", TitleEn: "A"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := FormatPurposes(new(bytes.Buffer), c.ps); !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("FormatPurposes() = %v, want %v", err, ErrInvalidPolicy)
			}
		})
	}
}

func TestDemoPurposesCanonical(t *testing.T) {
	data, err := os.ReadFile("demo/purposes.json")
	if err != nil {
		t.Fatal(err)
	}
	checkPurposesRoundTrip(t, data)
}

// checkPurposesRoundTrip checks that data, a canonical purpose registry,
// parses and formats back to itself.
func checkPurposesRoundTrip(t *testing.T, data []byte) {
	t.Helper()
	ps, err := ParsePurposes(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ParsePurposes(canonical) = %v", err)
	}
	var buf bytes.Buffer
	if err := FormatPurposes(&buf, ps); err != nil {
		t.Fatalf("FormatPurposes(ParsePurposes(canonical)) = %v", err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("FormatPurposes(ParsePurposes(canonical)) =\n%s\nwant\n%s", buf.Bytes(), data)
	}
}

func FuzzParsePurposes(f *testing.F) {
	for _, name := range []string{"testdata/policy/purposes.json", "demo/purposes.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`[{"code":"a","titleZh":"\u7532\ud800","titleEn":"A\u2028","legalBasis":"<&>"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParsePurposes(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := FormatPurposes(&buf, ps); err != nil {
			t.Fatalf("FormatPurposes(ParsePurposes(data)) = %v", err)
		}
		ps2, err := ParsePurposes(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("ParsePurposes(FormatPurposes(...)) = %v\n%s", err, buf.Bytes())
		}
		slices.SortFunc(ps, func(a, b Purpose) int { return cmp.Compare(a.Code, b.Code) })
		if !slices.Equal(ps, ps2) {
			t.Fatalf("round trip changed the purposes:\n%v\n%v", ps, ps2)
		}
		checkPurposesRoundTrip(t, buf.Bytes())
	})
}
