package ledger

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EntryHeader is the first line of every version-1 entry.
const EntryHeader = "govhub/entry/v1"

// MaxEntrySize bounds the canonical encoding of one entry (entry bundles prefix each entry with a
// 16-bit length).
const MaxEntrySize = 1<<16 - 1

// Kind says what an entry records.
type Kind string

// The kinds of entry the hub writes.
const (
	KindAccess    Kind = "access"    // data was (or would have been) read
	KindUpdate    Kind = "update"    // a record was created or changed
	KindPolicy    Kind = "policy"    // the access policy changed version
	KindProposal  Kind = "proposal"  // an officer proposed a policy change
	KindApproval  Kind = "approval"  // another officer approved it: a new policy version
	KindRejection Kind = "rejection" // another officer rejected it
)

// Outcome says whether the recorded action was allowed.
type Outcome string

// Outcomes.
const (
	OutcomeAllowed Outcome = "allowed"
	OutcomeDenied  Outcome = "denied"
)

// Entry is one leaf of the ledger. It holds codes, names, digests and commitments only: the hub
// puts no citizen identifier and no field value in clear into an entry (ARCHITECTURE §1.3).
//
// Its canonical encoding, govhub/entry/v1 ([FormatEntry], [ParseEntry]), is specified with a
// worked example in the package documentation.
type Entry struct {
	Kind       Kind
	Time       time.Time
	Department string
	Role       string
	Purpose    string
	Policy     uint64
	Request    []byte // nil or 32 bytes
	Outcome    Outcome
	Reason     string
	Dataset    string
	Base       uint64 // meaningful only when Dataset is set
	Record     []byte // nil or 32 bytes
	Subjects   [][]byte
	Fields     []Field
}

// Field is one field an entry speaks of: what was released of it (levels reveal, commit, deny) or
// what was written (level set, with the new value's commitment when the field is sensitive).
type Field struct {
	Name       string
	Level      string
	Commitment string // lowercase hex, optional
}

// ErrInvalidEntry reports bytes that are not a canonical entry.
var ErrInvalidEntry = errors.New("ledger: invalid entry")

// FormatEntry returns the canonical encoding of e, sorting its subjects and fields. It fails when
// e holds something the encoding cannot carry (a token with a space, a digest of the wrong length…).
func FormatEntry(e Entry) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	line := func(k, v string) { b.WriteString(k); b.WriteByte(' '); b.WriteString(v); b.WriteByte('\n') }
	b.WriteString(EntryHeader + "\n")
	line("kind", string(e.Kind))
	line("time", formatTime(e.Time))
	line("actor", e.Department+"/"+e.Role)
	if e.Purpose != "" {
		line("purpose", e.Purpose)
	}
	line("policy", strconv.FormatUint(e.Policy, 10))
	if e.Request != nil {
		line("request", hex.EncodeToString(e.Request))
	}
	line("outcome", string(e.Outcome))
	if e.Reason != "" {
		line("reason", e.Reason)
	}
	if e.Dataset != "" {
		line("dataset", e.Dataset)
		line("base", strconv.FormatUint(e.Base, 10))
	}
	if e.Record != nil {
		line("record", hex.EncodeToString(e.Record))
	}
	subjects := slices.Clone(e.Subjects)
	slices.SortFunc(subjects, bytes.Compare)
	for i, s := range subjects {
		if i > 0 && bytes.Equal(s, subjects[i-1]) {
			return nil, fmt.Errorf("%w: duplicate subject", ErrInvalidEntry)
		}
		line("subject", hex.EncodeToString(s))
	}
	fields := slices.Clone(e.Fields)
	slices.SortFunc(fields, func(a, b Field) int { return strings.Compare(a.Name, b.Name) })
	for i, f := range fields {
		if i > 0 && f.Name == fields[i-1].Name {
			return nil, fmt.Errorf("%w: duplicate field %s", ErrInvalidEntry, f.Name)
		}
		v := f.Name + " " + f.Level
		if f.Commitment != "" {
			v += " " + f.Commitment
		}
		line("field", v)
	}
	if b.Len() > MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidEntry, b.Len(), MaxEntrySize)
	}
	return b.Bytes(), nil
}

// ParseEntry decodes a canonical entry. It accepts exactly the bytes FormatEntry produces.
func ParseEntry(data []byte) (Entry, error) {
	if len(data) > MaxEntrySize {
		return Entry{}, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidEntry, len(data), MaxEntrySize)
	}
	text := string(data)
	if !strings.HasSuffix(text, "\n") {
		return Entry{}, fmt.Errorf("%w: does not end in a newline", ErrInvalidEntry)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	p := parser{lines: lines}
	var e Entry
	if p.next() != EntryHeader {
		return Entry{}, fmt.Errorf("%w: line 1: want %q", ErrInvalidEntry, EntryHeader)
	}
	e.Kind = Kind(p.want("kind"))
	if t, ok := p.value("time"); ok {
		tm, err := time.Parse(timeLayout, t)
		if err != nil || formatTime(tm) != t {
			p.fail("time %q is not canonical RFC 3339 UTC with milliseconds", t)
		}
		e.Time = tm
	}
	actor := p.want("actor")
	if d, r, ok := strings.Cut(actor, "/"); ok {
		e.Department, e.Role = d, r
	} else {
		p.fail("actor %q is not department/role", actor)
	}
	e.Purpose = p.optional("purpose")
	e.Policy = p.number(p.want("policy"))
	e.Request = p.digest(p.optional("request"))
	e.Outcome = Outcome(p.want("outcome"))
	e.Reason = p.optional("reason")
	if ds := p.optional("dataset"); ds != "" {
		e.Dataset = ds
		e.Base = p.number(p.want("base"))
	}
	e.Record = p.digest(p.optional("record"))
	for {
		v, ok := p.value("subject")
		if !ok {
			break
		}
		e.Subjects = append(e.Subjects, p.digest(v))
	}
	for {
		v, ok := p.value("field")
		if !ok {
			break
		}
		parts := strings.Split(v, " ")
		switch len(parts) {
		case 2:
			e.Fields = append(e.Fields, Field{Name: parts[0], Level: parts[1]})
		case 3:
			e.Fields = append(e.Fields, Field{Name: parts[0], Level: parts[1], Commitment: parts[2]})
		default:
			p.fail("field %q is not <name> <level> [<commitment>]", v)
		}
	}
	if p.err == nil && p.i < len(p.lines) {
		p.fail("unexpected line %q", p.lines[p.i])
	}
	if p.err != nil {
		return Entry{}, p.err
	}
	// Canonical means: formatting what we parsed gives back the very same bytes.
	again, err := FormatEntry(e)
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(again, data) {
		return Entry{}, fmt.Errorf("%w: not in canonical form", ErrInvalidEntry)
	}
	return e, nil
}

const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Truncate(time.Millisecond).Format(timeLayout) }

func (e Entry) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEntry, fmt.Sprintf(format, args...))
	}
	switch e.Kind {
	case KindAccess, KindUpdate, KindPolicy, KindProposal, KindApproval, KindRejection:
	default:
		return bad("unknown kind %q", e.Kind)
	}
	switch e.Outcome {
	case OutcomeAllowed, OutcomeDenied:
	default:
		return bad("unknown outcome %q", e.Outcome)
	}
	if e.Time.IsZero() {
		return bad("no time")
	}
	if y := e.Time.UTC().Year(); y < 2000 || y > 9999 {
		return bad("time %v out of range", e.Time)
	}
	for name, v := range map[string]string{"department": e.Department, "role": e.Role} {
		if !validToken(v) {
			return bad("%s %q is not a token", name, v)
		}
	}
	for name, v := range map[string]string{"purpose": e.Purpose, "reason": e.Reason, "dataset": e.Dataset} {
		if v != "" && !validToken(v) {
			return bad("%s %q is not a token", name, v)
		}
	}
	if e.Dataset == "" && e.Base != 0 {
		return bad("base version without a dataset")
	}
	for name, d := range map[string][]byte{"request": e.Request, "record": e.Record} {
		if d != nil && len(d) != 32 {
			return bad("%s digest has %d bytes, want 32", name, len(d))
		}
	}
	for _, s := range e.Subjects {
		if len(s) != 32 {
			return bad("subject commitment has %d bytes, want 32", len(s))
		}
	}
	for _, f := range e.Fields {
		if !validToken(f.Name) || !validToken(f.Level) {
			return bad("field %q level %q are not tokens", f.Name, f.Level)
		}
		if f.Commitment != "" && !validHex(f.Commitment) {
			return bad("field %s commitment is not lowercase hex", f.Name)
		}
	}
	return nil
}

func validToken(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == ':' || c == '*' || c == '-' || c == '#':
		default:
			return false
		}
	}
	return true
}

func validHex(s string) bool {
	if len(s) == 0 || len(s)%2 != 0 || len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// parser walks the lines of an entry, remembering the first error.
type parser struct {
	lines []string
	i     int
	err   error
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: line %d: %s", ErrInvalidEntry, p.i, fmt.Sprintf(format, args...))
	}
}

func (p *parser) next() string {
	if p.i >= len(p.lines) {
		return ""
	}
	p.i++
	return p.lines[p.i-1]
}

// value consumes the next line if it has the given key.
func (p *parser) value(key string) (string, bool) {
	if p.err != nil || p.i >= len(p.lines) {
		return "", false
	}
	k, v, ok := strings.Cut(p.lines[p.i], " ")
	if !ok || k != key {
		return "", false
	}
	p.i++
	return v, true
}

func (p *parser) want(key string) string {
	v, ok := p.value(key)
	if !ok {
		p.fail("want a %q line", key)
	}
	return v
}

func (p *parser) optional(key string) string {
	v, _ := p.value(key)
	return v
}

func (p *parser) number(s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		p.fail("%q is not a canonical decimal number", s)
	}
	return n
}

func (p *parser) digest(s string) []byte {
	if s == "" {
		return nil
	}
	d, err := hex.DecodeString(s)
	if err != nil || len(d) != 32 || hex.EncodeToString(d) != s {
		p.fail("%q is not 64 lowercase hex digits", s)
		return make([]byte, 32)
	}
	return d
}
