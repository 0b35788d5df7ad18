package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/mirror"
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

	// POST cosign: the hub asks for the mirror's cosignature on its checkpoint (mirror.Client).
	wantMirrorKey, err := fnote.NewVerifierForCosignatureV1(m.vkey)
	if err != nil {
		t.Fatal(err)
	}
	client := mirror.NewClient(m.base[:strings.LastIndex(m.base, "/")], wantMirrorKey, nil) // the monitoring prefix
	sig, err := client.Cosign(t.Context(), hubCP)
	if err != nil {
		t.Fatalf("Cosign: %v", err)
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
	if _, err := client.Cosign(t.Context(), logOnly); !errors.Is(err, mirror.ErrQuorum) {
		t.Errorf("Cosign without the witness quorum = %v, want ErrQuorum", err)
	}
	resp, err := http.Post(m.base+"/cosign", "text/plain", bytes.NewReader(logOnly))
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

// memTiles is an in-memory ledger.TileStorage, for a forged tree.
type memTiles map[[2]uint64][]byte

func (m memTiles) WriteTiles(_ context.Context, tiles []ledger.TileData) error {
	for _, t := range tiles {
		if k := [2]uint64{uint64(t.Level), t.N}; len(t.Hashes) > len(m[k]) {
			m[k] = bytes.Clone(t.Hashes)
		}
	}
	return nil
}

func (m memTiles) ReadTile(_ context.Context, level uint, n uint64) ([]byte, error) {
	if d, ok := m[[2]uint64{uint64(level), n}]; ok {
		return d, nil
	}
	return nil, ledger.ErrNotFound
}

// The mirror refuses a checkpoint without the witness quorum or with a bad log signature, entry
// bundles and hash tiles that do not match the checkpoint's root, and a fork; after a fork it
// stops advancing. It stores nothing it refused.
func TestMirrorRefuses(t *testing.T) {
	h := startMirrorHub(t)
	k, err := loadKeys(h.config())
	if err != nil {
		t.Fatal(err)
	}
	var wsigners []note.Signer
	var wvs []note.Verifier
	for i, f := range h.witnessFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		v, err := fnote.NewVerifierForCosignatureV1(h.witnessKeys[i])
		if err != nil {
			t.Fatal(err)
		}
		wsigners, wvs = append(wsigners, s), append(wvs, v)
	}
	// sign makes a checkpoint the log signed and both witnesses cosigned.
	sign := func(size uint64, root tlog.Hash, witnesses int) []byte {
		cp, err := ledger.SignCheckpoint(k.log.Signer, size, root)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open(cp.Note, note.VerifierList(k.log.Verifier))
		if err != nil {
			t.Fatal(err)
		}
		signed, err := note.Sign(n, wsigners[:witnesses]...)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}

	// A proxy in front of the hub, which tampers with what the test says.
	var tamper func(path string, body []byte) []byte
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		r.Header.Del("Accept-Encoding")
		h.handler.ServeHTTP(rec, r)
		code, body := rec.Code, rec.Body.Bytes()
		if tamper != nil {
			if b := tamper(strings.TrimPrefix(r.URL.Path, "/"), bytes.Clone(body)); !bytes.Equal(b, body) {
				code, body = http.StatusOK, b
			}
		}
		w.WriteHeader(code)
		w.Write(body)
	}))
	t.Cleanup(proxy.Close)

	st, err := openStorage(t.Context(), config{DataDir: t.TempDir(), MongoDB: "mirror", Logger: h.config().Logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.close(context.Background()) })
	signer, vkey, err := mirrorKey(t.TempDir(), "mirror.test")
	if err != nil {
		t.Fatal(err)
	}
	evidence := t.TempDir()
	m, err := mirror.New(t.Context(), mirror.Config{LogURL: proxy.URL, Token: func() (string, error) { return h.token(auditor), nil },
		Log: k.log.Verifier, Witnesses: wvs, Quorum: 2, Signer: signer, Store: st.ledgerStore, EvidenceDir: evidence})
	if err != nil {
		t.Fatal(err)
	}
	size := h.grow(20)
	hubCP := h.app.log.Latest()

	refused := func(what string, want error) {
		t.Helper()
		err := m.Sync(t.Context())
		if !errors.Is(err, want) {
			t.Errorf("%s: Sync = %v, want %v", what, err, want)
		} else {
			t.Logf("%s: %v", what, err)
		}
		if m.Size() != 0 {
			t.Fatalf("%s: the mirror advanced to %d", what, m.Size())
		}
	}
	tamper = func(path string, body []byte) []byte {
		if path == "checkpoint" {
			return sign(hubCP.Size, hubCP.Root, 1) // one witness of the two
		}
		return body
	}
	refused("one witness cosignature of a quorum of 2", mirror.ErrQuorum)
	tamper = func(path string, body []byte) []byte {
		if path == "checkpoint" {
			return bytes.Replace(body, []byte(strconv.FormatUint(hubCP.Size, 10)+"\n"), []byte(strconv.FormatUint(hubCP.Size+1, 10)+"\n"), 1)
		}
		return body
	}
	refused("a checkpoint altered after signing", mirror.ErrSignature)
	tamper = func(path string, body []byte) []byte {
		if strings.HasPrefix(path, "tile/entries/000") && len(body) > 0 {
			body[len(body)-1] ^= 1 // the last entry's last byte
		}
		return body
	}
	refused("a tampered entry bundle", mirror.ErrContents)
	tamper = func(path string, body []byte) []byte {
		if strings.HasPrefix(path, "tile/0/000") && len(body) > 5 {
			body[5] ^= 1
		}
		return body
	}
	refused("a tampered hash tile", mirror.ErrContents)
	var forged tlog.Hash
	forged[0] = 1
	tamper = func(path string, body []byte) []byte {
		if path == "checkpoint" {
			return sign(hubCP.Size, forged, 2)
		}
		return body
	}
	refused("a cosigned checkpoint whose root the tiles do not hash to", mirror.ErrContents)

	tamper = nil
	if err := m.Sync(t.Context()); err != nil || m.Size() != size {
		t.Fatalf("untampered: Sync = %v, size %d, want %d", err, m.Size(), size)
	}

	// Asked to cosign a checkpoint beyond its copy, the mirror fetches and stores it first.
	size = h.grow(5)
	sig, err := m.CosignStored(t.Context(), h.app.log.Latest().Note)
	if err != nil || m.Size() != size {
		t.Fatalf("CosignStored of a larger checkpoint = %v, at size %d, want %d", err, m.Size(), size)
	}
	mv, err := fnote.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(append(bytes.Clone(h.app.log.Latest().Note), sig...), note.VerifierList(mv)); err != nil {
		t.Errorf("its cosignature: %v", err)
	}

	// A fork: the log signs, and the witnesses cosign, a larger tree whose first entries differ.
	fork := memTiles{}
	tb, err := ledger.LoadTreeBuilder(t.Context(), fork, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bundle []byte
	for i := range size + 10 {
		e := []byte(fmt.Sprintf("forged entry %d\n", i))
		bundle = ledger.AppendBundleEntry(bundle, e)
		if err := tb.Append(ledger.LeafHash(e)); err != nil {
			t.Fatal(err)
		}
	}
	if err := fork.WriteTiles(t.Context(), tb.Tiles()); err != nil {
		t.Fatal(err)
	}
	forkRoot, _ := tb.Root()
	tamper = func(path string, body []byte) []byte {
		if path == "checkpoint" {
			return sign(size+10, forkRoot, 2)
		}
		if entries, level, n, width, err := ledger.ParseTilePath(path); err == nil && !entries {
			d, _ := fork.ReadTile(t.Context(), level, n)
			if width > 0 {
				d = d[:width*32]
			}
			return d
		}
		return body
	}
	err = m.Sync(t.Context())
	if !errors.Is(err, mirror.ErrFork) {
		t.Fatalf("a forked, larger checkpoint: Sync = %v, want ErrFork", err)
	}
	t.Logf("fork: %v", err)
	if m.Size() != size {
		t.Errorf("after the fork the mirror is at %d, want %d", m.Size(), size)
	}
	if files, _ := filepath.Glob(filepath.Join(evidence, "fork-*.checkpoint")); len(files) != 1 {
		t.Errorf("fork evidence files: %v", files)
	}
	// The mirror stops advancing, even on checkpoints of the other branch.
	tamper = nil
	h.grow(5)
	if err := m.Sync(t.Context()); !errors.Is(err, mirror.ErrFork) || m.Size() != size {
		t.Errorf("after a fork: Sync = %v at size %d, want ErrFork at %d", err, m.Size(), size)
	}

	// A fork at a size the mirror has: a second root for a stored size.
	m2, err := mirror.New(t.Context(), mirror.Config{LogURL: proxy.URL, Log: k.log.Verifier, Witnesses: wvs, Quorum: 2, Signer: signer, Store: st.ledgerStore})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := m2.Advance(t.Context(), hubCP.Note); !errors.Is(err, mirror.ErrBehind) || n != size {
		t.Errorf("an older checkpoint: Advance = %d, %v, want %d, ErrBehind", n, err, size)
	}
	if _, err := m2.Advance(t.Context(), sign(size-3, forged, 2)); !errors.Is(err, mirror.ErrFork) {
		t.Errorf("a second root for size %d: Advance = %v, want ErrFork", size-3, err)
	}
}

// `govhub mirror -h` lists its flags; a missing flag is a usage error.
func TestMirrorUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"mirror", "-h"}, &out, &errOut); exitCode(err) != 0 ||
		!strings.Contains(errOut.String(), "-log-key") || !strings.Contains(errOut.String(), "-issuer-key") {
		t.Errorf("mirror -h = %v:\n%s", err, errOut.String())
	}
	dir := t.TempDir()
	_, logKey, err := note.GenerateKey(nil, "log.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"mirror", "--data-dir", dir},
		{"mirror", "--data-dir", dir, "--hub", "http://h", "--log-key", "bad"},
		{"mirror", "--data-dir", dir, "--hub", "http://h", "--log-key", logKey, "--quorum", "1"},
	} {
		if code := exitCode(run(t.Context(), args, io.Discard, io.Discard)); code != 2 {
			t.Errorf("%v: exit status %d, want 2", args, code)
		}
	}
}

// Entry bundles on a mirror: the tokens of --reader-tokens, the hub's auditor tokens, nobody else.
func TestMirrorBundleAccess(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("# readers\nreader-secret-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	access, err := bundleAccess(false, "", auth.DefaultAudience, tokens)
	if err != nil {
		t.Fatal(err)
	}
	req := func(tok string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/x/tile/entries/000", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}
	if err := access(req("reader-secret-1")); err != nil {
		t.Errorf("a listed token: %v", err)
	}
	if err := access(req("reader-secret-2")); err == nil || errors.Is(err, mirror.ErrNoToken) {
		t.Errorf("another token: %v, want forbidden", err)
	}
	if err := access(req("")); !errors.Is(err, mirror.ErrNoToken) {
		t.Errorf("no token: %v, want ErrNoToken", err)
	}
	if _, err := bundleAccess(false, "", auth.DefaultAudience, ""); err == nil {
		t.Error("no reader at all: want an error")
	}
	if a, err := bundleAccess(true, "", auth.DefaultAudience, ""); err != nil || a != nil {
		t.Errorf("--public-bundles: %v", err)
	}
}

// `govhub mirror` trusting a witness the hub does not use never advances, and says why.
func TestMirrorCommandNoQuorum(t *testing.T) {
	h := startMirrorHub(t)
	h.waitPublished(1)
	var other bytes.Buffer
	if err := run(t.Context(), []string{"keygen", "--name", "w.other.example", "--out", filepath.Join(t.TempDir(), "w.key")}, &other, io.Discard); err != nil {
		t.Fatal(err)
	}
	m := startMirror(t, "--hub", h.url, "--log-key", h.logKey, "--witness-key", h.witnessKeys[0], "--witness-key", strings.TrimSpace(other.String()),
		"--quorum", "2", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--token", h.token(auditor), "--public-bundles", "--interval", "50ms")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(m.stderr.String(), "lacks the witness quorum") {
		if time.Now().After(deadline) {
			t.Fatalf("no quorum error:\n%s", m.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // several more polls
	if strings.Count(m.stderr.String(), "lacks the witness quorum") != 1 {
		t.Errorf("the same error logged on every poll:\n%s", m.stderr.String())
	}
	if code, _ := fetch(t, m.base+"/checkpoint", ""); code != http.StatusServiceUnavailable {
		t.Errorf("GET checkpoint of a mirror that never advanced: %d, want 503", code)
	}
}
