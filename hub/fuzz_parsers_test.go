package hub

import (
	"errors"
	"strings"
	"testing"

	"github.com/govhub/govhub/crypto/subject"
)

// A cursor is accepted only as the exact text cursor() made for that pseudonym and seq; any other
// text is ErrInvalid, never a panic, never another citizen's place.
func FuzzParseCursor(f *testing.F) {
	c := &Citizens{rd: &Reader{core: core{indexKeys: subject.FixedRing([]byte("fuzz index key, 32 bytes long..."))}}}
	good := c.cursor("ps-a", 42)
	f.Add("ps-a", good)
	f.Add("ps-b", good)
	f.Add("ps-a", "")
	f.Add("ps-a", good[:len(good)-1])
	f.Add("ps-a", strings.ToUpper(good))
	f.Fuzz(func(t *testing.T, ps, s string) {
		seq, err := c.parseCursor(ps, nil, s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parseCursor(%q, %q) = %v, want ErrInvalid", ps, s, err)
			}
			return
		}
		if seq == 0 || c.cursor(ps, seq) != s {
			t.Fatalf("parseCursor(%q, %q) = %d accepted a cursor that cursor() does not make", ps, s, seq)
		}
	})
}

// A list filter names a plain field of the catalog and a value of its kind, or is ErrInvalid.
func FuzzListFilter(f *testing.F) {
	for _, seed := range [][2]string{{"identity.hukouCity", "Beijing"}, {"tax.year", "2024"}, {"tax.year", "x"},
		{"identity.nationalId", "1"}, {"health.vaccinations", "a"}, {"nope.field", ""}, {"property.area", "1e400"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, field, value string) {
		got, err := listFilter(&ListFilter{Field: field, Equals: value})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("listFilter(%q, %q) = %v, want ErrInvalid", field, value, err)
			}
			return
		}
		if got.Dataset+"."+got.Field != field {
			t.Fatalf("listFilter(%q, %q) filters on %s.%s", field, value, got.Dataset, got.Field)
		}
	})
}
