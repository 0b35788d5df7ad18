package certificate

import (
	"errors"
	"strings"
	"testing"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/policy"
)

func demoSnapshot(t *testing.T, set policy.Set) *policy.Snapshot {
	t.Helper()
	e, err := policy.New(set, policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatal(err)
	}
	return e.Snapshot()
}

func demoType(t *testing.T, code string) policy.CertificateType {
	t.Helper()
	for _, ct := range policy.Demo().CertificateTypes {
		if ct.Code == code {
			return ct
		}
	}
	t.Fatalf("no demo type %s", code)
	return policy.CertificateType{}
}

func TestDemoTypesGranted(t *testing.T) {
	snap := demoSnapshot(t, policy.Demo())
	if err := CheckTypes(t.Context(), snap); err != nil {
		t.Fatalf("CheckTypes(demo) = %v, want nil", err)
	}
	r, err := Compile(demoType(t, "home-purchase-eligibility"))
	if err != nil {
		t.Fatal(err)
	}
	preds, err := r.Grants(t.Context(), snap)
	if err != nil {
		t.Fatal(err)
	}
	if got := preds["socialInsurance.contributionMonths"]; len(got) != 1 || got[0].Name != "atLeast60" {
		t.Errorf("Grants predicates = %v, want atLeast60", preds)
	}
	if got := strings.Join(r.Needs.SpouseLists, ","); got != "property" {
		t.Errorf("SpouseLists = %q, want property", got)
	}
}

func TestRuleRefused(t *testing.T) {
	snap := demoSnapshot(t, policy.Demo())
	base := demoType(t, "home-purchase-eligibility")
	for _, tc := range []struct {
		name, rule string
		compile    bool // refused by Compile (else by Grants)
		want       string
	}{
		{"uncatalogued threshold", `socialInsurance.contributionMonths >= 59`, false, "no catalogued predicate"},
		{"value read", `socialInsurance.contributionMonths == socialInsurance.contributionMonths`, true, "may be read only"},
		{"sensitive not committed to issuer", `present(identity.address)`, false, "may not even see"},
		{"not revealed", `tax.year > 2000`, false, "may not reveal"},
		{"commit only, no predicate", `tax.annualIncome >= 100000`, false, "no catalogued predicate"},
		{"not a bool", `identity.name`, true, "not a bool"},
		{"syntax", `identity.name ==`, true, "the rule"},
		{"health denied", `present(health.bloodType)`, false, "may not even see"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := base
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
			_, err = r.Grants(t.Context(), snap)
			if !errors.Is(err, ErrRule) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Grants(%q) = %v, want an ErrRule saying %q", tc.rule, err, tc.want)
			}
		})
	}
}

func TestEval(t *testing.T) {
	r, err := Compile(demoType(t, "home-purchase-eligibility"))
	if err != nil {
		t.Fatal(err)
	}
	atLeast60 := policy.Statement{Kind: policy.StatementAtLeast, Min: 60}
	home := []map[string]any{{"city": "北京市"}}
	for _, tc := range []struct {
		name string
		in   Inputs
		want bool
	}{
		{"months", Inputs{"identity.name": "张三", "identity.hukouCity": "北京市",
			"socialInsurance.contributionMonths": Sealed{Present: true, Holds: map[policy.Statement]bool{atLeast60: true}}}, true},
		{"hukou", Inputs{"identity.name": "张三", "identity.hukouCity": "上海市",
			"socialInsurance.contributionMonths": Sealed{Present: true, Holds: map[policy.Statement]bool{atLeast60: false}}}, true},
		{"neither", Inputs{"identity.hukouCity": "北京市",
			"socialInsurance.contributionMonths": Sealed{Present: true, Holds: map[policy.Statement]bool{atLeast60: false}}}, false},
		{"family owns two", Inputs{"identity.hukouCity": "上海市", "property": home, "spouse.property": home,
			"socialInsurance.contributionMonths": Sealed{Present: true, Holds: map[policy.Statement]bool{atLeast60: true}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := r.Eval(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if out.Eligible != tc.want {
				t.Fatalf("Eval = %v, want %v", out.Eligible, tc.want)
			}
			if tc.want && (out.Claims["eligible"] != true || out.Claims["name"] == nil) {
				t.Errorf("claims = %v", out.Claims)
			}
		})
	}
	// A comparison whose predicate was not gathered cannot be decided: an error, not an eligibility.
	if out, err := r.Eval(Inputs{"identity.hukouCity": "北京市", "socialInsurance.contributionMonths": Sealed{Present: true}}); err == nil {
		t.Fatalf("Eval without the predicate = %v, nil; want an error", out)
	}
}

func TestBusinessLicenseClaims(t *testing.T) {
	r, err := Compile(demoType(t, "business-license"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Eval(Inputs{"businessLicense": []map[string]any{
		{"status": "REVOKED", "companyName": "旧公司", "uscc": "X", "legalRepresentative": "李四", "registeredCapital": int64(1)},
		{"status": "ACTIVE", "companyName": "新公司", "uscc": "Y", "legalRepresentative": "李四", "registeredCapital": int64(1000000)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Eligible || out.Claims["companyName"] != "新公司" || out.Claims["registeredCapital"] != "1000000" {
		t.Fatalf("Eval = %+v", out)
	}
}
