package certificate

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
	"github.com/govhub/govhub/policy"
)

// AgeContextVersion opens the context of a proof about a date (see AgeContext).
const AgeContextVersion = "govhub/age/v1"

// AgeContext is the context a proof about a date, asked on day on (YYYY-MM-DD, UTC), for the
// request requestID is bound to: "govhub/age/v1 on <day> request <id>". A certificate's age proof
// has the certificate id as its request id.
func AgeContext(on, requestID string) []byte {
	return []byte(AgeContextVersion + " on " + on + " request " + requestID)
}

// AgeThresholdDate returns the latest date of birth (YYYY-MM-DD) of someone at least years old on
// day on (YYYY-MM-DD): the same day and month, years earlier, and 28 February for a 29 February
// that the earlier year lacks. years must be 1 to policy.MaxAgeYears.
func AgeThresholdDate(on string, years int64) (string, error) {
	t, err := time.Parse(time.DateOnly, on)
	if err != nil {
		return "", fmt.Errorf("the day asked %q is not a date YYYY-MM-DD", on)
	}
	y, m, d := t.Date()
	if years < 1 || years > policy.MaxAgeYears || int64(y)-years < 1 {
		return "", fmt.Errorf("no date %d years before %s", years, on)
	}
	ty := y - int(years)
	if last := time.Date(ty, m+1, 0, 0, 0, 0, 0, time.UTC).Day(); d > last {
		d = last
	}
	return fmt.Sprintf("%04d-%02d-%02d", ty, m, d), nil
}

// ProofEvidence is one threshold proof a certificate relies on: the field's commitment, the
// catalogued predicate and its statement, and the Bulletproofs range proof (crypto/rangeproof).
//
// For a statement about integers the proof is of that statement and its context is the
// certificate id. For an age statement (kind ageAtLeast, Min years) On is the day it was asked, the
// UTC date of the certificate's validFrom, Threshold the latest birth date that satisfies it
// (AgeThresholdDate(On, Min)), and the proof is an atMost range proof on the date's day number
// (crypto/commit scheme v2) at Threshold's day number, with the context AgeContext(On,
// certificate id): the certificate states an age, never the date.
//
// Claim, when set, names the claim of credentialSubject.claims that this proof makes verifiable: a
// claim whose expression is exactly the predicate (ageAtLeast(identity.birthDate, 18)), which is
// then true.
type ProofEvidence struct {
	Field      string           `json:"field"`
	Predicate  string           `json:"predicate"`
	Statement  policy.Statement `json:"statement"`
	Commitment string           `json:"commitment"` // hex, compressed G1
	Proof      string           `json:"proof"`      // base64
	On         string           `json:"on,omitempty"`
	Threshold  string           `json:"threshold,omitempty"`
	Claim      string           `json:"claim,omitempty"`
}

// object is pe as the credential's evidence writes it.
func (pe ProofEvidence) object() map[string]any {
	m := map[string]any{"field": pe.Field, "predicate": pe.Predicate,
		"statement":  map[string]any{"kind": pe.Statement.Kind, "min": pe.Statement.Min, "max": pe.Statement.Max},
		"commitment": pe.Commitment, "proof": pe.Proof}
	for k, v := range map[string]string{"on": pe.On, "threshold": pe.Threshold, "claim": pe.Claim} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// ProvenStatement is a threshold proof a verification checked, as a report states it.
type ProvenStatement struct {
	Field, Predicate string
	Statement        policy.Statement
	// On and Threshold are an age statement's day asked and latest birth date (YYYY-MM-DD).
	On, Threshold string
	// Claim is the claim the proof makes verifiable, if any.
	Claim string
}

// RangeStatement returns the range-proof statement and context a proof of pe in the certificate id,
// issued at issued, must verify under: the statement itself and the id for an integer statement;
// for an age statement, atMost the threshold's day number and AgeContext(day issued, id), after
// checking that On is the UTC date of issued and Threshold is AgeThresholdDate(On, years).
func (pe ProofEvidence) RangeStatement(id string, issued time.Time) (rangeproof.Statement, []byte, error) {
	if !pe.Statement.OnDates() {
		if pe.On != "" || pe.Threshold != "" {
			return rangeproof.Statement{}, nil, fmt.Errorf("%s: a statement about integers has no day asked or threshold day", pe.Field)
		}
		return rangeproof.Statement{Kind: rangeproof.Kind(pe.Statement.Kind), Min: pe.Statement.Min, Max: pe.Statement.Max}, []byte(id), nil
	}
	if issued.IsZero() {
		return rangeproof.Statement{}, nil, fmt.Errorf("%s: an age proof needs the certificate's issue date", pe.Field)
	}
	day := issued.UTC().Format(time.DateOnly)
	if pe.On != day {
		return rangeproof.Statement{}, nil, fmt.Errorf("%s: the age was asked on %q, not on the issue date %s", pe.Field, pe.On, day)
	}
	want, err := AgeThresholdDate(day, pe.Statement.Min)
	if err != nil {
		return rangeproof.Statement{}, nil, fmt.Errorf("%s: %w", pe.Field, err)
	}
	if pe.Threshold != want {
		return rangeproof.Statement{}, nil, fmt.Errorf("%s: the threshold day is %q, but %d years before the issue date %s is %s",
			pe.Field, pe.Threshold, pe.Statement.Min, day, want)
	}
	n, err := commit.DayNumber(want)
	if err != nil {
		return rangeproof.Statement{}, nil, err
	}
	return rangeproof.AtMost(n), AgeContext(day, id), nil
}

// checkProofEvidence verifies one threshold proof of the evidence of the certificate id issued at
// issued, whose claims are claims: the proof against its commitment, its statement (an age
// statement: at the threshold day of the issue date) and its context (the certificate id), and
// the claim it names, which must be true.
func checkProofEvidence(p any, id string, issued time.Time, claims map[string]any) (ProvenStatement, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return ProvenStatement{}, err
	}
	var pe ProofEvidence
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pe); err != nil {
		return ProvenStatement{}, err
	}
	cb, err := hex.DecodeString(pe.Commitment)
	if err != nil {
		return ProvenStatement{}, fmt.Errorf("commitment of %s: %w", pe.Field, err)
	}
	c, err := commit.ParseCommitmentBytes(cb)
	if err != nil {
		return ProvenStatement{}, fmt.Errorf("commitment of %s: %w", pe.Field, err)
	}
	proof, err := base64.StdEncoding.Strict().DecodeString(pe.Proof)
	if err != nil {
		return ProvenStatement{}, fmt.Errorf("proof of %s: %w", pe.Field, err)
	}
	st, context, err := pe.RangeStatement(id, issued)
	if err != nil {
		return ProvenStatement{}, err
	}
	if err := rangeproof.Verify(c, st, context, proof); err != nil {
		return ProvenStatement{}, fmt.Errorf("%s %s (%s): %w", pe.Field, pe.Statement, pe.Predicate, err)
	}
	if pe.Claim != "" {
		if v, ok := claims[pe.Claim].(bool); !ok || !v {
			return ProvenStatement{}, fmt.Errorf("%s %s (%s) is the proof of claim %q, which does not state true", pe.Field, pe.Statement, pe.Predicate, pe.Claim)
		}
	}
	return ProvenStatement{Field: pe.Field, Predicate: pe.Predicate, Statement: pe.Statement, On: pe.On, Threshold: pe.Threshold, Claim: pe.Claim}, nil
}

// errNoIssueDate refuses a credential without a validFrom.
var errNoIssueDate = errors.New("the credential has no issue time (validFrom)")
