package scalar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Fixed messages of UnmarshalDate's errors (the value itself is never repeated).
const (
	msgNotString = "a Date must be a string YYYY-MM-DD"
	msgNotDate   = "a Date must be a calendar date YYYY-MM-DD"
)

func TestUnmarshalDate(t *testing.T) {
	valid := []string{
		"1949-10-01",
		"2000-01-01",
		"1999-12-31",
		"2024-02-29", // leap year
		"2000-02-29", // divisible by 400: leap
		"1996-02-29",
		"2023-02-28",
		"1900-02-28",
		"2024-12-31",
		"0001-01-01",
		"9999-12-31",
	}
	for _, in := range valid {
		t.Run(in, func(t *testing.T) {
			got, err := UnmarshalDate(in)
			if err != nil || got != in {
				t.Errorf("UnmarshalDate(%q) = %q, %v, want %q, nil", in, got, err, in)
			}
		})
	}
}

func TestUnmarshalDateInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   any
		msg  string
	}{
		{"non-leap Feb 29", "2023-02-29", msgNotDate},
		{"century non-leap Feb 29", "1900-02-29", msgNotDate},
		{"2100 Feb 29", "2100-02-29", msgNotDate},
		{"Feb 30", "2024-02-30", msgNotDate},
		{"April 31", "2024-04-31", msgNotDate},
		{"month 13", "2024-13-01", msgNotDate},
		{"month 0", "2024-00-10", msgNotDate},
		{"day 0", "2024-01-00", msgNotDate},
		{"day 32", "2024-01-32", msgNotDate},
		{"one-digit month", "2024-1-05", msgNotDate},
		{"one-digit day", "2024-01-5", msgNotDate},
		{"two-digit year", "24-01-05", msgNotDate},
		{"five-digit year", "12024-01-05", msgNotDate},
		{"slashes", "2024/01/05", msgNotDate},
		{"day first", "05-01-2024", msgNotDate},
		{"with time", "2024-01-05T00:00:00Z", msgNotDate},
		{"leading space", " 2024-01-05", msgNotDate},
		{"trailing space", "2024-01-05 ", msgNotDate},
		{"trailing newline", "2024-01-05\n", msgNotDate},
		{"signed year", "+2024-01-05", msgNotDate},
		{"full-width digits", "２０２４-01-05", msgNotDate},
		{"empty", "", msgNotDate},
		{"words", "yesterday", msgNotDate},
		{"int", 20240105, msgNotString},
		{"int64", int64(20240105), msgNotString},
		{"float", 2024.0105, msgNotString},
		{"json number", json.Number("20240105"), msgNotString},
		{"bool", true, msgNotString},
		{"nil", nil, msgNotString},
		{"string pointer", ptr("2024-01-05"), msgNotString},
		{"bytes", []byte("2024-01-05"), msgNotString},
		{"time", time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), msgNotString},
		{"map", map[string]any{"date": "2024-01-05"}, msgNotString},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnmarshalDate(tt.in)
			if err == nil {
				t.Fatalf("UnmarshalDate(%#v) = %q, nil, want an error", tt.in, got)
			}
			if got != "" {
				t.Errorf("UnmarshalDate(%#v) = %q with an error, want \"\"", tt.in, got)
			}
			gerr := checkBadInput(t, tt.in, err)
			if !strings.HasPrefix(gerr.Message, tt.msg) {
				t.Errorf("UnmarshalDate(%#v) error message = %q, want it to start with %q", tt.in, gerr.Message, tt.msg)
			}
			// The value itself (possibly personal data) is not repeated; the type name may be.
			if s, ok := tt.in.(string); ok && s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("UnmarshalDate(%q) error = %q, repeats the value", s, err)
			}
			if s := fmt.Sprint(tt.in); tt.in != nil && len(s) > 3 && strings.Contains(err.Error(), s) {
				t.Errorf("UnmarshalDate(%#v) error = %q, repeats the value", tt.in, err)
			}
		})
	}
}

// checkBadInput checks that err is a GraphQL error with code BAD_USER_INPUT, and for a string input
// that its message is the fixed one; it returns the GraphQL error.
func checkBadInput(t *testing.T, in any, err error) *gqlerror.Error {
	t.Helper()
	var gerr *gqlerror.Error
	if !errors.As(err, &gerr) {
		t.Fatalf("UnmarshalDate(%#v) error is a %T, want *gqlerror.Error", in, err)
	}
	if code := gerr.Extensions["code"]; code != "BAD_USER_INPUT" {
		t.Errorf("UnmarshalDate(%#v) error code = %v, want BAD_USER_INPUT", in, code)
	}
	if _, isString := in.(string); isString && gerr.Message != msgNotDate {
		t.Errorf("UnmarshalDate(%q) error message = %q, want %q", in, gerr.Message, msgNotDate)
	}
	return gerr
}

func TestMarshalDate(t *testing.T) {
	for _, in := range []string{"2024-02-29", "1949-10-01", "0001-01-01"} {
		t.Run(in, func(t *testing.T) {
			var buf bytes.Buffer
			MarshalDate(in).MarshalGQL(&buf)
			if want := `"` + in + `"`; buf.String() != want {
				t.Errorf("MarshalDate(%q) writes %s, want %s", in, buf.String(), want)
			}
		})
	}
}

// TestDateCalendar checks UnmarshalDate against the calendar for every day number 0..32 of every
// month number 0..13 of years around the leap-year rule's edge cases: a date is accepted exactly
// when it exists.
func TestDateCalendar(t *testing.T) {
	for _, y := range []int{1900, 1999, 2000, 2023, 2024, 2100, 2400} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				s := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
				exists := m >= 1 && m <= 12 && d >= 1 &&
					time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() == d
				got, err := UnmarshalDate(s)
				if exists && (err != nil || got != s) {
					t.Errorf("UnmarshalDate(%q) = %q, %v, want %q, nil", s, got, err, s)
				}
				if !exists && err == nil {
					t.Errorf("UnmarshalDate(%q) = %q, nil, want an error", s, got)
				}
			}
		}
	}
}

// FuzzDate checks, for any input, that UnmarshalDate either accepts it unchanged (and then
// MarshalDate writes a JSON string that decodes to the same date, which UnmarshalDate accepts
// again) or refuses it with the fixed BAD_USER_INPUT message that never repeats the input.
func FuzzDate(f *testing.F) {
	for _, s := range []string{
		"2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "1949-10-01", "0000-01-01",
		"9999-12-31", "2024-13-01", "2024-1-5", "2024-01-05T00:00:00Z", " 2024-01-05", "", "\x00",
		"2024-01-05\n", "２０２４-01-05", "\"2024-01-05\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := UnmarshalDate(s)
		if err != nil {
			if got != "" {
				t.Errorf("UnmarshalDate(%q) = %q with an error, want \"\"", s, got)
			}
			checkBadInput(t, s, err)
			return
		}
		if got != s {
			t.Fatalf("UnmarshalDate(%q) = %q, want the input unchanged", s, got)
		}
		if _, perr := time.Parse(time.DateOnly, s); perr != nil {
			t.Fatalf("UnmarshalDate(%q) accepted what time.Parse refuses: %v", s, perr)
		}
		var buf bytes.Buffer
		MarshalDate(got).MarshalGQL(&buf)
		var back string
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatalf("MarshalDate(%q) writes %s, not a JSON string: %v", got, buf.Bytes(), err)
		}
		if back != s {
			t.Fatalf("MarshalDate(%q) writes %s, which decodes to %q", got, buf.Bytes(), back)
		}
		if again, err := UnmarshalDate(back); err != nil || again != s {
			t.Fatalf("UnmarshalDate(%q) after a round trip = %q, %v, want %q, nil", back, again, err, s)
		}
	})
}

// FuzzDateParts checks UnmarshalDate against the calendar for zero-padded year, month and day
// numbers: it accepts "YYYY-MM-DD" exactly when time.Date does not have to normalise the date.
func FuzzDateParts(f *testing.F) {
	f.Add(2024, 2, 29)
	f.Add(2023, 2, 29)
	f.Add(1900, 2, 29)
	f.Add(2000, 2, 29)
	f.Add(2024, 4, 31)
	f.Add(2024, 12, 31)
	f.Add(0, 1, 1)
	f.Fuzz(func(t *testing.T, y, m, d int) {
		if y < 0 || y > 9999 || m < 0 || m > 99 || d < 0 || d > 99 {
			return
		}
		s := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
		exists := m >= 1 && m <= 12 && d >= 1 &&
			time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() == d
		got, err := UnmarshalDate(s)
		if exists != (err == nil) {
			t.Fatalf("UnmarshalDate(%q) = %q, %v; the date exists: %v", s, got, err, exists)
		}
		if exists && got != s {
			t.Fatalf("UnmarshalDate(%q) = %q, want the input unchanged", s, got)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestUnmarshalInt64(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want int64
		ok   bool
	}{
		{"json number", json.Number("1234567890123"), 1234567890123, true},
		{"past 2^31", json.Number("99999999999"), 99999999999, true},
		{"negative", json.Number("-5"), -5, true},
		{"max", json.Number("9223372036854775807"), math.MaxInt64, true},
		{"int", 42, 42, true},
		{"int64", int64(42), 42, true},
		{"integral fraction", json.Number("42.0"), 42, true},
		{"exponent", json.Number("1e3"), 1000, true},
		{"min", json.Number("-9223372036854775808"), math.MinInt64, true},
		{"float64", float64(1 << 40), 1 << 40, true},
		{"uint64", uint64(7), 7, true},
		{"digits", "42", 0, false},
		{"empty string", "", 0, false},
		{"nil", nil, 0, false},
		{"overflow", json.Number("9223372036854775808"), 0, false},
		{"underflow", json.Number("-9223372036854775809"), 0, false},
		{"twenty digits", json.Number("99999999999999999999"), 0, false},
		{"huge exponent", json.Number("1e999999999"), 0, false},
		{"tiny fraction", json.Number("9223372036854775806.000000000000000000000000000001"), 0, false},
		{"2^63 as float", float64(1 << 63), 0, false},
		{"uint64 past 2^63", uint64(1 << 63), 0, false},
		{"NaN", math.NaN(), 0, false},
		{"Inf", math.Inf(1), 0, false},
		{"fraction", json.Number("1.5"), 0, false},
		{"float", 1.5, 0, false},
		{"words", "abc", 0, false},
		{"bool", true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnmarshalInt64(tt.in)
			if tt.ok {
				if err != nil || got != tt.want {
					t.Errorf("UnmarshalInt64(%#v) = %d, %v, want %d, nil", tt.in, got, err, tt.want)
				}
				return
			}
			var gerr *gqlerror.Error
			if !errors.As(err, &gerr) || gerr.Extensions["code"] != "BAD_USER_INPUT" {
				t.Fatalf("UnmarshalInt64(%#v) = %d, %v, want a BAD_USER_INPUT error", tt.in, got, err)
			}
			if s := fmt.Sprint(tt.in); tt.in != nil && s != "" && strings.Contains(gerr.Message, s) {
				t.Errorf("UnmarshalInt64(%#v) error = %q, repeats the value", tt.in, gerr.Message)
			}
		})
	}
}

func TestMarshalInt64(t *testing.T) {
	var buf bytes.Buffer
	MarshalInt64(math.MaxInt64).MarshalGQL(&buf)
	if buf.String() != "9223372036854775807" {
		t.Errorf("MarshalInt64(MaxInt64) writes %s, want 9223372036854775807", buf.String())
	}
}

func TestUint64(t *testing.T) {
	tests := []struct {
		in      any
		want    uint64
		wantErr bool
	}{
		{int64(0), 0, false},
		{json.Number("42"), 42, false},
		{json.Number("9223372036854775807"), math.MaxInt64, false},
		{"9223372036854775807", 0, true},
		{int64(-1), 0, true},
		{"x", 0, true},
		{1.5, 0, true},
	}
	for _, tt := range tests {
		got, err := UnmarshalUint64(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("UnmarshalUint64(%#v) = %d, %v, want %d (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	var b bytes.Buffer
	MarshalUint64(math.MaxInt64).MarshalGQL(&b)
	if b.String() != "9223372036854775807" {
		t.Errorf("MarshalUint64(MaxInt64) = %s", b.String())
	}
}

// FuzzInt64 checks, for any JSON number text, that UnmarshalInt64 either returns its exact value
// (an integer from -2^63 to 2^63-1, however written) or refuses it with BAD_USER_INPUT, and never
// accepts the same digits as a string.
func FuzzInt64(f *testing.F) {
	for _, s := range []string{"0", "-1", "42", "42.0", "1e3", "1.5", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809", "99999999999999999999", "1e999999999", "NaN", "", "0x10", "1_000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := UnmarshalInt64(json.Number(s))
		r, ok := new(big.Rat).SetString(s)
		exact := ok && r.IsInt() && r.Num().IsInt64() && json.Valid([]byte(s)) && len(s) <= 256
		if err != nil {
			var gerr *gqlerror.Error
			if !errors.As(err, &gerr) || gerr.Extensions["code"] != "BAD_USER_INPUT" {
				t.Fatalf("UnmarshalInt64(%q) error %v is not BAD_USER_INPUT", s, err)
			}
			if exact {
				t.Fatalf("UnmarshalInt64(%q) refused an exact integer in range", s)
			}
		} else if !ok || !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() != got {
			t.Fatalf("UnmarshalInt64(%q) = %d, not its exact value", s, got)
		}
		if _, err := UnmarshalInt64(s); err == nil {
			t.Fatalf("UnmarshalInt64(string %q) accepted a string", s)
		}
	})
}
