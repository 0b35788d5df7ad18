package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/crypto/keys"
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
	var legacyKey string // w1's key in the older Ed25519 (0x01) encoding
	for _, name := range []string{"w1.tax.example", "w2.health.example", "w3.audit.example"} {
		keyFile := filepath.Join(dir, name+".key")
		var out bytes.Buffer
		if err := run(t.Context(), []string{"keygen", "--name", name, "--out", keyFile}, &out, &out); err != nil {
			t.Fatalf("keygen: %v", err)
		}
		vkey := strings.TrimSpace(out.String())
		if name == "w1.tax.example" {
			// A hub configured before keygen printed cosignature keys holds the older Ed25519
			// (type 0x01) encoding: --witness still takes it.
			data, err := os.ReadFile(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			nk, err := keys.ParseNote(data)
			if err != nil {
				t.Fatal(err)
			}
			legacyKey = nk.VerifierKey
			if _, err := parseWitness("http://w1.example=" + legacyKey); err != nil {
				t.Errorf("--witness with the 0x01 key: %v", err)
			}
		}
		srv, _, err := newWitness(keyFile, []string{k.log.VerifierKey}, filepath.Join(dir, name+"-state"), nil)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		wc, err := parseWitness(hs.URL + "=" + vkey)
		if err != nil {
			t.Fatalf("--witness URL=<the key keygen printed>: %v", err)
		}
		if name == "w1.tax.example" {
			wc.VerifierKey = legacyKey
		}
		wcfgs = append(wcfgs, wc)
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
	if err := ledger.CheckCosignatures(w.Body.Bytes(), a.log.Reader().Keys().Current(), ws, 3); err != nil {
		t.Errorf("the published checkpoint: %v", err)
	}
	// A third party with a strict signed-note verifier, given only the key keygen printed, finds
	// each witness's signature line: the printed key's ID is the one the witness signs with.
	for _, vk := range wkeys {
		v, err := fnote.NewVerifier(vk)
		if err != nil {
			t.Fatalf("fnote.NewVerifier(%q): %v", vk, err)
		}
		n, err := note.Open(w.Body.Bytes(), note.VerifierList(v))
		if err != nil {
			t.Errorf("note.Open of the checkpoint with witness key %q alone: %v", vk, err)
			continue
		}
		if len(n.Sigs) != 1 || n.Sigs[0].Name != v.Name() || n.Sigs[0].Hash != v.KeyHash() {
			t.Errorf("verified signatures %+v, want one by %s", n.Sigs, v.Name())
		}
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
	for i, vk := range wkeys {
		if i == 0 {
			vk = legacyKey // check-receipt takes the older encoding too
		}
		args = append(args, "--witness-key", vk)
	}
	var check bytes.Buffer
	if err := run(t.Context(), args, &check, &errOut); err != nil || !strings.HasPrefix(check.String(), "OK") {
		t.Errorf("check-receipt with quorum 2 of 3 = %v: %s", err, check.String())
	}
}

// keygen prints a C2SP cosignature/v1 verifier key: type 0x04, and a key ID of the first four bytes
// of SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key).
func TestKeygenPrintsCosignatureKey(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "w.key")
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"keygen", "--name", "witness.tax.example", "--out", keyFile}, &out, &errOut); err != nil {
		t.Fatalf("keygen: %v %s", err, errOut.String())
	}
	vkey := strings.TrimSpace(out.String())
	name, rest, _ := strings.Cut(vkey, "+")
	id, b64, _ := strings.Cut(rest, "+")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if name != "witness.tax.example" || err != nil || len(raw) != 33 || raw[0] != 0x04 {
		t.Fatalf("keygen printed %q; want witness.tax.example+ID+base64(0x04 ‖ 32-byte key)", vkey)
	}
	h := sha256.Sum256(append([]byte(name+"\n"), raw...))
	if want := hex.EncodeToString(h[:4]); id != want {
		t.Errorf("key ID %s, want %s", id, want)
	}
	// The witness's signer (as newWitness makes it) uses that key ID.
	data, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%08x", signer.KeyHash()); got != id {
		t.Errorf("the witness signs with key ID %s, keygen printed %s", got, id)
	}
}

// `govhub witness --data-dir D` keeps its state in D, like --state-dir.
func TestWitnessDataDir(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "w.key")
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"keygen", "--name", "w.example", "--out", keyFile}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lk, _, err := keys.Note(filepath.Join(dir, "log.key"), "govhub.test/log")
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "w-state")
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // start, then stop at once
	out.Reset()
	err = run(ctx, []string{"witness", "--key", keyFile, "--log-key", lk.VerifierKey, "--addr", "127.0.0.1:0", "--data-dir", state}, &out, &errOut)
	if err != nil {
		t.Fatalf("witness --data-dir: %v %s", err, errOut.String())
	}
	if fi, err := os.Stat(state); err != nil || !fi.IsDir() {
		t.Errorf("witness --data-dir %s did not make its state directory: %v", state, err)
	}
	err = run(t.Context(), []string{"witness", "--key", keyFile, "--log-key", lk.VerifierKey, "--data-dir", state, "--state-dir", dir}, &out, &errOut)
	if exitCode(err) != 2 {
		t.Errorf("--data-dir and --state-dir naming different directories = %v, want a usage error", err)
	}
}

// A witness with a --log-keys file follows a key added to the file while it serves (a log's new
// origin after a key rotation), without a restart; a file it cannot use changes nothing.
func TestWitnessFollowsLogKeysFile(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "w.key")
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"keygen", "--name", "w.example", "--out", keyFile}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lk1, _, err := keys.Note(filepath.Join(dir, "log.key"), "govhub.test/log")
	if err != nil {
		t.Fatal(err)
	}
	lk2, _, err := keys.Note(filepath.Join(dir, "log-2.key"), "govhub.test/log/2")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "log-keys")
	if err := os.WriteFile(file, []byte("# the hub's log keys\n"+lk1.VerifierKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The command takes the file alone.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := run(ctx, []string{"witness", "--key", keyFile, "--log-keys", file, "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "cli")}, &out, &errOut); err != nil {
		t.Fatalf("witness --log-keys: %v %s", err, errOut.String())
	}

	keys1, err := readLogKeysFile(file)
	if err != nil || len(keys1) != 1 {
		t.Fatalf("readLogKeysFile = %v, %v", keys1, err)
	}
	srv, _, err := newWitness(keyFile, keys1, filepath.Join(dir, "state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), nil))
	go followLogKeysFile(t.Context(), srv, file, 10*time.Millisecond, logger)
	waitLogged := func(text, failure string) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			seen := strings.Contains(logged.String(), text)
			mu.Unlock()
			if seen {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal(failure + " within 2 s")
			}
		}
	}
	followed := func(vkey string) bool { // adding a followed log adds nothing
		logs, err := witnessLogs([]string{vkey})
		if err != nil {
			t.Fatal(err)
		}
		n, err := srv.AddLogs(logs...)
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	}
	// A file with a line that is not a key: logged, nothing changes.
	if err := os.WriteFile(file, []byte(lk1.VerifierKey+"\nnot a key\n"+lk2.VerifierKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitLogged("reading the log keys file", "a bad log keys file was not logged")
	if err := os.WriteFile(file, []byte(lk1.VerifierKey+"\n"+lk2.VerifierKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitLogged("witness follows new logs", "the key added to the file was not taken up")
	if !followed(lk2.VerifierKey) {
		t.Error("the witness does not follow the key added to its file")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
