// Package scalar holds the marshalling of GovHub's custom GraphQL scalars.
package scalar

import (
	"fmt"
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

// UnmarshalInt64 reads an Int64: an integer that fits in 64 bits (a JSON number or a string of
// digits, as gqlgen's own Int64 takes). Anything else is a bad input, not an internal error.
func UnmarshalInt64(v any) (int64, error) {
	n, err := graphql.UnmarshalInt64(v)
	if err != nil {
		return 0, badInput("an Int64 must be an integer from -2^63 to 2^63-1")
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
