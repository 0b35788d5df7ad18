package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/embedded"
)

// copyKeys copies the key files of one data directory into another (instances share their keys).
func copyKeys(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(to, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(from, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, "keys", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, "keys", e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// twoHubs starts a FerretDB and two hubs on it (reached with --mongo-uri, sharing keys), the first
// seeded with demo citizens.
func twoHubs(t *testing.T, citizens int) (h1, h2 *testHub) { return twoHubsCaching(t, citizens, 0) }

// twoHubsCaching is twoHubs with hubs whose --record-cache is cache.
func twoHubsCaching(t *testing.T, citizens, cache int) (h1, h2 *testHub) {
	return twoHubsWith(t, citizens, cache, false)
}

// twoHubsWith is twoHubsCaching whose second hub, with sharedKeys, has the first's key directory
// itself (a symbolic link) rather than a copy of its files.
func twoHubsWith(t *testing.T, citizens, cache int, sharedKeys bool) (h1, h2 *testHub) {
	srv, err := embedded.Start(t.Context(), embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) }) // after the hubs' cleanups: they close their connections
	h1 = &testHub{t: t, dir: t.TempDir(), gen: demo.NewGenerator(testSeed), recordCache: cache}
	h2 = &testHub{t: t, dir: t.TempDir(), gen: demo.NewGenerator(testSeed), recordCache: cache}
	cfg1, cfg2 := h1.config(), h2.config()
	cfg1.MongoURI, cfg2.MongoURI = srv.URI(), srv.URI()
	a1, err := openApp(t.Context(), cfg1)
	if err != nil {
		t.Fatal(err)
	}
	h1.app, h1.handler = a1, a1.handler()
	t.Cleanup(h1.close)
	// Against a FerretDB reached by URI the hub cannot add the _id index FerretDB needs (only the
	// launcher can, on its own files): this test's launcher does it for the hubs.
	if err := srv.IndexIDs(t.Context(), "govhub"); err != nil {
		t.Fatal(err)
	}
	if err := seedDemo(t.Context(), a1, citizens, testSeed); err != nil {
		t.Fatal(err)
	}
	if sharedKeys {
		if err := os.Symlink(filepath.Join(h1.dir, "keys"), filepath.Join(h2.dir, "keys")); err != nil {
			t.Fatal(err)
		}
	} else {
		copyKeys(t, h1.dir, h2.dir)
	}
	a2, err := openApp(t.Context(), cfg2)
	if err != nil {
		t.Fatal(err)
	}
	h2.app, h2.handler = a2, a2.handler()
	t.Cleanup(h2.close)
	return h1, h2
}

// Two hubs on one database (a FerretDB this test starts, reached with --mongo-uri): one sequences,
// the other forwards; both serve; every acknowledged access is in the ledger once; when the
// sequencing hub dies, the other takes over within seconds and the ledger verifies.
func TestTwoHubsOneDatabase(t *testing.T) {
	h1, h2 := twoHubs(t, 10)
	a1, a2 := h1.app, h2.app
	if !a1.log.Leading() || a2.log.Leading() {
		t.Fatalf("leading: hub 1 %v, hub 2 %v; want hub 1 only", a1.log.Leading(), a2.log.Leading())
	}

	c := h1.findCitizen(10, "identity")
	var mu sync.Mutex
	acked := map[uint64][]byte{}
	readThrough := func(h *testHub, n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID})
				ext, ok := res.Extensions["ledger"].(map[string]any)
				if !ok {
					t.Errorf("no receipt: %+v", res.Errors)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				i := uint64(ext["index"].(float64))
				if _, dup := acked[i]; dup {
					t.Errorf("index %d acknowledged twice", i)
				}
				acked[i] = []byte(ext["leafHash"].(string))
			}()
		}
		wg.Wait()
	}
	t0 := time.Now()
	readThrough(h1, 30)
	t.Logf("30 reads through hub 1 (leader): %s", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	readThrough(h2, 30)
	t.Logf("30 reads through hub 2 (forwarding): %s", time.Since(t0).Round(time.Millisecond))

	// Hub 1 dies without handing over (its background work stops; its lease runs out).
	a1.cancel()
	start := time.Now()
	readThrough(h2, 10)
	took := time.Since(start)
	if !a2.log.Leading() {
		t.Errorf("hub 2 does not lead after hub 1 died")
	}
	// Within a few seconds: the dead hub's lease runs out (ledger.DefaultLeaseTTL), then hub 2 takes it.
	if limit := 2 * ledger.DefaultLeaseTTL; took > limit {
		t.Errorf("hub 2 served its reads %s after hub 1 died, want within %s", took.Round(time.Millisecond), limit)
	}
	t.Logf("hub 2 served %d reads after taking over, %s after hub 1 died", 10, took.Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := a2.log.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}

	for i, lh := range acked {
		raw, err := a2.log.Reader().Entry(t.Context(), i)
		if err != nil {
			t.Fatalf("acknowledged entry %d: %v", i, err)
		}
		if got := ledger.LeafHash(raw); string(lh) != b64(got[:]) {
			t.Errorf("entry %d is not the acknowledged one", i)
		}
	}
	if _, err := ledger.Verify(t.Context(), a2.storage.ledgerStore, a2.log.Reader().Keys().Current()); err != nil {
		t.Errorf("Verify after the takeover = %v", err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// A policy change approved on one hub is in force on the other within 2 s, without a restart.
func TestPolicyReloadAcrossHubs(t *testing.T) {
	h1, h2 := twoHubs(t, 4)
	c := h1.findCitizen(4, "identity")
	change := map[string]any{"addRules": []any{rule("clerk", "housing", "identity.birthDate", "commit", "home-purchase-eligibility", "allow")}}
	res := h1.query(h1.token(officer1), propose, map[string]any{"change": change, "reason": "age check"})
	if len(res.Errors) > 0 {
		t.Fatalf("propose: %+v", res.Errors)
	}
	id := get(res.Data, "proposePolicyChange", "id")
	approved := time.Now()
	if r := h1.query(h1.token(officer2), approve, map[string]any{"id": id}); len(r.Errors) > 0 {
		t.Fatalf("approve: %+v", r.Errors)
	}
	deadline := approved.Add(2 * time.Second)
	for h2.app.reader.Policy().Version() != 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(approved)
	if v := h2.app.reader.Policy().Version(); v != 2 {
		t.Fatalf("hub 2 still decides under policy %d 2 s after the approval on hub 1", v)
	}
	t.Logf("hub 2 applied the approval made on hub 1 after %s", took.Round(time.Millisecond))
	after := h2.query(h2.token(housingClerk), birthDateQuery, map[string]any{"id": c.ID})
	if len(after.Errors) > 0 || get(after.Data, "citizen", "identity", "birthDate", "commitment") == nil {
		t.Errorf("on hub 2 after the reload: %v %+v", after.Data, after.Errors)
	}
}

// The record cache never serves a record older than an update acknowledged by another hub on the
// same database: hub 2 reads (and caches) a citizen's tax record, hub 1 updates it, and hub 2's
// next read shows the new value, round after round; hub 2's reads in between do come from its cache.
func TestRecordCacheAcrossHubs(t *testing.T) {
	h1, h2 := twoHubsCaching(t, 10, 100)
	c := h1.findCitizen(10, "tax")
	income := func(h *testHub) any {
		t.Helper()
		res := h.query(h.token(taxClerk), taxQuery, map[string]any{"id": c.ID})
		if len(res.Errors) > 0 {
			t.Fatalf("tax read: %+v", res.Errors)
		}
		return get(res.Data, "citizen", "tax", "annualIncome", "value")
	}
	income(h2) // cached on hub 2
	for round := range 5 {
		hits := h2.app.integrity.CacheHits()
		if got, want := income(h2), income(h2); got != want {
			t.Fatalf("round %d: two reads on hub 2 differ: %v, %v", round, got, want)
		}
		if h2.app.integrity.CacheHits() <= hits {
			t.Fatalf("round %d: hub 2's reads of an unchanged citizen did not use its record cache", round)
		}
		value := 300000 + round
		if res := h1.query(h1.token(taxClerk), updateTax, map[string]any{"id": c.ID, "income": value}); len(res.Errors) > 0 {
			t.Fatalf("round %d: update on hub 1: %+v", round, res.Errors)
		}
		if got := income(h2); got != float64(value) {
			t.Fatalf("round %d: hub 2 read annualIncome %v after hub 1 acknowledged %d", round, got, value)
		}
	}
}
