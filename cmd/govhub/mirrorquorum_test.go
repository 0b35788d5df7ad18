package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/demo"
)

// Three department mirrors and one witness, mirror quorum 2: the entries reach two mirrors and the
// hub serves; with two mirrors stopped, requests fail closed once the oldest unmirrored entry is
// older than the bound, and /readyz says why; one mirror restarted catches up and requests succeed
// again. The acknowledgement-to-mirror-quorum window is reported.
func TestHubWithMirrorQuorum(t *testing.T) {
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
	wsrv, _, err := newWitness(wkeyFile, []string{k.log.VerifierKey}, filepath.Join(dir, "w-state"), nil)
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
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	var mirrors []*runningMirror
	var mcfgs []witnessConfig
	for i, addr := range addrs {
		m := startMirror(t, mirrorArgs(i, addr)...)
		mirrors = append(mirrors, m)
		mcfgs = append(mcfgs, witnessConfig{URL: "http://" + addr, VerifierKey: m.vkey})
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
			if st := a.log.MirrorStatus(); pub > 0 && st.Mirrored >= pub {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the mirror quorum never held the published tree (%+v, published %d)\n%s", what, a.log.MirrorStatus(), a.log.Latest().Size, mirrors[0].stderr.String())
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
			t.Fatalf("reads still served 30 s after two of three mirrors stopped (bound 2 s): %+v", a.log.MirrorStatus())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if failedWith != "UNAVAILABLE" {
		t.Errorf("a read with the mirrors behind failed with %v, want UNAVAILABLE", failedWith)
	}
	if code, body := h.readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "mirrors behind") {
		t.Errorf("/readyz with the mirrors behind = %d %q", code, body)
	}

	// One comes back on its address and catches up: requests are served again.
	mirrors[1] = startMirror(t, mirrorArgs(1, addrs[1])...)
	deadline = time.Now().Add(60 * time.Second)
	for {
		if ok, _ := read(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reads still refused 60 s after a second mirror came back: %+v\n%s", a.log.MirrorStatus(), mirrors[1].stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := a.log.MirrorStatus()
	t.Logf("acknowledgement to mirror quorum: p50 %s, p99 %s over %d batches", st.P50, st.P99, st.Samples)
}
