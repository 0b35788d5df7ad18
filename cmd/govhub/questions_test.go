package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
)

var (
	housingOfficer  = auth.Principal{Kind: auth.KindOfficer, Department: "housing", Role: auth.RoleOfficer, Subject: "housing-officer-1"}
	taxOfficer      = auth.Principal{Kind: auth.KindOfficer, Department: "tax", Role: auth.RoleOfficer, Subject: "tax-officer-1"}
	questionAuditor = auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1"}
)

func citizenPrincipal(id string) auth.Principal {
	return auth.Principal{Kind: auth.KindCitizen, Subject: id}
}

// startHubWithDeadline is startHub with a question deadline.
func startHubWithDeadline(t *testing.T, citizens int, deadline time.Duration) *testHub {
	t.Helper()
	h := &testHub{t: t, dir: t.TempDir(), gen: demo.NewGenerator(testSeed)}
	cfg := h.config()
	cfg.QuestionDeadline = deadline
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatalf("openApp = %v", err)
	}
	h.app, h.handler = a, a.handler()
	t.Cleanup(h.close)
	if err := seedDemo(t.Context(), h.app, citizens, testSeed); err != nil {
		t.Fatalf("seedDemo = %v", err)
	}
	return h
}

const (
	housingReadQuery = `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { id identity { name } } }`
	askMutation      = `mutation($i: Int64!, $m: String!) { questionAccess(index: $i, message: $m) { ` + questionFields + ` } }`
	answerMutation   = `mutation($id: ID!, $b: AnswerBasis!, $a: String!) { answerQuestion(id: $id, basis: $b, answer: $a) { ` + questionFields + ` } }`
	queueQuery       = `query($s: QuestionStatus) { accessQuestions(status: $s) { ` + questionFields + ` } }`
	mineQuery        = `{ myQuestions { ` + questionFields + ` } }`
	questionFields   = `id accessIndex department { code nameZh nameEn } askedAt message status overdue dueBy basis answer answeredAt questionIndex answerIndex`
)

// housingAccess has the housing clerk read a citizen and returns the access's ledger index, once
// a published checkpoint covers it.
func (h *testHub) housingAccess(citizen string) int64 {
	h.t.Helper()
	r := h.query(h.token(housingClerk), housingReadQuery, map[string]any{"id": citizen})
	if len(r.Errors) > 0 {
		h.t.Fatalf("housing read: %+v", r.Errors)
	}
	h.receiptEntry(r)
	index := uint64(r.Extensions["ledger"].(map[string]any)["index"].(float64))
	if _, err := h.app.log.WaitCheckpoint(h.t.Context(), index+1); err != nil {
		h.t.Fatal(err)
	}
	return int64(index)
}

func errCode(r result) string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func TestQuestionsThroughGraphQL(t *testing.T) {
	h := startHub(t, 3)
	c1, c2 := demo.CitizenID(1), demo.CitizenID(2)
	access := h.housingAccess(c1)
	other := h.housingAccess(c2)
	const message = "我不认识这次查询 <b>who</b> looked?"

	// Who may ask, and about what.
	for _, c := range []struct {
		name  string
		p     auth.Principal
		index int64
		want  string
	}{
		{"department token", housingClerk, access, "FORBIDDEN"},
		{"officer token", housingOfficer, access, "FORBIDDEN"},
		{"auditor token", questionAuditor, access, "FORBIDDEN"},
		{"someone else's entry", citizenPrincipal(c1), other, "NOT_FOUND"},
		{"no such entry", citizenPrincipal(c1), 1 << 40, "NOT_FOUND"},
	} {
		r := h.query(h.token(c.p), askMutation, map[string]any{"i": c.index, "m": message})
		if errCode(r) != c.want {
			t.Errorf("%s: questionAccess = %+v, want %s", c.name, r.Errors, c.want)
		}
	}
	r1 := h.query(h.token(citizenPrincipal(c1)), askMutation, map[string]any{"i": other, "m": message})
	r2 := h.query(h.token(citizenPrincipal(c1)), askMutation, map[string]any{"i": 1 << 40, "m": message})
	if len(r1.Errors) == 0 || len(r2.Errors) == 0 || r1.Errors[0].Message != r2.Errors[0].Message {
		t.Errorf("someone else's entry: %+v; no such entry: %+v; want the same error", r1.Errors, r2.Errors)
	}

	r := h.query(h.token(citizenPrincipal(c1)), askMutation, map[string]any{"i": access, "m": message})
	if len(r.Errors) > 0 {
		t.Fatalf("questionAccess = %+v", r.Errors)
	}
	q := r.Data["questionAccess"].(map[string]any)
	if q["status"] != "OPEN" || q["overdue"] != false || q["message"] != message || get(q, "department", "code") != "housing" ||
		get(q, "department", "nameEn") == "housing" || int64(q["accessIndex"].(float64)) != access || q["answer"] != nil {
		t.Errorf("questionAccess = %v", q)
	}
	id := q["id"].(string)

	// The housing officer and the privacy office see it; the tax officer does not.
	for _, c := range []struct {
		p    auth.Principal
		want int
	}{{housingOfficer, 1}, {officer1, 1}, {taxOfficer, 0}} {
		r := h.query(h.token(c.p), queueQuery, map[string]any{"s": "OPEN"})
		list, _ := r.Data["accessQuestions"].([]any)
		if len(r.Errors) > 0 || len(list) != c.want || (c.want == 1 && get(list[0], "id") != id) {
			t.Errorf("accessQuestions as %s = %v, %+v; want %d", c.p.Department, list, r.Errors, c.want)
		}
	}
	for _, p := range []auth.Principal{housingClerk, citizenPrincipal(c1), questionAuditor} {
		if r := h.query(h.token(p), queueQuery, nil); errCode(r) != "FORBIDDEN" {
			t.Errorf("accessQuestions as %s = %+v, want FORBIDDEN", p.Kind, r.Errors)
		}
	}

	// The tax officer cannot answer; the housing officer answers once.
	const answer = "依据购房资格审核 — case HP-2026-17"
	vars := map[string]any{"id": id, "b": "CASE", "a": answer}
	if r := h.query(h.token(taxOfficer), answerMutation, vars); errCode(r) != "FORBIDDEN" {
		t.Errorf("answerQuestion as the tax officer = %+v, want FORBIDDEN", r.Errors)
	}
	if r := h.query(h.token(citizenPrincipal(c1)), answerMutation, vars); errCode(r) != "FORBIDDEN" {
		t.Errorf("answerQuestion as the citizen = %+v, want FORBIDDEN", r.Errors)
	}
	r = h.query(h.token(housingOfficer), answerMutation, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("answerQuestion = %+v", r.Errors)
	}
	a := r.Data["answerQuestion"].(map[string]any)
	if a["status"] != "ANSWERED" || a["basis"] != "CASE" || a["answer"] != answer || a["answeredAt"] == nil || a["answerIndex"] == nil {
		t.Errorf("answerQuestion = %v", a)
	}
	if r := h.query(h.token(officer1), answerMutation, map[string]any{"id": id, "b": "LEGAL_BASIS", "a": "again"}); errCode(r) != "CONFLICT" {
		t.Errorf("second answerQuestion = %+v, want CONFLICT", r.Errors)
	}

	// The answer reaches the citizen, and no one else.
	r = h.query(h.token(citizenPrincipal(c1)), mineQuery, nil)
	mine, _ := r.Data["myQuestions"].([]any)
	if len(r.Errors) > 0 || len(mine) != 1 || get(mine[0], "answer") != answer || get(mine[0], "basis") != "CASE" {
		t.Errorf("myQuestions = %v, %+v", mine, r.Errors)
	}
	r = h.query(h.token(citizenPrincipal(c2)), mineQuery, nil)
	if mine, _ := r.Data["myQuestions"].([]any); len(r.Errors) > 0 || len(mine) != 0 {
		t.Errorf("myQuestions of another citizen = %v, %+v", mine, r.Errors)
	}
	for _, p := range []auth.Principal{housingOfficer, housingClerk, questionAuditor} {
		if r := h.query(h.token(p), mineQuery, nil); errCode(r) != "FORBIDDEN" {
			t.Errorf("myQuestions as %s = %+v, want FORBIDDEN", p.Kind, r.Errors)
		}
	}

	// Question and answer are ledger entries, without the texts.
	entries, raws := h.entries()
	qi, ai := int(q["questionIndex"].(float64)), int(a["answerIndex"].(float64))
	qe, ae := entries[qi], entries[ai]
	if qe.Kind != ledger.KindQuestion || int64(qe.About) != access || qe.Department != "citizen" || len(qe.Record) != 32 || len(qe.Subjects) != 1 {
		t.Errorf("question entry = %+v", qe)
	}
	if ae.Kind != ledger.KindAnswer || int(ae.About) != qi || ae.Reason != "case" || ae.Department != "housing" || ae.Role != "officer" ||
		len(ae.Official) != 32 || len(ae.Record) != 32 || len(ae.Subjects) != 1 {
		t.Errorf("answer entry = %+v", ae)
	}
	for i, raw := range raws {
		for _, text := range []string{message, answer, "who", "HP-2026"} {
			if bytes.Contains(raw, []byte(text)) {
				t.Errorf("ledger entry %d holds %q", i, text)
			}
		}
	}
}

func TestQuestionOverdue(t *testing.T) {
	const deadline = 1500 * time.Millisecond
	h := startHubWithDeadline(t, 2, deadline)
	c1 := demo.CitizenID(1)
	access := h.housingAccess(c1)
	r := h.query(h.token(citizenPrincipal(c1)), askMutation, map[string]any{"i": access, "m": "why?"})
	if len(r.Errors) > 0 {
		t.Fatalf("questionAccess = %+v", r.Errors)
	}
	q := r.Data["questionAccess"].(map[string]any)
	asked, _ := time.Parse(time.RFC3339, q["askedAt"].(string))
	due, _ := time.Parse(time.RFC3339, q["dueBy"].(string))
	if q["overdue"] != false || due.Sub(asked) != deadline {
		t.Errorf("questionAccess = %v, want due %v after it was asked, not overdue", q, deadline)
	}
	time.Sleep(time.Until(due) + 100*time.Millisecond)
	r = h.query(h.token(housingOfficer), queueQuery, nil)
	list, _ := r.Data["accessQuestions"].([]any)
	if len(list) != 1 || get(list[0], "overdue") != true {
		t.Errorf("after the deadline: accessQuestions = %v, %+v; want it overdue", list, r.Errors)
	}
	r = h.query(h.token(citizenPrincipal(c1)), mineQuery, nil)
	if mine, _ := r.Data["myQuestions"].([]any); len(mine) != 1 || get(mine[0], "overdue") != true || !strings.HasSuffix(get(mine[0], "dueBy").(string), "Z") {
		t.Errorf("after the deadline: myQuestions = %v, %+v", mine, r.Errors)
	}
}
