package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/govhub/govhub/auth"
)

var operator = auth.Principal{Kind: auth.KindOperator, Subject: "ops-1"}

// An operator token runs the hub and sees none of its data: every query and mutation that touches
// citizen data, the policy, the questions or entries' contents is refused; only what any caller
// may see (who it is, the purpose registry, the public checkpoint and proofs) is answered.
func TestOperatorSeesNoCitizenData(t *testing.T) {
	h := startHub(t, 3)
	c := h.gen.Citizen(1)
	tok := h.token(operator)
	refused := []string{
		`{ citizen(id: "` + c.ID + `", purpose: "home-purchase-eligibility") { identity { name } tax { annualIncome { commitment { point } } } } }`,
		`{ citizens(purpose: "social-insurance-administration") { edges { node { id } } } }`,
		`{ ledgerEntry(index: 1) { kind } }`,
		`{ ledgerReceipt(index: 1) }`,
		`{ policyVersion { version } }`,
		`{ policyVersions { version } }`,
		`{ policyRules { object } }`,
		`{ policyGroupings { member } }`,
		`{ policyProposals { id } }`,
		`{ explainAccess(department: "housing", role: "clerk", field: "tax.annualIncome", purpose: "home-purchase-eligibility") { level } }`,
		`{ myAccesses { edges { cursor } } }`,
		`{ myAccessProof(index: 1) { index } }`,
		`{ myRecords { id } }`,
		`{ myOpening(field: "tax.annualIncome") { value } }`,
		`{ myAccessesExport }`,
		`{ myQuestions { id } }`,
		`{ accessQuestions { id } }`,
		`mutation { updateTax(citizenId: "` + c.ID + `", purpose: "tax-administration", input: {annualIncome: 1}) { version } }`,
		`mutation { proposePolicyChange(change: {retirePurposes: ["x"]}, reason: "r") { id } }`,
		`mutation { approvePolicyChange(id: "x") { id } }`,
		`mutation { rejectPolicyChange(id: "x", reason: "r") { id } }`,
		`mutation { questionAccess(index: 1, message: "why?") { id } }`,
		`mutation { answerQuestion(id: "x", basis: LEGAL_BASIS, answer: "a") { id } }`,
	}
	for _, q := range refused {
		res := h.query(tok, q, nil)
		if len(res.Errors) == 0 {
			t.Errorf("operator: %s answered %v", q, res.Data)
			continue
		}
		if code := res.Errors[0].Extensions["code"]; code != "FORBIDDEN" {
			t.Errorf("operator: %s refused with %v (%s), want FORBIDDEN", q, code, res.Errors[0].Message)
		}
		if raw, _ := json.Marshal(res.Data); strings.Contains(string(raw), c.Records["identity"][0]["name"].(string)) {
			t.Errorf("operator: %s shows the citizen's name", q)
		}
	}
	for _, q := range []string{`{ me { kind subject } }`, `{ purposes { code } }`, `{ ledgerCheckpoint { size } }`} {
		if res := h.query(tok, q, nil); len(res.Errors) > 0 {
			t.Errorf("operator: %s = %+v", q, res.Errors)
		}
	}
}

// The profiler is off unless --pprof; when on, it answers operator tokens only.
func TestPprofForOperators(t *testing.T) {
	h := startHub(t, 1)
	get := func(tok string) int {
		req := httptest.NewRequest(http.MethodGet, "/debug/pprof/goroutine?debug=1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := get(h.token(operator)); code != http.StatusNotFound {
		t.Errorf("profiler without --pprof = %d, want 404", code)
	}
	h.app.cfg.Pprof = true
	h.handler = h.app.handler()
	if code := get(h.token(operator)); code != http.StatusOK {
		t.Errorf("profiler for an operator = %d, want 200", code)
	}
	for _, p := range []auth.Principal{auditor, officer1, housingClerk} {
		if code := get(h.token(p)); code != http.StatusForbidden {
			t.Errorf("profiler for a %s = %d, want 403", p.Kind, code)
		}
	}
	if code := get(""); code != http.StatusUnauthorized {
		t.Errorf("profiler without a token = %d, want 401", code)
	}
}
