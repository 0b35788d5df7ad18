package commit

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseCommitment checks that ParseCommitment accepts exactly the
// canonical encodings: whatever it accepts prints back as the lowercase
// input and parses again to the same commitment.
func FuzzParseCommitment(f *testing.F) {
	v := readVectors(f)
	f.Add(v.G)
	f.Add(v.H)
	for _, vec := range v.Vectors {
		f.Add(vec.Commitment)
		f.Add(strings.ToUpper(vec.Commitment))
		f.Add(flipSign(vec.Commitment))
	}
	f.Add("c0" + strings.Repeat("0", 94))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCommitment(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseCommitment(%q) = %v, want an error wrapping ErrInvalid", s, err)
			}
			return
		}
		if got, want := c.String(), strings.ToLower(s); got != want {
			t.Fatalf("ParseCommitment(%q).String() = %s, want %s", s, got, want)
		}
		c2, err := ParseCommitmentBytes(c[:])
		if err != nil || c2 != c {
			t.Fatalf("ParseCommitmentBytes(%x) = %x, %v, want %x, nil", c[:], c2[:], err, c[:])
		}
	})
}

// FuzzDate checks Date against the standard library: it accepts exactly the
// strings that time.Parse accepts in the layout 2006-01-02 and formats back
// unchanged, from year 0001 on.
func FuzzDate(f *testing.F) {
	for _, vec := range readVectors(f).Vectors {
		if vec.Kind == "date" {
			f.Add(vec.Input)
		}
	}
	for _, s := range []string{"2020-02-29", "2023-02-29", "0000-01-01", "+020-01-02", "2020-1-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := Date(s)
		tm, perr := time.Parse(time.DateOnly, s)
		want := perr == nil && tm.Year() >= 1 && tm.Format(time.DateOnly) == s
		if (err == nil) != want {
			t.Fatalf("Date(%q) = %v, but time.Parse = %v, %v", s, err, tm, perr)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Date(%q) = %v, want an error wrapping ErrInvalid", s, err)
		}
	})
}

// FuzzParseBlinding checks that an accepted blinding is returned unchanged
// and commits without panicking.
func FuzzParseBlinding(f *testing.F) {
	for _, vec := range readVectors(f).Vectors {
		b, err := hex.DecodeString(vec.Blinding)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseBlinding(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseBlinding(%x) = %v, want an error wrapping ErrInvalid", b, err)
			}
			return
		}
		if !bytes.Equal(r[:], b) {
			t.Fatalf("ParseBlinding(%x) = %x", b, r[:])
		}
		if err := Verify(Commit(Int(1), r), Int(1), r); err != nil {
			t.Fatalf("Verify(Commit(1, r), 1, r) = %v", err)
		}
	})
}
