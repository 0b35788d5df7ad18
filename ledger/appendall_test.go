package ledger_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/ledgertest"
	"github.com/govhub/govhub/store/storetest"
)

// group is the entries of one AppendAll call, numbered from base.
func group(base, n int) []ledger.Entry {
	es := make([]ledger.Entry, n)
	for i := range es {
		es[i] = entry(base + i)
	}
	return es
}

// checkGroup checks that receipts acknowledge es at consecutive indices, verify under the key
// history, and that the stored batches (storedBatches) hold es there, all in one batch.
func checkGroup(t *testing.T, st []ledger.Batch, keys ledger.Keys, es []ledger.Entry, receipts []ledger.Receipt) {
	t.Helper()
	if len(receipts) != len(es) {
		t.Fatalf("AppendAll gave %d receipts for %d entries", len(receipts), len(es))
	}
	first := receipts[0].Index
	for i, r := range receipts {
		data, err := ledger.FormatEntry(es[i])
		if err != nil {
			t.Fatal(err)
		}
		if r.Index != first+uint64(i) || r.LeafHash != ledger.LeafHash(data) {
			t.Errorf("receipt %d = index %d leaf %x, want index %d leaf %x", i, r.Index, r.LeafHash[:4], first+uint64(i), ledger.LeafHash(data))
		}
		if err := keys.CheckReceipt(r); err != nil {
			t.Errorf("CheckReceipt(receipt %d at %d) = %v", i, r.Index, err)
		}
	}
	b := batchHolding(t, st, first)
	last := first + uint64(len(es)) - 1
	if last >= b.End() {
		t.Errorf("the group at %d…%d is split: the batch at %d ends at %d", first, last, b.First, b.End())
		return
	}
	for i := range es {
		data, _ := ledger.FormatEntry(es[i])
		if got := b.Leaves[first-b.First+uint64(i)]; string(got) != string(data) {
			t.Errorf("stored entry %d is not the group's entry %d", first+uint64(i), i)
		}
	}
}

// storedBatches reads every stored batch, in order.
func storedBatches(t *testing.T, st ledger.BatchStorage) []ledger.Batch {
	t.Helper()
	var out []ledger.Batch
	for at := uint64(0); ; {
		b, err := st.ReadBatch(t.Context(), at)
		if errors.Is(err, ledger.ErrNotFound) {
			return out
		}
		if err != nil {
			t.Fatalf("ReadBatch(%d) = %v", at, err)
		}
		out = append(out, b)
		at = b.End()
	}
}

// batchHolding returns the batch of bs holding index.
func batchHolding(t *testing.T, bs []ledger.Batch, index uint64) ledger.Batch {
	t.Helper()
	i, _ := slices.BinarySearchFunc(bs, index, func(b ledger.Batch, x uint64) int { return cmp.Compare(b.End(), x+1) })
	if i == len(bs) || index < bs[i].First {
		t.Fatalf("no stored batch holds entry %d", index)
	}
	return bs[i]
}

// Groups appended while other appenders keep the sequencer busy get consecutive indices in one
// batch each, with receipts that verify; a batch limit smaller than the load never splits a group,
// and a group larger than a batch is refused whole.
func TestAppendAllUnderLoad(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBatch int
		size     int
	}{
		{"default batch", ledger.DefaultMaxBatch, 4},
		{"batch of 5, groups of 3", 5, 3},
		{"batch of 4, groups of 4", 4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := storetest.Embedded(t)
			s, v := keys(t)
			l := openLog(t, env, s, v, ledger.WithMaxBatch(tc.maxBatch))
			var stop atomic.Bool
			var wg sync.WaitGroup
			var singles atomic.Int64
			for g := range 8 {
				wg.Go(func() {
					for i := 0; !stop.Load(); i++ {
						if _, err := l.Append(t.Context(), entry(1_000_000+g*100_000+i)); err != nil {
							t.Errorf("Append = %v", err)
							return
						}
						singles.Add(1)
					}
				})
			}
			type result struct {
				es []ledger.Entry
				rs []ledger.Receipt
			}
			results := make(chan result, 1000)
			var groupers sync.WaitGroup
			for g := range 4 {
				groupers.Go(func() {
					for i := range 20 {
						es := group((g*100+i)*10, tc.size)
						rs, err := ledger.AppendAll(t.Context(), l, es)
						if err != nil {
							t.Errorf("AppendAll = %v", err)
							return
						}
						results <- result{es, rs}
					}
				})
			}
			groupers.Wait()
			stop.Store(true)
			wg.Wait()
			close(results)
			n := 0
			stored := storedBatches(t, env.Store)
			for res := range results {
				checkGroup(t, stored, l.Reader().Keys(), res.es, res.rs)
				n++
			}
			if n != 80 || singles.Load() == 0 {
				t.Fatalf("%d groups and %d single appends, want 80 and some", n, singles.Load())
			}
			if _, err := ledger.AppendAll(t.Context(), l, group(5_000_000, tc.maxBatch+1)); !errors.Is(err, ledger.ErrNotGrouped) {
				t.Errorf("AppendAll(%d entries, batch of %d) = %v, want ErrNotGrouped", tc.maxBatch+1, tc.maxBatch, err)
			}
			total := uint64(80*tc.size) + uint64(singles.Load())
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			if _, err := l.WaitCheckpoint(ctx, total); err != nil {
				t.Fatal(err)
			}
			if err := l.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			rep, err := ledger.Verify(t.Context(), env.Store, v)
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if rep.Entries != total {
				t.Errorf("the log holds %d entries, want %d (the refused group's none)", rep.Entries, total)
			}
		})
	}
}

// lateWriter stores a batch of its own at the index of the next batch written while armed, as a
// previous lease holder's write landing late would: the sequencer meets a duplicate index.
type lateWriter struct {
	ledger.Storage
	armed atomic.Bool
	late  []byte
}

func (s *lateWriter) AddBatch(ctx context.Context, b ledger.Batch) error {
	if s.armed.CompareAndSwap(true, false) {
		if err := s.Storage.AddBatch(ctx, ledger.Batch{First: b.First, Leaves: [][]byte{s.late}}); err != nil {
			return err
		}
	}
	return s.Storage.AddBatch(ctx, b)
}

// A group whose batch meets an index another writer took is written whole after what is stored
// (skipStored), not split around the late batch.
func TestAppendAllAfterADuplicateIndex(t *testing.T) {
	env := storetest.Embedded(t)
	late, err := ledger.FormatEntry(entry(999))
	if err != nil {
		t.Fatal(err)
	}
	st := &lateWriter{Storage: env.Store, late: late}
	s, v := keys(t)
	l, err := ledger.New(t.Context(), ledger.Config{Storage: st, Signer: s, Verifier: v}, ledger.WithIntegrationInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	appendN(t, l, 5)
	st.armed.Store(true)
	es := group(100, 3)
	rs, err := ledger.AppendAll(t.Context(), l, es)
	if err != nil {
		t.Fatalf("AppendAll meeting a late batch = %v", err)
	}
	if st.armed.Load() {
		t.Fatal("the late batch was never written: the test tests nothing")
	}
	if rs[0].Index != 6 {
		t.Errorf("the group starts at %d, want 6 (after the 5 appends and the late batch at 5)", rs[0].Index)
	}
	checkGroup(t, storedBatches(t, env.Store), l.Reader().Keys(), es, rs)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := l.WaitCheckpoint(ctx, 9); err != nil {
		t.Fatal(err)
	}
	l.Shutdown(t.Context())
	if rep, err := ledger.Verify(t.Context(), env.Store, v); err != nil || rep.Entries != 9 {
		t.Errorf("Verify = %+v, %v; want 9 entries", rep, err)
	}
}

// On an instance that does not hold the lease AppendAll fails with ErrNotGrouped and appends
// nothing; the caller's fallback, Append one by one through the holder, logs each entry once.
func TestAppendAllOnAFollower(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	a, b := leaderAndFollower(t, env, s, v, 2*time.Second)
	es := group(10, 3)
	if _, err := ledger.AppendAll(t.Context(), b, es); !errors.Is(err, ledger.ErrNotGrouped) {
		t.Fatalf("AppendAll on the follower = %v, want ErrNotGrouped", err)
	}
	var rs []ledger.Receipt
	for _, e := range es {
		r, err := b.Append(t.Context(), e)
		if err != nil {
			t.Fatalf("the fallback: Append on the follower = %v", err)
		}
		rs = append(rs, r)
	}
	// The holder groups as usual meanwhile.
	hs, err := ledger.AppendAll(t.Context(), a, group(20, 3))
	if err != nil {
		t.Fatalf("AppendAll on the holder = %v", err)
	}
	checkGroup(t, storedBatches(t, env.Store), a.Reader().Keys(), group(20, 3), hs)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := a.WaitCheckpoint(ctx, 6); err != nil {
		t.Fatal(err)
	}
	seen := map[[32]byte]int{}
	for at := uint64(0); at < 6; {
		batch, err := env.Store.ReadBatch(t.Context(), at)
		if err != nil {
			t.Fatal(err)
		}
		for _, leaf := range batch.Leaves {
			seen[ledger.LeafHash(leaf)]++
		}
		at = batch.End()
	}
	for i, r := range rs {
		if seen[r.LeafHash] != 1 {
			t.Errorf("the follower's entry %d is stored %d times, want once (the refused group stored nothing)", i, seen[r.LeafHash])
		}
		if err := ledger.CheckReceipt(v, r); err != nil {
			t.Errorf("CheckReceipt(follower's receipt %d) = %v", i, err)
		}
	}
	if len(seen) != 6 {
		t.Errorf("the log holds %d distinct entries, want 6", len(seen))
	}
}

// Groups appended while the log key is rotated are each signed by one key: none straddles the
// new era's start.
func TestAppendAllAcrossARotation(t *testing.T) {
	env := storetest.Embedded(t)
	s1, v1, vkey1 := ledgertest.NoteKey(t, "govhub.test/ledger")
	s2, v2, vkey2 := ledgertest.NoteKey(t, "govhub.test/ledger/2")
	first, err := ledger.NewKeys([]ledger.Era{{Key: vkey1}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s1, Verifier: v1, Keys: first},
		ledger.WithIntegrationInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	type result struct {
		es []ledger.Entry
		rs []ledger.Receipt
	}
	var (
		mu      sync.Mutex
		results []result
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for g := range 6 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				es := group((g*10_000+i)*10, 1+i%4)
				rs, err := ledger.AppendAll(t.Context(), l, es)
				if err != nil {
					t.Errorf("AppendAll during the rotation = %v", err)
					return
				}
				mu.Lock()
				results = append(results, result{es, rs})
				mu.Unlock()
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	_, era, err := l.RotateKey(t.Context(), ledgertest.LogKeyRotation(vkey2), s2, vkey2, func(ledger.Era) error { return nil })
	if err != nil {
		t.Fatalf("RotateKey = %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	var before, after int
	stored := storedBatches(t, env.Store)
	for _, res := range results {
		checkGroup(t, stored, l.Reader().Keys(), res.es, res.rs)
		firstIdx, lastIdx := res.rs[0].Index, res.rs[len(res.rs)-1].Index
		want := []note.Verifier{v1}
		switch {
		case lastIdx < era.Start:
			before++
		case firstIdx > era.Start: // era.Start is the link entry, alone in its batch
			after++
			want = []note.Verifier{v2}
		default:
			t.Errorf("a group at %d…%d straddles the era starting at %d", firstIdx, lastIdx, era.Start)
			continue
		}
		for _, r := range res.rs {
			if err := ledger.CheckReceipt(want[0], r); err != nil {
				t.Errorf("receipt %d of a group at %d…%d: %v", r.Index, firstIdx, lastIdx, err)
			}
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("%d groups before the rotation, %d after: the load did not span it", before, after)
	}
}
