package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// # Certificate types
//
// A certificate type is a rule, kept in the policy set like purposes and
// predicates ([Set.CertificateTypes]), so that officers create, replace and
// retire types through the same maker-checker workflow, and every change
// is a policy version on the ledger:
//
//	{"code": "home-purchase-eligibility", "titleZh": "购房资格证明",
//	 "titleEn": "Home-purchase eligibility", "department": "housing",
//	 "role": "clerk", "purpose": "home-purchase-eligibility",
//	 "claims": [{"name": "eligible", "expr": "true"}],
//	 "rule": "identity.hukouCity == \"上海市\" || socialInsurance.contributionMonths >= 60",
//	 "since": 12}
//
// Department and role name who issues (the gathers are decided for that
// role of that department, for the purpose); rule and claims are CEL
// expressions over the citizen's fields (package certificate specifies
// the language and checks, when a type is proposed, that the issuer's
// policy grants every value they read). Since is the policy version in
// which the type was last added or replaced: [Set.Apply] sets it, and a
// certificate names the rule it was decided under as "code@since"
// ([CertificateType.RuleVersion]), which stays the same until the type
// itself changes.

// CertificateTypesFile is the optional file of a policy directory holding
// the certificate types, a JSON array of [CertificateType] objects.
const CertificateTypesFile = "certificate-types.json"

// maxRuleLen bounds a type's rule and each claim's expression.
const maxRuleLen = 4096

// CertificateType is a kind of certificate and the rule that decides it.
type CertificateType struct {
	Code       string `json:"code"` // e.g. "home-purchase-eligibility"
	TitleZh    string `json:"titleZh"`
	TitleEn    string `json:"titleEn"`
	Department string `json:"department"` // the issuing department
	Role       string `json:"role"`       // the issuing role: its grants are what the rule may read
	Purpose    string `json:"purpose"`    // a registered purpose: certificates are gathered and issued under it
	// Claims are what a certificate of the type states, each a CEL expression.
	Claims []Claim `json:"claims"`
	// Review asks for a clerk's approval between the decision and the issuance.
	Review bool `json:"review,omitempty"`
	// Rule is the CEL expression (a bool) that decides eligibility.
	Rule string `json:"rule"`
	// Since is the policy version in which the type was last added or replaced (set by
	// [Set.Apply]; 0 in a type an officer writes, or imported without history).
	Since uint64 `json:"since"`
}

// Claim is one statement of a certificate: a name (an ASCII identifier, "companyName") and a CEL
// expression giving its value.
type Claim struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// RuleVersion names the rule a certificate of t is decided under: "code@since".
func (t CertificateType) RuleVersion() string {
	return t.Code + "@" + strconv.FormatUint(t.Since, 10)
}

// ParseRuleVersion splits a [CertificateType.RuleVersion].
func ParseRuleVersion(s string) (code string, since uint64, err error) {
	code, v, ok := strings.Cut(s, "@")
	if !ok || !isCode(code) {
		return "", 0, fmt.Errorf("malformed rule version %q (want code@version)", s)
	}
	since, err = strconv.ParseUint(v, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("malformed rule version %q (want code@version)", s)
	}
	return code, since, nil
}

func (t CertificateType) check() error {
	if err := checkCode("certificate type code", t.Code); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"titleZh", t.TitleZh}, {"titleEn", t.TitleEn}} {
		if strings.TrimSpace(f.v) == "" || utf8.RuneCountInString(f.v) > 200 || !utf8.ValidString(f.v) {
			return fmt.Errorf("certificate type %q: %s must be 1 to 200 characters", t.Code, f.name)
		}
	}
	if err := checkCode("department", t.Department); err != nil {
		return fmt.Errorf("certificate type %q: %v", t.Code, err)
	}
	if err := checkCode("role", t.Role); err != nil {
		return fmt.Errorf("certificate type %q: %v", t.Code, err)
	}
	if err := checkCode("purpose", t.Purpose); err != nil {
		return fmt.Errorf("certificate type %q: %v", t.Code, err)
	}
	if strings.TrimSpace(t.Rule) == "" || len(t.Rule) > maxRuleLen || !utf8.ValidString(t.Rule) {
		return fmt.Errorf("certificate type %q: the rule must be 1 to %d bytes of UTF-8", t.Code, maxRuleLen)
	}
	if len(t.Claims) == 0 || len(t.Claims) > 32 {
		return fmt.Errorf("certificate type %q: want 1 to 32 claims, not %d", t.Code, len(t.Claims))
	}
	names := make(map[string]bool, len(t.Claims))
	for _, c := range t.Claims {
		if !isName(c.Name) {
			return fmt.Errorf("certificate type %q: malformed claim name %q (want an ASCII identifier)", t.Code, c.Name)
		}
		if names[c.Name] {
			return fmt.Errorf("certificate type %q: duplicate claim %q", t.Code, c.Name)
		}
		names[c.Name] = true
		if strings.TrimSpace(c.Expr) == "" || len(c.Expr) > maxRuleLen || !utf8.ValidString(c.Expr) {
			return fmt.Errorf("certificate type %q: claim %q: the expression must be 1 to %d bytes of UTF-8", t.Code, c.Name, maxRuleLen)
		}
	}
	return nil
}

// checkCertificateTypes checks the types: well-formed, unique codes, registered purposes.
func (s Set) checkCertificateTypes(codes map[string]bool, bad func(string, ...any)) {
	seen := make(map[string]bool, len(s.CertificateTypes))
	for i, t := range s.CertificateTypes {
		if err := t.check(); err != nil {
			bad("certificate type %d: %v", i, err)
			continue
		}
		if seen[t.Code] {
			bad("certificate type %d: duplicate code %q", i, t.Code)
			continue
		}
		seen[t.Code] = true
		if !codes[t.Purpose] {
			bad("certificate type %q: purpose %q is not registered", t.Code, t.Purpose)
		}
	}
}

// applyCertificateTypes applies the type edits of c to next (whose other parts are applied):
// retirements, replacements and additions, in that order; added and replaced types get
// Since = next.Version.
func (s Set) applyCertificateTypes(next *Set, c Change, bad func(string, ...any)) {
	byCode := make(map[string]int, len(s.CertificateTypes))
	for i, t := range s.CertificateTypes {
		byCode[t.Code] = i
	}
	types := slices.Clone(s.CertificateTypes)
	drop := make(map[string]bool)
	for _, code := range c.RetireCertificateTypes {
		if _, ok := byCode[code]; !ok || drop[code] {
			bad("retiring certificate type %q: not defined", code)
			continue
		}
		drop[code] = true
	}
	replaced := make(map[string]bool)
	for _, t := range c.ReplaceCertificateTypes {
		i, ok := byCode[t.Code]
		if !ok || drop[t.Code] || replaced[t.Code] {
			bad("replacing certificate type %q: not defined (or retired or replaced twice by the same change)", t.Code)
			continue
		}
		replaced[t.Code] = true
		t.Since = next.Version
		types[i] = t
	}
	var out []CertificateType
	for _, t := range types {
		if !drop[t.Code] {
			out = append(out, t)
		}
	}
	for _, t := range c.AddCertificateTypes {
		if _, ok := byCode[t.Code]; ok && !drop[t.Code] {
			bad("adding certificate type %q: already defined (replace it instead)", t.Code)
			continue
		}
		if slices.ContainsFunc(out, func(o CertificateType) bool { return o.Code == t.Code }) {
			bad("adding certificate type %q: twice", t.Code)
			continue
		}
		t.Since = next.Version
		out = append(out, t)
	}
	next.CertificateTypes = out
}

// CertificateType returns the type with the given code in force in the snapshot, and reports
// whether there is one.
func (s *Snapshot) CertificateType(code string) (CertificateType, bool) {
	i, ok := slices.BinarySearchFunc(s.info.CertificateTypes, code, func(t CertificateType, c string) int { return strings.Compare(t.Code, c) })
	if !ok {
		return CertificateType{}, false
	}
	t := s.info.CertificateTypes[i]
	t.Claims = slices.Clone(t.Claims)
	return t, true
}

func cloneTypes(ts []CertificateType) []CertificateType {
	if ts == nil {
		return nil
	}
	out := make([]CertificateType, len(ts))
	for i, t := range ts {
		t.Claims = slices.Clone(t.Claims)
		out[i] = t
	}
	return out
}

func compareTypes(a, b CertificateType) int { return strings.Compare(a.Code, b.Code) }

// ParseCertificateTypes reads certificate types: a JSON array of [CertificateType] objects.
// Unknown keys are refused. The types are not validated ([Set.Validate] does).
func ParseCertificateTypes(r io.Reader) ([]CertificateType, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var ts []CertificateType
	if err := dec.Decode(&ts); err != nil {
		return nil, fmt.Errorf("%w: certificate types: %v", ErrInvalidPolicy, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: certificate types: trailing data after the array", ErrInvalidPolicy)
	}
	return ts, nil
}

// FormatCertificateTypes writes ts as an indented JSON array sorted by code, ending in a newline.
func FormatCertificateTypes(w io.Writer, ts []CertificateType) error {
	ts = cloneTypes(ts)
	slices.SortFunc(ts, compareTypes)
	if ts == nil {
		ts = []CertificateType{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ts); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// diffCertificateTypes adds to c the type edits that turn from into to: codes only in to are
// added, codes only in from retired, and codes in both whose content (Since aside) differs
// replaced.
func diffCertificateTypes(c *Change, from, to []CertificateType) {
	old := make(map[string]CertificateType, len(from))
	for _, t := range from {
		old[t.Code] = t
	}
	now := make(map[string]bool, len(to))
	for _, t := range to {
		now[t.Code] = true
		o, ok := old[t.Code]
		switch {
		case !ok:
			c.AddCertificateTypes = append(c.AddCertificateTypes, t)
		case !sameType(o, t):
			c.ReplaceCertificateTypes = append(c.ReplaceCertificateTypes, t)
		}
	}
	for _, t := range from {
		if !now[t.Code] {
			c.RetireCertificateTypes = append(c.RetireCertificateTypes, t.Code)
		}
	}
}

// sameType reports whether a and b are the same type, Since aside.
func sameType(a, b CertificateType) bool {
	return a.Code == b.Code && a.TitleZh == b.TitleZh && a.TitleEn == b.TitleEn && a.Department == b.Department &&
		a.Role == b.Role && a.Purpose == b.Purpose && a.Review == b.Review && a.Rule == b.Rule && slices.Equal(a.Claims, b.Claims)
}
