package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"

	"github.com/govhub/govhub/ledger"
)

// A hub with three witnesses and a quorum of two publishes cosigned checkpoints; its receipts
// verify offline against the witness keys and the quorum.
func TestHubWithWitnesses(t *testing.T) {
	dir := t.TempDir()
	// The hub's log key first, so the witnesses can follow it.
	h := &testHub{t: t, dir: filepath.Join(dir, "hub")}
	k, err := loadKeys(h.config())
	if err != nil {
		t.Fatal(err)
	}
	var wcfgs []witnessConfig
	var wkeys []string
	for _, name := range []string{"w1.tax.example", "w2.health.example", "w3.audit.example"} {
		keyFile := filepath.Join(dir, name+".key")
		var out bytes.Buffer
		if err := run(t.Context(), []string{"keygen", "--name", name, "--out", keyFile}, &out, &out); err != nil {
			t.Fatalf("keygen: %v", err)
		}
		vkey := strings.TrimSpace(out.String())
		srv, _, err := newWitness(keyFile, []string{k.log.VerifierKey}, filepath.Join(dir, name+"-state"), nil)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		wcfgs = append(wcfgs, witnessConfig{URL: hs.URL, VerifierKey: vkey})
		wkeys = append(wkeys, vkey)
	}
	cfg := h.config()
	cfg.Witnesses, cfg.WitnessQuorum = wcfgs, 2
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.app, h.handler = a, a.handler()
	t.Cleanup(h.close)
	if err := seedDemo(t.Context(), a, 5, testSeed); err != nil {
		t.Fatal(err)
	}
	h.waitPublished(20)

	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/checkpoint", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET /checkpoint = %d", w.Code)
	}
	var ws []ledger.Witness
	for _, vk := range wkeys {
		v, err := fnote.NewVerifierForCosignatureV1(vk)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, v)
	}
	if err := ledger.CheckCosignatures(w.Body.Bytes(), a.log.Verifier(), ws, 3); err != nil {
		t.Errorf("the published checkpoint: %v", err)
	}
	h.close()

	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "receipt", "--data-dir", h.dir, "--index", "3"}, &out, &errOut); err != nil {
		t.Fatalf("ledger receipt: %v %s", err, errOut.String())
	}
	file := filepath.Join(dir, "r.tlog-proof")
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"ledger", "check-receipt", file, "--log-key", k.log.VerifierKey, "--quorum", "2"}
	for _, vk := range wkeys {
		args = append(args, "--witness-key", vk)
	}
	var check bytes.Buffer
	if err := run(t.Context(), args, &check, &errOut); err != nil || !strings.HasPrefix(check.String(), "OK") {
		t.Errorf("check-receipt with quorum 2 of 3 = %v: %s", err, check.String())
	}
}
