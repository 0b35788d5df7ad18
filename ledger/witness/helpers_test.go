package witness_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/govhub/govhub/ledger/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	logName     = "example.gov/tax-log"
	witnessName = "witness.example.gov/w1"
)

// tree is an in-memory RFC 6962 tree whose leaf i is leaf(i).
type tree struct {
	hashes []tlog.Hash // stored hashes, as tlog lays them out
	size   int64
}

func (tr *tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(tr.hashes)) {
			return nil, fmt.Errorf("hash index %d out of range", x)
		}
		out[i] = tr.hashes[x]
	}
	return out, nil
}

// newTree builds a tree of size leaves, leaf i being leaf(i).
func newTree(tb testing.TB, size int, leaf func(i int) string) *tree {
	tb.Helper()
	tr := &tree{}
	for i := range size {
		hs, err := tlog.StoredHashes(tr.size, []byte(leaf(i)), tr)
		if err != nil {
			tb.Fatalf("StoredHashes(%d) = %v", i, err)
		}
		tr.hashes = append(tr.hashes, hs...)
		tr.size++
	}
	return tr
}

func plainLeaf(i int) string { return fmt.Sprintf("leaf %d", i) }

// root returns the root hash of the tree's first n leaves.
func (tr *tree) root(tb testing.TB, n int64) tlog.Hash {
	tb.Helper()
	h, err := tlog.TreeHash(n, tr)
	if err != nil {
		tb.Fatalf("TreeHash(%d) = %v", n, err)
	}
	return h
}

// proof returns the consistency proof from size old to size n (none if old is 0).
func (tr *tree) proof(tb testing.TB, old, n int64) [][32]byte {
	tb.Helper()
	if old == 0 {
		return nil
	}
	p, err := tlog.ProveTree(n, old, tr)
	if err != nil {
		tb.Fatalf("ProveTree(%d, %d) = %v", n, old, err)
	}
	out := make([][32]byte, len(p))
	for i, h := range p {
		out[i] = h
	}
	return out
}

// signCheckpoint returns a checkpoint note with the given text lines, signed by s.
func signCheckpoint(tb testing.TB, s note.Signer, origin string, size int64, root tlog.Hash) []byte {
	tb.Helper()
	text := fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
	return signText(tb, s, text)
}

func signText(tb testing.TB, s note.Signer, text string) []byte {
	tb.Helper()
	b, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		tb.Fatalf("note.Sign(%q) = %v", text, err)
	}
	return b
}

// testLog is a log key and a tree.
type testLog struct {
	signer   note.Signer
	verifier note.Verifier
	tree     *tree
}

func (l *testLog) checkpoint(tb testing.TB, n int64) []byte {
	tb.Helper()
	return signCheckpoint(tb, l.signer, l.signer.Name(), n, l.tree.root(tb, n))
}

// newLogKey returns a fresh Ed25519 note key named name.
func newLogKey(tb testing.TB, name string) (note.Signer, note.Verifier) {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	return s, v
}

// seededKey returns a note signer key and verifier key derived from a fixed seed byte, for
// reproducible test vectors (Ed25519 signatures are deterministic).
func seededKey(tb testing.TB, name string, seed byte) (skey, vkey string) {
	tb.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	vkey, err := note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
	if err != nil {
		tb.Fatal(err)
	}
	parts := strings.Split(vkey, "+")
	skey = "PRIVATE+KEY+" + name + "+" + parts[1] + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{1}, priv.Seed()...))
	return skey, vkey
}

// newWitnessKey returns a fresh cosignature/v1 signer and its verifier key.
func newWitnessKey(tb testing.TB) (note.Signer, string) {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, witnessName)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return s, vkey
}

func cosigVerifier(tb testing.TB, vkey string) note.Verifier {
	tb.Helper()
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is a witness following one log, served over HTTP.
type fixture struct {
	log    *testLog
	dir    string
	signer note.Signer // the witness key
	vkey   string      // its verifier key
	server *witness.Server
	http   *httptest.Server
	client *witness.Client
	logs   *syncBuffer
}

// newFixture starts a witness with a fresh state directory following a log of size leaves.
func newFixture(tb testing.TB, size int) *fixture {
	tb.Helper()
	s, v := newLogKey(tb, logName)
	f := &fixture{log: &testLog{signer: s, verifier: v, tree: newTree(tb, size, plainLeaf)}, dir: tb.TempDir()}
	f.signer, f.vkey = newWitnessKey(tb)
	f.start(tb)
	return f
}

// start (re)starts the witness server on f.dir.
func (f *fixture) start(tb testing.TB) {
	tb.Helper()
	if f.http != nil {
		f.http.Close()
	}
	f.logs = &syncBuffer{}
	srv, err := witness.NewServer(witness.Config{
		Signer:   f.signer,
		Logs:     []witness.Log{{Origin: logName, Verifier: f.log.verifier}},
		StateDir: f.dir,
		Logger:   slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		tb.Fatalf("NewServer() = %v", err)
	}
	f.server = srv
	f.http = httptest.NewServer(srv)
	tb.Cleanup(f.http.Close)
	f.client = witness.NewClient(f.http.URL, cosigVerifier(tb, f.vkey), f.http.Client())
}

// advance has the witness cosign the log at size n, from wherever it is.
func (f *fixture) advance(tb testing.TB, n int64) []byte {
	tb.Helper()
	old, _, _ := f.server.Latest(logName)
	cosig, err := f.client.AddCheckpoint(tb.Context(), old, f.log.tree.proof(tb, int64(old), n), f.log.checkpoint(tb, n))
	if err != nil {
		tb.Fatalf("AddCheckpoint(%d → %d) = %v", old, n, err)
	}
	return cosig
}

// post sends body to the witness's add-checkpoint endpoint.
func (f *fixture) post(tb testing.TB, body []byte) (status int, contentType, reply string) {
	tb.Helper()
	resp, err := f.http.Client().Post(f.http.URL+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("POST add-checkpoint: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b.String()
}

// body formats an add-checkpoint request body.
func body(old uint64, proof [][32]byte, checkpoint []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(checkpoint)
	return b.Bytes()
}

var _ http.Handler = (*witness.Server)(nil)
