package witness_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/govhub/govhub/ledger/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenLog is the log of the test vectors: a key derived from a fixed seed, and leaves
// "leaf 0", "leaf 1", ….
func goldenLog(t *testing.T) *testLog {
	t.Helper()
	skey, vkey := seededKey(t, logName, 1)
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{signer: s, verifier: v, tree: newTree(t, 4, plainLeaf)}
}

// TestGoldenRequests checks the request bodies in testdata (the package documentation's
// example among them) byte for byte, and that a witness cosigns them in order.
func TestGoldenRequests(t *testing.T) {
	l := goldenLog(t)
	golden := []struct {
		file      string
		old, size int64
	}{
		{"testdata/add-checkpoint-0-3.txt", 0, 3},
		{"testdata/add-checkpoint-3-4.txt", 3, 4},
	}
	wskey, _ := seededKey(t, witnessName, 2)
	signer, err := fnote.NewSignerForCosignatureV1(wskey)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := witness.NewServer(witness.Config{
		Signer:   signer,
		Logs:     []witness.Log{{Origin: logName, Verifier: l.verifier}},
		StateDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range golden {
		want := body(uint64(g.old), l.tree.proof(t, g.old, g.size), l.checkpoint(t, g.size))
		if *update {
			if err := os.WriteFile(g.file, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(g.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s = %q, want %q (run with -update)", g.file, got, want)
		}
		rec := postRecorder(t, srv, got)
		if rec.Code != http.StatusOK {
			t.Errorf("POST %s = %d %q, want 200", g.file, rec.Code, rec.Body)
		}
	}

	// The state file the witness now holds is testdata/state-v1.txt's format.
	if *update {
		_, cp, _ := srv.Latest(logName)
		if err := os.WriteFile("testdata/state-v1.txt", append([]byte("govhub/witness-state/v1\n"), cp...), 0o644); err != nil {
			t.Fatal(err)
		}
		_, vkey := seededKey(t, witnessName, 2)
		vkey, err := fnote.VKeyToCosignatureV1(vkey)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/witness.vkey", []byte(vkey+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGoldenState loads testdata/state-v1.txt, written by an earlier version of the
// witness (key: testdata/witness.vkey), and continues from it.
func TestGoldenState(t *testing.T) {
	l := goldenLog(t)
	state, err := os.ReadFile("testdata/state-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := os.ReadFile("testdata/witness.vkey")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum := sha256.Sum256([]byte(logName))
	if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:])+".state"), state, 0o600); err != nil {
		t.Fatal(err)
	}
	signer, _ := newWitnessKey(t)
	srv, err := witness.NewServer(witness.Config{
		Signer:   signer,
		Logs:     []witness.Log{{Origin: logName, Verifier: l.verifier}},
		StateDir: dir,
	})
	if err != nil {
		t.Fatalf("NewServer(golden state) = %v", err)
	}
	size, cp, ok := srv.Latest(logName)
	if !ok || size != 4 {
		t.Fatalf("Latest() = %d, %v, want 4, true", size, ok)
	}
	wv, err := fnote.NewVerifierForCosignatureV1(string(bytes.TrimSpace(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := note.Open(cp, note.VerifierList(l.verifier, wv)); err != nil || len(n.Sigs) != 2 {
		t.Errorf("note.Open(Latest()) = %+v, %v, want the log's and the witness's signatures", n, err)
	}
	if rec := postRecorder(t, srv, body(0, nil, l.checkpoint(t, 4))); rec.Code != http.StatusConflict || rec.Body.String() != "4\n" {
		t.Errorf("POST old 0 = %d %q, want 409 \"4\\n\"", rec.Code, rec.Body)
	}
}

func postRecorder(t testing.TB, h http.Handler, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/add-checkpoint", bytes.NewReader(body)))
	return rec
}

// FuzzServeHTTP feeds arbitrary bodies to a witness following the golden log: it must
// answer with one of the protocol's statuses, never panic, and never move its record back.
func FuzzServeHTTP(f *testing.F) {
	for _, s := range []string{"add-checkpoint-0-3.txt", "add-checkpoint-3-4.txt", "spec-example.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	_, vkey := seededKey(f, logName, 1)
	v, err := note.NewVerifier(vkey)
	if err != nil {
		f.Fatal(err)
	}
	signer, _ := newWitnessKey(f)
	srv, err := witness.NewServer(witness.Config{
		Signer:   signer,
		Logs:     []witness.Log{{Origin: logName, Verifier: v}},
		StateDir: f.TempDir(),
	})
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[int]bool{200: true, 400: true, 403: true, 404: true, 409: true, 413: true, 422: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		before, _, _ := srv.Latest(logName)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/add-checkpoint", bytes.NewReader(body)))
		if !allowed[rec.Code] {
			t.Fatalf("POST %q = %d %q, want a tlog-witness status", body, rec.Code, rec.Body)
		}
		if after, _, _ := srv.Latest(logName); after < before {
			t.Fatalf("POST %q moved the witness from size %d back to %d", body, before, after)
		}
	})
}
