package ledger_test

import (
	"context"
	"fmt"
	"golang.org/x/mod/sumdb/note"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/mongostore"
	"github.com/govhub/govhub/store/storetest"
)

// secondStore opens another client and store on the same database, as a second instance would.
func secondStore(t *testing.T, env *storetest.Env) *mongostore.Store {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(env.Server.URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Disconnect(context.Background()) })
	s, err := mongostore.New(t.Context(), client.Database(env.DB.Name()), mongostore.WithEmbedded(env.Server))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// leaderAndFollower opens two instances on env's database with a lease of leaseTTL: a, started
// first, sequences; b, on a second store handle, forwards. a also takes aOpts. Both shut down when
// the test ends.
func leaderAndFollower(t *testing.T, env *storetest.Env, s note.Signer, v note.Verifier, leaseTTL time.Duration, aOpts ...ledger.Option) (a, b *ledger.Log) {
	t.Helper()
	opts := []ledger.Option{ledger.WithLeaseTTL(leaseTTL), ledger.WithIntegrationInterval(5 * time.Millisecond)}
	a, err := ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s, Verifier: v}, append(append(opts, ledger.WithInstance("a")), aOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	b, err = ledger.New(t.Context(), ledger.Config{Storage: secondStore(t, env), Signer: s, Verifier: v}, append(opts, ledger.WithInstance("b"))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	if !a.Leading() || b.Leading() {
		t.Fatalf("leading: a %v, b %v; want a only", a.Leading(), b.Leading())
	}
	return a, b
}

// Two instances on one database: one sequences at a time, the other forwards; every append lands
// exactly once; when the holder dies the other takes over within a few seconds.
func TestTwoInstances(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	aCtx, killA := context.WithCancel(t.Context())
	defer killA()
	opts := []ledger.Option{ledger.WithLeaseTTL(time.Second), ledger.WithIntegrationInterval(5 * time.Millisecond)}
	a, err := ledger.New(aCtx, ledger.Config{Storage: env.Store, Signer: s, Verifier: v}, append(opts, ledger.WithInstance("a"))...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ledger.New(t.Context(), ledger.Config{Storage: secondStore(t, env), Signer: s, Verifier: v}, append(opts, ledger.WithInstance("b"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown(context.Background())
	if !a.Leading() || b.Leading() {
		t.Fatalf("leading: a %v, b %v; want a only (it started first)", a.Leading(), b.Leading())
	}

	var mu sync.Mutex
	indexes := map[uint64]string{}
	appendBoth := func(n int) {
		var wg sync.WaitGroup
		for i := range n {
			for name, l := range map[string]*ledger.Log{"a": a, "b": b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e := entry(i) // the two instances append different entries
					if name == "b" {
						e = entry(100_000 + i)
					}
					r, err := l.Append(t.Context(), e)
					if err != nil {
						t.Errorf("%s.Append = %v", name, err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if prev, dup := indexes[r.Index]; dup {
						t.Errorf("index %d given to %s and %s", r.Index, prev, name)
					}
					indexes[r.Index] = name
				}()
			}
		}
		wg.Wait()
	}
	appendBoth(100)
	if len(indexes) != 200 {
		t.Fatalf("%d distinct indexes for 200 appends", len(indexes))
	}

	// a dies without handing over: b takes over once the lease expires.
	killA()
	start := time.Now()
	r, err := b.Append(t.Context(), entry(7777))
	if err != nil {
		t.Fatalf("b.Append after a died = %v", err)
	}
	// a is gone, so b sequenced it: b took the lease. (Whether b still leads at this instant
	// depends on the machine's load against a 1 s lease, so it is not asserted.)
	took := time.Since(start)
	if took > 5*time.Second {
		t.Errorf("b's append was sequenced %s after a died, want within 5 s", took)
	}
	t.Logf("takeover: b's append was sequenced %s after a died (lease TTL 1s)", took.Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := b.WaitCheckpoint(ctx, r.Index+1); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, err := ledger.Verify(t.Context(), env.Store, v)
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	// Exactly once: the log holds exactly the acknowledged appends (plus b's last one).
	if rep.Entries != 201 {
		t.Errorf("the log holds %d entries, want 201", rep.Entries)
	}
	seen := map[[32]byte]int{}
	for i := uint64(0); i < rep.Entries; {
		batch, err := env.Store.ReadBatch(t.Context(), i)
		if err != nil {
			t.Fatal(err)
		}
		for _, leaf := range batch.Leaves {
			seen[ledger.LeafHash(leaf)]++
		}
		i = batch.End()
	}
	for h, n := range seen {
		if n != 1 {
			t.Errorf("leaf %x appears %d times", h[:4], n)
		}
	}
}

// An instance that starts after the lease has been renewed many times (old terms deleted) finds
// the current holder's term: it does not take a term the holder's housekeeping deleted.
func TestLateInstanceFindsTheHolder(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	a := openLog(t, env, s, v, ledger.WithInstance("a"), ledger.WithLeaseTTL(500*time.Millisecond))
	leases := env.DB.Collection("ledger_state")
	term1 := bson.D{{Key: "_id", Value: fmt.Sprintf("lease/%020d", 1)}}
	// Renewals every TTL/5: wait until term 1 is deleted (8 terms are kept).
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := leases.CountDocuments(t.Context(), term1)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("term 1 still stored after 10 s of renewals")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b := openLog(t, env, s, v, ledger.WithInstance("b"), ledger.WithLeaseTTL(500*time.Millisecond))
	// Whoever leads now (under load a may have lost its lease), nobody may have taken term 1 again:
	// b, walking the chain from term 0, used to find term 1 gone, take it, and lead next to a.
	if n, err := leases.CountDocuments(t.Context(), term1); err != nil || n != 0 {
		t.Errorf("term 1 stored again (%d, %v) after the chain had moved past it; a leading %v, b leading %v",
			n, err, a.Leading(), b.Leading())
	}
	term, holder, _, err := env.Store.LatestLease(t.Context())
	if err != nil || term < 9 {
		t.Errorf("LatestLease = term %d (holder %q), %v; want a term past the deleted ones", term, holder, err)
	}
}

// A queued entry that a previous holder already sequenced (its write landed, its dequeue did not)
// is dropped from the queue by the next holder, not sequenced a second time.
func TestQueuedEntryAlreadyStored(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	data, err := ledger.FormatEntry(entry(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.AddBatch(t.Context(), ledger.Batch{First: 0, Leaves: [][]byte{data}}); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Enqueue(t.Context(), ledger.Queued{ID: "q1", Leaf: data, After: 0}); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, env, s, v)
	deadline := time.Now().Add(10 * time.Second)
	for {
		qs, err := env.Store.Queued(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue still holds %d entries after 10 s", len(qs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := l.Append(t.Context(), entry(2)); err != nil { // a batch after the queue was handled
		t.Fatal(err)
	}
	if err := l.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, err := ledger.Verify(t.Context(), env.Store, v)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != 2 {
		t.Errorf("the log holds %d entries, want 2 (the stored one once, and the new append)", rep.Entries)
	}
}
