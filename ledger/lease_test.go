package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

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
	took := time.Since(start)
	if !b.Leading() || took > 5*time.Second {
		t.Errorf("b leading %v after %s", b.Leading(), took)
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
