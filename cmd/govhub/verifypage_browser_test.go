package main

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/govhub/govhub/web/webtest"
)

// tamperer serves the hub, changing the verification documents it passes on with edit.
type tamperer struct {
	next http.Handler
	edit func([]byte) []byte
}

func (m tamperer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	m.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if strings.HasSuffix(r.URL.Path, ".json") {
		body = m.edit(body)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// The public page /verify/<id>, in Chromium: a home-purchase eligibility certificate verifies
// ("valid", its claims shown) with the signature, the threshold proof (in WebAssembly) and the
// issue entry all checked in the page; a document changed on the way fails; the QR code of the
// link, read with an independent decoder, opens the same page; once revoked, the page says so.
func TestCertificateVerifyPageInBrowser(t *testing.T) {
	const n = 60
	h := startHub(t, n)
	qualifies := qualifyingCitizen(t, h, n)
	clerk := h.token(housingClerk)
	r := h.query(clerk, certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": qualifies.id})
	if len(r.Errors) > 0 {
		t.Fatalf("requestCertificate: %+v", r.Errors)
	}
	id := get(r.Data, "requestCertificate", "certificate", "id").(string)
	if code, body := h.getJSON("/verify/" + id + ".json"); code != http.StatusOK {
		t.Fatalf("GET /verify/%s.json = %d %s", id, code, body)
	}

	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	changed := false
	bad := httptest.NewServer(tamperer{next: h.handler, edit: func(b []byte) []byte {
		out := bytes.Replace(b, []byte(`"eligible":true`), []byte(`"eligible":false`), 1)
		changed = changed || !bytes.Equal(out, b)
		return out
	}})
	t.Cleanup(bad.Close)

	var browser webtest.Browser
	t.Cleanup(browser.Close)
	tab := browser.IsolatedTab(t, "cmd/govhub")
	verdict := func(url string) (state, text string) {
		t.Helper()
		webtest.Navigate(t, tab, url)
		webtest.WaitFor(t, tab, `document.body.dataset.verified !== undefined`, 60*time.Second, "the page to check the certificate")
		var out struct{ State, Text string }
		webtest.Eval(t, tab, `({State: document.body.dataset.verified, Text: document.querySelector('#verdict').textContent})`, &out)
		return out.State, out.Text
	}

	state, text := verdict(srv.URL + "/verify/" + id)
	if state != "valid" {
		webtest.Screenshot(t, tab, "valid")
		t.Fatalf("the page says %s: %s", state, text)
	}
	var shown struct{ Eligible, Checks string }
	webtest.Eval(t, tab, `({Eligible: document.querySelector('[data-claim="eligible"]')?.textContent ?? '',
	  Checks: [...document.querySelectorAll('#check-list li')].map((li) => li.dataset.check + ':' + li.dataset.ok).join(' ')})`, &shown)
	if shown.Checks != "signature:true proofs:true ledger:true status:true" || shown.Eligible == "" {
		t.Errorf("the page shows eligible %q and checks %q", shown.Eligible, shown.Checks)
	}
	var page string
	webtest.Eval(t, tab, `document.body.innerText`, &page)
	months := regexp.MustCompile(`(^|[^0-9])` + strconv.FormatInt(qualifies.months, 10) + `($|[^0-9])`)
	if strings.Contains(page, qualifies.id) || months.MatchString(page) {
		t.Errorf("the page shows the citizen id or the contribution months:\n%s", page)
	}

	if state, text := verdict(bad.URL + "/verify/" + id); state != "invalid" || !changed {
		t.Errorf("a changed document: the page says %s (%s); changed: %v", state, text, changed)
	}

	// The QR code of the link, as a phone reads it, opens the page.
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/verify/"+id+".png", nil))
	img, err := png.Decode(w.Body)
	if err != nil {
		t.Fatalf("GET /verify/%s.png: %d, %v", id, w.Code, err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("reading the QR code: %v", err)
	}
	link, err := url.Parse(res.GetText())
	if err != nil || link.Path != "/verify/"+id {
		t.Fatalf("the QR code reads %q", res.GetText())
	}
	if state, text := verdict(srv.URL + link.Path); state != "valid" {
		t.Errorf("the QR code's link: the page says %s (%s)", state, text)
	}

	// Revoked: the page says so, with the reason.
	rv := h.query(clerk, `mutation($id: ID!) { revokeCertificate(id: $id, reason: "issued-in-error") { revoked } }`, map[string]any{"id": id})
	if len(rv.Errors) > 0 {
		t.Fatalf("revokeCertificate: %+v", rv.Errors)
	}
	if state, text := verdict(srv.URL + "/verify/" + id); state != "revoked" || !strings.Contains(text, "issued-in-error") {
		t.Errorf("a revoked certificate: the page says %s (%s)", state, text)
	}
	// Once the revoke entry is published, the page checks its receipt on the log and shows it.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, body := h.getJSON("/verify/" + id + ".json"); bytes.Contains(body, []byte(`"revokeReceipt"`)) {
			break
		}
	}
	if state, text := verdict(srv.URL + "/verify/" + id); state != "revoked" {
		t.Errorf("a revoked certificate with its revoke receipt: the page says %s (%s)", state, text)
	}
	var revokeEntry string
	webtest.Eval(t, tab, `document.querySelector('[data-fact="revokeEntry"]')?.textContent ?? ''`, &revokeEntry)
	if revokeEntry == "" {
		t.Errorf("the page does not show the revoke entry checked on the log")
	}
}

// The public page of a certificate whose issue entry no published checkpoint covers yet (the
// hub's one witness has stopped answering, as when the QR code is scanned right after issuance)
// waits, saying so, rather than saying the certificate could not be fetched; once the witness
// answers, it verifies.
func TestCertificatePageWaitsForTheCheckpoint(t *testing.T) {
	const n = 60
	link := &stalledLink{}
	h, _ := startHubWithWitnessesBehind(t, n, 1, func(next http.Handler) http.Handler { link.next = next; return link }, "w1.tax.example")
	t.Cleanup(link.free)
	qualifies := qualifyingCitizen(t, h, n)
	link.stall()
	r := h.query(h.token(housingClerk), certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": qualifies.id})
	if len(r.Errors) > 0 {
		t.Fatalf("requestCertificate: %+v", r.Errors)
	}
	id := get(r.Data, "requestCertificate", "certificate", "id").(string)

	tab := openPage(t, h.handler, "/verify/"+id)
	webtest.WaitFor(t, tab, `document.querySelector('#verdict').textContent.includes('has not yet published a checkpoint')`, 30*time.Second, "the page waiting for the checkpoint")
	if v := js[string](t, tab, `document.body.dataset.verified || ''`); v != "" {
		failf(t, tab, "while the issuance is unpublished the page decided %q", v)
	}
	link.free()
	webtest.WaitFor(t, tab, `document.body.dataset.verified !== undefined`, 60*time.Second, "the page to check the certificate")
	if v := js[string](t, tab, `document.body.dataset.verified`); v != "valid" {
		failf(t, tab, "once published the page says %q: %s", v, js[string](t, tab, `document.querySelector('#verdict').textContent`))
	}
}

// qualifyingCitizen is the first of h's n demo citizens who qualifies for home-purchase eligibility
// through contribution months.
func qualifyingCitizen(t *testing.T, h *testHub, n int) demoFacts {
	t.Helper()
	for i := 1; i <= n; i++ {
		if f := factsOf(h.gen, i, n); f.spouseIn && f.hukou != "上海市" && f.months >= 60 && f.homes < 2 {
			return f
		}
	}
	t.Fatalf("no demo citizen qualifying through contribution months among %d", n)
	return demoFacts{}
}
