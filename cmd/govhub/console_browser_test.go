package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/web/webtest"
)

// The officers' console in Chromium against the real hub (embedded store, demo data): one hub,
// one browser, a tab per person — each officer in a browser context of their own, so nothing in
// one's storage reaches the other's. The hub runs with --trusted-documents restricting every
// principal to the pages' own documents.
func TestConsole(t *testing.T) {
	h := startHub(t, 5)
	pagesOnly(t, h)
	srv := httptest.NewServer(h.app.handler())
	t.Cleanup(srv.Close)
	var browser webtest.Browser
	t.Cleanup(browser.Close)
	c := &consoleTest{url: srv.URL + "/console", h: h, browser: &browser}

	t.Run("ProposeApproveAcrossOfficers", c.proposeApprove)
	t.Run("ReadOnlyAuditor", c.auditor)
	t.Run("RefusedTokenInWords", c.refusedToken)
	t.Run("NarrowScreenBothLanguages", c.narrowBothLanguages)
	t.Run("OnlyTrustedDocuments", func(t *testing.T) { checkPagesTrusted(t, h, housingClerk) })
}

type consoleTest struct {
	url     string
	h       *testHub
	browser *webtest.Browser
}

const consoleTimeout = 15 * time.Second

// failf saves a screenshot of the tab and fails the test, naming where the screenshot is.
func failf(t *testing.T, tab context.Context, format string, args ...any) {
	t.Helper()
	p := webtest.Screenshot(t, tab, "failure")
	t.Fatalf("%s\n(screenshot: %s; artifacts in %s)", fmt.Sprintf(format, args...), p, webtest.ArtifactsDir())
}

// wait waits for a JavaScript condition in tab, failing with a screenshot.
func wait(t *testing.T, tab context.Context, cond, what string) {
	t.Helper()
	if err := webtest.Poll(tab, cond, consoleTimeout); err != nil {
		failf(t, tab, "waiting for %s: %v\n%s", what, err, pageAlert(tab))
	}
}

// pageAlert is the text of the console's error box, if shown.
func pageAlert(tab context.Context) string {
	s, err := chromedp.Run(tab, chromedp.Evaluate[string](`(() => { const a = document.querySelector('#alert'); return a && !a.hidden ? 'page error: ' + a.textContent : ''; })()`))
	if err != nil {
		return ""
	}
	return s
}

func js[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	var v T
	webtest.Eval(t, tab, expr, &v)
	return v
}

func do(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, actions...); err != nil {
		failf(t, tab, "%s: %v\n%s", what, err, pageAlert(tab))
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// signIn opens the console in tab and signs in by pasting token.
func (c *consoleTest) signIn(t *testing.T, tab context.Context, token string) {
	t.Helper()
	webtest.Navigate(t, tab, c.url)
	wait(t, tab, `!document.querySelector('#signin').hidden`, "the sign-in form")
	do(t, tab, "signing in",
		chromedp.SetValue(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS(`#signin-form button[type="submit"]`)))
}

func (c *consoleTest) waitSignedIn(t *testing.T, tab context.Context) {
	t.Helper()
	wait(t, tab, `!document.querySelector('#app').hidden && document.querySelectorAll('#rules-table tbody tr').length > 1`, "the console with the rules in force")
}

func (c *consoleTest) proposeApprove(t *testing.T) {
	o1 := c.browser.IsolatedTab(t, "cmd/govhub")
	c.signIn(t, o1, c.h.token(officer1))
	c.waitSignedIn(t, o1)
	if v := js[string](t, o1, `document.querySelector('#version-indicator').dataset.version`); v != "1" {
		failf(t, o1, "version indicator = %q, want 1", v)
	}
	// The token is in this tab's session storage, never in the URL.
	if u := js[string](t, o1, `location.href`); strings.Contains(u, "ey") || strings.Contains(u, "#") || strings.Contains(u, "?") {
		failf(t, o1, "URL after sign-in = %s, want no token in it", u)
	}

	do(t, o1, "filling in the proposal",
		chromedp.Click(chromedp.CSS("#tab-propose")),
		chromedp.SetValue(chromedp.CSS("#p-department"), "housing"),
		chromedp.SetValue(chromedp.CSS("#p-role"), "clerk"),
		chromedp.SetValue(chromedp.CSS("#p-object"), "identity.birthDate"),
		chromedp.SetValue(chromedp.CSS("#p-action"), "commit"),
		chromedp.SetValue(chromedp.CSS("#p-purpose"), "home-purchase-eligibility"),
		chromedp.SetValue(chromedp.CSS("#p-effect"), "allow"))
	wantImpact := []string{
		"housing | clerk | identity.birthDate | home-purchase-eligibility | deny | commitment only | ▲ gains",
		"housing | senior-clerk | identity.birthDate | home-purchase-eligibility | deny | commitment only | ▲ gains",
	}
	c.preview(t, o1, wantImpact)

	do(t, o1, "proposing",
		chromedp.SetValue(chromedp.CSS("#p-reason"), "购房资格需核验年龄 — the age check needs a commitment to the birth date"),
		chromedp.Click(chromedp.CSS("#p-submit")))
	wait(t, o1, `!document.querySelector('#proposal-result').hidden`, "the created proposal and its impact")
	if js[bool](t, o1, `!document.querySelector('#p-preview-result').hidden`) {
		failf(t, o1, "the preview is still shown after proposing, beside the proposal")
	}
	type shown struct {
		ID, Status, Heading, Note string
		Impact                    []string
	}
	got := js[shown](t, o1, `(() => { const r = document.querySelector('#proposal-result');
		return {ID: r.dataset.id, Status: r.dataset.status, Heading: r.querySelector('h3').textContent, Note: r.querySelector('.pending-note').textContent,
			Impact: [...r.querySelectorAll('table.impact tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent).join(' | '))}; })()`)
	if got.ID == "" || got.Status != "pending" || !strings.Contains(got.Heading, got.ID) || !strings.Contains(got.Note, "another officer") {
		failf(t, o1, "proposal shown = %+v, want its id, pending, and that another officer must approve it", got)
	}
	if strings.Join(got.Impact, "\n") != strings.Join(wantImpact, "\n") {
		failf(t, o1, "impact shown =\n%s\nwant\n%s", strings.Join(got.Impact, "\n"), strings.Join(wantImpact, "\n"))
	}
	if os.Getenv("GOVHUB_TEST_SCREENSHOTS") == "1" {
		webtest.Screenshot(t, o1, "proposed")
	}
	noObjectText(t, o1)
	card := `article[data-id=` + quote(got.ID) + `]`

	// The proposer's own proposal: approve disabled, with the reason in words.
	do(t, o1, "opening the proposals", chromedp.Click(chromedp.CSS("#tab-proposals")))
	wait(t, o1, `!!document.querySelector('`+card+`')`, "the proposal in the queue")
	if os.Getenv("GOVHUB_TEST_SCREENSHOTS") == "1" {
		webtest.Screenshot(t, o1, "own-proposal")
	}
	type own struct {
		Disabled  bool
		Why       string
		Described bool
	}
	mine := js[own](t, o1, `(() => { const c = document.querySelector('`+card+`'), b = c.querySelector('button[data-action="approve"]'), w = c.querySelector('.why');
		return {Disabled: b.disabled, Why: w && w.offsetParent !== null ? w.textContent : '', Described: b.getAttribute('aria-describedby') === (w && w.id)}; })()`)
	noObjectText(t, o1)
	if !mine.Disabled || !strings.Contains(mine.Why, "another officer") || !mine.Described {
		failf(t, o1, "own proposal's approve control = %+v, want disabled with a visible explanation", mine)
	}

	// A second officer, in another browser context, approves it.
	o2 := c.browser.IsolatedTab(t, "cmd/govhub")
	c.signIn(t, o2, c.h.token(officer2))
	c.waitSignedIn(t, o2)
	do(t, o2, "opening the proposals", chromedp.Click(chromedp.CSS("#tab-proposals")))
	wait(t, o2, `!!document.querySelector('`+card+` button[data-action="approve"]:not([disabled])')`, "an enabled approve button for the second officer")
	do(t, o2, "approving", chromedp.Click(chromedp.CSS(card+` button[data-action="approve"]`)))
	wait(t, o2, `document.querySelector('#version-indicator').dataset.version === '2' && !document.querySelector('#notice').hidden`, "the approval notice")
	if os.Getenv("GOVHUB_TEST_SCREENSHOTS") == "1" {
		webtest.Screenshot(t, o2, "approved")
	}
	if n := js[string](t, o2, `document.querySelector('#notice').textContent`); !strings.Contains(n, got.ID) || !strings.Contains(n, "2") {
		failf(t, o2, "notice = %q, want the proposal approved as version 2", n)
	}
	if r := c.h.query(c.h.token(officer3), `{ policyVersion { version approvedBy proposedBy } }`, nil); get(r.Data, "policyVersion", "version") != float64(2) ||
		get(r.Data, "policyVersion", "approvedBy") != "officer-2" {
		t.Fatalf("policyVersion after the approval in the console = %v %+v, want 2 approved by officer-2", r.Data, r.Errors)
	}

	// The first officer's console learns of the new version without reloading.
	wait(t, o1, `document.querySelector('#version-indicator').dataset.version === '2'`, "the first officer's version indicator to show version 2")
	do(t, o1, "opening the history", chromedp.Click(chromedp.CSS("#tab-history")))
	wait(t, o1, `!!document.querySelector('#history-table tr[data-version="2"].current')`, "version 2 in force in the history")
	row := js[string](t, o1, `document.querySelector('#history-table tr[data-version="2"]').textContent`)
	if !strings.Contains(row, "officer-1") || !strings.Contains(row, "officer-2") {
		failf(t, o1, "history row of version 2 = %q, want proposer officer-1 and approver officer-2", row)
	}
	do(t, o1, "opening the rules", chromedp.Click(chromedp.CSS("#tab-rules")))
	wait(t, o1, `[...document.querySelectorAll('#rules-table tbody tr')].some((tr) => tr.textContent.includes('identity.birthDate') && tr.textContent.includes('commit'))`,
		"the new rule among the rules in force")

	// Explain names the new rule.
	do(t, o1, "explaining",
		chromedp.Click(chromedp.CSS("#tab-explain")),
		chromedp.SetValue(chromedp.CSS("#x-department"), "housing"),
		chromedp.SetValue(chromedp.CSS("#x-role"), "clerk"),
		chromedp.SetValue(chromedp.CSS("#x-field"), "identity.birthDate"),
		chromedp.SetValue(chromedp.CSS("#x-purpose"), "home-purchase-eligibility"),
		chromedp.Click(chromedp.CSS(`#explain-form button[type="submit"]`)))
	wait(t, o1, `document.querySelector('#explain-result').dataset.level === 'commit'`, "the explanation")

	// Rejecting asks for a reason.
	c.rejectWithReason(t, o1, o2)
}

// preview previews the change filled in on the propose tab, by keyboard, and checks that the
// impact shown is wantImpact, that it says nothing was submitted, that no proposal exists (on the
// hub and in the tab's queue), and that changing a field of the change clears it while the reason
// does not.
func (c *consoleTest) preview(t *testing.T, tab context.Context, wantImpact []string) {
	t.Helper()
	const box = `document.querySelector('#p-preview-result')`
	previewByKeyboard := func() {
		do(t, tab, "previewing the impact with the keyboard",
			chromedp.Focus(chromedp.CSS("#p-preview")),
			chromedp.KeyEvent("\r"))
		wait(t, tab, `!`+box+`.hidden && `+box+`.querySelectorAll('table.impact tbody tr').length > 0`, "the impact preview")
	}
	previewByKeyboard()
	type shown struct {
		Label, Heading, Note string
		Impact               []string
		ResultHidden         bool
		BeforeSubmit         bool
	}
	got := js[shown](t, tab, `(() => { const r = `+box+`, b = document.querySelector('#p-preview');
		return {Label: b.textContent, Heading: r.querySelector('h3').textContent, Note: r.querySelector('.preview-note').textContent,
			Impact: [...r.querySelectorAll('table.impact tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent).join(' | ')),
			ResultHidden: document.querySelector('#proposal-result').hidden,
			BeforeSubmit: !!(r.compareDocumentPosition(document.querySelector('#p-submit')) & Node.DOCUMENT_POSITION_FOLLOWING)}; })()`)
	if strings.Join(got.Impact, "\n") != strings.Join(wantImpact, "\n") {
		failf(t, tab, "impact previewed =\n%s\nwant\n%s", strings.Join(got.Impact, "\n"), strings.Join(wantImpact, "\n"))
	}
	if got.Label == "" || !strings.Contains(got.Heading, "version 1") || !strings.Contains(got.Note, "nothing was submitted") || !got.ResultHidden || !got.BeforeSubmit {
		failf(t, tab, "preview shown = %+v, want a labelled button, the base version, a note that nothing was submitted, above the propose button, and no proposal result", got)
	}
	if os.Getenv("GOVHUB_TEST_SCREENSHOTS") == "1" {
		webtest.Screenshot(t, tab, "previewed")
	}
	noObjectText(t, tab)

	// Nothing was proposed: not on the hub, not in the queue the tab shows once refreshed.
	r := c.h.query(c.h.token(auditor), `{ policyProposals { id } }`, nil)
	if ps, _ := get(r.Data, "policyProposals").([]any); len(r.Errors) > 0 || len(ps) != 0 {
		t.Fatalf("policyProposals after a preview = %v %+v, want none", r.Data, r.Errors)
	}
	webtest.Eval(t, tab, `document.querySelector('#proposal-list').append(Object.assign(document.createElement('i'), {id: 'before-refresh'}))`, nil)
	do(t, tab, "refreshing the queue", chromedp.Click(chromedp.CSS("#tab-proposals")), chromedp.Click(chromedp.CSS("#pr-refresh")))
	wait(t, tab, `!document.querySelector('#before-refresh')`, "the refreshed queue")
	if n := js[int](t, tab, `document.querySelectorAll('#proposal-list article').length`); n != 0 {
		failf(t, tab, "the queue shows %d proposals after a preview, want none", n)
	}
	do(t, tab, "back to the proposal", chromedp.Click(chromedp.CSS("#tab-propose")))
	if js[bool](t, tab, box+`.hidden`) {
		failf(t, tab, "the preview went away on switching tabs")
	}

	// Writing the reason keeps the preview; changing the change clears it (it would be stale).
	webtest.Eval(t, tab, `(() => { const r = document.querySelector('#p-reason'); r.value = 'why'; r.dispatchEvent(new Event('input', {bubbles: true})); })()`, nil)
	if js[bool](t, tab, box+`.hidden`) {
		failf(t, tab, "writing the reason cleared the preview")
	}
	webtest.Eval(t, tab, `(() => { const r = document.querySelector('#p-role'); r.value = 'senior-clerk'; r.dispatchEvent(new Event('input', {bubbles: true})); })()`, nil)
	if !js[bool](t, tab, box+`.hidden && `+box+`.childElementCount === 0`) {
		failf(t, tab, "the preview is still shown after the role changed")
	}
	webtest.Eval(t, tab, `(() => { const r = document.querySelector('#p-role'); r.value = 'clerk'; r.dispatchEvent(new Event('input', {bubbles: true})); })()`, nil)
	previewByKeyboard()
}

// rejectWithReason: officer 1 proposes a new purpose (no impact), officer 2 rejects it, a reason first.
func (c *consoleTest) rejectWithReason(t *testing.T, o1, o2 context.Context) {
	first := js[string](t, o1, `document.querySelector('#proposal-result').dataset.id`)
	do(t, o1, "proposing a purpose",
		chromedp.Click(chromedp.CSS("#tab-propose")),
		chromedp.SetValue(chromedp.CSS("#p-kind"), "addPurpose"))
	webtest.Eval(t, o1, `document.querySelector('#p-kind').dispatchEvent(new Event('change'))`, nil)
	do(t, o1, "proposing a purpose",
		chromedp.SetValue(chromedp.CSS("#p-code"), "pet-licensing"),
		chromedp.SetValue(chromedp.CSS("#p-title-zh"), "犬只登记"),
		chromedp.SetValue(chromedp.CSS("#p-title-en"), "Dog licensing"),
		chromedp.SetValue(chromedp.CSS("#p-basis"), "《养犬管理条例》"),
		chromedp.SetValue(chromedp.CSS("#p-reason"), "a new service"),
		chromedp.Click(chromedp.CSS("#p-submit")))
	wait(t, o1, `document.querySelector('#proposal-result').dataset.id !== `+quote(first), "the second proposal")
	id := js[string](t, o1, `document.querySelector('#proposal-result').dataset.id`)
	card := `article[data-id=` + quote(id) + `]`
	do(t, o2, "refreshing the queue", chromedp.Click(chromedp.CSS("#pr-refresh")))
	wait(t, o2, `!!document.querySelector('`+card+`')`, "the second proposal in the other officer's queue")
	do(t, o2, "rejecting without a reason",
		chromedp.Click(chromedp.CSS(card+` button[data-action="reject"]`)),
		chromedp.Click(chromedp.CSS(card+` button[data-action="confirm-reject"]`)))
	wait(t, o2, `!document.querySelector('#alert').hidden && document.querySelector('#alert').textContent.includes('BAD_USER_INPUT')`, "the request for a reason")
	do(t, o2, "rejecting with a reason",
		chromedp.SetValue(chromedp.CSS(card+` textarea`), "we still need it"),
		chromedp.Click(chromedp.CSS(card+` button[data-action="confirm-reject"]`)))
	wait(t, o2, `!document.querySelector('`+card+`') && document.querySelector('#notice').textContent.includes(`+quote(id)+`)`, "the rejection")
	r := c.h.query(c.h.token(auditor), `{ policyProposals(status: "rejected") { id decisionReason decidedBy } }`, nil)
	if ps, _ := get(r.Data, "policyProposals").([]any); len(ps) != 1 || get(ps[0], "id") != id || get(ps[0], "decisionReason") != "we still need it" {
		t.Errorf("rejected proposals = %v %+v, want %s with the reason", r.Data, r.Errors, id)
	}
}

func (c *consoleTest) auditor(t *testing.T) {
	tab := c.browser.IsolatedTab(t, "cmd/govhub")
	c.signIn(t, tab, c.h.token(auditor))
	c.waitSignedIn(t, tab)
	do(t, tab, "showing every proposal", chromedp.SetValue(chromedp.CSS("#pr-status"), ""))
	webtest.Eval(t, tab, `document.querySelector('#pr-status').dispatchEvent(new Event('change'))`, nil)
	do(t, tab, "opening the proposals", chromedp.Click(chromedp.CSS("#tab-proposals")))
	wait(t, tab, `document.querySelectorAll('#proposal-list article').length >= 2`, "the proposals, read only")
	type view struct {
		Controls []string
		Who      string
	}
	v := js[view](t, tab, `({Controls: [...document.querySelectorAll('#tab-propose, #panel-propose, #propose-form, button[data-action], #rules-table button, #purposes-table button')].map((e) => e.id || e.textContent),
		Who: document.querySelector('#whoami').textContent})`)
	if len(v.Controls) > 0 || !strings.Contains(v.Who, "auditor-1") {
		failf(t, tab, "auditor's console: controls %q, signed in as %q; want no propose/approve/reject controls, auditor-1", v.Controls, v.Who)
	}
	do(t, tab, "opening the ledger", chromedp.Click(chromedp.CSS("#tab-ledger")))
	wait(t, tab, `Number(document.querySelector('[data-fact="treeSize"]')?.textContent) > 0`, "the ledger's tree size")
	if age := js[string](t, tab, `document.querySelector('[data-fact="checkpointAge"]').textContent`); age == "" {
		failf(t, tab, "no checkpoint age shown")
	}
}

func (c *consoleTest) refusedToken(t *testing.T) {
	tab := c.browser.IsolatedTab(t, "cmd/govhub")
	// With no choice kept, the page speaks the browser's language.
	do(t, tab, "preferring Chinese", webtest.AcceptLanguage("zh-CN,zh;q=0.9,en;q=0.5"))
	c.signIn(t, tab, "not-a-token")
	if h := js[string](t, tab, `document.documentElement.lang + ' ' + document.querySelector('#signin-h').textContent`); h != "zh-CN 登录" {
		failf(t, tab, "sign-in page for a browser preferring zh-CN = %q, want zh-CN 登录", h)
	}
	wait(t, tab, `!document.querySelector('#alert').hidden`, "the error")
	if a := js[string](t, tab, `document.querySelector('#alert').textContent`); !strings.Contains(a, "UNAUTHENTICATED") || !strings.Contains(a, "token") {
		failf(t, tab, "error shown = %q, want the refusal in words", a)
	}
	// A department token is refused by the page, in words.
	c.signIn(t, tab, c.h.token(housingClerk))
	wait(t, tab, `document.querySelector('#alert').textContent.includes('department')`, "the refusal of a department token")
	if js[bool](t, tab, `!document.querySelector('#app').hidden`) {
		failf(t, tab, "a department token opened the console")
	}
}

// narrowBothLanguages shows each section at 360 px wide in both languages: nothing wider than the
// screen, every control labelled, the words of the chosen language, kept across reloads. With
// GOVHUB_TEST_SCREENSHOTS=1 every section is saved to webtest.ArtifactsDir() to look at.
func (c *consoleTest) narrowBothLanguages(t *testing.T) {
	tab := c.browser.IsolatedTab(t, "cmd/govhub")
	do(t, tab, "narrowing the viewport", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(1)))
	c.signIn(t, tab, c.h.token(auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-3"}))
	c.waitSignedIn(t, tab)
	sections := []string{"rules", "propose", "proposals", "explain", "history", "ledger"}
	for _, lang := range []struct{ code, rules, signOut string }{
		{"zh-CN", "规则与用途", "退出"},
		{"en", "Rules and purposes", "Sign out"},
	} {
		t.Run(lang.code, func(t *testing.T) {
			// Switch with the page's own control, then reload: the choice is kept.
			webtest.Eval(t, tab, `(() => { const s = document.querySelector('#lang'); s.value = `+quote(lang.code)+`; s.dispatchEvent(new Event('change')); })()`, nil)
			if got := js[string](t, tab, `localStorage.getItem('govhub.lang')`); got != lang.code {
				failf(t, tab, "localStorage govhub.lang = %q, want %s", got, lang.code)
			}
			c.reload(t, tab)
			type page struct {
				Lang, Rules, SignOut string
			}
			p := js[page](t, tab, `({Lang: document.documentElement.lang, Rules: document.querySelector('#tab-rules').textContent, SignOut: document.querySelector('#signout').textContent})`)
			if p.Lang != lang.code || p.Rules != lang.rules || p.SignOut != lang.signOut {
				failf(t, tab, "after reloading in %s: %+v, want lang %s, tab %q, sign-out %q", lang.code, p, lang.code, lang.rules, lang.signOut)
			}
			for _, s := range sections {
				do(t, tab, "opening "+s, chromedp.Click(chromedp.CSS("#tab-"+s)))
				wait(t, tab, `!document.querySelector('#panel-`+s+`').hidden`, "section "+s)
				type layout struct {
					Width, Scroll int
					Unlabelled    []string
				}
				l := js[layout](t, tab, `({Width: window.innerWidth, Scroll: document.documentElement.scrollWidth,
					Unlabelled: [...document.querySelectorAll('input, select, textarea, button')].filter((e) => e.offsetParent !== null &&
						!(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()).map((e) => e.id || e.outerHTML.slice(0, 60))})`)
				if l.Width != 360 || l.Scroll > l.Width {
					failf(t, tab, "%s section in %s: page %d px wide in a %d px window, want no horizontal scrolling at 360", s, lang.code, l.Scroll, l.Width)
				}
				noObjectText(t, tab)
				if len(l.Unlabelled) > 0 {
					failf(t, tab, "%s section in %s: controls without a label: %q", s, lang.code, l.Unlabelled)
				}
				if os.Getenv("GOVHUB_TEST_SCREENSHOTS") == "1" {
					webtest.Screenshot(t, tab, s)
				}
			}
		})
	}
}

// noObjectText fails if the page shows a value that was not turned into words ("[object …]",
// "undefined", "NaN").
func noObjectText(t *testing.T, tab context.Context) {
	t.Helper()
	if bad := js[string](t, tab, `(document.body.innerText.match(/\[object \w+\]|\bundefined\b|\bNaN\b/) || [''])[0]`); bad != "" {
		failf(t, tab, "the page shows %q", bad)
	}
}

// reload reloads the console in tab; the token kept in the tab's session storage signs it in again.
func (c *consoleTest) reload(t *testing.T, tab context.Context) {
	t.Helper()
	webtest.Navigate(t, tab, c.url)
	c.waitSignedIn(t, tab)
}
