package web_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/web"
	"github.com/govhub/govhub/web/webtest"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testPage = `<!doctype html>
<meta charset="utf-8">
<title>loading</title>
<script type="module">
import * as v from '/static/verify.js';
window.verifyjs = v;
document.title = 'ready';
</script>
`

// browser is the Chromium the tests share (one process, a tab each), started by the first test
// that needs it and stopped by TestMain.
var browser webtest.Browser

func TestMain(m *testing.M) {
	code := m.Run()
	browser.Close()
	os.Exit(code)
}

// page serves the embedded static files and a test page that imports verify.js, opens it in a
// headless Chromium and returns a browser context whose page has window.verifyjs loaded.
func page(t *testing.T) context.Context {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(web.Static())))
	mux.HandleFunc("/testdata/subject_vectors.json", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("testdata", "subject_vectors.json"))
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(testPage))
	})
	// 127.0.0.1 is a secure context, which WebCrypto requires.
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	bctx := browser.Tab(t, "web")
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("loading the test page in Chromium: %v", err)
	}
	webtest.WaitFor(t, bctx, `window.verifyjs !== undefined`, 30*time.Second, "the test page to load verify.js")
	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "ready" {
		t.Fatalf("test page title = %q, want ready", title)
	}
	return bctx
}

// eval evaluates a JavaScript expression (a promise is awaited) and decodes its value into out.
func eval(t *testing.T, ctx context.Context, expr string, out any) {
	t.Helper()
	webtest.Eval(t, ctx, expr, out)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type proofInput struct {
	Entry       string   `json:"entry"`
	Salt        string   `json:"salt"`
	CitizenID   string   `json:"citizenId"`
	Index       any      `json:"index"`
	Proof       []string `json:"proof"`
	Checkpoint  string   `json:"checkpoint"`
	LeafHash    string   `json:"leafHash,omitempty"`
	Consistency []string `json:"consistency,omitempty"`
}

type trust struct {
	LogKey      string   `json:"logKey"`
	WitnessKeys []string `json:"witnessKeys"`
	Quorum      int      `json:"quorum"`
	Previous    string   `json:"previous,omitempty"`
}

type result struct {
	OK         bool              `json:"ok"`
	Step       string            `json:"step"`
	Message    string            `json:"message"`
	Checkpoint map[string]string `json:"checkpoint"`
	Cosigners  []string          `json:"cosigners"`
}

// accessProof is what myAccessProof will return for the citizen's entry at index, against cp of
// tree m.
func (w *world) accessProof(t testing.TB, m *merkleTree, index int, cp ledger.Checkpoint) proofInput {
	return proofInput{
		Entry:      string(m.entries[index]),
		Salt:       hex.EncodeToString(w.salts[index]),
		CitizenID:  w.citizen,
		Index:      index,
		Proof:      b64s(m.inclusion(t, index, int(cp.Size))),
		Checkpoint: string(cp.Note),
	}
}

// TestVerifyAccessProofInBrowser checks verify.js, in Chromium, on proofs made by the ledger's
// code and real witnesses: the good proof verifies, and each tampering fails at its step.
func TestVerifyAccessProofInBrowser(t *testing.T) {
	w := newWorld(t)
	good := w.accessProof(t, w.honest, 5, w.cp7)
	leaf := ledger.LeafHash(w.honest.entries[5])
	trusted := trust{LogKey: w.logVkey, WitnessKeys: w.trustedKeys(), Quorum: 2}

	// The good proof verifies in Go too: the vectors are what the ledger accepts.
	if _, err := ledger.CheckProof(ledger.Proof{Index: 5, Hashes: w.honest.inclusion(t, 5, 7), Checkpoint: w.cp7.Note},
		leaf, w.logV, witnessVerifiers(t, w), 2); err != nil {
		t.Fatalf("ledger.CheckProof(good) = %v", err)
	}

	// A forged history: the same log name under another key, over a tree whose entry 2 differs.
	forkEarly := treeOf(t, w.entries(t, 2))
	attackerSkey, _, err := note.GenerateKey(rand.Reader, logName)
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := note.NewSigner(attackerSkey)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := ledger.SignCheckpoint(attacker, 7, forkEarly.root(t, 7))
	if err != nil {
		t.Fatal(err)
	}
	// A fork signed by the real log key: at size 4 (entry 2 differs), shown to the citizen earlier.
	forked4, err := ledger.SignCheckpoint(w.logSigner, 4, forkEarly.root(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.CheckConsistency(w.honest.consistency(t, 4, 7), forked4, w.cp7); err == nil {
		t.Fatal("ledger.CheckConsistency(fork at 4, honest 7) = nil, want an error")
	}
	// A split view at size 7 (entry 6 differs), cosigned by w1 and w2 run again with their keys
	// but fresh state (witnesses that forgot, or collude).
	forkLate := treeOf(t, w.entries(t, 6))
	var colluding []*witnessNode
	for _, wn := range w.ws[:2] {
		c := *wn
		c.start(t, w.logV)
		colluding = append(colluding, &c)
	}
	split7 := w.checkpoint(t, forkLate, 7, colluding)

	cp7 := string(w.cp7.Note)
	honestRoot := base64Root(w.cp7)
	subjectHex := hex.EncodeToString(commitment(w.salts[5], w.citizen))
	withCons := func(p proofInput, cons []tlog.Hash) proofInput { p.Consistency = b64s(cons); return p }

	type testCase struct {
		name     string
		input    proofInput
		trust    trust
		wantStep string // "" for a proof that verifies
	}
	mod := func(f func(p *proofInput, tr *trust)) (proofInput, trust) {
		p, tr := good, trusted
		p.Proof = append([]string(nil), good.Proof...)
		tr.WitnessKeys = append([]string(nil), trusted.WitnessKeys...)
		f(&p, &tr)
		return p, tr
	}
	var cases []testCase
	add := func(name, step string, f func(p *proofInput, tr *trust)) {
		p, tr := mod(f)
		cases = append(cases, testCase{name, p, tr, step})
	}
	add("good", "", func(p *proofInput, tr *trust) {})
	add("good, index as a string", "", func(p *proofInput, tr *trust) { p.Index = "5" })
	add("good, with the leaf hash", "", func(p *proofInput, tr *trust) { p.LeafHash = b64s([]tlog.Hash{leaf})[0] })
	add("good, quorum 0", "", func(p *proofInput, tr *trust) { tr.Quorum = 0; tr.WitnessKeys = nil })
	add("entry byte flipped, leaf hash given", "leaf-hash", func(p *proofInput, tr *trust) {
		p.LeafHash = b64s([]tlog.Hash{leaf})[0]
		p.Entry = replaceOnce(t, p.Entry, "purpose home", "purpose Home")
	})
	add("entry byte flipped", "inclusion", func(p *proofInput, tr *trust) {
		p.Entry = replaceOnce(t, p.Entry, "purpose home", "purpose Home")
	})
	add("entry's subject byte flipped", "subject", func(p *proofInput, tr *trust) {
		p.Entry = replaceOnce(t, p.Entry, subjectHex, flipHexDigit(subjectHex, 10))
	})
	add("salt byte flipped", "subject", func(p *proofInput, tr *trust) { p.Salt = flipHexDigit(p.Salt, 0) })
	add("another citizen", "subject", func(p *proofInput, tr *trust) { p.CitizenID = "C000043" })
	add("entry of someone else", "subject", func(p *proofInput, tr *trust) {
		p.Entry = string(w.honest.entries[4])
		p.Index = 4
		p.Proof = b64s(w.honest.inclusion(t, 4, 7))
	})
	add("not an entry", "subject", func(p *proofInput, tr *trust) {
		p.Entry = replaceOnce(t, p.Entry, "govhub/entry/v1", "govhub/entry/v0")
	})
	add("proof hash byte flipped", "inclusion", func(p *proofInput, tr *trust) { p.Proof[1] = flipB64(t, p.Proof[1], 31) })
	add("proof hash missing", "inclusion", func(p *proofInput, tr *trust) { p.Proof = p.Proof[:len(p.Proof)-1] })
	add("wrong index", "inclusion", func(p *proofInput, tr *trust) { p.Index = 4 })
	add("index beyond the tree", "inclusion", func(p *proofInput, tr *trust) { p.Index = 7 })
	add("root byte flipped", "inclusion", func(p *proofInput, tr *trust) {
		p.Checkpoint = replaceOnce(t, p.Checkpoint, honestRoot, flipB64(t, honestRoot, 0))
	})
	add("forged checkpoint and proof (another key)", "signature", func(p *proofInput, tr *trust) {
		p.Entry = string(forkEarly.entries[5])
		p.Proof = b64s(forkEarly.inclusion(t, 5, 7))
		p.Checkpoint = string(forged.Note)
	})
	add("log signature byte flipped", "signature", func(p *proofInput, tr *trust) {
		p.Checkpoint = flipSig(t, p.Checkpoint, logName, 10)
	})
	add("log signature missing", "signature", func(p *proofInput, tr *trust) {
		p.Checkpoint = dropSig(t, p.Checkpoint, logName)
	})
	add("trusting another log key", "signature", func(p *proofInput, tr *trust) {
		_, vkey, err := note.GenerateKey(rand.Reader, logName)
		if err != nil {
			t.Fatal(err)
		}
		tr.LogKey = vkey
	})
	add("cosignature byte flipped", "cosignatures", func(p *proofInput, tr *trust) {
		p.Checkpoint = flipSig(t, p.Checkpoint, w.ws[0].name, 4+8+20)
	})
	add("cosignature timestamp changed", "cosignatures", func(p *proofInput, tr *trust) {
		p.Checkpoint = flipSig(t, p.Checkpoint, w.ws[1].name, 4+7)
	})
	add("quorum not met", "cosignatures", func(p *proofInput, tr *trust) { tr.Quorum = 3 })
	add("one cosignature missing", "cosignatures", func(p *proofInput, tr *trust) {
		p.Checkpoint = dropSig(t, p.Checkpoint, w.ws[1].name)
	})
	add("the same witness twice counts once", "cosignatures", func(p *proofInput, tr *trust) {
		p.Checkpoint = dropSig(t, p.Checkpoint, w.ws[1].name)
		p.Checkpoint += sigLine(t, p.Checkpoint, w.ws[0].name)
	})
	add("cosigners not trusted", "cosignatures", func(p *proofInput, tr *trust) {
		tr.WitnessKeys = []string{w.ws[2].cosigVkey}
		tr.Quorum = 1
	})
	add("consistent with an older checkpoint", "", func(p *proofInput, tr *trust) {
		*p = withCons(*p, w.honest.consistency(t, 4, 7))
		tr.Previous = string(w.cp4.Note)
	})
	add("same checkpoint as before", "", func(p *proofInput, tr *trust) { tr.Previous = cp7 })
	add("an older checkpoint than before", "", func(p *proofInput, tr *trust) {
		*p = withCons(w.accessProof(t, w.honest, 1, w.cp4), w.honest.consistency(t, 4, 7))
		tr.Previous = cp7
	})
	add("consistency proof byte flipped", "consistency", func(p *proofInput, tr *trust) {
		*p = withCons(*p, w.honest.consistency(t, 4, 7))
		p.Consistency[0] = flipB64(t, p.Consistency[0], 3)
		tr.Previous = string(w.cp4.Note)
	})
	add("no consistency proof", "consistency", func(p *proofInput, tr *trust) { tr.Previous = string(w.cp4.Note) })
	add("forked before: a different tree of size 4", "consistency", func(p *proofInput, tr *trust) {
		*p = withCons(*p, w.honest.consistency(t, 4, 7))
		tr.Previous = string(forked4.Note)
	})
	add("split view: a different tree of size 7", "consistency", func(p *proofInput, tr *trust) {
		*p = w.accessProof(t, forkLate, 5, split7)
		tr.Previous = cp7
	})
	add("previous checkpoint tampered", "consistency", func(p *proofInput, tr *trust) {
		*p = withCons(*p, w.honest.consistency(t, 4, 7))
		tr.Previous = flipSig(t, string(w.cp4.Note), logName, 30)
	})
	add("log key of the wrong type", "input", func(p *proofInput, tr *trust) { tr.LogKey = w.ws[1].cosigVkey })
	add("salt not hex", "input", func(p *proofInput, tr *trust) { p.Salt = "zz" })
	add("quorum above the witnesses", "input", func(p *proofInput, tr *trust) { tr.Quorum = 4 })

	// The split view verifies on its own: only the consistency check catches it.
	split := w.accessProof(t, forkLate, 5, split7)
	cases = append(cases, testCase{"split view on its own", split, trusted, ""})

	ctx := page(t)
	var got []result
	eval(t, ctx, `(async () => {
		const cases = `+mustJSON(t, cases2js(cases, func(c testCase) (any, any) { return c.input, c.trust }))+`;
		const out = [];
		for (const c of cases) out.push(await window.verifyjs.verifyAccessProof(c.input, c.trust));
		return out;
	})()`, &got)
	if len(got) != len(cases) {
		t.Fatalf("got %d results for %d cases", len(got), len(cases))
	}
	for i, c := range cases {
		r := got[i]
		t.Run(c.name, func(t *testing.T) {
			switch {
			case c.wantStep == "" && !r.OK:
				t.Errorf("verifyAccessProof = failed at %s (%s), want ok", r.Step, r.Message)
			case c.wantStep != "" && r.OK:
				t.Errorf("verifyAccessProof = ok, want a failure at %s", c.wantStep)
			case c.wantStep != "" && r.Step != c.wantStep:
				t.Errorf("verifyAccessProof = failed at %s (%s), want %s", r.Step, r.Message, c.wantStep)
			case c.wantStep != "" && r.Message == "":
				t.Errorf("verifyAccessProof failed at %s with no message", r.Step)
			case !r.OK:
				t.Logf("failed at %s: %s", r.Step, r.Message)
			}
		})
	}
	if r := got[0]; r.Checkpoint["size"] != "7" || r.Checkpoint["root"] != honestRoot || r.Checkpoint["origin"] != logName ||
		strings.Join(r.Cosigners, ",") != w.ws[0].name+","+w.ws[1].name {
		t.Errorf("good result = %+v, want the checkpoint of size 7 cosigned by w1 and w2", r)
	}
}

func cases2js[C any](cs []C, f func(C) (any, any)) []map[string]any {
	var out []map[string]any
	for _, c := range cs {
		in, tr := f(c)
		out = append(out, map[string]any{"input": in, "trust": tr})
	}
	return out
}

func witnessVerifiers(t *testing.T, w *world) []ledger.Witness {
	var out []ledger.Witness
	for _, wn := range w.ws {
		v, err := fnote.NewVerifierForCosignatureV1(wn.cosigVkey)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func base64Root(cp ledger.Checkpoint) string { return b64s([]tlog.Hash{cp.Root})[0] }

// flipHexDigit changes hex digit i of s to another hex digit.
func flipHexDigit(s string, i int) string {
	d := "1"
	if s[i] == '1' {
		d = "2"
	}
	return s[:i] + d + s[i+1:]
}

// sigLine returns the signature line by name in noteText, newline included.
func sigLine(t *testing.T, noteText, name string) string {
	t.Helper()
	for l := range strings.Lines(noteText) {
		if strings.HasPrefix(l, "— "+name+" ") {
			return l
		}
	}
	t.Fatalf("no signature by %s", name)
	return ""
}

// dropSig removes the signature line by name from noteText.
func dropSig(t *testing.T, noteText, name string) string {
	return replaceOnce(t, noteText, sigLine(t, noteText, name), "")
}

// TestMerkleProofsInBrowser checks verifyInclusion and verifyConsistency in Chromium against
// every proof golang.org/x/mod/sumdb/tlog makes for trees of 1 to 17 entries, and each proof
// with one bit flipped.
func TestMerkleProofsInBrowser(t *testing.T) {
	const n = 17
	m := &merkleTree{}
	for i := range n {
		m.add(t, []byte("leaf "+strconv.Itoa(i)))
	}
	type inclusion struct {
		Leaf, Root string
		Index      int
		Size       int
		Proof      []string
	}
	type consistency struct {
		Old, New         int
		OldRoot, NewRoot string
		Proof            []string
	}
	var incs []inclusion
	var cons []consistency
	for size := 1; size <= n; size++ {
		root := base64Root(ledger.Checkpoint{Root: m.root(t, size)})
		for i := range size {
			incs = append(incs, inclusion{b64s([]tlog.Hash{ledger.LeafHash(m.entries[i])})[0], root, i, size, b64s(m.inclusion(t, i, size))})
		}
		for old := 1; old <= size; old++ {
			cons = append(cons, consistency{old, size, base64Root(ledger.Checkpoint{Root: m.root(t, old)}), root, b64s(m.consistency(t, old, size))})
		}
	}
	ctx := page(t)
	var got struct {
		Inclusion, Consistency []string // failures, in words
	}
	eval(t, ctx, `(async () => {
		const v = window.verifyjs, h = (s) => v.fromBase64(s);
		const flip = (ps, i) => ps.map((p, j) => { const b = h(p); if (j === i) b[b.length - 1] ^= 1; return b; });
		const incs = `+mustJSON(t, incs)+`, cons = `+mustJSON(t, cons)+`;
		const out = {Inclusion: [], Consistency: []};
		for (const c of incs) {
			const name = 'inclusion of ' + c.Index + ' in ' + c.Size;
			if (!await v.verifyInclusion(h(c.Leaf), c.Index, c.Size, flip(c.Proof, -1), h(c.Root))) out.Inclusion.push(name + ' does not verify');
			for (let i = 0; i < c.Proof.length; i++) {
				if (await v.verifyInclusion(h(c.Leaf), c.Index, c.Size, flip(c.Proof, i), h(c.Root))) out.Inclusion.push(name + ' verifies with hash ' + i + ' flipped');
			}
			if (c.Size > 1 && await v.verifyInclusion(h(c.Leaf), (c.Index + 1) % c.Size, c.Size, flip(c.Proof, -1), h(c.Root))) out.Inclusion.push(name + ' verifies at another index');
		}
		for (const c of cons) {
			const name = 'consistency of ' + c.Old + ' with ' + c.New;
			if (!await v.verifyConsistency(c.Old, c.New, flip(c.Proof, -1), h(c.OldRoot), h(c.NewRoot))) out.Consistency.push(name + ' does not verify');
			for (let i = 0; i < c.Proof.length; i++) {
				if (await v.verifyConsistency(c.Old, c.New, flip(c.Proof, i), h(c.OldRoot), h(c.NewRoot))) out.Consistency.push(name + ' verifies with hash ' + i + ' flipped');
			}
			const bad = h(c.OldRoot); bad[0] ^= 1;
			if (await v.verifyConsistency(c.Old, c.New, flip(c.Proof, -1), bad, h(c.NewRoot))) out.Consistency.push(name + ' verifies with another old root');
		}
		return out;
	})()`, &got)
	for _, f := range append(got.Inclusion, got.Consistency...) {
		t.Error(f)
	}
	t.Logf("checked %d inclusion and %d consistency proofs", len(incs), len(cons))
}

// TestVerifierKeysInBrowser checks parseVerifierKey on the witness key of ledger/witness's test
// vectors (type 0x04), on the plain and cosignature keys of one witness (the same key IDs), and
// refuses malformed keys.
func TestVerifierKeysInBrowser(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("..", "ledger", "witness", "testdata", "witness.vkey"))
	if err != nil {
		t.Fatal(err)
	}
	_, plain, err := note.GenerateKey(rand.Reader, "witness.example/w9")
	if err != nil {
		t.Fatal(err)
	}
	cosig, err := fnote.VKeyToCosignatureV1(plain)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{strings.TrimSpace(string(golden)), plain, cosig,
		"bad name+4c57d54d+BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU",
		"witness.example.gov/w1+4c57d54e+BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU",
		"witness.example.gov/w1+4c57d54d+AoE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU",
		"witness.example.gov/w1+4c57d54d+BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPyb",
	}
	type key struct {
		Error                                  string
		Name                                   string
		Type, KeyID, NoteKeyID, CosignatureKey uint32
	}
	var got []key
	eval(t, page(t), `(async () => {
		const out = [];
		for (const k of `+mustJSON(t, keys)+`) {
			try {
				const p = await window.verifyjs.parseVerifierKey(k);
				out.push({Name: p.name, Type: p.type, KeyID: p.keyId, NoteKeyID: p.noteKeyId, CosignatureKey: p.cosignatureKeyId});
			} catch (e) { out.push({Error: String(e.message)}); }
		}
		return out;
	})()`, &got)
	if got[0].Error != "" || got[0].Type != 4 || got[0].KeyID != 0x4c57d54d || got[0].CosignatureKey != 0x4c57d54d {
		t.Errorf("parseVerifierKey(witness.vkey) = %+v, want type 4, key ID 4c57d54d", got[0])
	}
	hashOf := func(vkey string) uint32 {
		h, err := strconv.ParseUint(strings.Split(vkey, "+")[1], 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(h)
	}
	if got[1].Type != 1 || got[1].NoteKeyID != hashOf(plain) || got[1].CosignatureKey != hashOf(cosig) {
		t.Errorf("parseVerifierKey(plain key) = %+v, want note key ID %s and cosignature key ID %s", got[1], plain, cosig)
	}
	if got[2].Type != 4 || got[2].CosignatureKey != hashOf(cosig) || got[2].NoteKeyID != got[1].NoteKeyID {
		t.Errorf("parseVerifierKey(cosignature key) = %+v, want the same key IDs as the plain key", got[2])
	}
	for i, k := range got[3:] {
		if k.Error == "" {
			t.Errorf("parseVerifierKey(%q) = %+v, want an error", keys[3+i], k)
		}
	}
}

// The worked example at the top of verify.js: ledger/witness's test vector, whose log key is
// derived from the seed of 32 bytes 0x01.
const (
	exampleLogKey     = "example.gov/tax-log+05e7b496+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
	exampleCosigLine  = "— witness.example.gov/w1 TFfVTQAAAABrAbcSvtWdHd7b5IZ2Mse15j/ioaFDqlTbjRWf+mmLn3tPv/Bz8LfzmoVx8fXUEpQmNErkR6jyhnRz+S93s6UBCqrgAg==\n"
	exampleRequest    = "add-checkpoint-3-4.txt"
	exampleWitnessKey = "witness.vkey"
)

// TestDocumentedExampleInBrowser checks the worked example of verify.js's documentation: the
// checkpoint of ledger/witness's test vector with the cosignature its package documentation
// shows, in Go and in Chromium.
func TestDocumentedExampleInBrowser(t *testing.T) {
	dir := filepath.Join("..", "ledger", "witness", "testdata")
	req, err := os.ReadFile(filepath.Join(dir, exampleRequest))
	if err != nil {
		t.Fatal(err)
	}
	wkey, err := os.ReadFile(filepath.Join(dir, exampleWitnessKey))
	if err != nil {
		t.Fatal(err)
	}
	_, cp, ok := strings.Cut(string(req), "\n\n")
	if !ok {
		t.Fatalf("%s: no checkpoint", exampleRequest)
	}
	cosigned := cp + exampleCosigLine
	witnessKey := strings.TrimSpace(string(wkey))
	logV, err := note.NewVerifier(exampleLogKey)
	if err != nil {
		t.Fatal(err)
	}
	wv, err := fnote.NewVerifierForCosignatureV1(witnessKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.CheckCosignatures([]byte(cosigned), logV, []ledger.Witness{wv}, 1); err != nil {
		t.Fatalf("ledger.CheckCosignatures(documented example) = %v", err)
	}
	var got struct {
		Size      string
		Cosigners []string
		Error     string
	}
	eval(t, page(t), `(async () => {
		try {
			const r = await window.verifyjs.verifyCheckpoint(`+mustJSON(t, cosigned)+`, `+mustJSON(t, exampleLogKey)+`, [`+mustJSON(t, witnessKey)+`], 1);
			return {Size: r.size.toString(), Cosigners: r.cosigners};
		} catch (e) { return {Error: e.step + ': ' + e.message}; }
	})()`, &got)
	if got.Error != "" || got.Size != "4" || len(got.Cosigners) != 1 || got.Cosigners[0] != "witness.example.gov/w1" {
		t.Errorf("verifyCheckpoint(documented example) = %+v, want size 4 cosigned by witness.example.gov/w1", got)
	}
}
