package ledger_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger"
)

func sampleEntry() ledger.Entry {
	return ledger.Entry{
		Kind:       ledger.KindAccess,
		Time:       time.Date(2026, 11, 21, 6, 30, 5, 120_000_000, time.UTC),
		Department: "housing",
		Role:       "clerk",
		Purpose:    "home-purchase-eligibility",
		Policy:     1,
		Request:    bytes.Repeat([]byte{0x0f}, 32),
		Outcome:    ledger.OutcomeAllowed,
		Subjects:   [][]byte{bytes.Repeat([]byte{0x5b}, 32)},
		Fields: []ledger.Field{
			{Name: "tax.annualIncome", Level: "commit"},
			{Name: "identity.name", Level: "reveal"},
			{Name: "health.bloodType", Level: "deny"},
		},
	}
}

func TestFormatEntryGolden(t *testing.T) {
	upd := sampleEntry()
	upd.Kind, upd.Purpose, upd.Department = ledger.KindUpdate, "tax-administration", "tax"
	upd.Dataset, upd.Base, upd.Record = "tax", 41, bytes.Repeat([]byte{0xee}, 32)
	upd.Fields = []ledger.Field{{Name: "tax.year", Level: "set"}, {Name: "tax.annualIncome", Level: "set", Commitment: strings.Repeat("a1", 48)}}
	denied := sampleEntry()
	denied.Outcome, denied.Reason, denied.Fields = ledger.OutcomeDenied, "unknown-purpose", nil
	denied.Purpose = "curiosity"
	for _, tc := range []struct {
		name string
		e    ledger.Entry
	}{{"access", sampleEntry()}, {"update", upd}, {"denied", denied}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ledger.FormatEntry(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			golden := "testdata/entry-" + tc.name + ".txt"
			if *update {
				os.WriteFile(golden, got, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("FormatEntry(%s) =\n%s\nwant\n%s", tc.name, got, want)
			}
			back, err := ledger.ParseEntry(got)
			if err != nil {
				t.Fatalf("ParseEntry(FormatEntry) = %v", err)
			}
			again, _ := ledger.FormatEntry(back)
			if !bytes.Equal(again, got) {
				t.Errorf("format(parse(x)) != x")
			}
		})
	}
}

func TestParseEntryRejects(t *testing.T) {
	good, _ := ledger.FormatEntry(sampleEntry())
	s := string(good)
	for _, tc := range []struct{ name, text string }{
		{"empty", ""},
		{"no final newline", strings.TrimSuffix(s, "\n")},
		{"wrong header", strings.Replace(s, "govhub/entry/v1", "govhub/entry/v2", 1)},
		{"unknown kind", strings.Replace(s, "kind access", "kind gossip", 1)},
		{"non-canonical time", strings.Replace(s, "06:30:05.120Z", "06:30:05.12Z", 1)},
		{"leading zero", strings.Replace(s, "policy 1", "policy 01", 1)},
		{"upper-case hex", strings.Replace(s, "0f0f", "0F0F", 1)},
		{"unsorted fields", strings.Replace(s, "field health.bloodType deny\nfield identity.name reveal", "field identity.name reveal\nfield health.bloodType deny", 1)},
		{"double space", strings.Replace(s, "outcome allowed", "outcome  allowed", 1)},
		{"trailing line", s + "extra line\n"},
		{"short subject", strings.Replace(s, "subject 5b5b", "subject 5b", 1)},
		{"missing outcome", strings.Replace(s, "outcome allowed\n", "", 1)},
		{"space in token", strings.Replace(s, "actor housing/clerk", "actor hou sing/clerk", 1)},
		{"CRLF", strings.ReplaceAll(s, "\n", "\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ledger.ParseEntry([]byte(tc.text)); !errors.Is(err, ledger.ErrInvalidEntry) {
				t.Errorf("ParseEntry(%q) = %v, want ErrInvalidEntry", tc.text, err)
			}
		})
	}
}

func TestFormatEntryRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*ledger.Entry)
	}{
		{"no time", func(e *ledger.Entry) { e.Time = time.Time{} }},
		{"bad role", func(e *ledger.Entry) { e.Role = "a b" }},
		{"slash in department", func(e *ledger.Entry) { e.Department = "a/b" }},
		{"short request", func(e *ledger.Entry) { e.Request = []byte{1} }},
		{"duplicate subject", func(e *ledger.Entry) { e.Subjects = append(e.Subjects, e.Subjects[0]) }},
		{"duplicate field", func(e *ledger.Entry) { e.Fields = append(e.Fields, e.Fields[0]) }},
		{"bad commitment", func(e *ledger.Entry) { e.Fields[0].Commitment = "XYZ" }},
		{"base without dataset", func(e *ledger.Entry) { e.Base = 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := sampleEntry()
			tc.mod(&e)
			if _, err := ledger.FormatEntry(e); !errors.Is(err, ledger.ErrInvalidEntry) {
				t.Errorf("FormatEntry = %v, want ErrInvalidEntry", err)
			}
		})
	}
}

func FuzzParseEntry(f *testing.F) {
	for _, name := range []string{"access", "update", "denied"} {
		if b, err := os.ReadFile("testdata/entry-" + name + ".txt"); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ledger.ParseEntry(data)
		if err != nil {
			return
		}
		again, err := ledger.FormatEntry(e)
		if err != nil {
			t.Fatalf("FormatEntry(ParseEntry(x)) = %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("FormatEntry(ParseEntry(x)) = %q, want x = %q", again, data)
		}
	})
}

// TestDocWorkedExample keeps the package documentation's worked example true: the entry it shows
// is testdata/entry-access.txt, line for line, with that file's size and leaf hash.
func TestDocWorkedExample(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/entry-access.txt")
	if err != nil {
		t.Fatal(err)
	}
	var shown strings.Builder
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line != "" {
			shown.WriteString("//\t" + line)
		}
	}
	if !strings.Contains(string(doc), shown.String()) {
		t.Errorf("doc.go does not show testdata/entry-access.txt as its worked example; want the lines\n%s", shown.String())
	}
	leaf := ledger.LeafHash(data)
	for _, want := range []string{
		fmt.Sprintf("the %d bytes of testdata/entry-access.txt", len(data)),
		"//\t" + hex.EncodeToString(leaf[:]) + "\n",
		"//\t" + base64.StdEncoding.EncodeToString(leaf[:]) + "\n",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("doc.go does not say %q", want)
		}
	}
}
