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

// The first line of an entry names its version. Both versions stay readable forever.
const (
	EntryHeaderV1 = "govhub/entry/v1"
	EntryHeaderV2 = "govhub/entry/v2"
)

// EntryVersion is the version [FormatEntry] writes for an [Entry] whose Version is 0.
const EntryVersion = 2

// MaxEntrySize bounds the canonical encoding of one entry (entry bundles prefix each entry with a
// 16-bit length).
const MaxEntrySize = 1<<16 - 1

// Kind says what an entry records.
type Kind string

// The kinds of entry the hub writes. Question and answer exist from govhub/entry/v2 on.
const (
	KindAccess    Kind = "access"    // data was (or would have been) read; also a citizen's opening
	KindUpdate    Kind = "update"    // a record was created or changed
	KindPolicy    Kind = "policy"    // the access policy changed version
	KindProposal  Kind = "proposal"  // an officer proposed a policy change
	KindApproval  Kind = "approval"  // another officer approved it: a new policy version
	KindRejection Kind = "rejection" // another officer rejected it
	KindQuestion  Kind = "question"  // v2: a citizen questioned an access (the entry About names)
	KindAnswer    Kind = "answer"    // v2: a department answered a question (the entry About names)

	// From govhub/entry/v2 on: certificates, applications, sealed access, erasure and keys.
	KindIssue    Kind = "issue"    // v2: a certificate was issued (its id on the certificate line)
	KindRevoke   Kind = "revoke"   // v2: a certificate was revoked (About names the issue entry)
	KindStep     Kind = "step"     // v2: a step of a citizen's application (its id on the certificate line)
	KindErasure  Kind = "erasure"  // v2: a citizen's data was erased (crypto-shredding)
	KindUnseal   Kind = "unseal"   // v2: a sealed access was disclosed (About names the sealed access)
	KindRotation Kind = "rotation" // v2: a key was rotated (the reason line names which key)
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
// Its canonical encodings, govhub/entry/v1 and govhub/entry/v2 ([FormatEntry], [ParseEntry]),
// are specified with worked examples in the package documentation. The fields marked v2 exist
// only in version 2: a version-1 entry leaves them empty.
type Entry struct {
	// Version is 1 or 2, the encoding the entry is written in; 0 means [EntryVersion].
	// ParseEntry sets it, so that a parsed entry formats back to the same bytes.
	Version     int
	Kind        Kind
	Time        time.Time
	Department  string
	Role        string
	Official    []byte // v2: nil or 32 bytes, the official's per-department pseudonym
	Purpose     string
	Policy      uint64
	Request     []byte // nil or 32 bytes
	RequestID   string // v2, reserved: optional token, the request's id
	Outcome     Outcome
	Reason      string
	Dataset     string
	Base        uint64 // meaningful only when Dataset is set
	Record      []byte // nil or 32 bytes
	About       uint64 // v2: the index of the entry a question or an answer is about; only for those kinds
	Certificate string // v2, reserved: optional token, a certificate id
	Sealed      *Sealing
	SubjectRoot []byte // v2: nil or 32 bytes, the root of a page subject tree; excludes Subjects
	Subjects    [][]byte
	Conditions  []Condition // v2, reserved: proof conditions
	Fields      []Field
}

// Field is one field an entry speaks of: what was released of it (levels reveal, prove, commit,
// deny; open for a citizen's opening of their own commitment) or what was written (level set, with
// the new value's commitment when the field is sensitive).
//
// In a v2 entry a field may also name the catalogued predicates asked about it: Proved those the
// hub answered (whether each holds, with a proof when it does; the entry never says which held),
// Refused those it refused. Their field line is "field <name> <level> [<commitment>]
// proved:<predicate>… refused:<predicate>…", each list sorted; a field without predicates has the
// line it always had.
type Field struct {
	Name       string
	Level      string
	Commitment string   // lowercase hex, optional
	Proved     []string // v2: predicate names answered; tokens without ':'
	Refused    []string // v2: predicate names refused; tokens without ':'
}

// Prefixes of a field line's predicate tokens.
const (
	provedPrefix  = "proved:"
	refusedPrefix = "refused:"
)

// Sealing is the sealed-access detail of a v2 entry made under a court order: a salted commitment
// to the access's details and the day the seal lifts.
type Sealing struct {
	Case   []byte    // 32 bytes: a salted commitment to the details (who, which fields, the court order), computed off the ledger
	Unseal time.Time // a date: midnight UTC of the day the seal lifts
}

// ErrInvalidEntry reports bytes that are not a canonical entry.
var ErrInvalidEntry = errors.New("ledger: invalid entry")

// FormatEntry returns the canonical encoding of e in its version (v2 when e.Version is 0),
// sorting its subjects, conditions and fields. It fails when e holds something the encoding
// cannot carry (a token with a space, a digest of the wrong length, a v2 field in a v1 entry…).
func FormatEntry(e Entry) ([]byte, error) {
	v := e.Version
	if v == 0 {
		v = EntryVersion
	}
	if err := e.check(v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	line := func(k, v string) { b.WriteString(k); b.WriteByte(' '); b.WriteString(v); b.WriteByte('\n') }
	if v == 1 {
		b.WriteString(EntryHeaderV1 + "\n")
	} else {
		b.WriteString(EntryHeaderV2 + "\n")
	}
	line("kind", string(e.Kind))
	line("time", formatTime(e.Time))
	line("actor", e.Department+"/"+e.Role)
	if e.Official != nil {
		line("official", hex.EncodeToString(e.Official))
	}
	if e.Purpose != "" {
		line("purpose", e.Purpose)
	}
	line("policy", strconv.FormatUint(e.Policy, 10))
	if e.Request != nil {
		line("request", hex.EncodeToString(e.Request))
	}
	if e.RequestID != "" {
		line("request-id", e.RequestID)
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
	if e.Kind.hasAbout() {
		line("about", strconv.FormatUint(e.About, 10))
	}
	if e.Certificate != "" {
		line("certificate", e.Certificate)
	}
	if e.Sealed != nil {
		line("sealed", hex.EncodeToString(e.Sealed.Case)+" "+e.Sealed.Unseal.Format(dateLayout))
	}
	if e.SubjectRoot != nil {
		line("subjects", hex.EncodeToString(e.SubjectRoot))
	}
	subjects := slices.Clone(e.Subjects)
	slices.SortFunc(subjects, bytes.Compare)
	for i, s := range subjects {
		if i > 0 && bytes.Equal(s, subjects[i-1]) {
			return nil, fmt.Errorf("%w: duplicate subject", ErrInvalidEntry)
		}
		line("subject", hex.EncodeToString(s))
	}
	conds := make([]string, len(e.Conditions))
	for i, c := range e.Conditions {
		conds[i] = c.String()
	}
	slices.Sort(conds)
	for i, c := range conds {
		if i > 0 && c == conds[i-1] {
			return nil, fmt.Errorf("%w: duplicate condition %s", ErrInvalidEntry, c)
		}
		line("condition", c)
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
		for _, list := range []struct {
			prefix string
			names  []string
		}{{provedPrefix, f.Proved}, {refusedPrefix, f.Refused}} {
			names := slices.Clone(list.names)
			slices.Sort(names)
			for i, n := range names {
				if i > 0 && n == names[i-1] {
					return nil, fmt.Errorf("%w: field %s: duplicate predicate %s", ErrInvalidEntry, f.Name, n)
				}
				v += " " + list.prefix + n
			}
		}
		line("field", v)
	}
	if b.Len() > MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidEntry, b.Len(), MaxEntrySize)
	}
	return b.Bytes(), nil
}

// ParseEntry decodes a canonical entry of either version. It accepts exactly the bytes
// FormatEntry produces: for a v1 entry, no line that only v2 has.
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
	switch p.next() {
	case EntryHeaderV1:
		e.Version = 1
	case EntryHeaderV2:
		e.Version = 2
	default:
		return Entry{}, fmt.Errorf("%w: line 1: want %q or %q", ErrInvalidEntry, EntryHeaderV1, EntryHeaderV2)
	}
	v2 := e.Version >= 2
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
	if v2 {
		e.Official = p.digest(p.optional("official"))
	}
	e.Purpose = p.optional("purpose")
	e.Policy = p.number(p.want("policy"))
	e.Request = p.digest(p.optional("request"))
	if v2 {
		e.RequestID = p.optional("request-id")
	}
	e.Outcome = Outcome(p.want("outcome"))
	e.Reason = p.optional("reason")
	if ds := p.optional("dataset"); ds != "" {
		e.Dataset = ds
		e.Base = p.number(p.want("base"))
	}
	e.Record = p.digest(p.optional("record"))
	if v2 {
		if e.Kind.hasAbout() {
			e.About = p.number(p.want("about"))
		}
		e.Certificate = p.optional("certificate")
		if s, ok := p.value("sealed"); ok {
			e.Sealed = p.sealing(s)
		}
		e.SubjectRoot = p.digest(p.optional("subjects"))
	}
	for {
		v, ok := p.value("subject")
		if !ok {
			break
		}
		e.Subjects = append(e.Subjects, p.digest(v))
	}
	for v2 {
		v, ok := p.value("condition")
		if !ok {
			break
		}
		c, err := ParseCondition(v)
		if err != nil {
			p.fail("%v", err)
		}
		e.Conditions = append(e.Conditions, c)
	}
	for {
		v, ok := p.value("field")
		if !ok {
			break
		}
		parts := strings.Split(v, " ")
		if len(parts) < 2 {
			p.fail("field %q is not <name> <level> [<commitment>] [proved:<predicate>…] [refused:<predicate>…]", v)
			break
		}
		f := Field{Name: parts[0], Level: parts[1]}
		rest := parts[2:]
		if len(rest) > 0 && !strings.HasPrefix(rest[0], provedPrefix) && !strings.HasPrefix(rest[0], refusedPrefix) {
			f.Commitment, rest = rest[0], rest[1:]
		}
		for _, tok := range rest {
			switch {
			case strings.HasPrefix(tok, provedPrefix) && len(f.Refused) == 0:
				f.Proved = append(f.Proved, strings.TrimPrefix(tok, provedPrefix))
			case strings.HasPrefix(tok, refusedPrefix):
				f.Refused = append(f.Refused, strings.TrimPrefix(tok, refusedPrefix))
			default:
				p.fail("field %q is not <name> <level> [<commitment>] [proved:<predicate>…] [refused:<predicate>…]", v)
			}
		}
		e.Fields = append(e.Fields, f)
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

// hasAbout reports whether entries of kind k carry an about line (v2: questions, answers,
// revocations and unseals).
func (k Kind) hasAbout() bool {
	return k == KindQuestion || k == KindAnswer || k == KindRevoke || k == KindUnseal
}

const (
	timeLayout = "2006-01-02T15:04:05.000Z"
	dateLayout = "2006-01-02"
)

func formatTime(t time.Time) string { return t.UTC().Truncate(time.Millisecond).Format(timeLayout) }

func (e Entry) check(version int) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEntry, fmt.Sprintf(format, args...))
	}
	switch version {
	case 1, 2:
	default:
		return bad("unknown version %d", version)
	}
	switch e.Kind {
	case KindAccess, KindUpdate, KindPolicy, KindProposal, KindApproval, KindRejection:
	case KindQuestion, KindAnswer, KindIssue, KindRevoke, KindStep, KindErasure, KindUnseal, KindRotation:
		if version < 2 {
			return bad("kind %s needs govhub/entry/v2", e.Kind)
		}
	default:
		return bad("unknown kind %q", e.Kind)
	}
	if version < 2 {
		switch {
		case e.Official != nil:
			return bad("an official needs govhub/entry/v2")
		case e.RequestID != "":
			return bad("a request id needs govhub/entry/v2")
		case e.Certificate != "":
			return bad("a certificate needs govhub/entry/v2")
		case e.Sealed != nil:
			return bad("sealed-access details need govhub/entry/v2")
		case e.SubjectRoot != nil:
			return bad("a subject tree root needs govhub/entry/v2")
		case len(e.Conditions) > 0:
			return bad("conditions need govhub/entry/v2")
		}
		for _, f := range e.Fields {
			if len(f.Proved)+len(f.Refused) > 0 {
				return bad("field %s: predicates need govhub/entry/v2", f.Name)
			}
		}
	}
	if !e.Kind.hasAbout() && e.About != 0 {
		return bad("an about index on a %s entry", e.Kind)
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
	for name, v := range map[string]string{"purpose": e.Purpose, "reason": e.Reason, "dataset": e.Dataset,
		"request id": e.RequestID, "certificate": e.Certificate} {
		if v != "" && !validToken(v) {
			return bad("%s %q is not a token", name, v)
		}
	}
	if e.Dataset == "" && e.Base != 0 {
		return bad("base version without a dataset")
	}
	for name, d := range map[string][]byte{"request": e.Request, "record": e.Record, "official": e.Official, "subjects": e.SubjectRoot} {
		if d != nil && len(d) != 32 {
			return bad("%s digest has %d bytes, want 32", name, len(d))
		}
	}
	if s := e.Sealed; s != nil {
		if len(s.Case) != 32 {
			return bad("sealed case digest has %d bytes, want 32", len(s.Case))
		}
		u := s.Unseal
		if u.Location() != time.UTC || !u.Equal(u.Truncate(24*time.Hour)) || u.Year() < 2000 || u.Year() > 9999 {
			return bad("unseal date %v is not a date (midnight UTC) from 2000 to 9999", u)
		}
	}
	if e.SubjectRoot != nil && len(e.Subjects) > 0 {
		return bad("both a subject tree root and subject lines")
	}
	for _, s := range e.Subjects {
		if len(s) != 32 {
			return bad("subject commitment has %d bytes, want 32", len(s))
		}
	}
	for _, c := range e.Conditions {
		if err := c.check(); err != nil {
			return err
		}
	}
	for _, f := range e.Fields {
		if !validToken(f.Name) || !validToken(f.Level) {
			return bad("field %q level %q are not tokens", f.Name, f.Level)
		}
		if f.Commitment != "" && !validHex(f.Commitment) {
			return bad("field %s commitment is not lowercase hex", f.Name)
		}
		for _, n := range slices.Concat(f.Proved, f.Refused) {
			if !validToken(n) || strings.Contains(n, ":") || len(n)+len(refusedPrefix) > 128 {
				return bad("field %s predicate %q is not a token without ':'", f.Name, n)
			}
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

func (p *parser) sealing(s string) *Sealing {
	d, day, ok := strings.Cut(s, " ")
	if !ok {
		p.fail("sealed %q is not <case digest> <unseal date>", s)
		return nil
	}
	t, err := time.Parse(dateLayout, day)
	if err != nil || t.Format(dateLayout) != day {
		p.fail("unseal date %q is not YYYY-MM-DD", day)
	}
	return &Sealing{Case: p.digest(d), Unseal: t}
}
