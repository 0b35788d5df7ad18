package ledger

import (
	"fmt"
	"strconv"
	"strings"
)

// Op is the comparison of a [Condition].
type Op string

// The operators of a condition: v ≥ n, v ≤ n, v > n, v < n, v = n, and lo ≤ v ≤ hi.
const (
	OpGE    Op = "ge"
	OpLE    Op = "le"
	OpGT    Op = "gt"
	OpLT    Op = "lt"
	OpEQ    Op = "eq"
	OpRange Op = "range"
)

// Condition is a predicate over one field's value that a proof (level prove) shows holds without
// revealing the value, e.g. socialInsurance.contributionMonths ge 24. A v2 entry carries each as
// a condition line (reserved: the hub does not write them yet). Its text ([Condition.String],
// [ParseCondition]) is
//
//	<field> <op> <n>        op one of ge, le, gt, lt, eq
//	<field> range <lo> <hi> lo ≤ value ≤ hi, with lo ≤ hi
//
// with field a token (as field names are) and the bounds decimal integers from 0 to 2^64-1
// without leading zeros, single spaces between.
type Condition struct {
	Field string
	Op    Op
	Value uint64 // the bound; for range, the lower bound
	Upper uint64 // for range only: the upper bound, inclusive
}

// String returns the condition's canonical text.
func (c Condition) String() string {
	s := c.Field + " " + string(c.Op) + " " + strconv.FormatUint(c.Value, 10)
	if c.Op == OpRange {
		s += " " + strconv.FormatUint(c.Upper, 10)
	}
	return s
}

func (c Condition) check() error {
	if !validToken(c.Field) {
		return fmt.Errorf("%w: condition field %q is not a token", ErrInvalidEntry, c.Field)
	}
	switch c.Op {
	case OpGE, OpLE, OpGT, OpLT, OpEQ:
		if c.Upper != 0 {
			return fmt.Errorf("%w: condition %s %s has an upper bound", ErrInvalidEntry, c.Field, c.Op)
		}
	case OpRange:
		if c.Value > c.Upper {
			return fmt.Errorf("%w: condition %s range has %d > %d", ErrInvalidEntry, c.Field, c.Value, c.Upper)
		}
	default:
		return fmt.Errorf("%w: condition operator %q is not ge, le, gt, lt, eq or range", ErrInvalidEntry, c.Op)
	}
	return nil
}

// ParseCondition parses a condition's canonical text; it rejects anything [Condition.String]
// would not have produced.
func ParseCondition(s string) (Condition, error) {
	parts := strings.Split(s, " ")
	if len(parts) < 3 {
		return Condition{}, fmt.Errorf("%w: condition %q is not <field> <op> <n> [<n>]", ErrInvalidEntry, s)
	}
	c := Condition{Field: parts[0], Op: Op(parts[1])}
	want := 3
	if c.Op == OpRange {
		want = 4
	}
	if len(parts) != want {
		return Condition{}, fmt.Errorf("%w: condition %q: operator %s takes %d numbers", ErrInvalidEntry, s, c.Op, want-2)
	}
	var err error
	if c.Value, err = canonicalUint(parts[2]); err == nil && want == 4 {
		c.Upper, err = canonicalUint(parts[3])
	}
	if err != nil {
		return Condition{}, fmt.Errorf("%w: condition %q: %v", ErrInvalidEntry, s, err)
	}
	if err := c.check(); err != nil {
		return Condition{}, err
	}
	return c, nil
}

func canonicalUint(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("%q is not a canonical decimal number", s)
	}
	return n, nil
}
