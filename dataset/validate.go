package dataset

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxItems is the largest number of items a record of a list dataset may
// hold.
const MaxItems = 100

// ErrInvalid is matched by every [*ValidationError]: errors.Is(err,
// ErrInvalid) reports whether err is about invalid data rather than, say, a
// failing store.
var ErrInvalid = errors.New("invalid value")

// ValidationError reports a value that breaks a rule. Field is the
// "dataset.field" path of the value, or empty when a value was checked on its
// own (as by [CheckNationalID]). Reason is short, names the rule, and never
// repeats the value itself, so the error may be shown and logged.
type ValidationError struct {
	Field  string
	Reason string
}

// Error returns "Field: Reason", or just Reason when Field is empty.
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Is reports whether target is [ErrInvalid].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) *ValidationError {
	return &ValidationError{Reason: fmt.Sprintf(format, args...)}
}

// Validate checks v against the field's kind, and for fields from the
// catalog against its range, text limits and format. It returns nil or a
// [*ValidationError] naming the field.
func (f *Field) Validate(v any) error {
	if err := f.validate(v); err != nil {
		ve := &ValidationError{Field: f.Path(), Reason: err.Error()}
		var inner *ValidationError
		if errors.As(err, &inner) {
			ve.Reason = inner.Reason
		}
		return ve
	}
	return nil
}

func (f *Field) validate(v any) error {
	if v == nil {
		return invalid("must not be nil (omit the field to leave it unset)")
	}
	switch f.Kind {
	case String:
		s, ok := v.(string)
		if !ok {
			return wrongType("a string", v)
		}
		if err := checkText(s, f.rule.text); err != nil {
			return err
		}
		if f.rule.format != nil {
			return f.rule.format(s)
		}
		return nil
	case Enum:
		s, ok := v.(string)
		if !ok {
			return wrongType("a string", v)
		}
		if !slices.Contains(f.Enum, s) {
			return invalid("must be one of %s", strings.Join(f.Enum, ", "))
		}
		return nil
	case Date:
		s, ok := v.(string)
		if !ok {
			return wrongType("a date string", v)
		}
		t, err := parseDate(s)
		if err != nil {
			return err
		}
		if f.rule.past && inFuture(t, time.Now()) {
			return invalid("must not be in the future")
		}
		return nil
	case Int:
		n, ok := v.(int64)
		if !ok {
			return wrongType("an int64", v)
		}
		return f.rule.ints.check(n)
	case Float:
		x, ok := v.(float64)
		if !ok {
			return wrongType("a float64", v)
		}
		return f.rule.floats.check(x)
	case Bool:
		if _, ok := v.(bool); !ok {
			return wrongType("a bool", v)
		}
		return nil
	case StringList:
		l, ok := v.([]string)
		if !ok {
			return wrongType("a []string", v)
		}
		if f.rule.items > 0 && len(l) > f.rule.items {
			return invalid("must have at most %d elements, has %d", f.rule.items, len(l))
		}
		for i, s := range l {
			if err := checkText(s, f.rule.text); err != nil {
				return invalid("element %d: %s", i, err.(*ValidationError).Reason)
			}
		}
		return nil
	default:
		return invalid("has unknown kind %v", f.Kind)
	}
}

func wrongType(want string, v any) error {
	return invalid("must be %s, not %T", want, v)
}

// checkText checks the rules every string value follows, and the length
// limit lim when it is set.
func checkText(s string, lim textLimit) error {
	if !utf8.ValidString(s) {
		return invalid("must be valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return invalid("must not contain control characters")
		}
	}
	if s != strings.TrimSpace(s) {
		return invalid("must not begin or end with white space")
	}
	if lim == (textLimit{}) {
		return nil
	}
	n := utf8.RuneCountInString(s)
	if n < lim.min {
		if lim.min == 1 {
			return invalid("must not be empty")
		}
		return invalid("must have at least %d characters", lim.min)
	}
	if n > lim.max {
		return invalid("must have at most %d characters, has %d", lim.max, n)
	}
	return nil
}

// earliestDate is the first date a Date field may hold.
var earliestDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// parseDate parses an ISO "YYYY-MM-DD" calendar date not before 1900-01-01.
func parseDate(s string) (time.Time, error) {
	ok := len(s) == 10 && s[4] == '-' && s[7] == '-'
	for i := 0; ok && i < len(s); i++ {
		if i != 4 && i != 7 && !isDigit(s[i]) {
			ok = false
		}
	}
	if !ok {
		return time.Time{}, invalid("must be a date YYYY-MM-DD")
	}
	y, m, d := atoi(s[0:4]), atoi(s[5:7]), atoi(s[8:10])
	t, ok := calendarDate(y, m, d)
	if !ok {
		return time.Time{}, invalid("must be a calendar date")
	}
	if t.Before(earliestDate) {
		return time.Time{}, invalid("must not be before 1900-01-01")
	}
	return t, nil
}

// calendarDate returns the date y-m-d and reports whether it exists.
func calendarDate(y, m, d int) (time.Time, bool) {
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t, t.Year() == y && int(t.Month()) == m && t.Day() == d
}

// inFuture reports whether the date t (midnight UTC) has not yet begun
// anywhere on Earth at now: the date is later than the current date in the
// easternmost time zone, UTC+14.
func inFuture(t, now time.Time) bool {
	return t.After(now.UTC().Add(14 * time.Hour))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// atoi converts a short string of ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func (r intRange) check(n int64) error {
	switch {
	case !r.set:
		return nil
	case n < r.min && r.min == 0:
		return invalid("must not be negative")
	case n < r.min || n > r.max:
		if r.max == math.MaxInt64 {
			return invalid("must be at least %d", r.min)
		}
		return invalid("must be between %d and %d", r.min, r.max)
	}
	return nil
}

func (r floatRange) check(x float64) error {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return invalid("must be a finite number")
	case !r.set:
		return nil
	case x <= r.min:
		return invalid("must be greater than %g", r.min)
	case x > r.max:
		return invalid("must be at most %g", r.max)
	}
	return nil
}

// ValidateItem checks one item of a record of d: every key must name a field
// of d, every value must pass [Field.Validate], and an item whose values are
// each valid must also satisfy the rules across fields:
//
//   - identity: nationalId and birthDate agree, nationalId and gender agree
//     ([NationalIDBirthDate], [NationalIDGender]);
//   - marriage: spouseCitizenId is set only if maritalStatus is MARRIED (when
//     both are present);
//   - tax: taxPaid does not exceed annualIncome.
//
// Fields are optional; rules across fields apply only when all the fields
// they involve are present. The error joins a [*ValidationError] for every
// problem: unknown fields by name, then fields in schema order, then rules
// across fields.
func (d *Dataset) ValidateItem(item map[string]any) error {
	var errs []error
	var unknown []string
	for k := range item {
		if _, ok := d.Field(k); !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, &ValidationError{Field: d.Name + "." + k, Reason: "unknown field"})
	}
	for i := range d.Fields {
		f := &d.Fields[i]
		if v, ok := item[f.Name]; ok {
			if err := f.Validate(v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 && d.rule.cross != nil {
		errs = d.rule.cross(item)
	}
	return errors.Join(errs...)
}

// ValidateRecord checks a citizen's whole record of d: exactly one item for a
// dataset that is not a list, 1 to [MaxItems] items for a list, each passing
// [Dataset.ValidateItem], and no two items of a list with the same
// certificateNo (property) or uscc (businessLicense). Errors about one item
// say which ("item 2: …", counting from 0).
func (d *Dataset) ValidateRecord(items []map[string]any) error {
	switch {
	case !d.List && len(items) != 1:
		return &ValidationError{Field: d.Name, Reason: fmt.Sprintf("must have exactly one item, has %d", len(items))}
	case len(items) == 0:
		return &ValidationError{Field: d.Name, Reason: "must have at least one item"}
	case len(items) > MaxItems:
		return &ValidationError{Field: d.Name, Reason: fmt.Sprintf("must have at most %d items, has %d", MaxItems, len(items))}
	}
	var errs []error
	seen := make(map[any]int)
	for i, item := range items {
		if err := d.ValidateItem(item); err != nil {
			errs = append(errs, fmt.Errorf("item %d: %w", i, err))
			continue
		}
		if d.rule.key == "" {
			continue
		}
		k, ok := item[d.rule.key]
		if !ok {
			continue
		}
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("item %d: %w", i, &ValidationError{
				Field:  d.Name + "." + d.rule.key,
				Reason: fmt.Sprintf("same as item %d", j),
			}))
			continue
		}
		seen[k] = i
	}
	return errors.Join(errs...)
}

func identityRules(item map[string]any) []error {
	id, ok := item["nationalId"].(string)
	if !ok {
		return nil
	}
	var errs []error
	if bd, ok := item["birthDate"].(string); ok {
		if want, err := NationalIDBirthDate(id); err == nil && bd != want {
			errs = append(errs, &ValidationError{Field: "identity.birthDate", Reason: "does not match the birth date in nationalId"})
		}
	}
	if g, ok := item["gender"].(string); ok && g != NationalIDGender(id) {
		errs = append(errs, &ValidationError{Field: "identity.gender", Reason: "does not match nationalId (odd 17th digit is MALE)"})
	}
	return errs
}

func marriageRules(item map[string]any) []error {
	_, spouse := item["spouseCitizenId"]
	st, ok := item["maritalStatus"].(string)
	if spouse && ok && st != "MARRIED" {
		return []error{&ValidationError{Field: "marriage.spouseCitizenId", Reason: "must not be set unless maritalStatus is MARRIED"}}
	}
	return nil
}

func taxRules(item map[string]any) []error {
	income, ok1 := item["annualIncome"].(int64)
	paid, ok2 := item["taxPaid"].(int64)
	if ok1 && ok2 && paid > income {
		return []error{&ValidationError{Field: "tax.taxPaid", Reason: "must not exceed annualIncome"}}
	}
	return nil
}
