package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
)

// mirrorHub is a hub with two witnesses (quorum 2) served over HTTP, for a mirror to follow.
type mirrorHub struct {
	*testHub
	url          string   // the hub's base URL
	logKey       string   // its log's verifier key
	witnessKeys  []string // the witnesses' verifier keys
	witnessFiles []string // their private key files
	issuerPEM    string   // a file with the hub's token issuer public key
}

func startMirrorHub(t *testing.T) *mirrorHub {
	t.Helper()
	dir := t.TempDir()
	h := &testHub{t: t, dir: filepath.Join(dir, "hub"), gen: demo.NewGenerator(testSeed)}
	k, err := loadKeys(h.config())
	if err != nil {
		t.Fatal(err)
	}
	mh := &mirrorHub{testHub: h, logKey: k.log.VerifierKey}
	var wcfgs []witnessConfig
	for _, name := range []string{"w1.tax.example", "w2.health.example"} {
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
		mh.witnessKeys = append(mh.witnessKeys, vkey)
		mh.witnessFiles = append(mh.witnessFiles, keyFile)
	}
	cfg := h.config()
	cfg.Witnesses, cfg.WitnessQuorum = wcfgs, 2
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.app, h.handler = a, a.handler()
	t.Cleanup(h.close)
	if err := seedDemo(t.Context(), a, 3, testSeed); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h.handler)
	t.Cleanup(hs.Close)
	mh.url = hs.URL
	der, err := x509.MarshalPKIXPublicKey(a.issuer.Public())
	if err != nil {
		t.Fatal(err)
	}
	mh.issuerPEM = filepath.Join(dir, "issuer.pub")
	if err := os.WriteFile(mh.issuerPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return mh
}

// grow logs n more accesses and waits until the hub publishes them; it returns the published size.
func (h *mirrorHub) grow(n int) uint64 {
	h.t.Helper()
	var last int64
	for i := 0; i < n; i++ {
		res := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": demo.CitizenID(1 + i%3)})
		last = int64(res.Extensions["ledger"].(map[string]any)["index"].(float64))
	}
	return h.waitPublished(uint64(last) + 1).Size
}

// fetch GETs url with an optional bearer token.
func fetch(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// runningMirror is `govhub mirror` running in the test.
type runningMirror struct {
	base   string // http://ADDR/<origin hash>
	vkey   string
	stdout *lockedBuffer
	stderr *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

func startMirror(t *testing.T, args ...string) *runningMirror {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	m := &runningMirror{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- run(ctx, append([]string{"mirror"}, args...), m.stdout, m.stderr) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		lines := strings.Split(m.stdout.String(), "\n")
		if len(lines) >= 3 {
			m.vkey = lines[0]
			_, url, _ := strings.Cut(lines[1], " at ")
			m.base = strings.TrimSuffix(url, "/")
			break
		}
		select {
		case err := <-m.done:
			t.Fatalf("govhub mirror stopped: %v\n%s", err, m.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("govhub mirror did not start:\n%s", m.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(m.stop)
	return m
}

func (m *runningMirror) stop() {
	if m.cancel != nil {
		m.cancel()
		<-m.done
		m.cancel = nil
	}
}

// waitSize waits until the mirror serves a checkpoint of the given size and returns it.
func (m *runningMirror) waitSize(t *testing.T, logV note.Verifier, size uint64) ledger.Checkpoint {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := fetch(t, m.base+"/checkpoint", "")
		if code == http.StatusOK {
			cp, err := ledger.ParseCheckpoint(body, logV)
			if err != nil {
				t.Fatalf("the mirror's checkpoint: %v", err)
			}
			if cp.Size >= size {
				return cp
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mirror did not reach size %d (GET checkpoint: %d %s)\n%s", size, code, body, m.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A mirror follows the hub through several checkpoints, serves a byte-identical copy (bundles to
// auditors only), cosigns with the key it printed, cosigns on request, and resumes after a restart.
func TestMirrorFollowsHub(t *testing.T) {
	h := startMirrorHub(t)
	logV, err := note.NewVerifier(h.logKey)
	if err != nil {
		t.Fatal(err)
	}
	auditorTok := h.token(auditor)
	mdir := t.TempDir()
	args := []string{"--hub", h.url, "--log-key", h.logKey, "--quorum", "2", "--data-dir", mdir, "--addr", "127.0.0.1:0",
		"--token", auditorTok, "--issuer-key", h.issuerPEM, "--interval", "50ms",
		"--witness", "http://w1.example=" + h.witnessKeys[0], "--witness-key", h.witnessKeys[1]}
	m := startMirror(t, args...)

	size := h.waitPublished(1).Size
	m.waitSize(t, logV, size)
	for range 3 { // several checkpoints, across a bundle boundary (256 entries)
		size = h.grow(90)
		m.waitSize(t, logV, size)
	}
	if size <= 256 {
		t.Fatalf("the log has %d entries: grow it past a bundle", size)
	}
	if !strings.Contains(m.stderr.String(), "mirror advanced") || !strings.Contains(m.stderr.String(), "entries_per_s=") {
		t.Errorf("no progress lines:\n%s", m.stderr.String())
	}

	// The copy: every hash tile and entry bundle of the tree byte for byte the hub's.
	_, hubCP := fetch(t, h.url+"/checkpoint", "")
	_, mirrorCP := fetch(t, m.base+"/checkpoint", "")
	hcp, err := ledger.ParseCheckpoint(hubCP, logV)
	if err != nil || hcp.Size != size {
		t.Fatalf("hub checkpoint: %v (size %d, want %d)", err, hcp.Size, size)
	}
	if !bytes.HasPrefix(mirrorCP, hubCP) {
		t.Errorf("the mirror's checkpoint is not the hub's with a cosignature added:\nhub:\n%s\nmirror:\n%s", hubCP, mirrorCP)
	}
	paths := []string{}
	for level := uint(0); size>>(8*level) > 0; level++ {
		count := size >> (8 * level)
		for n := uint64(0); n*256 < count; n++ {
			paths = append(paths, ledger.FormatTilePath(false, level, n, partial(count, n)))
		}
	}
	for n := uint64(0); n*256 < size; n++ {
		paths = append(paths, ledger.FormatTilePath(true, 0, n, partial(size, n)))
	}
	for _, p := range paths {
		hc, hb := fetch(t, h.url+"/"+p, auditorTok)
		mc, mb := fetch(t, m.base+"/"+p, auditorTok)
		if hc != http.StatusOK || mc != http.StatusOK || !bytes.Equal(hb, mb) {
			t.Errorf("%s: hub %d (%d bytes), mirror %d (%d bytes), equal %v", p, hc, len(hb), mc, len(mb), bytes.Equal(hb, mb))
		}
	}
	// Bundles for the hub's auditors only; tiles and checkpoint to anyone.
	bundle := m.base + "/" + ledger.FormatTilePath(true, 0, 0, partial(size, 0))
	if code, _ := fetch(t, bundle, ""); code != http.StatusUnauthorized {
		t.Errorf("bundle without a token: %d, want 401", code)
	}
	if code, _ := fetch(t, bundle, h.token(housingClerk)); code != http.StatusForbidden {
		t.Errorf("bundle with a department token: %d, want 403", code)
	}
	if code, _ := fetch(t, m.base+"/"+ledger.FormatTilePath(false, 0, 0, partial(size, 0)), ""); code != http.StatusOK {
		t.Errorf("tile without a token: %d, want 200", code)
	}

	// The cosignature verifies with the printed vkey alone, with a strict signed-note verifier.
	mv, err := fnote.NewVerifier(m.vkey)
	if err != nil {
		t.Fatalf("the printed vkey %q: %v", m.vkey, err)
	}
	if n, err := note.Open(mirrorCP, note.VerifierList(mv)); err != nil || len(n.Sigs) != 1 {
		t.Errorf("the mirror's cosignature with its printed key: %v", err)
	}
	var keyOut bytes.Buffer
	if err := run(t.Context(), []string{"mirror", "--print-key", "--data-dir", mdir}, &keyOut, io.Discard); err != nil || strings.TrimSpace(keyOut.String()) != m.vkey {
		t.Errorf("mirror --print-key = %v %q, want %q", err, keyOut.String(), m.vkey)
	}

	// POST cosign: the hub asks for the mirror's cosignature on its checkpoint.
	resp, err := http.Post(m.base+"/cosign", "text/plain", bytes.NewReader(hubCP))
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST cosign = %d %s", resp.StatusCode, sig)
	}
	if _, err := note.Open(append(bytes.Clone(hubCP), sig...), note.VerifierList(mv)); err != nil {
		t.Errorf("the cosign answer %q does not verify: %v", sig, err)
	}
	// Without the witnesses' cosignatures it is refused.
	logOnly := hubCP[:bytes.Index(hubCP, []byte("\n\n"))+2]
	for _, line := range strings.SplitAfter(string(hubCP[len(logOnly):]), "\n") {
		if strings.HasPrefix(line, "— "+logV.Name()+" ") {
			logOnly = append(logOnly, line...)
		}
	}
	resp, err = http.Post(m.base+"/cosign", "text/plain", bytes.NewReader(logOnly))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "quorum") {
		t.Errorf("POST cosign without the witness quorum = %d %s, want 403 naming the quorum", resp.StatusCode, body)
	}

	// Restart: the mirror resumes from what it stored, and follows on.
	m.stop()
	size = h.grow(30)
	m = startMirror(t, args...)
	if !strings.Contains(m.stderr.String(), "resuming") {
		t.Errorf("no resume line:\n%s", m.stderr.String())
	}
	m.waitSize(t, logV, size)
	if strings.Contains(m.stderr.String(), "from=0 ") {
		t.Errorf("the restarted mirror copied from 0:\n%s", m.stderr.String())
	}
}

// partial is the width of tile n of a level holding count hashes (0: full).
func partial(count, n uint64) int {
	if w := count - n*256; w < 256 {
		return int(w)
	}
	return 0
}
