package ledger_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/govhub/govhub/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// fillerStream is a deterministic stand-in for crypto/rand in golden vectors:
// SHA-256(label ‖ uint64 counter), block after block.
type fillerStream struct {
	label string
	n     uint64
	buf   []byte
}

func (f *fillerStream) Read(p []byte) (int, error) {
	for len(f.buf) < len(p) {
		h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(f.label), f.n))
		f.n++
		f.buf = append(f.buf, h[:]...)
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

const subjectTreeFile = "testdata/subject-tree.json"

// subjectTreeVector is testdata/subject-tree.json: the page subject tree of the list page in
// testdata/entry-v2-page.txt, with each citizen's position and path (hex, leaf's sibling first).
type subjectTreeVector struct {
	Fillers     string   `json:"fillers"` // label of the deterministic filler stream
	Commitments []string `json:"commitments"`
	Root        string   `json:"root"`
	Paths       []struct {
		Commitment string   `json:"commitment"`
		Position   int      `json:"position"`
		Hashes     []string `json:"hashes"`
	} `json:"paths"`
}

const goldenFillers = "govhub test page fillers"

func goldenPageCommitments() [][]byte {
	return [][]byte{seeded("page subject C000001"), seeded("page subject C000002"), seeded("page subject C000003")}
}

func goldenSubjectTree(t testing.TB) *ledger.SubjectTree {
	t.Helper()
	tree, err := ledger.NewSubjectTree(goldenPageCommitments(), &fillerStream{label: goldenFillers})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func readSubjectTreeVector(t testing.TB) subjectTreeVector {
	t.Helper()
	data, err := os.ReadFile(subjectTreeFile)
	if err != nil {
		t.Fatal(err)
	}
	var v subjectTreeVector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", subjectTreeFile, err)
	}
	return v
}

func hexes(hs []tlog.Hash) []string {
	var out []string
	for _, h := range hs {
		out = append(out, hex.EncodeToString(h[:]))
	}
	return out
}

// TestSubjectTreeGolden checks testdata/subject-tree.json (which -update rewrites): the tree's
// root, the entry-v2-page.txt subjects line, and every path, by CheckSubjectPath.
func TestSubjectTreeGolden(t *testing.T) {
	tree := goldenSubjectTree(t)
	var v subjectTreeVector
	v.Fillers = goldenFillers
	root := tree.Root()
	v.Root = hex.EncodeToString(root[:])
	for _, c := range goldenPageCommitments() {
		v.Commitments = append(v.Commitments, hex.EncodeToString(c))
		pos, path, ok := tree.Path(c)
		if !ok {
			t.Fatalf("Path(%x) not found", c)
		}
		v.Paths = append(v.Paths, struct {
			Commitment string   `json:"commitment"`
			Position   int      `json:"position"`
			Hashes     []string `json:"hashes"`
		}{hex.EncodeToString(c), pos, hexes(path)})
	}
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(subjectTreeFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(subjectTreeFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("subject tree =\n%s\nwant (%s)\n%s", got, subjectTreeFile, want)
	}
	page, err := os.ReadFile("testdata/entry-v2-page.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "\nsubjects "+v.Root+"\n") {
		t.Errorf("testdata/entry-v2-page.txt does not carry the subjects root %s", v.Root)
	}
	for _, p := range readSubjectTreeVector(t).Paths {
		c, _ := hex.DecodeString(p.Commitment)
		var path []tlog.Hash
		for _, h := range p.Hashes {
			b, _ := hex.DecodeString(h)
			path = append(path, tlog.Hash(b))
		}
		if err := ledger.CheckSubjectPath(root, c, p.Position, path); err != nil {
			t.Errorf("CheckSubjectPath(%s at %d) = %v", p.Commitment, p.Position, err)
		}
	}
}

// TestSubjectTree checks trees of 1 to 100 commitments against tlog's own tree and proofs of
// the same 128 leaves, and that every path fails moved, altered or for another commitment.
func TestSubjectTree(t *testing.T) {
	for _, n := range []int{1, 2, 3, 64, 99, 100} {
		var cs [][]byte
		for i := range n {
			cs = append(cs, seeded("subject "+string(rune('a'+i%26))+hex.EncodeToString([]byte{byte(i)})))
		}
		tree, err := ledger.NewSubjectTree(cs, rand.Reader)
		if err != nil {
			t.Fatalf("NewSubjectTree(%d) = %v", n, err)
		}
		root := tree.Root()
		for _, c := range cs {
			pos, path, ok := tree.Path(c)
			if !ok || len(path) != ledger.SubjectPathLen || pos < 0 || pos >= ledger.SubjectTreeLeaves {
				t.Fatalf("Path = %d, %d hashes, %v", pos, len(path), ok)
			}
			if err := ledger.CheckSubjectPath(root, c, pos, path); err != nil {
				t.Errorf("n=%d: CheckSubjectPath(good) = %v", n, err)
			}
			// tlog agrees: the same path proves the leaf in a 128-leaf RFC 6962 tree.
			if err := tlog.CheckRecord(path, ledger.SubjectTreeLeaves, root, int64(pos), tlog.RecordHash(c)); err != nil {
				t.Errorf("n=%d: tlog.CheckRecord = %v", n, err)
			}
			other := seeded("not on the page")
			bad := append([]tlog.Hash(nil), path...)
			bad[3][0] ^= 1
			for name, err := range map[string]error{
				"wrong position":   ledger.CheckSubjectPath(root, c, pos^1, path),
				"position 128":     ledger.CheckSubjectPath(root, c, 128, path),
				"position -1":      ledger.CheckSubjectPath(root, c, -1, path),
				"altered hash":     ledger.CheckSubjectPath(root, c, pos, bad),
				"short path":       ledger.CheckSubjectPath(root, c, pos, path[:6]),
				"other commitment": ledger.CheckSubjectPath(root, other, pos, path),
				"short commitment": ledger.CheckSubjectPath(root, c[:31], pos, path),
			} {
				if !errors.Is(err, ledger.ErrInvalidProof) {
					t.Errorf("n=%d: CheckSubjectPath(%s) = %v, want ErrInvalidProof", n, name, err)
				}
			}
		}
		if _, _, ok := tree.Path(seeded("not on the page")); ok {
			t.Errorf("Path(a commitment not on the page) found")
		}
	}
	// Against tlog's tree hash of the same leaves: rebuild from the sorted leaves it must hold.
	cs := goldenPageCommitments()
	tree := goldenSubjectTree(t)
	fill := make([]byte, 32*(ledger.SubjectTreeLeaves-len(cs)))
	(&fillerStream{label: goldenFillers}).Read(fill)
	leaves := append([][]byte(nil), cs...)
	for i := 0; i < len(fill); i += 32 {
		leaves = append(leaves, fill[i:i+32])
	}
	slices.SortFunc(leaves, bytes.Compare)
	var hashes []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i, l := range leaves {
		hs, err := tlog.StoredHashes(int64(i), l, r)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	want, err := tlog.TreeHash(ledger.SubjectTreeLeaves, r)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Root() != want {
		t.Errorf("Root() = %x, want tlog's tree hash of the sorted leaves %x", tree.Root(), want)
	}
	for _, c := range cs {
		pos, path, _ := tree.Path(c)
		p, err := tlog.ProveRecord(ledger.SubjectTreeLeaves, int64(pos), r)
		if err != nil {
			t.Fatal(err)
		}
		if hexes(p)[0] != hexes(path)[0] || strings.Join(hexes(p), ",") != strings.Join(hexes(path), ",") {
			t.Errorf("Path(%x) = %x, want tlog's proof %x", c, path, p)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type failing struct{}

func (failing) Read(p []byte) (int, error) { return 0, errors.New("no entropy") }

func TestNewSubjectTreeRejects(t *testing.T) {
	c := seeded("one")
	many := make([][]byte, ledger.MaxPageSubjects+1)
	for i := range many {
		many[i] = seeded("many " + hex.EncodeToString([]byte{byte(i)}))
	}
	for _, tc := range []struct {
		name string
		cs   [][]byte
		fill interface{ Read([]byte) (int, error) }
	}{
		{"none", nil, rand.Reader},
		{"too many", many, rand.Reader},
		{"short commitment", [][]byte{c[:31]}, rand.Reader},
		{"duplicate", [][]byte{c, c}, rand.Reader},
		{"fillers all zero", [][]byte{c}, zeros{}},
		{"fillers fail", [][]byte{c}, failing{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ledger.NewSubjectTree(tc.cs, tc.fill); err == nil {
				t.Errorf("NewSubjectTree = nil error, want one")
			}
		})
	}
}
