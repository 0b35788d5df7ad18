package commit

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Domain separation tags of the hashed message kinds.
const (
	stringDST = "GOVHUB-COMMIT-V1-STRING"
	dateDST   = "GOVHUB-COMMIT-V1-DATE"
)

// Message is a value mapped to the scalar that is committed to. The zero
// Message is Int(0).
type Message struct {
	s fr.Element
}

// Int returns the message for an integer: v itself for v ≥ 0 and q − |v|
// for v < 0, so integer arithmetic carries over to commitments.
func Int(v int64) Message {
	var m Message
	m.s.SetInt64(v)
	return m
}

// String returns the message for a text value, which must be valid UTF-8.
// The text is hashed to a scalar as is, without normalisation.
func String(s string) (Message, error) {
	if !utf8.ValidString(s) {
		return Message{}, fmt.Errorf("mapping string: not valid UTF-8: %w", ErrInvalid)
	}
	return hashed(s, stringDST), nil
}

// Date returns the message for a calendar date written "YYYY-MM-DD" (ISO
// 8601 extended form, years 0001 to 9999, proleptic Gregorian calendar).
// Any other form, or a day that does not exist such as 2023-02-29, is
// rejected.
func Date(iso string) (Message, error) {
	if err := checkDate(iso); err != nil {
		return Message{}, fmt.Errorf("mapping date: %w", err)
	}
	return hashed(iso, dateDST), nil
}

// Scalar returns the scalar committed to for m, big-endian. It is as
// sensitive as the value it came from.
func (m Message) Scalar() [32]byte {
	return m.s.Bytes()
}

// hashed maps text to a scalar with RFC 9380 hash_to_field.
func hashed(text, dst string) Message {
	s, err := fr.Hash([]byte(text), []byte(dst), 1)
	if err != nil {
		// Only possible for a domain tag longer than 255 bytes.
		panic("commit: hashing to the field: " + err.Error())
	}
	return Message{s: s[0]}
}

// checkDate reports why iso is not a real date in the form YYYY-MM-DD.
func checkDate(iso string) error {
	if len(iso) != len("2006-01-02") || iso[4] != '-' || iso[7] != '-' {
		return fmt.Errorf("not in the form YYYY-MM-DD: %w", ErrInvalid)
	}
	num := func(s string) (int, bool) {
		n := 0
		for _, c := range []byte(s) {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = 10*n + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(iso[0:4])
	m, ok2 := num(iso[5:7])
	d, ok3 := num(iso[8:10])
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("not in the form YYYY-MM-DD: %w", ErrInvalid)
	}
	if y < 1 || m < 1 || m > 12 || d < 1 {
		return fmt.Errorf("no such date: %w", ErrInvalid)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || t.Month() != time.Month(m) {
		return fmt.Errorf("no such date: %w", ErrInvalid)
	}
	return nil
}
