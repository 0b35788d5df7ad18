package certificate

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
	"github.com/govhub/govhub/policy"
)

var adult = policy.Statement{Kind: policy.StatementAgeAtLeast, Min: 18}

// The demo identity proof states "at least 18" through the catalogued predicate adult, which
// public-security's clerk may prove; the claim is linked to its proof when it holds.
func TestAgeClaim(t *testing.T) {
	snap := demoSnapshot(t, policy.Demo())
	r, err := Compile(demoType(t, "identity-proof"))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Needs.Predicates["identity.birthDate"]; !slices.Equal(got, []policy.Statement{adult}) {
		t.Fatalf("Needs.Predicates = %v, want identity.birthDate %v", r.Needs.Predicates, adult)
	}
	preds, err := r.Grants(t.Context(), snap)
	if err != nil {
		t.Fatalf("Grants = %v", err)
	}
	if got := preds["identity.birthDate"]; len(got) != 1 || got[0].Name != "adult" {
		t.Fatalf("Grants = %v, want adult", preds)
	}
	for _, holds := range []bool{true, false} {
		out, err := r.Eval(Inputs{"identity.name": "张三", "identity.gender": "男", "identity.hukouCity": "上海市",
			"identity.nationalId": Sealed{Present: true},
			"identity.birthDate":  Sealed{Present: true, Holds: map[policy.Statement]bool{adult: holds}}})
		if err != nil {
			t.Fatal(err)
		}
		if !out.Eligible || out.Claims["atLeast18"] != holds {
			t.Fatalf("Eval(adult %v) = %+v", holds, out)
		}
		proofs := []ProofEvidence{{Field: "identity.birthDate", Predicate: "adult", Statement: adult}}
		linked := r.LinkClaims(out, proofs)
		if want := map[bool]string{true: "atLeast18", false: ""}[holds]; linked[0].Claim != want || proofs[0].Claim != "" {
			t.Errorf("LinkClaims(adult %v) = %q, want %q (input unchanged)", holds, linked[0].Claim, want)
		}
	}
	// Undecided without the gathered predicate.
	if _, err := r.Eval(Inputs{"identity.nationalId": Sealed{Present: true}, "identity.birthDate": Sealed{Present: true}}); err == nil {
		t.Error("Eval without the age predicate = nil error")
	}
}

// Age statements a rule may not make, refused when compiled or when checked against the policy.
func TestAgeRuleRefused(t *testing.T) {
	base := demoType(t, "identity-proof")
	snap := demoSnapshot(t, policy.Demo())
	// Housing's clerk may not prove adult (nor read the birth date) for its purpose.
	byHousing := demoType(t, "home-purchase-eligibility")
	for _, tc := range []struct {
		name, rule string
		snap       *policy.Snapshot
		compile    bool
		want       string
	}{
		{"uncatalogued years", `ageAtLeast(identity.birthDate, 21)`, snap, false, "no catalogued predicate"},
		{"not granted", `ageAtLeast(identity.birthDate, 18)`, snap, false, "may not prove"},
		{"date compared", `identity.birthDate >= 18`, nil, true, "is a date"},
		{"integer field", `ageAtLeast(socialInsurance.contributionMonths, 18)`, nil, true, "sensitive date"},
		{"plain field", `ageAtLeast(identity.name, 18)`, nil, true, "sensitive date"},
		{"years not a literal", `ageAtLeast(identity.birthDate, size(identity.name))`, nil, true, "integer literal"},
		{"years out of range", `ageAtLeast(identity.birthDate, 0)`, nil, true, "out of range"},
		{"member call", `identity.birthDate.ageAtLeast(18)`, nil, true, "takes a sensitive date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := base
			if tc.name == "not granted" {
				ct = byHousing
			}
			ct.Rule = tc.rule
			r, err := Compile(ct)
			if tc.compile {
				if !errors.Is(err, ErrRule) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Compile(%q) = %v, want an ErrRule saying %q", tc.rule, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile(%q) = %v", tc.rule, err)
			}
			if _, err := r.Grants(t.Context(), tc.snap); !errors.Is(err, ErrRule) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Grants(%q) = %v, want an ErrRule saying %q", tc.rule, err, tc.want)
			}
		})
	}
	// A type whose claim states an age its issuer may not prove: refused by the check governance
	// runs on every proposed policy.
	set := policy.Demo()
	claimed := byHousing
	claimed.Claims = append(slices.Clone(claimed.Claims), policy.Claim{Name: "atLeast18", Expr: "ageAtLeast(identity.birthDate, 18)"})
	set.CertificateTypes = []policy.CertificateType{claimed}
	if err := CheckTypes(t.Context(), demoSnapshot(t, set)); !errors.Is(err, ErrRule) || !strings.Contains(err.Error(), "(predicate adult), which housing/clerk may not prove") {
		t.Errorf("CheckTypes(housing states an age) = %v", err)
	}
}

func TestAgeThresholdDate(t *testing.T) {
	for _, tc := range []struct {
		on    string
		years int64
		want  string
	}{
		{"2026-12-06", 18, "2008-12-06"},
		{"2026-02-28", 18, "2008-02-28"},
		{"2028-02-29", 18, "2010-02-28"}, // 2010 has no 29 February
		{"2028-02-29", 4, "2024-02-29"},
		{"2026-01-01", 1, "2025-01-01"},
	} {
		if got, err := AgeThresholdDate(tc.on, tc.years); err != nil || got != tc.want {
			t.Errorf("AgeThresholdDate(%s, %d) = %q, %v, want %q", tc.on, tc.years, got, err, tc.want)
		}
	}
	for _, bad := range []struct {
		on    string
		years int64
	}{{"2026-13-01", 18}, {"2026-12-06", 0}, {"2026-12-06", policy.MaxAgeYears + 1}, {"0010-01-01", 18}} {
		if got, err := AgeThresholdDate(bad.on, bad.years); err == nil {
			t.Errorf("AgeThresholdDate(%s, %d) = %q, want an error", bad.on, bad.years, got)
		}
	}
}

// ageEvidence proves that someone born on born is 18 on day on for certificate id, as the hub does.
func ageEvidence(t *testing.T, born, on, id string) ProofEvidence {
	t.Helper()
	n, err := commit.DayNumber(born)
	if err != nil {
		t.Fatal(err)
	}
	r, err := commit.NewBlinding(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := commit.Commit(commit.Int(n), r)
	threshold, err := AgeThresholdDate(on, 18)
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := commit.DayNumber(threshold)
	proof, err := rangeproof.Prove(rand.Reader, c, n, r, rangeproof.AtMost(tn), AgeContext(on, id))
	if err != nil {
		t.Fatal(err)
	}
	return ProofEvidence{Field: "identity.birthDate", Predicate: "adult", Statement: adult, Commitment: c.String(),
		Proof: base64.StdEncoding.EncodeToString(proof), On: on, Threshold: threshold, Claim: "atLeast18"}
}

// An age proof verifies only on the certificate's issue date, at the threshold 18 years before it,
// bound to the certificate id, with its claim true; any changed byte fails.
func TestCheckAgeEvidence(t *testing.T) {
	const id, other = "c-AAAAAAAAAAAAAAAAAAAAAAAAAA", "c-BBBBBBBBBBBBBBBBBBBBBBBBBB"
	issued := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	claims := map[string]any{"atLeast18": true}
	good := ageEvidence(t, "2001-05-17", "2026-12-06", id)
	if got, err := checkProofEvidence(good.object(), id, issued, claims); err != nil || got.Claim != "atLeast18" || got.Threshold != "2008-12-06" {
		t.Fatalf("checkProofEvidence(good) = %+v, %v", got, err)
	}
	// Exactly 18 today holds; the proof of yesterday's question does not pass for today.
	if _, err := checkProofEvidence(ageEvidence(t, "2008-12-06", "2026-12-06", id).object(), id, issued, claims); err != nil {
		t.Errorf("born exactly 18 years before: %v", err)
	}
	yesterday := ageEvidence(t, "2001-05-17", "2026-12-05", id)
	otherCert := ageEvidence(t, "2001-05-17", "2026-12-06", other)
	for _, tc := range []struct {
		name   string
		edit   func(pe *ProofEvidence)
		claims map[string]any
		want   string
	}{
		{"asked another day", func(pe *ProofEvidence) { *pe = yesterday }, claims, "not on the issue date"},
		{"day moved with its threshold", func(pe *ProofEvidence) { pe.On, pe.Threshold = yesterday.On, yesterday.Threshold }, claims, "not on the issue date"},
		{"wrong threshold day", func(pe *ProofEvidence) { pe.Threshold = "2008-12-05" }, claims, "threshold day"},
		{"no threshold", func(pe *ProofEvidence) { pe.Threshold = "" }, claims, "threshold day"},
		{"other years", func(pe *ProofEvidence) { pe.Statement.Min = 16; pe.Threshold = "2010-12-06" }, claims, "verif"},
		{"another certificate's proof", func(pe *ProofEvidence) { pe.Proof = otherCert.Proof }, claims, "verif"},
		{"another commitment", func(pe *ProofEvidence) { pe.Commitment = otherCert.Commitment }, claims, "verif"},
		{"claim false", func(pe *ProofEvidence) {}, map[string]any{"atLeast18": false}, "does not state true"},
		{"claim missing", func(pe *ProofEvidence) {}, map[string]any{}, "does not state true"},
		{"integer kind with a day", func(pe *ProofEvidence) { pe.Statement = policy.Statement{Kind: policy.StatementAtMost, Max: 733000} }, claims, "no day asked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe := good
			tc.edit(&pe)
			if _, err := checkProofEvidence(pe.object(), id, issued, tc.claims); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkProofEvidence = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	// Any flipped bit of the proof fails.
	raw, _ := base64.StdEncoding.DecodeString(good.Proof)
	for i := 0; i < len(raw); i += 7 {
		b := slices.Clone(raw)
		b[i] ^= 0x10
		pe := good
		pe.Proof = base64.StdEncoding.EncodeToString(b)
		if _, err := checkProofEvidence(pe.object(), id, issued, claims); err == nil {
			t.Fatalf("proof byte %d flipped: verified", i)
		}
	}
	// The same proof the next day is FAIL: the certificate's date is what the threshold is of.
	if _, err := checkProofEvidence(good.object(), id, issued.Add(24*time.Hour), claims); err == nil {
		t.Error("an age proof verified for a certificate issued the next day")
	}
}
