package rangeproof

import (
	"errors"
	"fmt"
	"strconv"
)

// Bits is the width of every range proven: a statement holds when each
// difference it names is in [0, 2^Bits).
const Bits = 32

// Kind names the kind of a [Statement].
type Kind string

// The kinds of statement.
const (
	KindAtLeast Kind = "atLeast" // v ≥ Min
	KindAtMost  Kind = "atMost"  // v ≤ Max
	KindBetween Kind = "between" // Min ≤ v ≤ Max
)

// Statement is a threshold statement about the integer v inside a
// commitment. [KindAtLeast] uses Min only and [KindAtMost] Max only; the
// unused threshold must be zero, so that every statement has exactly one
// form (see [Statement.Validate]).
//
// A statement holds for v when every difference it names is in
// [0, 2^32): v − Min for the lower bound, Max − v for the upper bound. A
// value more than 2^32 − 1 above Min (or below Max) makes the statement
// false in this sense, even though the inequality is true, and it cannot be
// proven.
type Statement struct {
	Kind Kind  `json:"kind"`
	Min  int64 `json:"min"`
	Max  int64 `json:"max"`
}

// AtLeast returns the statement v ≥ t (with v − t < 2^32).
func AtLeast(t int64) Statement { return Statement{Kind: KindAtLeast, Min: t} }

// AtMost returns the statement v ≤ t (with t − v < 2^32).
func AtMost(t int64) Statement { return Statement{Kind: KindAtMost, Max: t} }

// Between returns the statement lo ≤ v ≤ hi (with v − lo < 2^32 and
// hi − v < 2^32).
func Between(lo, hi int64) Statement { return Statement{Kind: KindBetween, Min: lo, Max: hi} }

// ErrInvalidStatement means a statement is malformed: an unknown kind, a
// non-zero unused threshold, or Min > Max.
var ErrInvalidStatement = errors.New("rangeproof: invalid statement")

// Validate reports whether s is a well-formed statement.
func (s Statement) Validate() error {
	switch s.Kind {
	case KindAtLeast:
		if s.Max != 0 {
			return fmt.Errorf("%w: an atLeast statement has no maximum (max must be 0)", ErrInvalidStatement)
		}
	case KindAtMost:
		if s.Min != 0 {
			return fmt.Errorf("%w: an atMost statement has no minimum (min must be 0)", ErrInvalidStatement)
		}
	case KindBetween:
		if s.Min > s.Max {
			return fmt.Errorf("%w: minimum above maximum", ErrInvalidStatement)
		}
	default:
		return fmt.Errorf("%w: unknown kind %s", ErrInvalidStatement, strconv.Quote(string(s.Kind)))
	}
	return nil
}

// Holds reports whether s is valid and holds for v: each difference it names
// (v − Min, Max − v) is in [0, 2^32).
func (s Statement) Holds(v int64) bool {
	if s.Validate() != nil {
		return false
	}
	for _, b := range s.bounds() {
		if _, ok := b.diff(v); !ok {
			return false
		}
	}
	return true
}

// String returns the statement in a short readable form, for logs.
func (s Statement) String() string {
	switch s.Kind {
	case KindAtLeast:
		return "v ≥ " + strconv.FormatInt(s.Min, 10)
	case KindAtMost:
		return "v ≤ " + strconv.FormatInt(s.Max, 10)
	case KindBetween:
		return strconv.FormatInt(s.Min, 10) + " ≤ v ≤ " + strconv.FormatInt(s.Max, 10)
	}
	return "invalid statement"
}

// bound is one proven range: for a lower bound the value v − t, committed
// in C − t·G with blinding r; for an upper bound t − v, committed in
// t·G − C with blinding −r.
type bound struct {
	upper bool
	t     int64
}

// bounds lists the ranges proven for a valid statement, in proof order:
// the lower bound first.
func (s Statement) bounds() []bound {
	switch s.Kind {
	case KindAtLeast:
		return []bound{{t: s.Min}}
	case KindAtMost:
		return []bound{{upper: true, t: s.Max}}
	case KindBetween:
		return []bound{{t: s.Min}, {upper: true, t: s.Max}}
	}
	return nil
}

// diff returns the difference v − t (lower) or t − v (upper) if it is in
// [0, 2^Bits).
func (b bound) diff(v int64) (uint64, bool) {
	lo, hi := b.t, v
	if b.upper {
		lo, hi = v, b.t
	}
	if hi < lo {
		return 0, false
	}
	// hi − lo is in [0, 2^64), exact in uint64 arithmetic.
	d := uint64(hi) - uint64(lo)
	if d >= 1<<Bits {
		return 0, false
	}
	return d, true
}
