package main

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govhub/govhub/web/webtest"
)

// After an index key rotation (and its re-MAC), the citizen portal shows the citizen's accesses
// from before and after it, and verifies both in the browser.
func TestPortalAfterIndexKeyRotation(t *testing.T) {
	h := startHub(t, 5)
	h.app.demo = true
	pagesOnly(t, h)
	r := h.query(h.token(housingClerk), exampleQuery, map[string]any{"id": demoCitizen})
	h.receiptEntry(r) // logged, with a receipt (some fields are refused by design)
	oldIndex := receiptIndex(r)
	if _, err := h.app.rotateIndexKey(t.Context(), operator); err != nil {
		t.Fatalf("rotateIndexKey = %v", err)
	}
	h.app.remacInBackground(t.Context(), true)
	for deadline := time.Now().Add(30 * time.Second); ; {
		running, p, errText := h.app.indexRotation.snapshot()
		if !running && p.Seen > 0 {
			if errText != "" || p.Refused > 0 {
				t.Fatalf("re-MAC = %+v, %s", p, errText)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the re-MAC did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}

	mitm := &portalMITM{next: h.app.handler()}
	srv := httptest.NewServer(mitm)
	t.Cleanup(srv.Close)
	var browser webtest.Browser
	t.Cleanup(browser.Close)
	p := &portalTest{url: srv.URL + "/portal", h: h, browser: &browser, mitm: mitm}
	tab := browser.IsolatedTab(t, "cmd/govhub")
	// A read after the rotation appears live and verifies.
	p.liveVerified(t, tab)
	// The read from before the rotation is listed and verifies too.
	card := fmt.Sprintf(`#access-list > li[data-index="%d"]`, oldIndex)
	wait(t, tab, `!!document.querySelector('`+card+`')`, "the access from before the rotation")
	do(t, tab, "verifying the access from before the rotation", chromedp.Click(chromedp.CSS(card+` button[data-action="verify"]`)))
	wait(t, tab, `['ok', 'fail'].includes(document.querySelector('`+card+` .verify-result').dataset.state)`, "the verification result")
	if got := js[string](t, tab, `document.querySelector('`+card+` .verify-result').textContent`); !strings.HasPrefix(got, "✔ Verified") {
		failf(t, tab, "verification of the access from before the rotation = %q, want Verified", got)
	}
}
