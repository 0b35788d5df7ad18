package commit

import (
	"fmt"
	"time"
)

// # Dates as day numbers: scheme v2
//
// Under [Scheme] (v1) a date is hashed to the field, so nothing about its
// order survives and no range proof can speak about it. [SchemeV2] is v1
// with one change: a date maps to its day number, an integer, so that "born
// on or before 2008-12-06" is a range proof on the committed integer
// (package crypto/rangeproof). Integers and strings map exactly as in v1,
// so their commitments are the same under both names; only a date's
// commitment depends on the scheme, and the scheme stored with each
// commitment says which mapping it uses. v1 commitments stay verifiable
// forever ([DateFor] with [Scheme]).
//
// The day number of a date is its proleptic Gregorian ordinal: 0001-01-01
// is day 1, 1970-01-01 day 719163, 9999-12-31 day 3652059. It is Python's
// datetime.date.toordinal(), and in JavaScript
// Date.UTC(y, m − 1, d) / 86400000 + 719163. The epoch keeps every date the
// form YYYY-MM-DD can write (years 0001 to 9999, birth dates included)
// positive and below 2²² (so inside the 32 bits range proofs cover, with
// room for thresholds), and needs no negative integers, whose scalars
// (q − |v|) range proofs cannot bound.
//
// Worked examples (scalars big-endian hex):
//
//	DateDays("0001-01-01")  day 1        0000…0001
//	DateDays("1970-01-01")  day 719163   0000…000af93b
//	DateDays("2008-12-06")  day 733382   0000…000b30c6
//	DateDays("2020-01-02")  day 737426   0000…000b4092
//	DateDays("9999-12-31")  day 3652059  0000…0037b9db
//
// and with the blinding SHA-256("govhub/commit/v1/test-blinding/date-v2-birth")
// (top two bits cleared) the v2 commitment to 1985-07-31 (day 724853) is given
// in testdata/dates.json with the other vectors.

// SchemeV2 names the scheme whose dates are day numbers (see above). It
// differs from [Scheme] only in the mapping of dates.
const SchemeV2 = "pedersen-bls12381-g1/v2"

// ordinalOfUnixEpoch is the day number of 1970-01-01.
const ordinalOfUnixEpoch = 719163

// MaxDayNumber is the day number of 9999-12-31, the last date a date
// message can name.
const MaxDayNumber = 3652059

// DayNumber returns the day number of a date written "YYYY-MM-DD" (the
// forms [Date] accepts): 0001-01-01 is 1.
func DayNumber(iso string) (int64, error) {
	if err := checkDate(iso); err != nil {
		return 0, fmt.Errorf("mapping date: %w", err)
	}
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil { // checkDate accepted it: cannot happen
		return 0, fmt.Errorf("mapping date: %w", ErrInvalid)
	}
	return t.Unix()/86400 + ordinalOfUnixEpoch, nil
}

// DateOfDay returns the date "YYYY-MM-DD" of day number n, the inverse of
// [DayNumber], for 1 ≤ n ≤ [MaxDayNumber].
func DateOfDay(n int64) (string, error) {
	if n < 1 || n > MaxDayNumber {
		return "", fmt.Errorf("day number %d is outside 1 … %d: %w", n, MaxDayNumber, ErrInvalid)
	}
	return time.Unix((n-ordinalOfUnixEpoch)*86400, 0).UTC().Format(time.DateOnly), nil
}

// DateDays returns the message of a date under [SchemeV2]: Int(DayNumber(iso)).
func DateDays(iso string) (Message, error) {
	n, err := DayNumber(iso)
	if err != nil {
		return Message{}, err
	}
	return Int(n), nil
}

// DateFor returns the message of a date under the named scheme: [Date]
// (hashed) for [Scheme] or an empty name (commitments stored before schemes
// were recorded), [DateDays] for [SchemeV2]. Any other scheme is refused.
func DateFor(scheme, iso string) (Message, error) {
	switch scheme {
	case Scheme, "":
		return Date(iso)
	case SchemeV2:
		return DateDays(iso)
	}
	return Message{}, fmt.Errorf("mapping date: unknown commitment scheme %q: %w", scheme, ErrInvalid)
}

// KnownScheme reports whether s names a scheme this package implements.
func KnownScheme(s string) bool { return s == Scheme || s == SchemeV2 }
