package main

import (
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/web/webtest"
)

// A citizen applies for a home-purchase eligibility certificate from the portal (only the pages'
// own GraphQL documents allowed): the steps appear in the page without reloading, the certificate
// comes with its link and QR code; the test reads the QR code with an independent decoder, opens
// its link, and the verification page says "valid".
func TestPortalCertificateApplication(t *testing.T) {
	const n = 60
	h := startHub(t, n)
	var qualifies demoFacts
	for i := 1; i <= n && qualifies.id == ""; i++ {
		if f := factsOf(h.gen, i, n); f.spouseIn && f.months >= 60 && f.homes < 2 {
			qualifies = f
		}
	}
	if qualifies.id == "" {
		t.Fatalf("no qualifying demo citizen among %d", n)
	}
	pagesOnly(t, h)
	handler := h.app.handler()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	var browser webtest.Browser
	t.Cleanup(browser.Close)
	tab := browser.IsolatedTab(t, "cmd/govhub")
	citizen := auth.Principal{Kind: auth.KindCitizen, Subject: qualifies.id}
	webtest.Navigate(t, tab, srv.URL+"/portal#token="+h.token(citizen))
	webtest.WaitFor(t, tab, `!document.querySelector('#app').hidden`, 30*time.Second, "the portal")
	webtest.Eval(t, tab, `document.querySelector('#tab-certificates').click()`, nil)
	webtest.WaitFor(t, tab, `[...document.querySelectorAll('#cert-type option')].some((o) => o.value === 'home-purchase-eligibility')`,
		30*time.Second, "the certificate types")
	webtest.Eval(t, tab, `(() => { document.querySelector('#cert-type').value = 'home-purchase-eligibility';
	  document.querySelector('#apply').click(); })()`, nil)
	webtest.WaitFor(t, tab, `document.querySelector('#application-list li.application[data-status="issued"] img.qr') !== null`,
		60*time.Second, "the certificate to be issued")
	var got struct {
		Steps []string
		QR    string
		Link  string
	}
	webtest.Eval(t, tab, `(() => { const li = document.querySelector('#application-list li.application');
	  return { Steps: [...li.querySelectorAll('ol.steps li')].map((s) => s.dataset.step),
	    QR: li.querySelector('img.qr').getAttribute('src'), Link: li.querySelector('a.verify-link').getAttribute('href') }; })()`, &got)
	if len(got.Steps) < 4 || got.Steps[0] != "received" || got.Steps[len(got.Steps)-1] != "issued" {
		webtest.Screenshot(t, tab, "steps")
		t.Errorf("the steps shown: %v", got.Steps)
	}
	// The access log, live, shows the application's steps too (without a reload).
	webtest.WaitFor(t, tab, `document.querySelector('#access-list li[data-kind="STEP"]') !== null`, 30*time.Second, "the steps in the live access log")

	resp, err := http.Get(srv.URL + got.QR)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("the QR code image: %v", err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	res, err := gzqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("reading the QR code: %v", err)
	}
	link, err := url.Parse(res.GetText())
	if err != nil || link.Path != got.Link {
		t.Fatalf("the QR code reads %q, the page links %q", res.GetText(), got.Link)
	}
	for range 100 { // the issuance waits for a published checkpoint
		if r, err := http.Get(srv.URL + link.Path + ".json"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	webtest.Navigate(t, tab, srv.URL+link.Path)
	webtest.WaitFor(t, tab, `document.body.dataset.verified !== undefined`, 60*time.Second, "the verification page")
	var state string
	webtest.Eval(t, tab, `document.body.dataset.verified`, &state)
	if state != "valid" {
		webtest.Screenshot(t, tab, "verify")
		t.Errorf("the QR code's link says %q, want valid", state)
	}

	// The holder turns the link off: the page no longer finds the certificate.
	webtest.Navigate(t, tab, srv.URL+"/portal")
	webtest.WaitFor(t, tab, `!document.querySelector('#app').hidden`, 30*time.Second, "the portal")
	webtest.Eval(t, tab, `document.querySelector('#tab-certificates').click()`, nil)
	webtest.WaitFor(t, tab, `document.querySelector('button[data-action="toggle-link"][data-enabled="true"]') !== null`, 30*time.Second, "the link switch")
	// The verification just made shows with its time (and nothing about who made it).
	var when []string
	webtest.Eval(t, tab, `[...document.querySelectorAll('details.verified-at li')].map((li) => li.textContent)`, &when)
	if len(when) == 0 {
		webtest.Screenshot(t, tab, "verified-at")
		t.Errorf("the portal lists no verification time after the page verified the certificate")
	}
	webtest.Eval(t, tab, `document.querySelector('button[data-action="toggle-link"]').click()`, nil)
	webtest.WaitFor(t, tab, `document.querySelector('button[data-action="toggle-link"][data-enabled="false"]') !== null`, 30*time.Second, "the link turned off")
	if r, err := http.Get(srv.URL + link.Path + ".json"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("after the holder turned the link off: %v %v, want 404", r.StatusCode, err)
	} else {
		r.Body.Close()
	}
	checkPagesTrusted(t, h, citizen)
}
