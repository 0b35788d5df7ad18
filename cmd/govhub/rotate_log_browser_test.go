package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govhub/govhub/web/webtest"
)

// After a rotation of the log key, the citizen portal verifies, in the browser, the citizen's
// accesses from before and after it: the page trusts the first key and learns the second from
// GET /log-keys.
func TestPortalAfterLogKeyRotation(t *testing.T) {
	h := startHub(t, 5)
	h.app.demo = true
	pagesOnly(t, h)
	r := h.query(h.token(housingClerk), exampleQuery, map[string]any{"id": demoCitizen})
	h.receiptEntry(r)
	oldIndex := receiptIndex(r)

	rot, err := h.app.rotateLogKey(t.Context(), operator, false) // what govhub keys rotate --key log asks
	if err != nil {
		t.Fatalf("rotateLogKey = %v", err)
	}
	vkey := rot.KeyID

	mitm := &portalMITM{next: h.app.handler()}
	srv := httptest.NewServer(mitm)
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/log-keys")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Eras []struct{ Key string } }
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || len(doc.Eras) != 2 || doc.Eras[1].Key != vkey {
		t.Fatalf("GET /log-keys = %+v, %v; want two keys, the second %s", doc, err, vkey)
	}

	var browser webtest.Browser
	t.Cleanup(browser.Close)
	tab := browser.IsolatedTab(t, "cmd/govhub")
	do(t, tab, "preferring English", webtest.AcceptLanguage("en"))
	webtest.Navigate(t, tab, srv.URL+"/portal")
	wait(t, tab, `!document.querySelector('#demo-form').hidden`, "the demo sign-in")
	do(t, tab, "choosing a demo citizen",
		chromedp.SetValue(chromedp.CSS("#demo-citizen"), demoCitizen),
		chromedp.Click(chromedp.CSS("#demo-submit")))
	wait(t, tab, `!document.querySelector('#app').hidden && document.querySelector('#live').dataset.state === 'on'`, "the access log, live")
	r = h.query(h.token(housingClerk), exampleQuery, map[string]any{"id": demoCitizen})
	h.receiptEntry(r)
	newIndex := receiptIndex(r)
	if newIndex < rot.Start {
		t.Fatalf("the read after the rotation is entry %d, before the new era's start %d", newIndex, rot.Start)
	}
	// Published before the page asks for its proof, as in the test below, so that what follows
	// checks the rotation and not the page's wait for a checkpoint (TestPortalWaitsForTheCheckpoint).
	h.waitPublished(newIndex + 1)
	// Both accesses verify, the newer first: the older is then checked against a checkpoint of the
	// new origin and proved consistent with the one verified before.
	for _, index := range []uint64{newIndex, oldIndex} {
		card := fmt.Sprintf(`#access-list > li[data-index="%d"]`, index)
		wait(t, tab, `!!document.querySelector('`+card+`')`, fmt.Sprintf("the access at %d", index))
		do(t, tab, "verifying", chromedp.Click(chromedp.CSS(card+` button[data-action="verify"]`)))
		wait(t, tab, `['ok', 'fail'].includes(document.querySelector('`+card+` .verify-result').dataset.state)`, "the verification result")
		if got := js[string](t, tab, `document.querySelector('`+card+` .verify-result').textContent`); !strings.HasPrefix(got, "✔ Verified") {
			failf(t, tab, "verification of the access at %d (the new era starts at %d) = %q, want Verified", index, rot.Start, got)
		}
	}
	if cp := js[string](t, tab, `localStorage.getItem('govhub.portal.checkpoint') || ''`); !strings.HasPrefix(cp, "govhub.test/ledger/2\n") {
		failf(t, tab, "last verified checkpoint kept = %q, want one of the new origin", cp)
	}
	// The keys tab shows the first key, from the page, and the second, learnt from the history.
	do(t, tab, "opening the keys tab", chromedp.Click(chromedp.CSS(`#tab-trust`)))
	wait(t, tab, `!!document.querySelector('#trust-log [data-era]')`, "the later log key")
	if got := js[string](t, tab, `document.querySelector('#trust-log [data-era]').textContent`); !strings.Contains(got, vkey) || !strings.Contains(got, fmt.Sprint(rot.Start)) {
		failf(t, tab, "the keys tab shows %q, want %s from entry %d", got, vkey, rot.Start)
	}
}

// After a rotation of the log key, the public certificate page verifies certificates issued
// before and after it: the issue receipts' checkpoints are of the new origin, whose key the page
// learns from GET /log-keys, verified from the first key built into the page.
func TestCertificatePageAfterLogKeyRotation(t *testing.T) {
	const n = 60
	h := startHub(t, n)
	var qualifying []string
	for i := 1; i <= n && len(qualifying) < 2; i++ {
		if f := factsOf(h.gen, i, n); f.spouseIn && f.hukou != "上海市" && f.months >= 60 && f.homes < 2 {
			qualifying = append(qualifying, f.id)
		}
	}
	if len(qualifying) < 2 {
		t.Fatalf("fewer than two qualifying demo citizens among %d", n)
	}
	issue := func(citizen string) string {
		t.Helper()
		r := h.query(h.token(housingClerk), certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": citizen})
		if len(r.Errors) > 0 {
			t.Fatalf("requestCertificate: %+v", r.Errors)
		}
		return get(r.Data, "requestCertificate", "certificate", "id").(string)
	}
	before := issue(qualifying[0])

	if _, err := h.app.rotateLogKey(t.Context(), operator, false); err != nil {
		t.Fatalf("rotateLogKey = %v", err)
	}
	after := issue(qualifying[1])

	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	var browser webtest.Browser
	t.Cleanup(browser.Close)
	tab := browser.IsolatedTab(t, "cmd/govhub")
	for _, id := range []string{before, after} {
		webtest.Navigate(t, tab, srv.URL+"/verify/"+id)
		webtest.WaitFor(t, tab, `document.body.dataset.verified !== undefined`, 60*time.Second, "the page to check the certificate")
		var out struct{ State, Text, Checks string }
		webtest.Eval(t, tab, `({State: document.body.dataset.verified, Text: document.querySelector('#verdict').textContent,
		  Checks: [...document.querySelectorAll('#check-list li')].map((li) => li.textContent).join(' | ')})`, &out)
		if out.State != "valid" {
			webtest.Screenshot(t, tab, "after-rotation")
			t.Errorf("certificate %s: the page says %s: %s", id, out.State, out.Text)
		} else {
			t.Logf("certificate %s: %s", id, out.Checks)
		}
	}
}

// On a hub with two witnesses (quorum 2), after a prepared rotation of the log key, the portal
// verifies the citizen's accesses from both sides of it, the history's final checkpoint cosigned
// by both witnesses; with a witness key pasted that did not cosign it, the history no longer
// verifies and every check fails closed at step "keys", even that of an access from before.
func TestPortalWithWitnessesAfterLogKeyRotation(t *testing.T) {
	wh := startHubWithWitnessesToRestart(t, 5, "w1.tax.example", "w2.health.example")
	h, firstKey := wh.hub, wh.firstKey
	r := h.query(h.token(housingClerk), exampleQuery, map[string]any{"id": demoCitizen})
	h.receiptEntry(r)
	oldIndex := receiptIndex(r)

	// Prepared, added to the witnesses, rotated.
	prep, err := h.app.rotateLogKey(t.Context(), operator, true)
	if err != nil {
		t.Fatalf("rotateLogKey(prepare) = %v", err)
	}
	wh.restart(firstKey, prep.KeyID)
	rot, err := h.app.rotateLogKey(t.Context(), operator, false)
	if err != nil {
		t.Fatalf("rotateLogKey = %v", err)
	}
	r = h.query(h.token(housingClerk), exampleQuery, map[string]any{"id": demoCitizen})
	h.receiptEntry(r)
	newIndex := receiptIndex(r)
	if newIndex < rot.Start {
		t.Fatalf("the read after the rotation is entry %d, before the new era's start %d", newIndex, rot.Start)
	}
	h.waitPublished(newIndex + 1)

	tab := portalSignedIn(t, h, citizenOne)
	type res struct{ State, Step, Text string }
	verify := func(index uint64, what string) res {
		t.Helper()
		card := fmt.Sprintf(`#access-list > li[data-index="%d"]`, index)
		do(t, tab, "showing the log", chromedp.Click(chromedp.CSS("#tab-accesses")))
		wait(t, tab, `!!document.querySelector('`+card+`')`, fmt.Sprintf("the access at %d", index))
		do(t, tab, "verifying "+what, chromedp.Click(chromedp.CSS(card+` button[data-action="verify"]`)))
		wait(t, tab, `['ok', 'fail'].includes(document.querySelector('`+card+` .verify-result').dataset.state)`, "the verification result "+what)
		return js[res](t, tab, `(() => { const e = document.querySelector('`+card+` .verify-result');
			return {State: e.dataset.state, Step: e.dataset.step, Text: e.textContent}; })()`)
	}
	for _, index := range []uint64{newIndex, oldIndex} {
		if v := verify(index, "with the page's keys"); v.State != "ok" || !strings.Contains(v.Text, "w1.tax.example") || !strings.Contains(v.Text, "w2.health.example") {
			failf(t, tab, "the access at %d (the new era starts at %d): %+v, want Verified, cosigned by both witnesses", index, rot.Start, v)
		}
	}

	// A key published elsewhere that names w1 but is not w1's key: the old key's final checkpoint
	// has no cosignature by it, so the history does not verify.
	var out bytes.Buffer
	if err := run(t.Context(), []string{"keygen", "--name", "w1.tax.example", "--out", filepath.Join(t.TempDir(), "wrong.key")}, &out, &out); err != nil {
		t.Fatalf("keygen: %v", err)
	}
	do(t, tab, "pasting a wrong witness key",
		chromedp.Click(chromedp.CSS("#tab-trust")),
		chromedp.SetValue(chromedp.CSS("#own-witness-keys"), strings.TrimSpace(out.String())),
		chromedp.SetValue(chromedp.CSS("#own-quorum"), "1"),
		chromedp.Click(chromedp.CSS(`#trust-form button[type="submit"]`)))
	wait(t, tab, `document.querySelector('#trust-quorum').textContent === '1' && !!document.querySelector('#trust-log [data-keys="refused"]')`, "the history refused in the keys tab")
	for _, index := range []uint64{newIndex, oldIndex} {
		if v := verify(index, "with the pasted key"); v.State != "fail" || v.Step != "keys" || !strings.Contains(v.Text, "key history") {
			failf(t, tab, "the access at %d with a wrong pasted witness key: %+v, want it to fail at the key history, in words", index, v)
		}
	}
}
