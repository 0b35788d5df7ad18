package main

import (
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/govhub/govhub/web/webtest"
)

// The console's erasure tab in Chromium against the real hub (embedded store, trusted documents
// only): one officer proposes, cannot approve their own request, another officer approves it, and
// the citizen is then erased (reads refused with ERASED).
func TestConsoleErasure(t *testing.T) {
	h := startHub(t, 4)
	pagesOnly(t, h)
	srv := httptest.NewServer(h.app.handler())
	t.Cleanup(srv.Close)
	var browser webtest.Browser
	t.Cleanup(browser.Close)
	c := &consoleTest{url: srv.URL + "/console", h: h, browser: &browser}
	citizen := h.gen.Citizen(3).ID

	o1 := browser.IsolatedTab(t, "cmd/govhub")
	c.signIn(t, o1, h.token(officer1))
	c.waitSignedIn(t, o1)
	wait(t, o1, `!document.querySelector('#tab-erasures').hidden`, "the erasures tab")
	do(t, o1, "proposing an erasure",
		chromedp.Click(chromedp.CSS("#tab-erasures")),
		chromedp.SetValue(chromedp.CSS("#e-citizen"), citizen),
		chromedp.SetValue(chromedp.CSS("#e-basis"), "consent-withdrawn"),
		chromedp.SetValue(chromedp.CSS("#e-reason"), "the citizen withdrew consent"),
		chromedp.Click(chromedp.CSS(`#erasure-form button[type="submit"]`)))
	wait(t, o1, `document.querySelector('#erasure-list article[data-status="pending"]') !== null`, "the pending request")
	if own := js[bool](t, o1, `document.querySelector('#erasure-list article[data-status="pending"] .e-approve').disabled`); !own {
		failf(t, o1, "the proposer's approve button is enabled")
	}

	o2 := browser.IsolatedTab(t, "cmd/govhub")
	c.signIn(t, o2, h.token(officer2))
	c.waitSignedIn(t, o2)
	wait(t, o2, `!document.querySelector('#tab-erasures').hidden`, "the erasures tab")
	do(t, o2, "opening the erasures", chromedp.Click(chromedp.CSS("#tab-erasures")))
	wait(t, o2, `document.querySelector('#erasure-list article[data-status="pending"] .e-approve:not([disabled])') !== null`, "another officer's pending request")
	if got := js[string](t, o2, `document.querySelector('#erasure-list article[data-status="pending"] dd').textContent`); got != citizen {
		failf(t, o2, "the pending request names %q, want %q", got, citizen)
	}
	do(t, o2, "approving", chromedp.Click(chromedp.CSS(`#erasure-list article[data-status="pending"] .e-approve`)))
	wait(t, o2, `document.querySelector('#erasure-list article[data-status="applied"]') !== null`, "the applied erasure")
	if got := js[string](t, o2, `document.querySelector('#erasure-list article[data-status="applied"] dd').textContent`); got == citizen {
		failf(t, o2, "the applied request still names the citizen")
	}

	res := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": citizen})
	if e := res.errorAt("citizen"); e == nil || e.Extensions["code"] != "ERASED" {
		t.Errorf("read after the erasure approved in the console: %+v", res.Errors)
	}
	// Auditors get no erasure tab at all.
	a := browser.IsolatedTab(t, "cmd/govhub")
	c.signIn(t, a, h.token(auditor))
	c.waitSignedIn(t, a)
	if js[bool](t, a, `document.querySelector('#tab-erasures') !== null || document.querySelector('#panel-erasures') !== null`) {
		failf(t, a, "an auditor's console has the erasures tab")
	}
}
