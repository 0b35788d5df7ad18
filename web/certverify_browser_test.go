package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govhub/govhub/web"
	"github.com/govhub/govhub/web/webtest"
)

const certTestPage = `<!doctype html>
<meta charset="utf-8">
<title>loading</title>
<script type="module" src="/test.js"></script>
`

// certTestScript is the page's script, a file of its own: the policy allows no inline script.
const certTestScript = `import * as c from '/static/certverify.js';
window.certjs = c;
document.title = 'ready';
`

// certPage opens a page that imports certverify.js, with the W3C and range-proof vectors served
// under /vectors/.
func certPage(t *testing.T) context.Context {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(web.Static())))
	mux.Handle("/vectors/di/", http.StripPrefix("/vectors/di/", http.FileServer(http.Dir("../credential/testdata/eddsa-jcs-2022"))))
	mux.Handle("/vectors/rangeproof/", http.StripPrefix("/vectors/rangeproof/", http.FileServer(http.Dir("../crypto/rangeproof/testdata"))))
	mux.HandleFunc("/test.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(certTestScript))
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The verify page's policy: WebAssembly needs 'wasm-unsafe-eval', nothing else is relaxed.
		w.Header().Set("Content-Security-Policy", web.VerifyPageContentSecurityPolicy)
		w.Write([]byte(certTestPage))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	bctx := browser.Tab(t, "web")
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("loading the test page in Chromium: %v", err)
	}
	webtest.WaitFor(t, bctx, `window.certjs !== undefined`, 30*time.Second, "the test page to load certverify.js")
	return bctx
}

// certverify.js reproduces the W3C vc-di-eddsa eddsa-jcs-2022 test vectors: the canonical form
// of the unsigned credential and of the proof configuration, and the signature; any changed
// claim, a proof under another key, or a proof value of the wrong length fails.
func TestCertVerifyDataIntegrityVectorsInBrowser(t *testing.T) {
	ctx := certPage(t)
	canonDoc, err := os.ReadFile("../credential/testdata/eddsa-jcs-2022/canonDocJCS.txt")
	if err != nil {
		t.Fatal(err)
	}
	canonProof, err := os.ReadFile("../credential/testdata/eddsa-jcs-2022/proofCanonJCS.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Doc, Proof                              string
		Valid, Changed, OtherKey, ShortSig, Key bool
	}
	eval(t, ctx, `(async () => {
	  const c = window.certjs;
	  const signed = await (await fetch('/vectors/di/signedJCS.json')).json();
	  const unsigned = await (await fetch('/vectors/di/unsigned.json')).json();
	  const config = await (await fetch('/vectors/di/proofConfigJCS.json')).json();
	  const kp = await (await fetch('/vectors/di/keyPair.json')).json();
	  const key = c.multikeyEd25519(kp.publicKeyMultibase);
	  const changed = structuredClone(signed); changed.credentialSubject.alumniOf = 'The School of Exampels';
	  const other = new Uint8Array(key); other[0] ^= 1;
	  const short = structuredClone(signed); short.proof.proofValue = short.proof.proofValue.slice(0, -2);
	  return {
	    Doc: c.jcs(unsigned), Proof: c.jcs(config), Key: key.length === 32,
	    Valid: await c.verifyDataIntegrity(signed, key),
	    Changed: await c.verifyDataIntegrity(changed, key),
	    OtherKey: await c.verifyDataIntegrity(signed, other).catch(() => false),
	    ShortSig: await c.verifyDataIntegrity(short, key),
	  };
	})()`, &got)
	if got.Doc != strings.TrimSpace(string(canonDoc)) {
		t.Errorf("jcs(unsigned) =\n%s\nwant (canonDocJCS.txt)\n%s", got.Doc, canonDoc)
	}
	if got.Proof != strings.TrimSpace(string(canonProof)) {
		t.Errorf("jcs(proof config) =\n%s\nwant (proofCanonJCS.txt)\n%s", got.Proof, canonProof)
	}
	if !got.Key || !got.Valid {
		t.Errorf("the W3C signed vector does not verify (key decoded: %v)", got.Key)
	}
	if got.Changed || got.OtherKey || got.ShortSig {
		t.Errorf("verified: changed claim %v, other key %v, short signature %v; want none", got.Changed, got.OtherKey, got.ShortSig)
	}
}

// The threshold proofs of crypto/rangeproof's published vectors verify in the browser exactly
// when the Go verifier says so (their "valid" field), through the WebAssembly build.
func TestCertVerifyRangeProofsInBrowser(t *testing.T) {
	ctx := certPage(t)
	b, err := os.ReadFile("../crypto/rangeproof/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Name  string `json:"name"`
			Valid bool   `json:"valid"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	var got []string // per vector: "" when it verified, else the reason
	eval(t, ctx, `(async () => {
	  const c = window.certjs;
	  const f = await (await fetch('/vectors/rangeproof/vectors.json')).json();
	  const hex = (s) => new Uint8Array(s.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
	  const out = [];
	  for (const v of f.vectors) out.push(await c.verifyRangeProof(v.commitment, v.statement, hex(v.context), hex(v.proof)));
	  return out;
	})()`, &got)
	if len(got) != len(file.Vectors) {
		t.Fatalf("%d results for %d vectors", len(got), len(file.Vectors))
	}
	valid := 0
	for i, v := range file.Vectors {
		if (got[i] == "") != v.Valid {
			t.Errorf("vector %s: browser says %q, want valid=%v", v.Name, got[i], v.Valid)
		}
		if v.Valid {
			valid++
		}
	}
	if valid == 0 || valid == len(file.Vectors) {
		t.Errorf("%d of %d vectors valid: the test needs both kinds", valid, len(file.Vectors))
	}
}
