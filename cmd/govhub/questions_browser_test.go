package main

import (
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/web/webtest"
)

// The console half of "a citizen questions an access, the department's officer answers it in the
// console, and the citizen's portal shows the answer": the citizen asks through the API, the
// housing officer sees the question in the console's queue (the message as text) and answers it
// there, and the answer is what the citizen's myQuestions returns.
func TestConsoleQuestions(t *testing.T) {
	h := startHub(t, 3)
	pagesOnly(t, h) // the console with --trusted-documents: only the pages' documents run
	srv := httptest.NewServer(h.app.handler())
	t.Cleanup(srv.Close)
	var browser webtest.Browser
	t.Cleanup(browser.Close)
	c := &consoleTest{url: srv.URL + "/console", h: h, browser: &browser}

	citizen := demo.CitizenID(1)
	access := h.housingAccess(citizen)
	const message = `<img src=x onerror="document.body.dataset.pwned=1">谁查了我的姓名？`
	r := h.query(h.token(citizenPrincipal(citizen)), askMutation, map[string]any{"i": access, "m": message})
	if len(r.Errors) > 0 {
		t.Fatalf("questionAccess = %+v", r.Errors)
	}
	id := get(r.Data, "questionAccess", "id").(string)

	tab := c.browser.IsolatedTab(t, "cmd/govhub")
	c.signIn(t, tab, c.h.token(housingOfficer))
	c.waitSignedIn(t, tab)
	wait(t, tab, `!document.querySelector('#tab-questions').hidden`, "the questions tab")
	do(t, tab, "opening the questions tab", chromedp.Click(chromedp.CSS("#tab-questions")))
	card := `document.querySelector('#question-list article[data-id=` + quote(id) + `]')`
	wait(t, tab, card+` != null`, "the citizen's question in the queue")
	type shown struct {
		Status, Message, Department, Index string
		Images                             int
		Pwned                              bool
	}
	got := js[shown](t, tab, `(() => { const c = `+card+`; return {Status: c.dataset.status, Message: c.querySelector('.message').textContent,
		Department: c.querySelector('[data-fact="accessDepartment"]').textContent, Index: c.querySelector('[data-fact="accessIndex"]').textContent,
		Images: c.querySelectorAll('img').length, Pwned: !!document.body.dataset.pwned}; })()`)
	if got.Status != "OPEN" || got.Message != message || got.Images != 0 || got.Pwned || got.Index != strconv.FormatInt(access, 10) ||
		got.Department == "" {
		failf(t, tab, "question shown = %+v, want it open, with the message as text", got)
	}
	webtest.Screenshot(t, tab, "question-open")

	const answer = "依据购房资格审核（案件 HP-2026-17）"
	do(t, tab, "answering",
		chromedp.SetValue(chromedp.CSS("#qb-"+id), "CASE"),
		chromedp.SetValue(chromedp.CSS("#qa-"+id), answer),
		chromedp.Click(chromedp.CSS(`#question-list article[data-id="`+id+`"] button[data-action="answer"]`)))
	wait(t, tab, card+` && `+card+`.dataset.status === 'ANSWERED'`, "the question shown answered")
	if a := js[string](t, tab, card+`.querySelector('[data-fact="answerText"]').textContent`); a != answer {
		failf(t, tab, "answer shown = %q, want %q", a, answer)
	}
	webtest.Screenshot(t, tab, "question-answered")

	r = h.query(h.token(citizenPrincipal(citizen)), mineQuery, nil)
	mine, _ := r.Data["myQuestions"].([]any)
	if len(mine) != 1 || get(mine[0], "answer") != answer || get(mine[0], "basis") != "CASE" || get(mine[0], "status") != "ANSWERED" {
		t.Errorf("myQuestions after the console's answer = %v, %+v", mine, r.Errors)
	}
	checkPagesTrusted(t, h, housingOfficer)
}
