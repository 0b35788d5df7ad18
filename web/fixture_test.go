package web_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// The artefacts the browser checks are made by the repository's own code: entries by
// ledger.FormatEntry, checkpoints by ledger.SignCheckpoint, cosignatures by real ledger/witness
// servers over HTTP, the Merkle tree and proofs by golang.org/x/mod/sumdb/tlog (which the ledger
// uses for its proofs).

const logName = "govhub.example/ledger"

// merkleTree is an in-memory RFC 6962 tree over entries.
type merkleTree struct {
	entries [][]byte
	hashes  []tlog.Hash // tlog's stored hash layout
}

func (m *merkleTree) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(m.hashes)) {
				return nil, fmt.Errorf("hash %d not stored", x)
			}
			out[i] = m.hashes[x]
		}
		return out, nil
	})
}

func (m *merkleTree) add(t testing.TB, entry []byte) {
	t.Helper()
	hs, err := tlog.StoredHashes(int64(len(m.entries)), entry, m.reader())
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, hs...)
	m.entries = append(m.entries, entry)
}

func (m *merkleTree) root(t testing.TB, n int) tlog.Hash {
	t.Helper()
	h, err := tlog.TreeHash(int64(n), m.reader())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (m *merkleTree) inclusion(t testing.TB, index, n int) []tlog.Hash {
	t.Helper()
	p, err := tlog.ProveRecord(int64(n), int64(index), m.reader())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (m *merkleTree) consistency(t testing.TB, oldSize, n int) []tlog.Hash {
	t.Helper()
	if oldSize == n {
		return nil
	}
	p, err := tlog.ProveTree(int64(n), int64(oldSize), m.reader())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func treeOf(t testing.TB, entries [][]byte) *merkleTree {
	m := &merkleTree{}
	for _, e := range entries {
		m.add(t, e)
	}
	return m
}

// witnessNode is one ledger/witness server and a client for it.
type witnessNode struct {
	name       string
	plainVkey  string // type 0x01, as `govhub keygen` prints
	cosigVkey  string // type 0x04, the C2SP cosignature vkey
	skey       string
	client     *witness.Client
	cosignedAt uint64
}

func newWitness(t testing.TB, name string, logV note.Verifier) *witnessNode {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	cvkey, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	w := &witnessNode{name: name, plainVkey: vkey, cosigVkey: cvkey, skey: skey}
	w.start(t, logV)
	return w
}

// start runs a witness server with this key and a fresh state directory.
func (w *witnessNode) start(t testing.TB, logV note.Verifier) {
	t.Helper()
	signer, err := fnote.NewSignerForCosignatureV1(w.skey)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := witness.NewServer(witness.Config{
		Signer:   signer,
		Logs:     []witness.Log{{Origin: logName, Verifier: logV}},
		StateDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	v, err := fnote.NewVerifierForCosignatureV1(w.cosigVkey)
	if err != nil {
		t.Fatal(err)
	}
	w.client = witness.NewClient(hs.URL, v, hs.Client())
	w.cosignedAt = 0
}

// cosign pushes the checkpoint of size n of m to w and returns w's cosignature lines.
func (w *witnessNode) cosign(t testing.TB, m *merkleTree, cp ledger.Checkpoint) []byte {
	t.Helper()
	var proof [][32]byte
	if w.cosignedAt > 0 {
		for _, h := range m.consistency(t, int(w.cosignedAt), int(cp.Size)) {
			proof = append(proof, h)
		}
	}
	sigs, err := w.client.AddCheckpoint(t.Context(), w.cosignedAt, proof, cp.Note)
	if err != nil {
		t.Fatalf("witness %s: AddCheckpoint(%d → %d) = %v", w.name, w.cosignedAt, cp.Size, err)
	}
	w.cosignedAt = cp.Size
	return sigs
}

// world is a hub log with witnesses and a citizen with entries in it.
type world struct {
	logSigner note.Signer
	logV      note.Verifier
	logVkey   string
	ws        []*witnessNode // w1, w2 cosign; w3 is trusted but offline

	citizen string
	salts   map[int][]byte // the citizen's salt per ledger index
	honest  *merkleTree
	cp4     ledger.Checkpoint // cosigned by w1, w2
	cp7     ledger.Checkpoint // cosigned by w1, w2
}

func commitment(salt []byte, citizen string) []byte {
	h := sha256.New()
	h.Write([]byte("govhub/subject/v1"))
	h.Write(salt)
	h.Write([]byte(citizen))
	return h.Sum(nil)
}

func seeded(label string) []byte {
	h := sha256.Sum256([]byte(label))
	return h[:]
}

// entryAt formats the i-th entry of a test log, in govhub/entry/v1 (v2 entries are
// v2_browser_test.go's): someone else is always a subject, and the citizen too when salt is not
// nil. A non-empty variant replaces the purpose, to fork a history.
func entryAt(t testing.TB, i int, salt []byte, citizen, variant string) []byte {
	t.Helper()
	subjects := [][]byte{seeded(fmt.Sprintf("someone else %d", i))}
	if salt != nil {
		subjects = append(subjects, commitment(salt, citizen))
	}
	purpose := "home-purchase-eligibility"
	if variant != "" {
		purpose = variant
	}
	e := ledger.Entry{
		Version:    1,
		Kind:       ledger.KindAccess,
		Time:       time.Date(2026, 11, 21, 6, 30, i, 120e6, time.UTC),
		Department: "housing",
		Role:       "clerk",
		Purpose:    purpose,
		Policy:     1,
		Request:    seeded(fmt.Sprintf("request %d", i)),
		Outcome:    ledger.OutcomeAllowed,
		Subjects:   subjects,
		Fields: []ledger.Field{
			{Name: "identity.name", Level: "reveal"},
			{Name: "tax.annualIncome", Level: "commit", Commitment: hex.EncodeToString(seeded(fmt.Sprintf("c %d", i)))},
			{Name: "health.bloodType", Level: "deny"},
		},
	}
	b, err := ledger.FormatEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// entries returns the 7 entries of a history; fork names an index whose entry differs.
func (w *world) entries(t testing.TB, fork int) [][]byte {
	var out [][]byte
	for i := range 7 {
		variant := ""
		if i == fork {
			variant = "fraud-investigation"
		}
		out = append(out, entryAt(t, i, w.salts[i], w.citizen, variant))
	}
	return out
}

func newWorld(t testing.TB) *world {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, logName)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{logVkey: vkey, citizen: "C000042", salts: map[int][]byte{}}
	if w.logSigner, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	if w.logV, err = note.NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"witness.tax.example/w1", "witness.health.example/w2", "witness.police.example/w3"} {
		w.ws = append(w.ws, newWitness(t, n, w.logV))
	}
	// The citizen is a subject of entries 1 and 5, each with its own salt.
	w.salts[1] = seeded("salt 1")
	w.salts[5] = seeded("salt 5")
	w.honest = treeOf(t, w.entries(t, -1))
	w.cp4 = w.checkpoint(t, w.honest, 4, w.ws[:2])
	w.cp7 = w.checkpoint(t, w.honest, 7, w.ws[:2])
	return w
}

// checkpoint signs the tree of size n of m with the log key and has the witnesses cosign it.
func (w *world) checkpoint(t testing.TB, m *merkleTree, n int, ws []*witnessNode) ledger.Checkpoint {
	t.Helper()
	cp, err := ledger.SignCheckpoint(w.logSigner, uint64(n), m.root(t, n))
	if err != nil {
		t.Fatal(err)
	}
	note := cp.Note
	for _, wn := range ws {
		note = append(note, wn.cosign(t, m, cp)...)
	}
	cp.Note = note
	return cp
}

// trustedKeys is what the page trusts: w1 by the plain key `govhub keygen` prints, w2 and w3 by
// their cosignature/v1 keys.
func (w *world) trustedKeys() []string {
	return []string{w.ws[0].plainVkey, w.ws[1].cosigVkey, w.ws[2].cosigVkey}
}

func b64s(hs []tlog.Hash) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, base64.StdEncoding.EncodeToString(h[:]))
	}
	return out
}

// flipB64 flips the low bit of byte i of base64 s.
func flipB64(t testing.TB, s string, i int) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	b[i] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

// flipSig flips byte off of the signature of the signature line whose key name is name.
func flipSig(t testing.TB, noteText, name string, off int) string {
	t.Helper()
	lines := strings.Split(noteText, "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "— "+name+" "); ok {
			lines[i] = "— " + name + " " + flipB64(t, rest, off)
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("no signature by %s in %q", name, noteText)
	return ""
}

// replaceOnce replaces old, which must occur in s, once.
func replaceOnce(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in %q", old, s)
	}
	return strings.Replace(s, old, new, 1)
}
