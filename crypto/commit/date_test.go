package commit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

const datesFile = "testdata/dates.json"

// dateVectorFile is the layout of testdata/dates.json: v2 date commitments.
type dateVectorFile struct {
	Scheme  string       `json:"scheme"`
	Epoch   string       `json:"epoch"`
	Vectors []dateVector `json:"vectors"`
}

type dateVector struct {
	Name       string `json:"name"`
	Date       string `json:"date"`
	Day        int64  `json:"day"`
	Blinding   string `json:"blinding"`
	Scalar     string `json:"scalar"`
	Commitment string `json:"commitment"`
	// V1Commitment is the same date and blinding under the hashed mapping of v1.
	V1Commitment string `json:"v1Commitment"`
}

var dateVectorCases = []struct{ name, date string }{
	{"date-v2-first", "0001-01-01"},
	{"date-v2-unix-epoch", "1970-01-01"},
	{"date-v2-birth", "1985-07-31"},
	{"date-v2-leap-day", "2000-02-29"},
	{"date-v2-adult-threshold", "2008-12-06"},
	{"date-v2-2020", "2020-01-02"},
	{"date-v2-last", "9999-12-31"},
}

func buildDateVectors(t *testing.T) dateVectorFile {
	f := dateVectorFile{Scheme: SchemeV2, Epoch: "0001-01-01 is day 1 (proleptic Gregorian ordinal)"}
	for _, c := range dateVectorCases {
		n, err := DayNumber(c.date)
		if err != nil {
			t.Fatalf("DayNumber(%q): %v", c.date, err)
		}
		m, err := DateDays(c.date)
		if err != nil {
			t.Fatal(err)
		}
		v1, err := Date(c.date)
		if err != nil {
			t.Fatal(err)
		}
		r := testBlinding(c.name)
		s := m.Scalar()
		f.Vectors = append(f.Vectors, dateVector{Name: c.name, Date: c.date, Day: n,
			Blinding: hex.EncodeToString(r[:]), Scalar: hex.EncodeToString(s[:]),
			Commitment: Commit(m, r).String(), V1Commitment: Commit(v1, r).String()})
	}
	return f
}

func TestDateVectorsGolden(t *testing.T) {
	got, err := json.MarshalIndent(buildDateVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(datesFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(datesFile)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale or the date mapping changed; computed:\n%s", datesFile, got)
	}
}

// daysFromCivil is Howard Hinnant's days_from_civil (days since 1970-01-01),
// written from its published description rather than with package time.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// TestDateVectorsIndependent recomputes the v2 vectors without the package's
// mapping or tables: day numbers by civil arithmetic, points by generic
// scalar multiplication.
func TestDateVectorsIndependent(t *testing.T) {
	b, err := os.ReadFile(datesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f dateVectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Scheme != SchemeV2 || len(f.Vectors) != len(dateVectorCases) {
		t.Fatalf("scheme %q with %d vectors, want %q with %d", f.Scheme, len(f.Vectors), SchemeV2, len(dateVectorCases))
	}
	_, _, g, _ := bls12381.Generators()
	h, err := bls12381.HashToG1([]byte("govhub/commit/v1/H"), []byte("GOVHUB-COMMIT-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			var y, m, d int64
			for i, c := range v.Date {
				switch {
				case i < 4:
					y = 10*y + int64(c-'0')
				case i > 4 && i < 7:
					m = 10*m + int64(c-'0')
				case i > 7:
					d = 10*d + int64(c-'0')
				}
			}
			day := daysFromCivil(y, m, d) + 719163
			if day != v.Day {
				t.Errorf("day(%s) = %d by civil arithmetic, file says %d", v.Date, day, v.Day)
			}
			if got := hex.EncodeToString(big.NewInt(day).FillBytes(make([]byte, 32))); got != v.Scalar {
				t.Errorf("scalar(%s) = %s, want %s", v.Date, got, v.Scalar)
			}
			rb, _ := hex.DecodeString(v.Blinding)
			var a, bp bls12381.G1Affine
			a.ScalarMultiplication(&g, big.NewInt(day))
			bp.ScalarMultiplication(&h, new(big.Int).SetBytes(rb))
			a.Add(&a, &bp)
			if got := hex.EncodeToString(bytesOf(a.Bytes())); got != v.Commitment {
				t.Errorf("reference commitment = %s, want %s", got, v.Commitment)
			}
			// v1 is the hashed mapping, and the two differ.
			s1 := hashToFieldRef([]byte(v.Date), "GOVHUB-COMMIT-V1-DATE")
			a.ScalarMultiplication(&g, s1)
			a.Add(&a, &bp)
			if got := hex.EncodeToString(bytesOf(a.Bytes())); got != v.V1Commitment {
				t.Errorf("reference v1 commitment = %s, want %s", got, v.V1Commitment)
			}
			if v.V1Commitment == v.Commitment {
				t.Errorf("v1 and v2 commitments of %s coincide", v.Date)
			}

			// The API agrees: each opens under its own scheme only.
			r, err := ParseBlinding(rb)
			if err != nil {
				t.Fatal(err)
			}
			c2, _ := ParseCommitment(v.Commitment)
			c1, _ := ParseCommitment(v.V1Commitment)
			for _, tc := range []struct {
				scheme string
				c      Commitment
				want   error
			}{{SchemeV2, c2, nil}, {Scheme, c1, nil}, {"", c1, nil}, {Scheme, c2, ErrMismatch}, {SchemeV2, c1, ErrMismatch}} {
				m, err := DateFor(tc.scheme, v.Date)
				if err != nil {
					t.Fatalf("DateFor(%q, %s): %v", tc.scheme, v.Date, err)
				}
				if err := Verify(tc.c, m, r); !errors.Is(err, tc.want) {
					t.Errorf("Verify(%q commitment of %s) = %v, want %v", tc.scheme, v.Date, err, tc.want)
				}
			}
			back, err := DateOfDay(v.Day)
			if err != nil || back != v.Date {
				t.Errorf("DateOfDay(%d) = %q, %v, want %q", v.Day, back, err, v.Date)
			}
		})
	}
}

func TestDayNumberRefuses(t *testing.T) {
	for _, in := range []string{"", "2023-02-29", "0000-12-31", "1985-7-31", "19850731", "1985-07-31T00:00:00Z"} {
		if _, err := DayNumber(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("DayNumber(%q) error = %v, want ErrInvalid", in, err)
		}
	}
	for _, n := range []int64{0, -1, MaxDayNumber + 1} {
		if _, err := DateOfDay(n); !errors.Is(err, ErrInvalid) {
			t.Errorf("DateOfDay(%d) error = %v, want ErrInvalid", n, err)
		}
	}
	if _, err := DateFor("pedersen-bls12381-g1/v9", "2020-01-02"); !errors.Is(err, ErrInvalid) {
		t.Errorf("DateFor(unknown scheme) error = %v, want ErrInvalid", err)
	}
}

// FuzzDayNumber: every accepted date round-trips through its day number.
func FuzzDayNumber(f *testing.F) {
	for _, c := range dateVectorCases {
		f.Add(c.date)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := DayNumber(s)
		if err != nil {
			return
		}
		if n < 1 || n > MaxDayNumber {
			t.Fatalf("DayNumber(%q) = %d, outside 1 … %d", s, n, MaxDayNumber)
		}
		back, err := DateOfDay(n)
		if err != nil || back != s {
			t.Fatalf("DateOfDay(DayNumber(%q)) = %q, %v", s, back, err)
		}
	})
}
