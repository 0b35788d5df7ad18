package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind is the kind of party a token speaks for.
type Kind string

// The kinds of principal GovHub knows.
const (
	// KindDepartment is an official acting in a role within a department
	// (Department and Role set).
	KindDepartment Kind = "department"
	// KindOfficer is a privacy officer of a department (Department set, Role
	// is RoleOfficer).
	KindOfficer Kind = "officer"
	// KindCitizen is a citizen reviewing the accesses to their own data
	// (Subject is the citizen id; no Department or Role).
	KindCitizen Kind = "citizen"
	// KindAuditor is an auditor of the ledger (no Department or Role).
	KindAuditor Kind = "auditor"
	// KindOperator is an operator running the hub (no Department or Role):
	// the hub's administration and operational status, never citizen data or
	// the policy.
	KindOperator Kind = "operator"
)

// RoleOfficer is the role every officer principal carries.
const RoleOfficer = "officer"

// ErrInvalidPrincipal reports a Principal that breaks the rules of its Kind.
// [Principal.Validate] and [Issuer.Issue] return it wrapped; [Verifier.Verify]
// reports a token carrying such a principal as [ErrClaims].
var ErrInvalidPrincipal = errors.New("invalid principal")

// Principal is the authenticated party behind a request.
//
// A Principal says who is calling, not what they may do: authorization is
// decided elsewhere from these fields.
type Principal struct {
	Kind       Kind
	Department string    // department code, e.g. "housing"; department and officer kinds only
	Role       string    // role in the department, e.g. "clerk"; RoleOfficer for officers
	Subject    string    // who: an official's user id, an officer id, a citizen id (C000001), an auditor id
	Issuer     string    // who vouches for Subject: the token's "iss"; set by Verify, ignored by Issue
	TokenID    string    // the token's "jti"; set by Verify, ignored by Issue
	Expires    time.Time // the token's "exp"; set by Verify, ignored by Issue
}

// Same reports whether p and q are the same party: the same Issuer, and the
// same Subject in canonical form ([CanonicalSubject]). Kind, Department and
// Role do not count: one person may hold several. Compare principals with it,
// never by their Subject strings: "OFFICER-1" and "officer-1" of one issuer
// are one person, and "officer-1" of two issuers are two.
func (p Principal) Same(q Principal) bool {
	return p.Issuer == q.Issuer && CanonicalSubject(p.Subject) == CanonicalSubject(q.Subject)
}

// CanonicalSubject returns the form in which subjects are compared: ASCII
// letters in lower case, everything else unchanged. Subjects are ASCII
// ([Principal.Validate]), and identity providers treat user names without
// regard to case, so a subject's case never tells two people apart.
func CanonicalSubject(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// Validate checks the fields the principal's Kind requires, and that fields
// foreign to the Kind are empty:
//
//   - department: Department and Role are codes; Subject is an id.
//   - officer: Department is a code; Role is RoleOfficer; Subject is an id.
//   - citizen: Subject is a citizen id; Department and Role are empty.
//   - auditor, operator: Subject is an id; Department and Role are empty.
//
// A code (department or role) is 1 to 64 characters of [a-z0-9-]. A citizen id
// is an upper-case letter then 6 to 12 digits ([A-Z][0-9]{6,12}, e.g. C000001).
// Any other id is 1 to 128 characters of [A-Za-z0-9._@+:-].
// Issuer, TokenID and Expires are not checked.
//
// The error wraps [ErrInvalidPrincipal] and names the broken rule, never the
// offending value.
func (p Principal) Validate() error {
	switch p.Kind {
	case KindDepartment:
		if !isCode(p.Department) {
			return invalid("department code must be 1-64 characters of [a-z0-9-]")
		}
		if !isCode(p.Role) {
			return invalid("role must be 1-64 characters of [a-z0-9-]")
		}
		if !isID(p.Subject) {
			return invalid("subject must be 1-128 characters of [A-Za-z0-9._@+:-]")
		}
	case KindOfficer:
		if !isCode(p.Department) {
			return invalid("department code must be 1-64 characters of [a-z0-9-]")
		}
		if p.Role != RoleOfficer {
			return invalid(`officer role must be "officer"`)
		}
		if !isID(p.Subject) {
			return invalid("subject must be 1-128 characters of [A-Za-z0-9._@+:-]")
		}
	case KindCitizen:
		if p.Department != "" || p.Role != "" {
			return invalid("citizen must have no department or role")
		}
		if !isCitizenID(p.Subject) {
			return invalid("citizen subject must match [A-Z][0-9]{6,12}")
		}
	case KindAuditor, KindOperator:
		if p.Department != "" || p.Role != "" {
			return invalid(string(p.Kind) + " must have no department or role")
		}
		if !isID(p.Subject) {
			return invalid("subject must be 1-128 characters of [A-Za-z0-9._@+:-]")
		}
	default:
		return invalid("kind must be department, officer, citizen, auditor or operator")
	}
	return nil
}

func invalid(rule string) error {
	return fmt.Errorf("%w: %s", ErrInvalidPrincipal, rule)
}

// isCode reports whether s is 1 to 64 characters of [a-z0-9-].
func isCode(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isCitizenID reports whether s matches [A-Z][0-9]{6,12}.
func isCitizenID(s string) bool {
	if len(s) < 7 || len(s) > 13 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isID reports whether s is 1 to 128 characters of [A-Za-z0-9._@+:-].
func isID(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '@', c == '+', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// contextKey is the unexported key under which a Principal travels in a
// context.
type contextKey struct{}

// NewContext returns a copy of ctx carrying p. [Middleware] calls it for every
// authenticated request.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the Principal carried by ctx, and reports whether there
// was one.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(Principal)
	return p, ok
}
