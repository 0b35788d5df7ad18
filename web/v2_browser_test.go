package web_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// A log mixing versions, as a ledger written before and after govhub/entry/v2 does: entry 0
// concerns someone else (v2), entry 1 is a v1 read of the citizen, entry 2 a v2 read of the
// citizen naming the official, entry 3 a v2 list page of five citizens, the citizen among them.
type v2World struct {
	*world
	tree    *merkleTree
	cp      ledger.Checkpoint
	page    *ledger.SubjectTree
	pageSub []byte // the citizen's commitment on the page
}

func v2Entry(t testing.TB, i int, e ledger.Entry) []byte {
	t.Helper()
	e.Kind, e.Time, e.Department, e.Role = ledger.KindAccess, time.Date(2026, 11, 22, 10, 0, i, 0, time.UTC), "housing", "clerk"
	e.Purpose, e.Policy, e.Outcome = "home-purchase-eligibility", 1, ledger.OutcomeAllowed
	e.Request = seeded(fmt.Sprintf("v2 request %d", i))
	e.Fields = []ledger.Field{{Name: "identity.name", Level: "reveal"}}
	b, err := ledger.FormatEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newV2World(t testing.TB) *v2World {
	t.Helper()
	w := &v2World{world: newWorld(t)}
	for i := range 4 {
		w.salts[i] = seeded(fmt.Sprintf("v2 salt %d", i))
	}
	official := seeded("official housing/clerk u-1042")
	w.pageSub = commitment(w.salts[3], w.citizen)
	page := [][]byte{w.pageSub}
	for i := range 4 {
		page = append(page, seeded(fmt.Sprintf("another citizen %d", i)))
	}
	var err error
	if w.page, err = ledger.NewSubjectTree(page, rand.Reader); err != nil {
		t.Fatal(err)
	}
	root := w.page.Root()
	v1 := entryAt(t, 1, w.salts[1], w.citizen, "")
	if !strings.HasPrefix(string(v1), "govhub/entry/v1\n") {
		t.Fatalf("entry 1 is not v1:\n%s", v1)
	}
	w.tree = treeOf(t, [][]byte{
		v2Entry(t, 0, ledger.Entry{Official: official, Subjects: [][]byte{seeded("someone else")}}),
		v1,
		v2Entry(t, 2, ledger.Entry{Official: official, Subjects: [][]byte{commitment(w.salts[2], w.citizen), seeded("someone else")}}),
		v2Entry(t, 3, ledger.Entry{Official: official, SubjectRoot: root[:]}),
	})
	for i, want := range []string{"govhub/entry/v2\n", "govhub/entry/v1\n", "govhub/entry/v2\n", "govhub/entry/v2\n"} {
		if !strings.HasPrefix(string(w.tree.entries[i]), want) {
			t.Fatalf("entry %d does not start %q", i, want)
		}
	}
	w.cp, err = ledger.SignCheckpoint(w.logSigner, 4, w.tree.root(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

type subjectPath struct {
	Position any      `json:"position"`
	Hashes   []string `json:"hashes"`
}

type v2ProofInput struct {
	proofInput
	SubjectPath *subjectPath `json:"subjectPath,omitempty"`
}

func (w *v2World) proof(t testing.TB, index int) v2ProofInput {
	p := v2ProofInput{proofInput: w.accessProof(t, w.tree, index, w.cp)}
	if index == 3 {
		pos, path, ok := w.page.Path(w.pageSub)
		if !ok {
			t.Fatal("the citizen is not on the page")
		}
		p.SubjectPath = &subjectPath{Position: pos, Hashes: b64s(path)}
	}
	return p
}

// TestVerifyV2AccessProofInBrowser checks verify.js, in Chromium, on a log of v1 and v2 entries:
// a v2 read naming the official and a v2 list page (subject tree) verify, as the v1 read in the
// same log does, and a wrong subject path, position or commitment fails at 'subject'.
func TestVerifyV2AccessProofInBrowser(t *testing.T) {
	w := newV2World(t)
	trusted := trust{LogKey: w.logVkey}
	pos, path, _ := w.page.Path(w.pageSub)
	root := w.page.Root()
	if err := ledger.CheckSubjectPath(root, w.pageSub, pos, path); err != nil {
		t.Fatalf("ledger.CheckSubjectPath(good) = %v", err)
	}
	for i := range 4 {
		if _, err := ledger.ParseEntry(w.tree.entries[i]); err != nil {
			t.Fatalf("entry %d: ledger.ParseEntry = %v", i, err)
		}
	}

	type testCase struct {
		name     string
		input    v2ProofInput
		wantStep string
	}
	var cases []testCase
	add := func(name, step string, index int, f func(p *v2ProofInput)) {
		p := w.proof(t, index)
		if p.SubjectPath != nil {
			sp := *p.SubjectPath
			sp.Hashes = append([]string(nil), sp.Hashes...)
			p.SubjectPath = &sp
		}
		f(&p)
		cases = append(cases, testCase{name, p, step})
	}
	none := func(p *v2ProofInput) {}
	add("v1 read in a mixed log", "", 1, none)
	add("v2 read naming the official", "", 2, none)
	add("v2 read, a subject path given is ignored", "", 2, func(p *v2ProofInput) {
		p.SubjectPath = &subjectPath{Position: 0, Hashes: b64s(path)}
	})
	add("v2 list page", "", 3, none)
	add("v2 list page, position as a string", "", 3, func(p *v2ProofInput) { p.SubjectPath.Position = fmt.Sprint(pos) })
	add("v2 list page, with the leaf hash", "", 3, func(p *v2ProofInput) {
		p.LeafHash = b64s([]tlog.Hash{ledger.LeafHash(w.tree.entries[3])})[0]
	})
	add("v2 read of someone else", "subject", 0, func(p *v2ProofInput) { p.Salt = hex.EncodeToString(w.salts[2]) })
	add("v2 read, salt flipped", "subject", 2, func(p *v2ProofInput) { p.Salt = flipHexDigit(p.Salt, 3) })
	add("page: no subject path", "subject", 3, func(p *v2ProofInput) { p.SubjectPath = nil })
	add("page: wrong position", "subject", 3, func(p *v2ProofInput) { p.SubjectPath.Position = pos ^ 1 })
	add("page: position beyond the tree", "subject", 3, func(p *v2ProofInput) { p.SubjectPath.Position = 128 })
	add("page: path hash flipped", "subject", 3, func(p *v2ProofInput) { p.SubjectPath.Hashes[4] = flipB64(t, p.SubjectPath.Hashes[4], 7) })
	add("page: path hash missing", "subject", 3, func(p *v2ProofInput) { p.SubjectPath.Hashes = p.SubjectPath.Hashes[:6] })
	add("page: path with an extra hash", "subject", 3, func(p *v2ProofInput) {
		p.SubjectPath.Hashes = append(p.SubjectPath.Hashes, p.SubjectPath.Hashes[0])
	})
	add("page: another citizen's id", "subject", 3, func(p *v2ProofInput) { p.CitizenID = "C000043" })
	add("page: salt flipped", "subject", 3, func(p *v2ProofInput) { p.Salt = flipHexDigit(p.Salt, 0) })
	add("page: another page's path", "subject", 3, func(p *v2ProofInput) {
		other, err := ledger.NewSubjectTree([][]byte{w.pageSub}, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		op, opath, _ := other.Path(w.pageSub)
		p.SubjectPath = &subjectPath{Position: op, Hashes: b64s(opath)}
	})
	add("page: subjects root flipped", "subject", 3, func(p *v2ProofInput) {
		h := hex.EncodeToString(root[:])
		p.Entry = replaceOnce(t, p.Entry, "subjects "+h, "subjects "+flipHexDigit(h, 5))
	})
	add("page: a subjects line under the v1 header", "subject", 3, func(p *v2ProofInput) {
		p.Entry = replaceOnce(t, p.Entry, "govhub/entry/v2", "govhub/entry/v1")
	})
	add("page: subject lines too", "subject", 3, func(p *v2ProofInput) {
		p.Entry = replaceOnce(t, p.Entry, "field ", "subject "+hex.EncodeToString(w.pageSub)+"\nfield ")
	})
	add("page: two subjects lines", "subject", 3, func(p *v2ProofInput) {
		p.Entry = replaceOnce(t, p.Entry, "field ", "subjects "+hex.EncodeToString(root[:])+"\nfield ")
	})
	add("page: entry byte flipped", "inclusion", 3, func(p *v2ProofInput) {
		p.Entry = replaceOnce(t, p.Entry, "purpose home", "purpose Home")
	})
	add("page: official byte flipped", "inclusion", 3, func(p *v2ProofInput) {
		p.Entry = replaceOnce(t, p.Entry, "official 3", "official 4")
	})
	add("page: path hash not base64", "input", 3, func(p *v2ProofInput) { p.SubjectPath.Hashes[0] = "%%" })
	add("page: position negative", "input", 3, func(p *v2ProofInput) { p.SubjectPath.Position = -1 })
	add("page: position not a number", "input", 3, func(p *v2ProofInput) { p.SubjectPath.Position = "one" })

	ctx := page(t)
	var got []result
	eval(t, ctx, `(async () => {
		const cases = `+mustJSON(t, cases2js(cases, func(c testCase) (any, any) { return c.input, trusted }))+`;
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
	for i, c := range cases {
		if strings.HasPrefix(c.name, "page: wrong position") || strings.HasPrefix(c.name, "page: path hash flipped") {
			if !strings.Contains(got[i].Message, "membership failed") {
				t.Errorf("%s: message %q does not say membership failed", c.name, got[i].Message)
			}
		}
	}
}

// TestSubjectTreeVectorsInBrowser checks verify.js's verifySubjectPath, in Chromium, on
// ledger/testdata/subject-tree.json (the tree of the ledger documentation's worked example),
// checked in Go by ledger.CheckSubjectPath, and that each path fails at every other position.
func TestSubjectTreeVectorsInBrowser(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "ledger", "testdata", "subject-tree.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Root  string `json:"root"`
		Paths []struct {
			Commitment string   `json:"commitment"`
			Position   int      `json:"position"`
			Hashes     []string `json:"hashes"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	rootB, err := hex.DecodeString(v.Root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range v.Paths {
		c, _ := hex.DecodeString(p.Commitment)
		var path []tlog.Hash
		for _, h := range p.Hashes {
			b, _ := hex.DecodeString(h)
			path = append(path, tlog.Hash(b))
		}
		if err := ledger.CheckSubjectPath(tlog.Hash(rootB), c, p.Position, path); err != nil {
			t.Fatalf("ledger.CheckSubjectPath(%s) = %v", p.Commitment, err)
		}
	}
	var failures []string
	eval(t, page(t), `(async () => {
		const v = window.verifyjs, x = (s) => v.fromHex(s);
		const tree = `+string(data)+`;
		const out = [];
		for (const p of tree.paths) {
			const hs = p.hashes.map(x);
			if (!await v.verifySubjectPath(x(p.commitment), p.position, hs, x(tree.root))) out.push(p.commitment + ' does not verify');
			for (let q = 0; q < v.SUBJECT_TREE_LEAVES; q++) {
				if (q !== p.position && await v.verifySubjectPath(x(p.commitment), q, hs, x(tree.root))) out.push(p.commitment + ' verifies at ' + q);
			}
			for (let i = 0; i < hs.length; i++) {
				const bad = hs.map((h) => h.slice()); bad[i][31] ^= 1;
				if (await v.verifySubjectPath(x(p.commitment), p.position, bad, x(tree.root))) out.push(p.commitment + ' verifies with hash ' + i + ' flipped');
			}
		}
		return out;
	})()`, &failures)
	for _, f := range failures {
		t.Error(f)
	}
}
