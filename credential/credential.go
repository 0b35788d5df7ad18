package credential

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ContextV2 is the base context of a Verifiable Credentials 2.0 document (VC Data Model v2.0,
// section 4.3 Contexts); it must be the first item of the document's @context.
const ContextV2 = "https://www.w3.org/ns/credentials/v2"

// TypeVerifiableCredential is the type every credential carries (VC Data Model v2.0, section 4.5).
const TypeVerifiableCredential = "VerifiableCredential"

// xsdDateTime is the lexical space of XML Schema 1.1 Part 2 dateTime (section 3.3.7); the
// time zone is required in dateTimeStamp (section 3.4.28).
var xsdDateTime = regexp.MustCompile(`^-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])` +
	`T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|(24:00:00(\.0+)?))` +
	`(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?$`)

// parseDateTime parses an XML Schema 1.1 dateTime; if stamp is set the time zone is required
// (dateTimeStamp). Years outside 0000-9999, which the lexical space allows, are refused. A value
// without a time zone is read as UTC (VC Data Integrity 1.0, section 2.1, "created").
func parseDateTime(s string, stamp bool) (time.Time, error) {
	m := xsdDateTime.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("%q is not an XML Schema dateTime", s)
	}
	if stamp && m[9] == "" {
		return time.Time{}, fmt.Errorf("%q has no time zone (an XML Schema dateTimeStamp needs one)", s)
	}
	if len(m[1]) != 4 || strings.HasPrefix(s, "-") {
		return time.Time{}, fmt.Errorf("%q: year out of the supported range 0000-9999", s)
	}
	v := s
	if m[9] == "" {
		v += "Z"
	}
	midnight := m[7] != ""
	if midnight { // 24:00:00 is 00:00:00 of the next day
		v = strings.Replace(v, "T24:00:00", "T00:00:00", 1)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %v", s, err)
	}
	if midnight {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// isURL reports whether s is an absolute URL (it has a scheme), as VC Data Model v2.0 requires of
// identifiers (section 4.4) and issuers (section 4.7).
func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Opaque != "" || u.Host != "" || u.Path != "")
}

// CheckCredential checks the structural rules of VC Data Model v2.0 that a document must meet to
// be a verifiable credential; it is called by Sign and, on the verified document, by Verify. It
// checks: @context is a list whose first item is ContextV2 and whose other items are strings or
// objects (section 4.3); type includes "VerifiableCredential" and is a string or a list of strings
// (section 4.5); id, if present, is a URL (section 4.4); issuer is a URL or an object whose id is
// a URL (section 4.7); credentialSubject is an object or a non-empty list of objects (section
// 4.8); validFrom and validUntil, if present, are dateTimeStamps in that order (section 4.9);
// credentialStatus, credentialSchema, evidence, termsOfUse and refreshService, if present, are
// objects or lists of objects each with a type (section 4.5, table of objects that must have a type).
//
// It does not check the time: see CheckValidAt. It does not interpret any claim.
func CheckCredential(doc map[string]any) error {
	ctx, ok := doc["@context"].([]any)
	if !ok || len(ctx) == 0 || ctx[0] != ContextV2 {
		return fmt.Errorf("@context must be a list starting with %q", ContextV2)
	}
	for _, c := range ctx[1:] {
		switch c.(type) {
		case string, map[string]any:
		default:
			return errors.New("@context items must be URLs or objects")
		}
	}
	types, err := stringOrStrings(doc["type"])
	if err != nil {
		return fmt.Errorf("type: %v", err)
	}
	if !contains(types, TypeVerifiableCredential) {
		return fmt.Errorf("type must include %q", TypeVerifiableCredential)
	}
	if id, present := doc["id"]; present {
		if s, ok := id.(string); !ok || !isURL(s) {
			return errors.New("id must be a URL")
		}
	}
	if iss := Issuer(doc); iss == "" || !isURL(iss) {
		return errors.New("issuer must be a URL or an object whose id is a URL")
	}
	subjects, err := objects(doc["credentialSubject"], false)
	if err != nil || len(subjects) == 0 {
		return errors.New("credentialSubject must be an object or a non-empty list of objects")
	}
	var from, until time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"validFrom", &from}, {"validUntil", &until}} {
		v, present := doc[p.name]
		if !present {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s must be a string", p.name)
		}
		if *p.t, err = parseDateTime(s, true); err != nil {
			return fmt.Errorf("%s: %v", p.name, err)
		}
	}
	if !from.IsZero() && !until.IsZero() && until.Before(from) {
		return errors.New("validUntil is before validFrom")
	}
	for _, name := range []string{"credentialStatus", "credentialSchema", "evidence", "termsOfUse", "refreshService"} {
		v, present := doc[name]
		if !present {
			continue
		}
		objs, err := objects(v, true)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		for _, o := range objs {
			if _, err := stringOrStrings(o["type"]); err != nil {
				return fmt.Errorf("%s: type: %v", name, err)
			}
		}
	}
	return nil
}

// Issuer returns the issuer's URL of a credential: the issuer member if it is a string, or its id
// if it is an object (VC Data Model v2.0, section 4.7); "" if there is none.
func Issuer(doc map[string]any) string {
	switch iss := doc["issuer"].(type) {
	case string:
		return iss
	case map[string]any:
		id, _ := iss["id"].(string)
		return id
	}
	return ""
}

// CheckValidAt reports an error if t is outside the credential's validity period, [validFrom,
// validUntil] (VC Data Model v2.0, section 4.9); a bound that is absent does not limit it.
func CheckValidAt(doc map[string]any, t time.Time) error {
	if s, ok := doc["validFrom"].(string); ok {
		from, err := parseDateTime(s, true)
		if err != nil {
			return fmt.Errorf("validFrom: %v", err)
		}
		if t.Before(from) {
			return fmt.Errorf("credential not valid before %s", s)
		}
	}
	if s, ok := doc["validUntil"].(string); ok {
		until, err := parseDateTime(s, true)
		if err != nil {
			return fmt.Errorf("validUntil: %v", err)
		}
		if t.After(until) {
			return fmt.Errorf("credential expired at %s", s)
		}
	}
	return nil
}

func stringOrStrings(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		if len(t) == 0 {
			return nil, errors.New("empty list")
		}
		out := make([]string, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("not a string")
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, errors.New("must be a string or a list of strings")
}

func objects(v any, allowEmpty bool) ([]map[string]any, error) {
	switch t := v.(type) {
	case map[string]any:
		return []map[string]any{t}, nil
	case []any:
		if len(t) == 0 && !allowEmpty {
			return nil, errors.New("empty list")
		}
		out := make([]map[string]any, len(t))
		for i, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, errors.New("must be an object or a list of objects")
			}
			out[i] = m
		}
		return out, nil
	}
	return nil, errors.New("must be an object or a list of objects")
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// CheckIssuerKey checks the binding GovHub uses between a credential's issuer and the key of its
// proof: the verification method is a fragment of the issuer's URL (a DID URL such as
// did:web:hub.example#z6Mk...). Combined with a resolver that only returns keys the issuer's
// DID document authorizes for assertionMethod (KeyFromDIDDocument), this makes the issuer the
// controller of the key (VC Data Integrity 1.0, section 5.9 "Verification Method Binding").
func CheckIssuerKey(doc map[string]any, verificationMethod string) error {
	iss := Issuer(doc)
	base, fragment, found := strings.Cut(verificationMethod, "#")
	if iss == "" || !found || fragment == "" || base != iss {
		return fmt.Errorf("verification method %s is not a key of the issuer %q", verificationMethod, iss)
	}
	return nil
}
