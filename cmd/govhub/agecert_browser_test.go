package main

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/web/webtest"
)

// The public page /verify/<id> of an identity proof, in Chromium: the claim atLeast18 is shown
// verified by its zero-knowledge proof (checked in WebAssembly at the threshold 18 years before the
// issue date), and the page shows no birth date. The same document with a proof byte changed, or a
// threshold day that is not 18 years before the issue date, each signed again with the issuer's own
// key so that the signature holds, is "invalid" at the proofs step.
func TestIdentityProofAgeClaimInBrowser(t *testing.T) {
	h := startHub(t, 3)
	adult := h.findCitizen(3, "identity")
	born := adult.Records["identity"][0]["birthDate"].(string)
	id, v, _ := h.issueIdentityProof(t, adult.ID)
	doc := credentialMap(t, v.Credential)
	threshold := ageProofOf(doc)["threshold"].(string)

	tampered := map[string][]byte{
		"proof": h.resign(t, v, func(doc map[string]any) {
			p := ageProofOf(doc)
			b, _ := base64.StdEncoding.DecodeString(p["proof"].(string))
			b[len(b)/3] ^= 0x01
			p["proof"] = base64.StdEncoding.EncodeToString(b)
		}),
		"threshold": h.resign(t, v, func(doc map[string]any) { ageProofOf(doc)["threshold"] = dayBefore(threshold) }),
	}
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)

	var browser webtest.Browser
	t.Cleanup(browser.Close)
	tab := browser.IsolatedTab(t, "cmd/govhub")
	type shown struct {
		State, Verdict, Claim, Proof, Checks, Page string
		Proven                                     bool
	}
	open := func(url string) shown {
		t.Helper()
		webtest.Navigate(t, tab, url)
		webtest.WaitFor(t, tab, `document.body.dataset.verified !== undefined`, 60*time.Second, "the page to check the certificate")
		var out shown
		webtest.Eval(t, tab, `(() => {
		  const dd = document.querySelector('[data-claim="atLeast18"]');
		  return {State: document.body.dataset.verified, Verdict: document.querySelector('#verdict').textContent,
		    Claim: dd?.textContent ?? '', Proven: dd?.dataset.proven === 'true',
		    Proof: dd?.querySelector('[data-proof="adult"]')?.textContent ?? '',
		    Checks: [...document.querySelectorAll('#check-list li')].map((li) => li.dataset.check ?? li.textContent).join(' '),
		    Page: document.body.innerText};
		})()`, &out)
		return out
	}

	got := open(srv.URL + "/verify/" + id)
	if got.State != "valid" || !got.Proven || !strings.Contains(got.Proof, threshold) || !strings.Contains(got.Proof, "18") ||
		got.Checks != "signature proofs ledger status" {
		webtest.Screenshot(t, tab, "age-valid")
		t.Fatalf("the page shows %+v, want valid with atLeast18 proven at %s", got, threshold)
	}
	t.Logf("the claim as shown: %s", got.Claim)
	if strings.Contains(got.Page, born) {
		t.Errorf("the page shows the birth date %s", born)
	}

	for name, body := range tampered {
		bad := httptest.NewServer(tamperer{next: h.handler, edit: func(b []byte) []byte { return body }})
		got := open(bad.URL + "/verify/" + id)
		bad.Close()
		if got.State != "invalid" || !strings.Contains(got.Verdict, "identity.birthDate") || !strings.Contains(got.Checks, "proofs") {
			webtest.Screenshot(t, tab, "age-"+name)
			t.Errorf("%s changed and signed again: the page shows %+v, want invalid at the proofs step", name, got)
		}
		if name == "threshold" && !strings.Contains(got.Verdict, "threshold day") {
			t.Errorf("a wrong threshold day: the verdict is %q", got.Verdict)
		}
	}
}
