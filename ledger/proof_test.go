package ledger_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

func hashes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// rootsOf computes the root of every prefix of the log independently, with sumdb/tlog's stored
// hashes (not our tiles).
func rootsOf(t testing.TB, leaves map[uint64][]byte) []tlog.Hash {
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	roots := make([]tlog.Hash, len(leaves)+1)
	for i := 0; i < len(leaves); i++ {
		hs, err := tlog.StoredHashes(int64(i), leaves[uint64(i)], r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		if roots[i+1], err = tlog.TreeHash(int64(i+1), r); err != nil {
			t.Fatal(err)
		}
	}
	return roots
}

// Checkpoints verify with sumdb/note given the published verifier key, and proofs verify with
// transparency-dev/merkle: neither uses our verification code.
func TestProofsInteroperate(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	l := openLog(t, env, s, v)
	const n = 1100 // several full tiles and bundles, and a partial one of each
	leaves := appendN(t, l, n)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cp, err := l.WaitCheckpoint(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	roots := rootsOf(t, leaves)

	// The checkpoint, opened with x/mod's note and the verifier key text alone.
	vkey := verifierKey(t, s)
	nv, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := note.Open(cp.Note, note.VerifierList(nv))
	if err != nil {
		t.Fatalf("note.Open(checkpoint) = %v", err)
	}
	lines := strings.Split(opened.Text, "\n")
	if len(lines) != 4 || lines[0] != "govhub.test/ledger" || lines[1] != strconv.FormatUint(cp.Size, 10) ||
		lines[2] != base64.StdEncoding.EncodeToString(roots[cp.Size][:]) {
		t.Fatalf("checkpoint body = %q; want origin, size %d, root %s", opened.Text, cp.Size, roots[cp.Size])
	}

	h := rfc6962.DefaultHasher
	for _, size := range []uint64{1, 2, 255, 256, 257, 513, 1000, uint64(cp.Size)} {
		for _, index := range []uint64{0, 1, 254, 255, 256, 700, size - 1} {
			if index >= size {
				continue
			}
			p, err := l.Reader().ProveInclusion(t.Context(), index, size)
			if err != nil {
				t.Fatalf("ProveInclusion(%d, %d) = %v", index, size, err)
			}
			leaf := ledger.LeafHash(leaves[index])
			if err := proof.VerifyInclusion(h, index, size, leaf[:], hashes(p), roots[size][:]); err != nil {
				t.Errorf("merkle/proof.VerifyInclusion(%d in %d) = %v", index, size, err)
			}
		}
		for _, from := range []uint64{1, 3, 256, 300, size} {
			if from > size {
				continue
			}
			p, err := l.Reader().ProveConsistency(t.Context(), from, size)
			if err != nil {
				t.Fatalf("ProveConsistency(%d, %d) = %v", from, size, err)
			}
			if err := proof.VerifyConsistency(h, from, size, hashes(p), roots[from][:], roots[size][:]); err != nil {
				t.Errorf("merkle/proof.VerifyConsistency(%d → %d) = %v", from, size, err)
			}
		}
	}
	if _, err := l.Reader().ProveInclusion(t.Context(), 0, cp.Size+1); !errors.Is(err, ledger.ErrNotIntegrated) {
		t.Errorf("ProveInclusion beyond the checkpoint = %v, want ErrNotIntegrated", err)
	}
	if r, err := ledger.TreeRoot(l.Reader(), t.Context(), 700); err != nil || r != roots[700] {
		t.Errorf("TreeRoot(700) = %s, %v; want %s", r, err, roots[700])
	}

	// A receipt: the entry's bytes as extra data, its proof, the checkpoint; checked offline.
	const index = 777
	entryBytes, err := l.Reader().Entry(t.Context(), index)
	if err != nil || !bytes.Equal(entryBytes, leaves[index]) {
		t.Fatalf("Entry(%d) = %q, %v; want the appended bytes", index, entryBytes, err)
	}
	p, err := l.Reader().ProveInclusion(t.Context(), index, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	rc := ledger.Proof{Extra: entryBytes, Index: index, Hashes: p, Checkpoint: cp.Note}
	parsed, err := ledger.ParseProof(rc.Marshal())
	if err != nil || !bytes.Equal(parsed.Marshal(), rc.Marshal()) {
		t.Fatalf("ParseProof(Marshal) = %v; round trip differs", err)
	}
	if _, err := ledger.CheckProof(parsed, ledger.LeafHash(parsed.Extra), v, nil, 0); err != nil {
		t.Errorf("CheckProof(receipt) = %v", err)
	}
	if _, err := ledger.CheckProof(parsed, ledger.LeafHash(leaves[index+1]), v, nil, 0); !errors.Is(err, ledger.ErrInvalidProof) {
		t.Errorf("CheckProof(another entry) = %v, want ErrInvalidProof", err)
	}
	_, other := keys(t)
	if _, err := ledger.CheckProof(parsed, ledger.LeafHash(parsed.Extra), other, nil, 0); err == nil {
		t.Errorf("CheckProof with another log key = nil, want an error")
	}

	// A Reader built on the storage alone, as a tool opens a log it does not append to, gives the
	// same entries and proofs within the stored checkpoint.
	if err := l.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	rd := ledger.NewReader(env.Store, v)
	if got, err := rd.Entry(t.Context(), index); err != nil || !bytes.Equal(got, leaves[index]) {
		t.Errorf("NewReader: Entry(%d) = %q, %v; want the appended bytes", index, got, err)
	}
	if got, err := rd.ProveInclusion(t.Context(), index, cp.Size); err != nil || !slices.Equal(got, p) {
		t.Errorf("NewReader: ProveInclusion(%d, %d) = %v, %v; want the log's proof", index, cp.Size, got, err)
	}
	if r, err := ledger.TreeRoot(rd, t.Context(), 700); err != nil || r != roots[700] {
		t.Errorf("NewReader: TreeRoot(700) = %s, %v; want %s", r, err, roots[700])
	}
	if at, found, err := rd.FindLeaf(t.Context(), 0, ledger.LeafHash(leaves[index])); err != nil || !found || at != index {
		t.Errorf("NewReader: FindLeaf(entry %d) = %d, %v, %v; want %d, true", index, at, found, err, index)
	}
	if _, err := ledger.NewReader(env.Store, other).Entry(t.Context(), 0); !errors.Is(err, ledger.ErrInvalidSignature) {
		t.Errorf("NewReader with another log key: Entry = %v, want ErrInvalidSignature", err)
	}
}

func verifierKey(t *testing.T, s note.Signer) string {
	t.Helper()
	// The test keys come from note.GenerateKey; rebuild the verifier key text from a fresh pair
	// with the same name is not possible, so sign and check with the verifier list instead.
	for _, k := range testVerifierKeys {
		if v, err := note.NewVerifier(k); err == nil && v.KeyHash() == s.KeyHash() && v.Name() == s.Name() {
			return k
		}
	}
	t.Fatal("no verifier key text for the test signer")
	return ""
}

func FuzzParseProof(f *testing.F) {
	f.Add([]byte("c2sp.org/tlog-proof@v1\nextra YWJj\nindex 3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\norigin\n3\nAAAA\n"))
	f.Add([]byte("c2sp.org/tlog-proof@v1\nindex 0\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ledger.ParseProof(data)
		if err != nil {
			return
		}
		if again := p.Marshal(); !bytes.Equal(again, data) {
			t.Fatalf("Marshal(ParseProof(x)) = %q, want x = %q", again, data)
		}
	})
}

// LeafHashes gives each integrated entry's leaf hash from the hash tiles, the zero hash beyond the
// checkpoint, and fails when a stored tile does not reach the checkpoint's root.
func TestLeafHashes(t *testing.T) {
	m := newMemStorage()
	s, v := keys(t)
	l, err := ledger.New(t.Context(), ledger.Config{Storage: m, Signer: s, Verifier: v}, ledger.WithIntegrationInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	const n = 600
	leaves := appendN(t, l, n)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := l.WaitCheckpoint(ctx, n); err != nil {
		t.Fatal(err)
	}
	indexes := []uint64{599, 0, 255, 256, 300, n, n + 7}
	got, size, err := l.Reader().LeafHashes(t.Context(), indexes)
	if err != nil || size != n {
		t.Fatalf("LeafHashes = size %d, %v; want %d", size, err, n)
	}
	for i, index := range indexes {
		want := tlog.Hash{}
		if index < n {
			want = ledger.LeafHash(leaves[index])
		}
		if got[i] != want {
			t.Errorf("LeafHashes: entry %d = %s, want %s", index, got[i], want)
		}
	}
	if got, size, err := l.Reader().LeafHashes(t.Context(), []uint64{n}); err != nil || size != n || got[0] != (tlog.Hash{}) {
		t.Errorf("LeafHashes(only beyond the checkpoint) = %v, %d, %v", got, size, err)
	}

	// A level-0 tile altered in storage: a fresh reader (no cache) refuses it.
	m.mu.Lock()
	m.tiles[[2]uint64{0, 1}][40] ^= 1
	m.mu.Unlock()
	if _, _, err := ledger.NewReader(m, v).LeafHashes(t.Context(), []uint64{300}); err == nil {
		t.Error("LeafHashes over a tampered tile succeeded")
	}
}
