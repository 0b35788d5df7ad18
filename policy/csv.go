package policy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ParseError reports a malformed line of a rules file.
type ParseError struct {
	Line int // 1-based
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *ParseError) Unwrap() error { return e.Err }

// maxLineLen bounds one line of a rules file.
const maxLineLen = 4096

// ParseCSV parses rules and groupings in Casbin CSV:
//
//	# comment
//	p, role, department, object, action, purpose, effect
//	g, member, role, department
//
// Fields are separated by commas and surrounding white space is ignored, as
// are blank lines and lines whose first non-blank character is '#'. Each line
// is checked on its own (names, object patterns, actions, effects); checks
// that need the whole set, such as registered purposes and duplicates, are
// [Set.Validate]'s. Errors are [*ParseError]s naming the line and wrap
// [ErrInvalidPolicy]. Rules and groupings are returned in file order.
func ParseCSV(r io.Reader) ([]Rule, []Grouping, error) {
	var (
		rules  []Rule
		groups []Grouping
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLineLen)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Split(line, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		fail := func(format string, args ...any) error {
			return &ParseError{Line: n, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalidPolicy}, args...)...)}
		}
		switch fields[0] {
		case "p":
			if len(fields) != 7 {
				return nil, nil, fail("rule has %d fields, want 7 (p, role, department, object, action, purpose, effect)", len(fields))
			}
			rule := Rule{
				Role:       fields[1],
				Department: fields[2],
				Object:     fields[3],
				Action:     Action(fields[4]),
				Purpose:    fields[5],
				Effect:     Effect(fields[6]),
			}
			if err := rule.check(); err != nil {
				return nil, nil, fail("%v", err)
			}
			rules = append(rules, rule)
		case "g":
			if len(fields) != 4 {
				return nil, nil, fail("grouping has %d fields, want 4 (g, member, role, department)", len(fields))
			}
			g := Grouping{Member: fields[1], Role: fields[2], Department: fields[3]}
			if err := g.check(); err != nil {
				return nil, nil, fail("%v", err)
			}
			groups = append(groups, g)
		default:
			return nil, nil, fail("unknown line type %q (want p or g)", fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, &ParseError{Line: n + 1, Err: fmt.Errorf("%w: line longer than %d bytes", ErrInvalidPolicy, maxLineLen)}
		}
		return nil, nil, fmt.Errorf("reading rules: %w", err)
	}
	return rules, groups, nil
}

// csvHeader opens every file written by FormatCSV.
const csvHeader = `# GovHub policy rules (Casbin CSV).
# p, role, department, object, action, purpose, effect
# g, member, role, department

`

// FormatCSV writes rules and groupings in canonical form: a comment header
// and a blank line; the rules sorted by department, role, object, action,
// purpose and effect; a blank line; the groupings sorted by department,
// member and role. Fields are separated by ", ". ParseCSV of the output
// returns the same rules and groupings (in sorted order), and formatting
// them again gives the same bytes. FormatCSV checks each line as ParseCSV
// does, so that what it writes can be read back.
func FormatCSV(w io.Writer, rules []Rule, groups []Grouping) error {
	for _, r := range rules {
		if err := r.check(); err != nil {
			return fmt.Errorf("formatting rule %q: %w: %v", r.String(), ErrInvalidPolicy, err)
		}
	}
	for _, g := range groups {
		if err := g.check(); err != nil {
			return fmt.Errorf("formatting grouping %q: %w: %v", g.String(), ErrInvalidPolicy, err)
		}
	}
	rules = slices.Clone(rules)
	slices.SortFunc(rules, compareRules)
	groups = slices.Clone(groups)
	slices.SortFunc(groups, compareGroupings)

	var b strings.Builder
	b.WriteString(csvHeader)
	for _, r := range rules {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	if len(groups) > 0 {
		b.WriteByte('\n')
	}
	for _, g := range groups {
		b.WriteString(g.String())
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing rules: %w", err)
	}
	return nil
}

func compareRules(a, b Rule) int {
	if c := strings.Compare(a.Department, b.Department); c != 0 {
		return c
	}
	if c := strings.Compare(a.Role, b.Role); c != 0 {
		return c
	}
	if c := strings.Compare(a.Object, b.Object); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Action), string(b.Action)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Purpose, b.Purpose); c != 0 {
		return c
	}
	return strings.Compare(string(a.Effect), string(b.Effect))
}

func compareGroupings(a, b Grouping) int {
	if c := strings.Compare(a.Department, b.Department); c != 0 {
		return c
	}
	if c := strings.Compare(a.Member, b.Member); c != 0 {
		return c
	}
	return strings.Compare(a.Role, b.Role)
}
