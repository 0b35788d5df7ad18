package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/web/webtest"
)

// forgeDisclosure stands in front of the hub; while on, the details of every mySealedDisclosure
// response name another department than the one that read (a forged disclosure).
type forgeDisclosure struct {
	next http.Handler
	on   atomic.Bool
}

func (f *forgeDisclosure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.on.Load() || r.URL.Path != "/graphql" || r.Method != http.MethodPost {
		f.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !bytes.Contains(body, []byte("mySealedDisclosure")) {
		f.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	var resp map[string]any
	json.Unmarshal(rec.Body.Bytes(), &resp)
	if d, ok := get(resp, "data", "mySealedDisclosure").(map[string]any); ok {
		if s, ok := d["details"].(string); ok {
			d["details"] = strings.Replace(s, "actor public-security/clerk", "actor tax/clerk", 1)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// The acceptance test of sealed accesses, through the portal in Chromium: before unsealing the
// citizen's card says only that a sealed access under a court order happened and until when;
// after an early unseal (two officers) verifying it shows the details, checked in the browser
// against the entry's sealed line; a forged disclosure fails that check.
func TestSealedPortal(t *testing.T) {
	h, _ := startSealedHub(t, 3)
	h.registerSealedPurpose()
	index, _ := h.sealedAccess(demoCitizen)
	forge := &forgeDisclosure{next: h.app.handler()}
	tab := openPortal(t, forge, h.token(citizenOne))
	card := fmt.Sprintf(`#access-list > li[data-index="%d"]`, index)
	wait(t, tab, `!!document.querySelector('`+card+`')`, "the sealed access's card")

	type shown struct{ Kind, Dept, Text string }
	s := js[shown](t, tab, `(() => { const c = document.querySelector('`+card+`');
		return {Kind: c.dataset.kind, Dept: c.dataset.department, Text: c.textContent}; })()`)
	if s.Kind != "SEALED" || !strings.Contains(s.Text, "Sealed access under a court order") || !strings.Contains(s.Text, "sealed by a court order until") {
		failf(t, tab, "the sealed access's card = %+v", s)
	}
	for _, hidden := range []string{"public-security", "clerk", sealedPurpose, "identity", courtOrder, "Ask why"} {
		if strings.Contains(s.Text, hidden) {
			failf(t, tab, "before unsealing the card shows %q: %s", hidden, s.Text)
		}
	}
	verify := func(want string) (state, step, text string) {
		t.Helper()
		// A click from the page itself: the live log may re-render the card between finding the
		// button and clicking it from outside.
		webtest.Eval(t, tab, `document.querySelector('`+card+` button[data-action="verify"]').click()`, nil)
		wait(t, tab, `document.querySelector('`+card+` .verify-result').dataset.state === '`+want+`'`, "the verification to end "+want)
		type res struct{ State, Step, Text, Disclosure string }
		r := js[res](t, tab, `(() => { const e = document.querySelector('`+card+` .verify-result'); const d = e.querySelector('.disclosure');
			return {State: e.dataset.state, Step: e.dataset.step, Text: e.textContent, Disclosure: d ? d.dataset.state : ''}; })()`)
		return r.Disclosure, r.Step, r.Text
	}
	if d, _, text := verify("ok"); d != "sealed" || !strings.Contains(text, "Still sealed until") || strings.Contains(text, "public-security") {
		failf(t, tab, "verifying before unsealing: disclosure %q, %s", d, text)
	}

	// Two officers unseal it early.
	if r := h.query(h.token(officer1), proposeUnseal, map[string]any{"i": index, "r": "the case is closed"}); len(r.Errors) > 0 {
		t.Fatalf("proposeEarlyUnseal: %+v", r.Errors)
	}
	r := h.query(h.token(officer2), approveUnseal, map[string]any{"i": index})
	if len(r.Errors) > 0 {
		t.Fatalf("approveEarlyUnseal: %+v", r.Errors)
	}
	if _, err := h.app.log.WaitCheckpoint(t.Context(), uint64(get(r.Data, "approveEarlyUnseal", "unsealEntry").(float64))+1); err != nil {
		t.Fatal(err)
	}

	d, _, text := verify("ok")
	type details struct{ Actor, Court, Purpose, Fields string }
	got := js[details](t, tab, `(() => { const q = (k) => (document.querySelector('`+card+` .disclosure dd[data-key="' + k + '"]') || {}).textContent || '';
		return {Actor: q('actor'), Court: q('court-order'), Purpose: q('purpose'), Fields: q('field')}; })()`)
	if d != "disclosed" || !strings.Contains(text, "these details hash to this entry’s sealed line") || got.Actor != "public-security/clerk" ||
		got.Court != courtOrder || got.Purpose != sealedPurpose || !strings.Contains(got.Fields, "identity.name reveal") {
		failf(t, tab, "verifying after unsealing: disclosure %q, details %+v, %s", d, got, text)
	}

	// verify.js computes the digest of the published vector (hub/testdata) as the hub does.
	vec, err := os.ReadFile(filepath.Join("..", "..", "hub", "testdata", "sealed-details.txt"))
	if err != nil {
		t.Fatal(err)
	}
	salt := bytes.Repeat([]byte{0x42}, 32)
	want := hub.SealedDigest(salt, vec)
	if got := js[string](t, tab, `import('/static/verify.js').then(async (v) => v.toHex(await v.sealedDigest(`+quote(hex.EncodeToString(salt))+`, `+quote(string(vec))+`)))`); got != hex.EncodeToString(want[:]) {
		failf(t, tab, "verify.js sealedDigest(vector) = %s, want %x", got, want)
	}

	// A disclosure whose details were changed does not hash to the sealed line.
	forge.on.Store(true)
	defer forge.on.Store(false)
	if _, step, text := verify("fail"); step != "sealed" || !strings.Contains(text, "do not match the sealed access") || strings.Contains(text, "tax/clerk") {
		failf(t, tab, "a forged disclosure: step %q, %s; want the sealed check failed", step, text)
	}
}
