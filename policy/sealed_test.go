package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestSealedPurposes(t *testing.T) {
	base := `{"code": "court-sealed-investigation", "titleZh": "法院密封调查", "titleEn": "Court-sealed investigation", "legalBasis": "x"`
	for _, c := range []struct {
		name, extra string
		ok          bool
		want        Purpose
	}{
		{"plain", ``, true, Purpose{}},
		{"sealed", `, "sealed": true, "maxSealDays": 180`, true, Purpose{Sealed: true, MaxSealDays: 180}},
		{"sealed without a period", `, "sealed": true`, false, Purpose{}},
		{"sealed, period too long", `, "sealed": true, "maxSealDays": 3661`, false, Purpose{}},
		{"sealed, negative period", `, "sealed": true, "maxSealDays": -1`, false, Purpose{}},
		{"period without seal", `, "maxSealDays": 30`, false, Purpose{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps, err := ParsePurposes(strings.NewReader("[" + base + c.extra + "}]"))
			if !c.ok {
				if !errors.Is(err, ErrInvalidPolicy) {
					t.Fatalf("ParsePurposes = %v, want ErrInvalidPolicy", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePurposes = %v", err)
			}
			if ps[0].Sealed != c.want.Sealed || ps[0].MaxSealDays != c.want.MaxSealDays {
				t.Errorf("ParsePurposes = %+v, want sealed %v for %d days", ps[0], c.want.Sealed, c.want.MaxSealDays)
			}
			var b strings.Builder
			if err := FormatPurposes(&b, ps); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(b.String(), `"sealed": true`); got != c.want.Sealed {
				t.Errorf("FormatPurposes = %s, sealed written %v, want %v", b.String(), got, c.want.Sealed)
			}
			if !c.want.Sealed && strings.Contains(b.String(), "maxSealDays") {
				t.Errorf("FormatPurposes of a plain purpose = %s, want the v1 keys alone", b.String())
			}
		})
	}
}
