// Package scalar holds the marshalling of GovHub's custom GraphQL scalars.
package scalar

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// MarshalDate writes a date held as "YYYY-MM-DD" (package dataset's convention) as a JSON string.
func MarshalDate(d string) graphql.Marshaler {
	return graphql.MarshalString(d)
}

// UnmarshalDate reads a "YYYY-MM-DD" calendar date.
func UnmarshalDate(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", badInput(fmt.Sprintf("a Date must be a string YYYY-MM-DD, not %T", v))
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return "", badInput("a Date must be a calendar date YYYY-MM-DD")
	}
	return s, nil
}

// badInput is an input error the caller can act on (the value itself is not repeated: it may be
// personal data).
func badInput(msg string) error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": "BAD_USER_INPUT"}}
}

// MarshalInt64 writes an Int64 (amounts in yuan, ledger indexes) as a JSON number.
func MarshalInt64(n int64) graphql.Marshaler {
	return graphql.MarshalInt64(n)
}

// UnmarshalInt64 reads an Int64: an integer from -2^63 to 2^63-1 given as a number (a JSON number,
// or a Go integer). A string is refused even when it holds digits, and so is a number with a
// fraction or out of range; an integral number written with a fraction or an exponent (1.0, 1e3)
// is taken at its exact value. A refusal is a BAD_USER_INPUT error that does not repeat the value.
func UnmarshalInt64(v any) (int64, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int8:
		return int64(n), nil
	case int16:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case uint8:
		return int64(n), nil
	case uint16:
		return int64(n), nil
	case uint32:
		return int64(n), nil
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, badInput(msgInt64Range)
		}
		return int64(n), nil
	case uint64:
		if n > math.MaxInt64 {
			return 0, badInput(msgInt64Range)
		}
		return int64(n), nil
	case json.Number:
		return exactInt64(string(n))
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return 0, badInput(msgInt64Range)
		}
		return exactInt64(strconv.FormatFloat(n, 'g', -1, 64))
	case float32:
		return exactInt64(strconv.FormatFloat(float64(n), 'g', -1, 32))
	case string:
		return 0, badInput("an Int64 must be a number, not a string")
	case nil:
		return 0, badInput("an Int64 must be a number, not null")
	}
	return 0, badInput(fmt.Sprintf("an Int64 must be a number, not %T", v))
}

// msgInt64Range is the message of an Int64 that is not an integer in range.
const msgInt64Range = "an Int64 must be an integer from -2^63 to 2^63-1"

// exactInt64 reads the decimal number s (as JSON writes numbers) exactly: an integral value in
// range, or a refusal.
func exactInt64(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	// Far out of range, or not a number: refused before any exact arithmetic.
	if f, err := strconv.ParseFloat(s, 64); err != nil || math.Abs(f) > 1<<63 || len(s) > 256 {
		return 0, badInput(msgInt64Range)
	}
	f, _, err := big.ParseFloat(s, 10, uint(len(s))*4+64, big.ToZero)
	if err != nil || f.IsInf() || !f.IsInt() {
		return 0, badInput(msgInt64Range)
	}
	n, acc := f.Int64()
	if acc != big.Exact {
		return 0, badInput(msgInt64Range)
	}
	return n, nil
}

// MarshalUint64 writes a uint64 held by a domain type (ledger indexes, policy versions) as an
// Int64: binding Int64 to it lets gqlgen.yml bind those types rather than copy them. Values above
// 2^63-1 do not occur (they are counts of ledger entries).
func MarshalUint64(n uint64) graphql.Marshaler {
	return graphql.MarshalUint64(n)
}

// UnmarshalUint64 reads an Int64 into a uint64: a non-negative integer.
func UnmarshalUint64(v any) (uint64, error) {
	n, err := UnmarshalInt64(v)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, badInput("an Int64 here must not be negative")
	}
	return uint64(n), nil
}
