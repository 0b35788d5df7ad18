package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/web/webtest"
)

// The portal checks a commitment's opening in the browser under the commitment's own scheme: a
// citizen's birth date committed as a hash (before the migration) and then, after govhub migrate
// dates, as a day number both show as verified in Chromium; a tampered opening does not.
func TestPortalOpeningAcrossMigration(t *testing.T) {
	h := legacyHub(t, 2)
	c := h.gen.Citizen(1)
	var browser webtest.Browser
	t.Cleanup(browser.Close)
	tok := h.token(auth.Principal{Kind: auth.KindCitizen, Subject: c.ID})

	check := func(label, wantScheme string) string {
		t.Helper()
		srv := httptest.NewServer(h.app.handler())
		defer srv.Close()
		tab := browser.IsolatedTab(t, "cmd/govhub")
		webtest.Navigate(t, tab, srv.URL+"/portal#token="+tok)
		wait(t, tab, `!document.querySelector('#app').hidden`, "the portal")
		do(t, tab, "opening my data", chromedp.Click(chromedp.CSS("#tab-data")))
		do(t, tab, "showing my data", chromedp.Click(chromedp.CSS("#load-records")))
		wait(t, tab, `!!document.querySelector('#records button[data-action="open"][data-field="identity.birthDate"]')`, "my data")
		do(t, tab, "showing the birth date's opening", chromedp.Click(chromedp.CSS(`#records button[data-action="open"][data-field="identity.birthDate"]`)))
		wait(t, tab, `!!document.querySelector('#records .sealed[data-field="identity.birthDate"] .opening-check')`, "the opening's check")
		type shown struct{ Check, Class, Facts string }
		s := js[shown](t, tab, `(() => { const n = document.querySelector('#records .sealed[data-field="identity.birthDate"]');
			const c = n.querySelector('.opening-check'); return {Check: c.textContent, Class: c.className, Facts: n.querySelector('.opening').textContent}; })()`)
		if s.Class != "opening-check verified" || !strings.Contains(s.Facts, wantScheme) || !strings.Contains(s.Facts, c.Records["identity"][0]["birthDate"].(string)) {
			failf(t, tab, "%s: opening shown %+v, want it verified under %s", label, s, wantScheme)
		}
		// The same check on a tampered opening (another day) fails.
		bad := js[map[string]any](t, tab, `(async () => { const v = await import('/static/verify.js');
			const n = document.querySelector('#records .sealed[data-field="identity.birthDate"] .opening');
			const dd = n.querySelectorAll('dd');
			const point = dd[2].textContent, scheme = dd[3].textContent.split(' ')[0];
			return v.verifyOpening({kind: 'date', value: '2000-01-01', blinding: dd[1].textContent, commitment: {scheme, point}}); })()`)
		if bad["ok"] != false {
			failf(t, tab, "%s: a tampered opening verifies: %v", label, bad)
		}
		return s.Check
	}
	check("hashed date", commit.Scheme)
	if _, err := h.app.updater.MigrateDates(context.WithoutCancel(t.Context()), h.app.storage.store, nil); err != nil {
		t.Fatalf("MigrateDates = %v", err)
	}
	check("day number", commit.SchemeV2)
}
