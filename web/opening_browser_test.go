package web_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/crypto/commit"
)

// openingCase is one opening to check in the browser, with the answer wanted.
type openingCase struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Value     string `json:"value"`
	Blinding  string `json:"blinding"`
	Scheme    string `json:"scheme"`
	Point     string `json:"point"`
	Want      bool   `json:"want"`
	DayNumber int64  `json:"day,omitempty"`
}

// openingCases are crypto/commit's published vectors (testdata/vectors.json, scheme v1, and
// testdata/dates.json, dates as day numbers under v2 next to the same dates hashed under v1), each
// as it opens, and changed so that it must not: another value, another scheme, another point.
func openingCases(t *testing.T) []openingCase {
	t.Helper()
	read := func(name string, v any) {
		b, err := os.ReadFile(filepath.Join("..", "crypto", "commit", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	var v1 struct {
		Scheme  string
		Vectors []struct{ Name, Kind, Input, Blinding, Commitment string }
	}
	read("vectors.json", &v1)
	var v2 struct {
		Scheme  string
		Vectors []struct {
			Name, Date, Blinding, Commitment, V1Commitment string
			Day                                            int64
		}
	}
	read("dates.json", &v2)
	if v1.Scheme != commit.Scheme || v2.Scheme != commit.SchemeV2 || len(v1.Vectors) == 0 || len(v2.Vectors) == 0 {
		t.Fatalf("vector files: schemes %q, %q with %d and %d vectors", v1.Scheme, v2.Scheme, len(v1.Vectors), len(v2.Vectors))
	}
	var cases []openingCase
	for _, v := range v1.Vectors {
		cases = append(cases, openingCase{Name: v.Name, Kind: v.Kind, Value: v.Input, Blinding: v.Blinding, Scheme: commit.Scheme, Point: v.Commitment, Want: true})
		other := "x" + v.Input
		if v.Kind == "int" {
			other = "1" + strings.TrimPrefix(v.Input, "-")
		} else if v.Kind == "date" {
			other = "2020-01-03"
		}
		cases = append(cases, openingCase{Name: v.Name + "/other value", Kind: v.Kind, Value: other, Blinding: v.Blinding, Scheme: commit.Scheme, Point: v.Commitment})
	}
	for _, v := range v2.Vectors {
		cases = append(cases,
			openingCase{Name: v.Name, Kind: "date", Value: v.Date, Blinding: v.Blinding, Scheme: commit.SchemeV2, Point: v.Commitment, Want: true, DayNumber: v.Day},
			openingCase{Name: v.Name + "/hashed under v1", Kind: "date", Value: v.Date, Blinding: v.Blinding, Scheme: commit.Scheme, Point: v.V1Commitment, Want: true},
			openingCase{Name: v.Name + "/v2 point read as v1", Kind: "date", Value: v.Date, Blinding: v.Blinding, Scheme: commit.Scheme, Point: v.Commitment},
			openingCase{Name: v.Name + "/v1 point read as v2", Kind: "date", Value: v.Date, Blinding: v.Blinding, Scheme: commit.SchemeV2, Point: v.V1Commitment},
			openingCase{Name: v.Name + "/day number as an integer", Kind: "int", Value: fmt.Sprint(v.Day), Blinding: v.Blinding, Scheme: commit.Scheme, Point: v.Commitment, Want: true},
			openingCase{Name: v.Name + "/unknown scheme", Kind: "date", Value: v.Date, Blinding: v.Blinding, Scheme: "pedersen-bls12381-g1/v9", Point: v.Commitment},
		)
	}
	return cases
}

// The portal's in-browser opening check (verify.js verifyOpening) reproduces crypto/commit's
// vectors in Chromium, under both schemes: dates hashed under v1 and day numbers under v2, each
// refused under the other scheme, and any other value refused.
func TestVerifyOpeningInBrowser(t *testing.T) {
	cases := openingCases(t)
	ctx := page(t)
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
		Day     int64  `json:"day"`
	}
	start := time.Now()
	eval(t, ctx, `(async () => {
		const out = [];
		for (const c of `+string(in)+`) {
			const r = await verifyjs.verifyOpening({kind: c.kind, value: c.value, blinding: c.blinding, commitment: {scheme: c.scheme, point: c.point}});
			if (c.day) r.day = verifyjs.dayNumber(c.value);
			out.push(r);
		}
		return out;
	})()`, &got)
	t.Logf("%d openings checked in Chromium in %v", len(cases), time.Since(start).Round(time.Millisecond))
	if len(got) != len(cases) {
		t.Fatalf("%d results for %d cases", len(got), len(cases))
	}
	for i, c := range cases {
		if got[i].OK != c.Want {
			t.Errorf("%s: verifyOpening ok = %v (%s), want %v", c.Name, got[i].OK, got[i].Message, c.Want)
		}
		if c.DayNumber != 0 && got[i].Day != c.DayNumber {
			t.Errorf("%s: dayNumber = %d, want %d", c.Name, got[i].Day, c.DayNumber)
		}
	}
	var bad []bool
	eval(t, ctx, `(() => ['2023-02-29', '0000-01-01', '1985-7-31', '99-01-01', ''].map((s) => { try { verifyjs.dayNumber(s); return false; } catch (e) { return true; } }))()`, &bad)
	for i, refused := range bad {
		if !refused {
			t.Errorf("dayNumber accepted bad date %d", i)
		}
	}
}
