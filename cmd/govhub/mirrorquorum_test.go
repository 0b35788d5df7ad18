package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
)

// mirroredHub is a hub served over HTTP with one witness and three department mirrors (mirror
// quorum 2, bound 2 s), seeded with 3 demo citizens.
type mirroredHub struct {
	*testHub
	mirrors    []*runningMirror
	addrs      []string
	mirrorArgs func(i int, addr string) []string
	witnessKey string
	srv        *http.Server
	url        string // the hub's base URL
}

// startMirroredHub starts it; the witness also follows the origins of laterLogKeys (verifier keys
// the log key is to be rotated to).
func startMirroredHub(t *testing.T, laterLogKeys ...string) *mirroredHub {
	dir := t.TempDir()
	h := &testHub{t: t, dir: filepath.Join(dir, "hub"), gen: demo.NewGenerator(testSeed)}
	k, err := loadKeys(h.config())
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.issuer.Public())
	if err != nil {
		t.Fatal(err)
	}
	issuerPEM := filepath.Join(dir, "issuer.pub")
	if err := os.WriteFile(issuerPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	auditorTok, err := mintToken(h.dir, auditor)("govhub")
	if err != nil {
		t.Fatal(err)
	}
	// One witness.
	wkeyFile := filepath.Join(dir, "w.key")
	var out bytes.Buffer
	if err := run(t.Context(), []string{"keygen", "--name", "w1.tax.example", "--out", wkeyFile}, &out, &out); err != nil {
		t.Fatal(err)
	}
	wkey := strings.TrimSpace(out.String())
	wsrv, _, err := newWitness(wkeyFile, append([]string{k.log.VerifierKey}, laterLogKeys...), filepath.Join(dir, "w-state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ws := httptest.NewServer(wsrv)
	t.Cleanup(ws.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hubURL := "http://" + ln.Addr().String()
	mirrorArgs := func(i int, addr string) []string {
		return []string{"--hub", hubURL, "--log-key", k.log.VerifierKey, "--quorum", "1", "--witness-key", wkey,
			"--data-dir", filepath.Join(dir, fmt.Sprintf("mirror%d", i)), "--addr", addr,
			"--token", auditorTok, "--issuer-key", issuerPEM, "--interval", "50ms"}
	}
	// Each mirror takes a port of its own (a port found free and then given to the mirror may be
	// taken by another test in between); a restarted mirror takes its port again.
	var addrs []string
	var mirrors []*runningMirror
	var mcfgs []witnessConfig
	for i := range 3 {
		m := startMirror(t, mirrorArgs(i, "127.0.0.1:0")...)
		u, err := url.Parse(m.base)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, u.Host)
		mirrors = append(mirrors, m)
		mcfgs = append(mcfgs, witnessConfig{URL: "http://" + u.Host, VerifierKey: m.vkey})
	}

	cfg := h.config()
	cfg.Witnesses, cfg.WitnessQuorum = []witnessConfig{{URL: ws.URL, VerifierKey: wkey}}, 1
	cfg.Mirrors, cfg.MirrorQuorum, cfg.MirrorMaxLag = mcfgs, 2, 2*time.Second
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.app, h.handler = a, a.handler()
	t.Cleanup(h.close)
	srv := &http.Server{Handler: h.handler}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if err := seedDemo(t.Context(), a, 3, testSeed); err != nil {
		t.Fatal(err)
	}

	return &mirroredHub{testHub: h, mirrors: mirrors, addrs: addrs, mirrorArgs: mirrorArgs, witnessKey: wkey, srv: srv, url: hubURL}
}

// Three department mirrors and one witness, mirror quorum 2: the entries reach two mirrors and the
// hub serves; with two mirrors stopped, requests fail closed once the oldest unmirrored entry is
// older than the bound, and /readyz says why; one mirror restarted catches up and requests succeed
// again. The acknowledgement-to-mirror-quorum window is reported.
func TestHubWithMirrorQuorum(t *testing.T) {
	mh := startMirroredHub(t)
	h, a, mirrors, addrs, mirrorArgs := mh.testHub, mh.app, mh.mirrors, mh.addrs, mh.mirrorArgs
	read := func() (ok bool, code any) {
		res := h.query(h.token(housingClerk), `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { id identity { name } } }`, map[string]any{"id": demo.CitizenID(1)})
		if len(res.Errors) > 0 {
			return false, res.Errors[0].Extensions["code"]
		}
		return true, nil
	}
	waitMirrored := func(what string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			pub := a.log.Latest().Size
			if st := a.mirrors.Status(); pub > 0 && st.Mirrored >= pub {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the mirror quorum never held the published tree (%+v, published %d)\n%s", what, a.mirrors.Status(), a.log.Latest().Size, mirrors[0].stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for range 5 {
		if ok, code := read(); !ok {
			t.Fatalf("read with every mirror up: %v", code)
		}
	}
	waitMirrored("all mirrors up")

	// Two of three stop: after the bound, requests fail closed.
	mirrors[1].stop()
	mirrors[2].stop()
	deadline := time.Now().Add(30 * time.Second)
	var failedWith any
	for {
		if ok, code := read(); !ok {
			failedWith = code
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reads still served 30 s after two of three mirrors stopped (bound 2 s): %+v", a.mirrors.Status())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if failedWith != "UNAVAILABLE" {
		t.Errorf("a read with the mirrors behind failed with %v, want UNAVAILABLE", failedWith)
	}
	if code, body := h.readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "mirrors behind") {
		t.Errorf("/readyz with the mirrors behind = %d %q", code, body)
	}
	var status bytes.Buffer
	op := h.token(auth.Principal{Kind: auth.KindOperator, Subject: "ops-1"})
	if err := run(t.Context(), []string{"status", "--hub", mh.url, "--token", op}, &status, &status); err != nil ||
		!strings.Contains(status.String(), "of 3 mirrors") || !strings.Contains(status.String(), "MIRRORS BEHIND") {
		t.Errorf("govhub status with the mirrors behind = %v:\n%s", err, status.String())
	}

	// One comes back on its address and catches up: requests are served again.
	mirrors[1] = startMirror(t, mirrorArgs(1, addrs[1])...)
	deadline = time.Now().Add(60 * time.Second)
	for {
		if ok, _ := read(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reads still refused 60 s after a second mirror came back: %+v\n%s", a.mirrors.Status(), mirrors[1].stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := a.mirrors.Status()
	t.Logf("acknowledgement to mirror quorum: p50 %s, p99 %s over %d batches", st.P50, st.P99, st.Samples)
}

// A hub's data directory is destroyed mid-run. It is restored from its officers' key shares, a
// backup taken earlier, and its department mirrors (three, quorum 2; one is stopped first): the
// ledger comes back whole (a receipt issued before the loss verifies against it, `ledger verify`
// and the record audit pass), the update made after the backup is listed by citizen, dataset and
// field, and that citizen's stale record is refused rather than served.
func TestDestroyAndRestoreFromMirrors(t *testing.T) {
	mh := startMirroredHub(t)
	h := mh.testHub
	work := t.TempDir()
	var out, errOut bytes.Buffer
	share := splitKeys(t, h.dir, work) // among three officers, two needed
	// A backup while the hub serves.
	export := filepath.Join(work, "hub.backup")
	if err := run(t.Context(), []string{"backup", "--data-dir", h.dir, "--out", export}, &out, &errOut); err != nil {
		t.Fatalf("backup = %v\n%s", err, errOut.String())
	}
	// After the backup: a read (its receipt is kept) and an update the backup misses.
	c := h.findCitizen(3, "tax")
	res := h.query(h.token(housingClerk), `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { id identity { name } } }`, map[string]any{"id": demo.CitizenID(1)})
	if len(res.Errors) > 0 {
		t.Fatalf("read: %+v", res.Errors)
	}
	receipt := res.Extensions["ledger"].(map[string]any)
	up := h.query(h.token(taxClerk), updateTax, map[string]any{"id": c.ID, "income": 424242})
	if len(up.Errors) > 0 {
		t.Fatalf("updateTax: %+v", up.Errors)
	}
	updateIndex := uint64(get(up.Data, "updateTax", "receipt", "index").(float64))
	// Wait until the mirror quorum holds everything, then lose one mirror and the hub's data.
	mh.waitMirrored(t, updateIndex)
	mh.mirrors[2].stop()
	_, restored := mh.loseAndRestore(t, work, export, share)
	t.Logf("ledger restore:\n%s", restored)
	if want := fmt.Sprintf("%s tax at entry %d: tax.annualIncome", c.ID, updateIndex); !strings.Contains(restored, want) {
		t.Errorf("ledger restore did not list the update the backup missed (%q)", want)
	}
	if !strings.Contains(restored, "refused") || !strings.Contains(restored, "records match") {
		t.Errorf("ledger restore: the stopped mirror is not reported refused, or the records were not verified")
	}

	h.open()
	index := uint64(receipt["index"].(float64))
	raw, err := h.app.log.Reader().Entry(t.Context(), index)
	if err != nil {
		t.Fatalf("the entry of a receipt issued before the loss: %v", err)
	}
	if lh := ledger.LeafHash(raw); b64(lh[:]) != receipt["leafHash"] {
		t.Errorf("entry %d after the restore is not the one the receipt names", index)
	}
	if r := h.query(h.token(taxClerk), taxQuery, map[string]any{"id": c.ID}); len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != "INTEGRITY" {
		t.Errorf("the record the backup holds an old version of was served: %v %+v", r.Data, r.Errors)
	}
	other := demo.CitizenID(1)
	if other == c.ID {
		other = demo.CitizenID(2)
	}
	if r := h.query(h.token(housingClerk), `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { id identity { name } } }`, map[string]any{"id": other}); len(r.Errors) > 0 {
		t.Errorf("another citizen after the restore: %+v", r.Errors)
	}
}

// waitMirrored waits (at most 60 s) until the mirror quorum holds the log up to index.
func (mh *mirroredHub) waitMirrored(t *testing.T, index uint64) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); mh.app.mirrors.Status().Mirrored < index+1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the mirrors never held entry %d: %+v", index, mh.app.mirrors.Status())
		}
	}
}

// loseAndRestore stops the hub, destroys its data directory and restores it as an operator would:
// the keys from li's and zhao's shares (splitKeys), the records from the backup at export, then the
// ledger from the mirrors. It returns what backup restore and ledger restore printed.
func (mh *mirroredHub) loseAndRestore(t *testing.T, work, export string, share func(string) string) (backupOut, ledgerOut string) {
	t.Helper()
	h := mh.testHub
	mh.srv.Close()
	h.close()
	if err := os.RemoveAll(h.dir); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"keys", "restore", "--data-dir", h.dir, "--bundle", filepath.Join(work, "shares", "keys.bundle"), "--share", share("li"), "--share", share("zhao")}, &out, &errOut); err != nil {
		t.Fatalf("keys restore = %v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"backup", "restore", "--data-dir", h.dir, "--from", export, "--log-origin", "govhub.test/ledger", "--quiet"}, &out, &errOut); err != nil {
		t.Fatalf("backup restore = %v\n%s\n%s", err, out.String(), errOut.String())
	}
	backupOut = out.String()
	out.Reset()
	args := []string{"ledger", "restore", "--data-dir", h.dir, "--log-origin", "govhub.test/ledger", "--quiet", "--witness-key", mh.witnessKey}
	for _, m := range mh.mirrors {
		args = append(args, "--from", m.base)
	}
	if err := run(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("ledger restore = %v\n%s\n%s", err, out.String(), errOut.String())
	}
	return backupOut, out.String()
}
