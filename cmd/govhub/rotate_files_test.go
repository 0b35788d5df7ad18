package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/credential"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/web/webtest"
)

// loadCounter counts the requests of a load and its failures, keeping the first.
type loadCounter struct {
	requests, failures atomic.Int64
	first              atomic.Value
}

func (c *loadCounter) add(failure string) {
	c.requests.Add(1)
	if failure != "" {
		c.failures.Add(1)
		c.first.CompareAndSwap(nil, failure)
	}
}

func (c *loadCounter) check(t *testing.T, what string) {
	t.Helper()
	if c.requests.Load() == 0 {
		t.Fatalf("no request ran during the %s", what)
	}
	if f := c.failures.Load(); f > 0 {
		t.Fatalf("%d of %d requests failed during the %s; first: %v", f, c.requests.Load(), what, c.first.Load())
	}
	t.Logf("%d requests during the %s, none failed", c.requests.Load(), what)
}

// proofKey returns the Multikey a credential's proof names (the fragment of its verification
// method).
func proofKey(t *testing.T, cred []byte) string {
	t.Helper()
	var doc struct {
		Proof struct {
			VerificationMethod string `json:"verificationMethod"`
		} `json:"proof"`
	}
	if err := json.Unmarshal(cred, &doc); err != nil {
		t.Fatal(err)
	}
	_, key, _ := strings.Cut(doc.Proof.VerificationMethod, "#")
	return key
}

// didKeys returns the Multikeys of a DID document's assertion methods, in order.
func didKeys(t *testing.T, didDoc []byte) []string {
	t.Helper()
	var doc struct {
		ID                 string `json:"id"`
		VerificationMethod []struct {
			ID                 string `json:"id"`
			PublicKeyMultibase string `json:"publicKeyMultibase"`
		} `json:"verificationMethod"`
		AssertionMethod []string `json:"assertionMethod"`
	}
	if err := json.Unmarshal(didDoc, &doc); err != nil {
		t.Fatalf("DID document: %v\n%s", err, didDoc)
	}
	var out []string
	for _, vm := range doc.AssertionMethod {
		// Each key resolves through the verifier's own reading of the document.
		pub, err := credential.KeyFromDIDDocument(didDoc, vm)
		if err != nil {
			t.Fatalf("DID document: %v", err)
		}
		if vm != doc.ID+"#"+credential.Multikey(pub) {
			t.Errorf("verification method %s is not the DID with the key's Multikey", vm)
		}
		out = append(out, credential.Multikey(pub))
	}
	return out
}

// The credential key is rotated with `govhub keys rotate --key credential` while the housing
// clerk requests certificates and the public verifies one issued before: no request fails; the
// rotation is on the ledger; the DID document lists the new key first and the old one after it;
// every certificate issued before still verifies (served, offline, and from a verification file
// saved before the rotation); certificates and statuses from then on are signed by the new key;
// and a restarted hub still lists the old key and verifies the old certificates, in Go and in
// the browser's verifier.
func TestCredentialKeyRotationUnderLoad(t *testing.T) {
	const n = 60
	h := startHub(t, n)
	var eligible []string
	for i := 1; i <= n; i++ {
		if f := factsOf(h.gen, i, n); f.spouseIn && f.hukou != "上海市" && f.months >= 60 && f.homes < 2 {
			eligible = append(eligible, f.id)
		}
	}
	if len(eligible) < 2 {
		t.Fatalf("only %d eligible demo citizens among %d", len(eligible), n)
	}
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	clerk := h.token(housingClerk)
	oldKey := credential.Multikey(h.app.fileKeys.credential.Public()[0])
	request := func(citizen string) (id string, cred []byte, failure string) {
		r := h.query(clerk, certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": citizen})
		if len(r.Errors) > 0 {
			return "", nil, fmt.Sprintf("requestCertificate(%s): %+v", citizen, r.Errors)
		}
		if s := get(r.Data, "requestCertificate", "status"); s != "issued" {
			return "", nil, fmt.Sprintf("requestCertificate(%s): %v", citizen, s)
		}
		c, _ := get(r.Data, "requestCertificate", "certificate", "credential").(string)
		return get(r.Data, "requestCertificate", "certificate", "id").(string), []byte(c), ""
	}
	firstID, firstCred, failure := request(eligible[0])
	if failure != "" {
		t.Fatal(failure)
	}
	if k := proofKey(t, firstCred); k != oldKey {
		t.Fatalf("the first certificate is signed by %s, want %s", k, oldKey)
	}
	code, saved := h.getJSON("/verify/" + firstID + ".json")
	if code != http.StatusOK {
		t.Fatalf("GET /verify/%s.json = %d %s", firstID, code, saved)
	}
	savedFile := filepath.Join(t.TempDir(), "before.json")
	if err := os.WriteFile(savedFile, saved, 0o600); err != nil {
		t.Fatal(err)
	}

	logV := h.logVerifier(t)
	// Load: two clients requesting certificates, one verifying the first certificate.
	var (
		load   loadCounter
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		mu     sync.Mutex
		issued = map[string]string{} // certificate id → the Multikey that signed it
	)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += 2 {
				select {
				case <-stop:
					return
				default:
				}
				id, cred, failure := request(eligible[i%len(eligible)])
				load.add(failure)
				if failure == "" {
					mu.Lock()
					issued[id] = proofKey(t, cred)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get(srv.URL + "/verify/" + firstID + ".json")
			if err != nil {
				load.add(err.Error())
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			failure := ""
			if resp.StatusCode != http.StatusOK {
				failure = fmt.Sprintf("GET /verify/%s.json = %d %s", firstID, resp.StatusCode, body)
			} else if _, err := certificate.Check(body, nil, certificate.Trust{Log: logV}); err != nil {
				failure = fmt.Sprintf("the served verification document of %s: %v", firstID, err)
			}
			load.add(failure)
		}
	}()
	// The load spans the rotation by what it did, not by time (a busy machine issues slowly): a
	// few certificates before it, and a few signed by the new key after.
	signedBy := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, k := range issued {
			if k == key || key == "" {
				n++
			}
		}
		return n
	}
	waitFor := func(what string, done func() bool) {
		for deadline := time.Now().Add(time.Minute); !done(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting a minute for %s", what)
			}
		}
	}
	waitFor("two certificates before the rotation", func() bool { return signedBy("") >= 2 })
	var out bytes.Buffer
	err := run(t.Context(), []string{"keys", "rotate", "--key", "credential", "--hub", srv.URL, "--token", h.token(operator)}, &out, io.Discard)
	if err == nil {
		waitFor("two certificates under the new key", func() bool {
			return signedBy(credential.Multikey(h.app.fileKeys.credential.Public()[0])) >= 2
		})
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("keys rotate --key credential = %v\n%s", err, out.String())
	}
	load.check(t, "credential key rotation")
	newKey := credential.Multikey(h.app.fileKeys.credential.Public()[0])
	if newKey == oldKey || !strings.Contains(out.String(), "credential key rotated: new key "+newKey) {
		t.Fatalf("key %s → %s; printed:\n%s", oldKey, newKey, out.String())
	}
	signers := map[string]int{}
	for _, k := range issued {
		signers[k]++
	}
	if signers[oldKey] == 0 || signers[newKey] == 0 || len(signers) != 2 {
		t.Errorf("certificates issued during the load were signed by %v, want both the old and the new key", signers)
	}

	// The key files: the new key in credential.key, the old public key in the previous file.
	key, err := keys.ReadEd25519(filepath.Join(h.dir, "keys", "credential.key"))
	if err != nil || credential.Multikey(key.Public().(ed25519.PublicKey)) != newKey {
		t.Fatalf("keys/credential.key: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(h.dir, "keys", previousCredentialKeysFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys/%s: %v %v", previousCredentialKeysFile, err, fi)
	}

	// The rotation entry names the new key by its digest.
	entries, _ := h.entries()
	found := false
	for _, e := range entries {
		if e.Kind == ledger.KindRotation && e.Reason == "credential" && bytes.Equal(e.Record, hub.RotationDigest("credential", newKey)) && e.Department == "operator" {
			found = true
		}
	}
	if !found {
		t.Error("no credential rotation entry on the ledger")
	}

	checkAll := func(when string) {
		t.Helper()
		code, did := h.getJSON("/.well-known/did.json")
		if got := didKeys(t, did); code != http.StatusOK || strings.Join(got, " ") != newKey+" "+oldKey {
			t.Errorf("%s: the DID document lists %v, want the new key then the old one", when, got)
		}
		// Every certificate, old and new, verifies as served and offline; its status is signed now,
		// by the new key.
		ids := []string{firstID}
		mu.Lock()
		for id := range issued {
			ids = append(ids, id)
		}
		mu.Unlock()
		dir := t.TempDir()
		for i, id := range ids {
			code, body := h.getJSON("/verify/" + id + ".json")
			if code != http.StatusOK {
				t.Fatalf("%s: GET /verify/%s.json = %d %s", when, id, code, body)
			}
			var v certificate.Verification
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			if k := proofKey(t, v.Status); k != newKey {
				t.Errorf("%s: the status of %s is signed by %s, want the new key %s", when, id, k, newKey)
			}
			if i > 0 && i%7 != 1 { // the offline command on a few; the library on all
				if _, err := certificate.Check(body, nil, certificate.Trust{Log: logV}); err != nil {
					t.Errorf("%s: certificate %s: %v", when, id, err)
				}
				continue
			}
			file := filepath.Join(dir, id+".json")
			os.WriteFile(file, body, 0o600)
			if out, err := h.verifyCert(t, file); err != nil || !strings.HasPrefix(out, "VALID: certificate "+id) {
				t.Errorf("%s: verify-certificate %s = %v\n%s", when, id, err, out)
			}
		}
		// Pinned: the old certificate with the old key pinned, and not with the new one only.
		file := filepath.Join(dir, "first.json")
		_, body := h.getJSON("/verify/" + firstID + ".json")
		os.WriteFile(file, body, 0o600)
		if out, err := h.verifyCert(t, file, "--issuer-key", oldKey); err == nil {
			// the served status is signed by the new key: pinning the old key alone refuses it
			t.Errorf("%s: verify-certificate pinning only the old key accepted a status signed by the new key:\n%s", when, out)
		}
		if out, err := h.verifyCert(t, file, "--issuer-key", newKey, "--issuer-key", oldKey); err != nil || !strings.Contains(out, "signed by the pinned issuer key "+oldKey) {
			t.Errorf("%s: verify-certificate of the first certificate with both keys pinned = %v\n%s", when, err, out)
		}
		// The document saved before the rotation still verifies offline.
		if out, err := h.verifyCert(t, savedFile, "--issuer-key", oldKey); err != nil || !strings.HasPrefix(out, "VALID: certificate "+firstID) {
			t.Errorf("%s: verify-certificate of the document saved before the rotation = %v\n%s", when, err, out)
		}
	}
	checkAll("after the rotation")

	// A certificate issued now is signed by the new key.
	newID, newCred, failure := request(eligible[1])
	if failure != "" {
		t.Fatal(failure)
	}
	if k := proofKey(t, newCred); k != newKey {
		t.Errorf("a certificate issued after the rotation is signed by %s, want %s", k, newKey)
	}
	mu.Lock()
	issued[newID] = newKey
	mu.Unlock()

	// A restarted hub reads both keys from the key files.
	srv.Close()
	h.close()
	h.open()
	if got := h.app.fileKeys.credential.Public(); len(got) != 2 || credential.Multikey(got[0]) != newKey || credential.Multikey(got[1]) != oldKey {
		t.Fatalf("after a restart the credential keys are %v", got)
	}
	checkAll("after a restart")

	// The browser's verifier, on the restarted hub's page (which pins both keys): the old
	// certificate and the new one are valid.
	srv2 := httptest.NewServer(h.handler)
	defer srv2.Close()
	page := httptest.NewRecorder()
	h.handler.ServeHTTP(page, httptest.NewRequest(http.MethodGet, "/verify/"+firstID, nil))
	if !strings.Contains(page.Body.String(), `"issuerKeys":["`+newKey+`","`+oldKey+`"]`) {
		t.Errorf("the verification page does not pin both keys, new first:\n%s", page.Body.String())
	}
	var browser webtest.Browser
	t.Cleanup(browser.Close)
	tab := browser.IsolatedTab(t, "cmd/govhub")
	for _, id := range []string{firstID, newID} {
		webtest.Navigate(t, tab, srv2.URL+"/verify/"+id)
		webtest.WaitFor(t, tab, `document.body.dataset.verified !== undefined`, 60*time.Second, "the page to check the certificate")
		var got struct{ State, Text string }
		webtest.Eval(t, tab, `({State: document.body.dataset.verified, Text: document.querySelector('#verdict').textContent})`, &got)
		if got.State != "valid" {
			webtest.Screenshot(t, tab, "rotated-"+id)
			t.Errorf("the browser's verifier says %s for %s: %s", got.State, id, got.Text)
		}
	}
}

// logVerifier is the hub's ledger key as a note verifier.
func (h *testHub) logVerifier(t *testing.T) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(h.app.keys.log.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The officials key is rotated with `govhub keys rotate --key officials` while officials of two
// departments read: no read fails; entries from then on name each official under the new key;
// every official line on the ledger, from before and after, resolves to its official with
// `govhub official resolve` (which tries every key, newest first), for their own department
// only; a restarted hub names officials under the new key; and a split of the keys carries the
// earlier key, so a restore resolves the old entries too.
func TestOfficialsKeyRotationUnderLoad(t *testing.T) {
	const n = 12
	h := startHub(t, n)
	ids := h.citizensWith(n, "tax")
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	officialsOf := map[string]string{"housing": housingClerk.Subject, "tax": taxClerk.Subject}
	read := func(tok, dept, id string) result {
		if dept == "tax" {
			return h.query(tok, taxQuery, map[string]any{"id": id})
		}
		return h.query(tok, `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { identity { name } } }`, map[string]any{"id": id})
	}
	tokens := map[string]string{"housing": h.token(housingClerk), "tax": h.token(taxClerk)}
	oldKey, err := keys.ReadSymmetric(filepath.Join(h.dir, "keys", "officials.key"))
	if err != nil {
		t.Fatal(err)
	}
	if r := read(tokens["housing"], "housing", ids[0]); len(r.Errors) > 0 {
		t.Fatalf("read before the rotation: %+v", r.Errors)
	}

	var (
		load loadCounter
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	for w, dept := range []string{"housing", "tax", "housing"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += 3 {
				select {
				case <-stop:
					return
				default:
				}
				r := read(tokens[dept], dept, ids[i%len(ids)])
				failure := ""
				if len(r.Errors) > 0 {
					failure = fmt.Sprintf("%s read: %+v", dept, r.Errors)
				}
				load.add(failure)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	var out bytes.Buffer
	err = run(t.Context(), []string{"keys", "rotate", "--key", "officials", "--hub", srv.URL, "--token", h.token(operator)}, &out, io.Discard)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("keys rotate --key officials = %v\n%s", err, out.String())
	}
	load.check(t, "officials key rotation")
	newKey, err := keys.ReadSymmetric(filepath.Join(h.dir, "keys", "officials.key"))
	if err != nil || bytes.Equal(newKey, oldKey) {
		t.Fatalf("keys/officials.key after the rotation: %v (unchanged: %v)", err, bytes.Equal(newKey, oldKey))
	}
	if !strings.Contains(out.String(), "officials key rotated: new key "+officialsKeyID(newKey)) {
		t.Errorf("keys rotate printed:\n%s", out.String())
	}
	if fi, err := os.Stat(filepath.Join(h.dir, "keys", previousOfficialsKeysFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys/%s: %v %v", previousOfficialsKeysFile, err, fi)
	}
	if b, _ := os.ReadFile(filepath.Join(h.dir, "keys", previousOfficialsKeysFile)); bytes.Contains(b, []byte(hex.EncodeToString(newKey))) {
		t.Error("the previous-keys file holds the new key")
	}

	// A read now names the official under the new key.
	e, _ := h.receiptEntry(read(tokens["housing"], "housing", ids[1]))
	if got, want := hex.EncodeToString(e.Official), subject.Official(newKey, "housing", housingClerk.Subject); got != want {
		t.Errorf("an entry after the rotation names %s, want %s (the new key's)", got, want)
	}

	resolve := func(dept, pseudonym string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"official", "resolve", "--data-dir", h.dir, "--department", dept, pseudonym}, &out, &errOut)
		return strings.TrimSpace(out.String()), err
	}
	// Every official line on the ledger resolves, for its own department: under the old key
	// (entries before the rotation) and under the new one (after).
	checkLedger := func(when string) {
		t.Helper()
		entries, _ := h.entries()
		rotation := -1
		underOld, underNew := map[string]bool{}, map[string]bool{}
		for i, e := range entries {
			if e.Kind == ledger.KindRotation && e.Reason == "officials" {
				if !bytes.Equal(e.Record, hub.RotationDigest("officials", officialsKeyID(newKey))) {
					t.Errorf("the officials rotation entry records %x", e.Record)
				}
				rotation = i
			}
			who, ok := officialsOf[e.Department]
			if !ok || len(e.Official) == 0 {
				continue
			}
			p := hex.EncodeToString(e.Official)
			switch p {
			case subject.Official(oldKey, e.Department, who):
				underOld[e.Department+" "+p] = true
			case subject.Official(newKey, e.Department, who):
				underNew[e.Department+" "+p] = true
			default:
				t.Errorf("entry %d names official %s, under neither key", i, p)
			}
		}
		if rotation < 0 {
			t.Fatal("no officials rotation entry on the ledger")
		}
		if len(underOld) != 2 || len(underNew) != 2 {
			t.Fatalf("%s: official lines under the old key %v, under the new %v; want both departments under each", when, underOld, underNew)
		}
		for _, set := range []map[string]bool{underOld, underNew} {
			for dp := range set {
				dept, p, _ := strings.Cut(dp, " ")
				if got, err := resolve(dept, p); err != nil || got != officialsOf[dept] {
					t.Errorf("%s: official resolve --department %s %s = %q, %v; want %q", when, dept, p, got, err, officialsOf[dept])
				}
				other := "tax"
				if dept == "tax" {
					other = "housing"
				}
				if got, err := resolve(other, p); err == nil {
					t.Errorf("%s: %s resolved %s's official %s: %q", when, other, dept, p, got)
				}
			}
		}
	}
	checkLedger("after the rotation")

	// A restarted hub names officials under the new key; the old entries still resolve.
	srv.Close()
	h.close()
	h.open()
	e, _ = h.receiptEntry(read(h.token(taxClerk), "tax", ids[2]))
	if got, want := hex.EncodeToString(e.Official), subject.Official(newKey, "tax", taxClerk.Subject); got != want {
		t.Errorf("after a restart an entry names %s, want %s (the new key's)", got, want)
	}
	checkLedger("after a restart")

	// A split of the keys carries the earlier officials key; restored, it resolves the old lines.
	work := t.TempDir()
	share := splitKeys(t, h.dir, work)
	restored := filepath.Join(work, "restored")
	if err := run(t.Context(), []string{"keys", "restore", "--data-dir", restored, "--bundle", filepath.Join(work, "shares", "keys.bundle"),
		"--share", share("li"), "--share", share("zhao")}, &out, &out); err != nil {
		t.Fatalf("keys restore = %v\n%s", err, out.String())
	}
	got, err := officialsKeys(filepath.Join(restored, "keys"))
	if err != nil || len(got) != 2 || !bytes.Equal(got[0], newKey) || !bytes.Equal(got[1], oldKey) {
		t.Errorf("the restored officials keys: %d keys, %v; want the new one then the old one", len(got), err)
	}
}

// Hubs sharing key files: when another instance rotates the credential and officials keys (here,
// their files are changed as its rotation changes them), this hub takes the new keys up on its
// next reading of the files: it signs with the new credential key while its DID document keeps
// the old one, and names officials under the new officials key.
func TestRotatedKeyFilesAreFollowed(t *testing.T) {
	h := startHub(t, 6)
	dir := filepath.Join(h.dir, "keys")
	oldCred := h.app.fileKeys.credential.Public()[0]
	oldOfficials, err := keys.ReadSymmetric(filepath.Join(dir, "officials.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.app.reloadKeyFiles(dir); err != nil {
		t.Fatalf("reading unchanged key files: %v", err)
	}
	if got := h.app.fileKeys.credential.Public(); len(got) != 1 || !got[0].Equal(oldCred) {
		t.Fatalf("unchanged key files changed the credential keys to %v", got)
	}

	// The other instance's rotations, as they leave the files.
	pub, priv, _ := ed25519.GenerateKey(nil)
	if err := appendPreviousFile(dir, previousCredentialKeysFile, previousCredentialKey{PublicKeyMultibase: credential.Multikey(oldCred), RetiredAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pem, _ := keys.EncodeEd25519(priv)
	if err := keys.Replace(filepath.Join(dir, "credential.key"), pem); err != nil {
		t.Fatal(err)
	}
	newOfficials := bytes.Repeat([]byte{0x5a}, 32)
	if err := appendPreviousFile(dir, previousOfficialsKeysFile, previousOfficialsKey{Key: oldOfficials, RetiredAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := keys.Replace(filepath.Join(dir, "officials.key"), []byte(base64Line(newOfficials))); err != nil {
		t.Fatal(err)
	}
	if err := h.app.reloadKeyFiles(dir); err != nil {
		t.Fatalf("reading the rotated key files: %v", err)
	}
	if got := h.app.fileKeys.credential.Public(); len(got) != 2 || !got[0].Equal(pub) || !got[1].Equal(oldCred) {
		t.Fatalf("after the other instance's rotation the credential keys are %v, want the new key then the old one", got)
	}
	code, did := h.getJSON("/.well-known/did.json")
	if got := didKeys(t, did); code != http.StatusOK || strings.Join(got, " ") != credential.Multikey(pub)+" "+credential.Multikey(oldCred) {
		t.Errorf("the DID document lists %v", got)
	}
	page := httptest.NewRecorder()
	h.handler.ServeHTTP(page, httptest.NewRequest(http.MethodGet, "/verify/c-AAAAAAAAAAAAAAAAAAAAAAAAAA", nil))
	if !strings.Contains(page.Body.String(), `"issuerKeys":["`+credential.Multikey(pub)+`","`+credential.Multikey(oldCred)+`"]`) {
		t.Errorf("the verification page does not pin both keys")
	}
	e, _ := h.receiptEntry(h.query(h.token(taxClerk), taxQuery, map[string]any{"id": h.findCitizen(6, "tax").ID}))
	if got, want := hex.EncodeToString(e.Official), subject.Official(newOfficials, "tax", taxClerk.Subject); got != want {
		t.Errorf("an entry names %s, want %s (the new officials key's)", got, want)
	}
	// GET /admin/keys shows the keys in use.
	req := httptest.NewRequest(http.MethodGet, keysPath, nil)
	req.Header.Set("Authorization", "Bearer "+h.token(operator))
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, req)
	var st keysStatus
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || w.Code != http.StatusOK {
		t.Fatalf("GET /admin/keys = %d %s", w.Code, w.Body.String())
	}
	if strings.Join(st.CredentialKeys, " ") != credential.Multikey(pub)+" "+credential.Multikey(oldCred) || st.Officials != officialsKeyID(newOfficials) {
		t.Errorf("GET /admin/keys = %s", w.Body.String())
	}
}

func base64Line(b []byte) string { return base64.StdEncoding.EncodeToString(b) + "\n" }
