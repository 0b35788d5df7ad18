package ledger_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

// testVerifierKeys remembers the verifier key texts keys generated.
var testVerifierKeys []string

func keys(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "govhub.test/ledger")
	if err != nil {
		t.Fatal(err)
	}
	testVerifierKeys = append(testVerifierKeys, vkey)
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func openLog(t testing.TB, env *storetest.Env, s note.Signer, v note.Verifier, opts ...ledger.Option) *ledger.Log {
	t.Helper()
	opts = append([]ledger.Option{ledger.WithIntegrationInterval(5 * time.Millisecond)}, opts...)
	l, err := ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s, Verifier: v}, opts...)
	if err != nil {
		t.Fatalf("ledger.New = %v", err)
	}
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	return l
}

func entry(i int) ledger.Entry {
	e := sampleEntry()
	e.Policy = uint64(i)
	if i%2 == 1 { // both versions in every log the tests build
		e.Version, e.Official = 2, bytes.Repeat([]byte{byte(i)}, 32)
	}
	return e
}

// appendN appends n entries from several goroutines and returns the leaves by index.
func appendN(t testing.TB, l *ledger.Log, n int) map[uint64][]byte {
	t.Helper()
	var mu sync.Mutex
	got := map[uint64][]byte{}
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				e := entry(i)
				r, err := l.Append(context.Background(), e)
				if err != nil {
					t.Errorf("Append(%d) = %v", i, err)
					continue
				}
				if err := ledger.CheckReceipt(l.Reader().Keys().Current(), r); err != nil {
					t.Errorf("CheckReceipt = %v", err)
				}
				data, _ := ledger.FormatEntry(e)
				if r.LeafHash != ledger.LeafHash(data) {
					t.Errorf("receipt leaf hash differs from the entry's")
				}
				mu.Lock()
				if _, dup := got[r.Index]; dup {
					t.Errorf("index %d given twice", r.Index)
				}
				got[r.Index] = data
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return got
}

// independentRoot computes the tree hash with sumdb/tlog's stored hashes, not our tiles.
func independentRoot(t testing.TB, leaves map[uint64][]byte) tlog.Hash {
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i := 0; i < len(leaves); i++ {
		hs, err := tlog.StoredHashes(int64(i), leaves[uint64(i)], r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	h, err := tlog.TreeHash(int64(len(leaves)), r)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAppendIntegrateVerify(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	l := openLog(t, env, s, v)
	const n = 1500 // crosses several level-0 tiles
	leaves := appendN(t, l, n)
	if len(leaves) != n {
		t.Fatalf("%d entries appended, want %d", len(leaves), n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cp, err := l.WaitCheckpoint(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if want := independentRoot(t, leaves); cp.Root != want || cp.Size != n {
		t.Errorf("checkpoint = size %d root %s, want size %d root %s", cp.Size, cp.Root, n, want)
	}
	if _, err := ledger.ParseCheckpoint(cp.Note, v); err != nil {
		t.Errorf("ParseCheckpoint(own checkpoint) = %v", err)
	}
	rep, err := ledger.Verify(t.Context(), env.Store, v)
	if err != nil {
		t.Fatalf("Verify(untouched) = %v", err)
	}
	if rep.Entries != n || rep.TreeSize != n {
		t.Errorf("Verify report = %+v, want %d entries", rep, n)
	}

	// Reopening finds the same tree and goes on from it.
	if err := l.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, env, s, v)
	r, err := l2.Append(t.Context(), entry(n))
	if err != nil || r.Index != n {
		t.Fatalf("Append after reopen = %d, %v; want index %d", r.Index, err, n)
	}
	if _, err := l2.WaitCheckpoint(ctx, n+1); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointWithinASecond(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	l := openLog(t, env, s, v, ledger.WithIntegrationInterval(ledger.DefaultIntegrationInterval))
	r, err := l.Append(t.Context(), entry(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := l.WaitCheckpoint(ctx, r.Index+1); err != nil {
		t.Fatalf("no checkpoint covered entry %d within 1 s: %v", r.Index, err)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tamper    func(t *testing.T, env *storetest.Env)
		wantIndex uint64
	}{
		{"altered byte", func(t *testing.T, env *storetest.Env) {
			setLeaf(t, env, 259, 0, func(b []byte) []byte { return bytes.Replace(b, []byte("policy 259"), []byte("policy 258"), 1) })
		}, 259},
		{"non-canonical", func(t *testing.T, env *storetest.Env) {
			setLeaf(t, env, 7, 0, func(b []byte) []byte { return append(b, ' ') })
		}, 7},
		{"swapped", func(t *testing.T, env *storetest.Env) {
			a, b := readBatch(t, env, 522), readBatch(t, env, 523)
			writeBatch(t, env, 522, b)
			writeBatch(t, env, 523, a)
		}, 522},
		{"altered bundle", func(t *testing.T, env *storetest.Env) {
			data, err := env.Store.ReadBundle(t.Context(), 1)
			if err != nil {
				t.Fatal(err)
			}
			entries, _ := ledger.ParseBundle(data)
			entries[3] = bytes.Replace(entries[3], []byte("policy 259"), []byte("policy 258"), 1)
			var out []byte
			for _, e := range entries {
				out = ledger.AppendBundleEntry(out, e)
			}
			if _, err := env.DB.Collection("ledger_bundles").UpdateOne(t.Context(), bson.D{{Key: "_id", Value: "1"}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "data", Value: out}}}}); err != nil {
				t.Fatal(err)
			}
		}, 259},
		{"deleted batch", func(t *testing.T, env *storetest.Env) {
			if _, err := env.DB.Collection("ledger_batches").DeleteOne(t.Context(), bson.D{{Key: "_id", Value: fmt.Sprintf("%020d", 256)}}); err != nil {
				t.Fatal(err)
			}
		}, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := storetest.Embedded(t)
			s, v := keys(t)
			// Sequential appends: one entry a batch, so batch boundaries are known.
			l := openLog(t, env, s, v)
			for i := range 700 {
				if _, err := l.Append(t.Context(), entry(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := ledger.Verify(t.Context(), env.Store, v); err != nil {
				t.Fatalf("Verify(untouched) = %v", err)
			}
			tc.tamper(t, env)
			_, err := ledger.Verify(t.Context(), env.Store, v)
			var ce *ledger.CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify(tampered) = %v, want a CorruptionError", err)
			}
			if ce.Index != tc.wantIndex {
				t.Errorf("Verify(tampered) names entry %d (%v), want %d", ce.Index, err, tc.wantIndex)
			}
		})
	}
}

func TestStartupRefusesMismatch(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	l := openLog(t, env, s, v)
	appendN(t, l, 300)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := l.WaitCheckpoint(ctx, 300); err != nil {
		t.Fatal(err)
	}
	l.Shutdown(t.Context())
	// Rewrite a hash in the partial tile at the right edge.
	tile, err := env.Store.ReadTile(t.Context(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	tile[len(tile)-1] ^= 1
	if _, err := env.DB.Collection("ledger_tiles").UpdateOne(t.Context(), bson.D{{Key: "_id", Value: "0/1"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "hashes", Value: tile}}}}); err != nil {
		t.Fatal(err)
	}
	_, err = ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s, Verifier: v})
	if err == nil || !strings.Contains(err.Error(), "latest checkpoint says") {
		t.Fatalf("ledger.New(tampered tile) = %v, want a refusal naming the checkpoint", err)
	}
}

func TestAppendFailsClosedWhenStorageFails(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	l := openLog(t, env, s, v)
	if _, err := l.Append(t.Context(), entry(0)); err != nil {
		t.Fatal(err)
	}
	// The ledger's connection goes away: appends must fail, not hang or pretend.
	env.Client.Disconnect(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := l.Append(ctx, entry(1)); err == nil {
		t.Fatal("Append with storage down = nil error, want failure")
	}
}

func TestShutdownRefusesNewAppends(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	l := openLog(t, env, s, v)
	if err := l.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(t.Context(), entry(0)); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Append after Shutdown = %v, want ErrClosed", err)
	}
}

func readBatch(t *testing.T, env *storetest.Env, first uint64) [][]byte {
	b, err := env.Store.ReadBatch(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	return b.Leaves
}

func writeBatch(t *testing.T, env *storetest.Env, first uint64, leaves [][]byte) {
	_, err := env.DB.Collection("ledger_batches").UpdateOne(t.Context(),
		bson.D{{Key: "_id", Value: fmt.Sprintf("%020d", first)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "leaves", Value: leaves}}}})
	if err != nil {
		t.Fatal(err)
	}
}

func setLeaf(t *testing.T, env *storetest.Env, first uint64, i int, f func([]byte) []byte) {
	leaves := readBatch(t, env, first)
	leaves[i] = f(leaves[i])
	writeBatch(t, env, first, leaves)
}

func FuzzParseBundle(f *testing.F) {
	f.Add(ledger.AppendBundleEntry(ledger.AppendBundleEntry(nil, []byte("a")), []byte("")))
	f.Add([]byte{0, 5, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ledger.ParseBundle(data)
		if err != nil {
			return
		}
		var again []byte
		for _, e := range entries {
			again = ledger.AppendBundleEntry(again, e)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoding the parsed bundle gives %x, want %x", again, data)
		}
		if p, err := ledger.BundlePrefix(data, len(entries)); err != nil || !bytes.Equal(p, data) {
			t.Fatalf("BundlePrefix(all) = %x, %v", p, err)
		}
	})
}
