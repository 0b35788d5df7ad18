package main

import (
	"strings"
	"testing"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
)

var (
	officer1 = auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-1"}
	officer2 = auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-2"}
	officer3 = auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-3"}
)

const propose = `mutation($change: PolicyChangeInput!, $reason: String!) {
  proposePolicyChange(change: $change, reason: $reason) {
    id baseVersion status proposedBy ledgerIndex
    impact { department role purpose field before after }
  }
}`

const approve = `mutation($id: ID!) { approvePolicyChange(id: $id) { id status version decidedBy decisionLedgerIndex } }`

func rule(role, dept, object, action, purpose, effect string) map[string]any {
	return map[string]any{"role": role, "department": dept, "object": object, "action": action, "purpose": purpose, "effect": effect}
}

const birthDateQuery = `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { identity { name birthDate { commitment { point version } } } } }`

// Maker-checker through GraphQL: propose (with an impact preview) → self-approval refused →
// another officer approves → the housing clerk's next query sees the new decision → the ledger
// holds the proposal, the approval, and an access entry naming the new version.
func TestMakerChecker(t *testing.T) {
	h := startHub(t, 5)
	c := h.findCitizen(5, "identity")
	housing := h.token(housingClerk)

	before := h.query(housing, birthDateQuery, map[string]any{"id": c.ID})
	if e := before.errorAt("citizen", "identity", "birthDate"); e == nil || e.Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("before the change birthDate is %v (%+v), want FORBIDDEN", get(before.Data, "citizen", "identity", "birthDate"), before.Errors)
	}

	change := map[string]any{"addRules": []any{rule("clerk", "housing", "identity.birthDate", "commit", "home-purchase-eligibility", "allow")}}
	res := h.query(h.token(officer1), propose, map[string]any{"change": change, "reason": "購房資格需核验年龄 — age check needs a commitment to the birth date"})
	if len(res.Errors) > 0 {
		t.Fatalf("propose: %+v", res.Errors)
	}
	prop := get(res.Data, "proposePolicyChange")
	id := get(prop, "id").(string)
	if get(prop, "status") != "pending" || get(prop, "baseVersion") != float64(1) {
		t.Errorf("proposal = %v", prop)
	}
	impact := get(prop, "impact").([]any)
	var lines []string
	for _, f := range impact {
		lines = append(lines, strings.Join([]string{get(f, "department").(string), get(f, "role").(string), get(f, "purpose").(string),
			get(f, "field").(string), get(f, "before").(string), get(f, "after").(string)}, " "))
	}
	want := []string{
		"housing clerk home-purchase-eligibility identity.birthDate deny commit",
		"housing senior-clerk home-purchase-eligibility identity.birthDate deny commit",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("impact =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	if r := h.query(h.token(officer1), approve, map[string]any{"id": id}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "FORBIDDEN" ||
		!strings.Contains(r.Errors[0].Message, "own proposal") {
		t.Fatalf("self-approval: %+v, want FORBIDDEN naming the rule", r.Errors)
	}
	// The proposer under another spelling of the same subject is still the proposer.
	for _, variant := range []string{strings.ToUpper(officer1.Subject), "Officer-1"} {
		same := officer1
		same.Subject = variant
		if r := h.query(h.token(same), approve, map[string]any{"id": id}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "FORBIDDEN" ||
			!strings.Contains(r.Errors[0].Message, "own proposal") {
			t.Fatalf("self-approval as %s: %+v, want FORBIDDEN naming the rule", variant, r.Errors)
		}
	}
	if r := h.query(housing, approve, map[string]any{"id": id}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("a clerk approving: %+v, want FORBIDDEN", r.Errors)
	}
	ok := h.query(h.token(officer2), approve, map[string]any{"id": id})
	if len(ok.Errors) > 0 || get(ok.Data, "approvePolicyChange", "status") != "approved" || get(ok.Data, "approvePolicyChange", "version") != float64(2) {
		t.Fatalf("approval: %v %+v", ok.Data, ok.Errors)
	}
	if r := h.query(h.token(officer3), approve, map[string]any{"id": id}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "CONFLICT" {
		t.Errorf("a second approval: %+v, want CONFLICT", r.Errors)
	}

	after := h.query(housing, birthDateQuery, map[string]any{"id": c.ID})
	if len(after.Errors) > 0 || get(after.Data, "citizen", "identity", "birthDate", "commitment", "point") == nil {
		t.Fatalf("after the approval: %v %+v, want the birth date's commitment", after.Data, after.Errors)
	}
	access, _ := h.receiptEntry(after)
	if access.Policy != 2 || !strings.Contains(strings.Join(fieldLines(access), ","), "identity.birthDate commit") {
		t.Errorf("access entry = policy %d, fields %v; want policy 2 with birthDate at commit", access.Policy, fieldLines(access))
	}
	all, _ := h.entries()
	pIdx := uint64(get(prop, "ledgerIndex").(float64))
	aIdx := uint64(get(ok.Data, "approvePolicyChange", "decisionLedgerIndex").(float64))
	if all[pIdx].Kind != ledger.KindProposal || all[pIdx].Policy != 1 || all[pIdx].Department != "privacy-office" {
		t.Errorf("proposal entry = %+v", all[pIdx])
	}
	if all[aIdx].Kind != ledger.KindApproval || all[aIdx].Policy != 2 || len(all[aIdx].Record) != 32 {
		t.Errorf("approval entry = %+v", all[aIdx])
	}

	// explainAccess names the rule.
	ex := h.query(h.token(officer3), `{ explainAccess(department: "housing", role: "clerk", field: "identity.birthDate", purpose: "home-purchase-eligibility") { level matched { object action effect } policyVersion } }`, nil)
	if get(ex.Data, "explainAccess", "level") != "commit" || len(get(ex.Data, "explainAccess", "matched").([]any)) != 1 {
		t.Errorf("explainAccess = %v %+v", ex.Data, ex.Errors)
	}
}

// Proposals are validated when made, go stale when another version is approved first, and can be
// rejected with a reason.
func TestProposalRules(t *testing.T) {
	h := startHub(t, 3)
	o1, o2 := h.token(officer1), h.token(officer2)
	for _, tc := range []struct {
		name   string
		change map[string]any
		want   string
	}{
		{"unknown field", map[string]any{"addRules": []any{rule("clerk", "housing", "tax.salary", "reveal", "home-purchase-eligibility", "allow")}}, "tax.salary"},
		{"unknown dataset", map[string]any{"addRules": []any{rule("clerk", "housing", "pets.*", "reveal", "home-purchase-eligibility", "allow")}}, "pets"},
		{"unknown purpose", map[string]any{"addRules": []any{rule("clerk", "housing", "tax.year", "reveal", "curiosity", "allow")}}, "curiosity"},
		{"commit on a plain field", map[string]any{"addRules": []any{rule("clerk", "housing", "identity.name", "commit", "home-purchase-eligibility", "allow")}}, "identity.name"},
		{"malformed pattern", map[string]any{"addRules": []any{rule("clerk", "housing", "ta*x.year", "reveal", "home-purchase-eligibility", "allow")}}, "ta*x.year"},
		{"removing an absent rule", map[string]any{"removeRules": []any{rule("clerk", "housing", "tax.year", "reveal", "home-purchase-eligibility", "allow")}}, "not in the policy"},
		{"empty change", map[string]any{}, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.query(o1, propose, map[string]any{"change": tc.change, "reason": "test"})
			if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, tc.want) {
				t.Errorf("propose(%s) = %+v, want BAD_USER_INPUT naming %q", tc.name, r.Errors, tc.want)
			}
		})
	}
	// Changing the policy is for officers only (auditors read it); reading it is for officers and
	// auditors.
	for _, p := range []auth.Principal{housingClerk, auditor} {
		if r := h.query(h.token(p), propose, map[string]any{"change": map[string]any{"retirePurposes": []any{"x"}}, "reason": "r"}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "FORBIDDEN" {
			t.Errorf("%s proposing: %+v, want FORBIDDEN", p.Kind, r.Errors)
		}
	}
	for _, q := range []string{`{ policyRules { object } }`, `{ policyVersions { version } }`, `{ policyProposals { id } }`,
		`{ explainAccess(department: "housing", role: "clerk", field: "identity.name", purpose: "home-purchase-eligibility") { level } }`} {
		if r := h.query(h.token(housingClerk), q, nil); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "FORBIDDEN" || len(r.Data) != 0 {
			t.Errorf("a clerk asking %s: %v %+v, want FORBIDDEN and no data", q, r.Data, r.Errors)
		}
	}

	mk := func(object string) string {
		r := h.query(o1, propose, map[string]any{"change": map[string]any{"addRules": []any{rule("clerk", "housing", object, "reveal", "home-purchase-eligibility", "allow")}}, "reason": "r"})
		if len(r.Errors) > 0 {
			t.Fatalf("propose %s: %+v", object, r.Errors)
		}
		return get(r.Data, "proposePolicyChange", "id").(string)
	}
	a, b, c := mk("tax.year"), mk("socialInsurance.employer"), mk("marriage.registeredOn")
	if r := h.query(o2, approve, map[string]any{"id": b}); len(r.Errors) > 0 {
		t.Fatalf("approve b: %+v", r.Errors)
	}
	if r := h.query(o2, approve, map[string]any{"id": a}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "CONFLICT" || !strings.Contains(r.Errors[0].Message, "version 2 is in force") {
		t.Errorf("approving a stale proposal: %+v, want CONFLICT saying it is stale", r.Errors)
	}
	rej := h.query(o2, `mutation($id: ID!) { rejectPolicyChange(id: $id, reason: "no legal basis given") { status decidedBy decisionReason decisionLedgerIndex } }`, map[string]any{"id": c})
	if get(rej.Data, "rejectPolicyChange", "status") != "rejected" || get(rej.Data, "rejectPolicyChange", "decisionReason") != "no legal basis given" {
		t.Errorf("reject: %v %+v", rej.Data, rej.Errors)
	}
	all, _ := h.entries()
	if e := all[uint64(get(rej.Data, "rejectPolicyChange", "decisionLedgerIndex").(float64))]; e.Kind != ledger.KindRejection {
		t.Errorf("rejection entry = %+v", e)
	}
	list := h.query(h.token(auditor), `{ policyProposals { id status } policyVersions { version approvedBy proposedBy } policyVersion { version rules } }`, nil)
	if len(list.Errors) > 0 || len(get(list.Data, "policyProposals").([]any)) != 3 || len(get(list.Data, "policyVersions").([]any)) != 2 ||
		get(list.Data, "policyVersion", "version") != float64(2) {
		t.Errorf("history: %v %+v", list.Data, list.Errors)
	}
}

const previewQuery = `query($change: PolicyChangeInput!) {
  policyChangePreview(change: $change) { baseVersion impact { department role purpose field before after } }
}`

// An officer previews a change's impact with nothing stored: no proposal appears and the ledger does
// not grow. Invalid changes are refused as proposals are; only officers may preview.
func TestPolicyChangePreview(t *testing.T) {
	h := startHub(t, 3)
	o1 := h.token(officer1)
	before, _ := h.entries()

	change := map[string]any{"addRules": []any{rule("clerk", "housing", "identity.birthDate", "commit", "home-purchase-eligibility", "allow")}}
	res := h.query(o1, previewQuery, map[string]any{"change": change})
	if len(res.Errors) > 0 {
		t.Fatalf("policyChangePreview: %+v", res.Errors)
	}
	if v := get(res.Data, "policyChangePreview", "baseVersion"); v != float64(1) {
		t.Errorf("policyChangePreview baseVersion = %v, want 1", v)
	}
	var lines []string
	for _, f := range get(res.Data, "policyChangePreview", "impact").([]any) {
		lines = append(lines, strings.Join([]string{get(f, "department").(string), get(f, "role").(string), get(f, "purpose").(string),
			get(f, "field").(string), get(f, "before").(string), get(f, "after").(string)}, " "))
	}
	want := []string{
		"housing clerk home-purchase-eligibility identity.birthDate deny commit",
		"housing senior-clerk home-purchase-eligibility identity.birthDate deny commit",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("policyChangePreview impact =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	bad := map[string]any{"addRules": []any{rule("clerk", "housing", "tax.salary", "reveal", "home-purchase-eligibility", "allow")}}
	if r := h.query(o1, previewQuery, map[string]any{"change": bad}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" ||
		!strings.Contains(r.Errors[0].Message, "tax.salary") {
		t.Errorf("previewing an unknown field: %+v, want BAD_USER_INPUT naming tax.salary", r.Errors)
	}
	for _, p := range []auth.Principal{housingClerk, auditor, citizenP("C100001")} {
		if r := h.query(h.token(p), previewQuery, map[string]any{"change": change}); len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "FORBIDDEN" || len(r.Data) != 0 {
			t.Errorf("%s previewing: %v %+v, want FORBIDDEN and no data", p.Kind, r.Data, r.Errors)
		}
	}

	list := h.query(o1, `{ policyProposals { id } policyVersion { version } }`, nil)
	if len(list.Errors) > 0 || len(get(list.Data, "policyProposals").([]any)) != 0 || get(list.Data, "policyVersion", "version") != float64(1) {
		t.Errorf("after previews: %v %+v, want no proposal and version 1 in force", list.Data, list.Errors)
	}
	if after, _ := h.entries(); len(after) != len(before) {
		t.Errorf("the ledger grew from %d to %d entries with previews only", len(before), len(after))
	}
}
