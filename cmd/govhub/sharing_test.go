package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/store/embedded"
	"github.com/govhub/govhub/store/mongostore"
	"github.com/govhub/govhub/store/storetest"
)

// syncBuffer is a log destination safe for the hub's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A hub reaching a FerretDB by --mongo-uri warns at start-up when another instance holds the
// ledger lease there, and only then.
func TestWarnSharedFerretDB(t *testing.T) {
	srv, err := embedded.Start(t.Context(), embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	var logs syncBuffer
	cfg := config{DataDir: t.TempDir(), MongoURI: srv.URI(), MongoDB: "govhub", Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	st, err := openStorage(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.close(context.Background()) })
	const warning = "another hub instance shares this FerretDB"

	warnSharedFerretDB(t.Context(), cfg, st)
	if strings.Contains(logs.String(), warning) {
		t.Errorf("no lease held, yet the hub warned:\n%s", logs.String())
	}
	if err := st.ledgerStore.AddLease(t.Context(), 1, "old-hub", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	warnSharedFerretDB(t.Context(), cfg, st)
	if strings.Contains(logs.String(), warning) {
		t.Errorf("only an expired lease, yet the hub warned:\n%s", logs.String())
	}
	if err := st.ledgerStore.AddLease(t.Context(), 2, "other-hub", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	warnSharedFerretDB(t.Context(), cfg, st)
	if got := logs.String(); !strings.Contains(got, warning) || !strings.Contains(got, "lease_holder=other-hub") || !strings.Contains(got, "level=WARN") {
		t.Errorf("another instance's live lease: logs =\n%s\nwant a warning naming other-hub", got)
	}
}

// The hub over --mongo-uri, against the server at $GOVHUB_TEST_MONGO_URI (in CI, FerretDB on
// PostgreSQL in other processes): it starts, serves a logged read, and a second hub on the same
// database warns at start-up if the server is a FerretDB.
func TestHubOverMongoURI(t *testing.T) {
	uri := storetest.MongoURI(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := "govhub_test_hub_" + hex.EncodeToString(b[:])
	// Drop the database last, after both hubs closed, through a client of the test's own.
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.Database(db).Drop(context.Background())
		_ = client.Disconnect(context.Background())
	})
	var logs1, logs2 syncBuffer
	h1 := &testHub{t: t, dir: t.TempDir(), gen: demo.NewGenerator(testSeed)}
	cfg1 := h1.config()
	cfg1.MongoURI, cfg1.MongoDB, cfg1.Logger = uri, db, slog.New(slog.NewTextHandler(&logs1, nil))
	a1, err := openApp(t.Context(), cfg1)
	if err != nil {
		t.Fatalf("openApp(--mongo-uri %s) = %v", uri, err)
	}
	h1.app, h1.handler = a1, a1.handler()
	t.Cleanup(h1.close)
	if err := seedDemo(t.Context(), a1, 3, testSeed); err != nil {
		t.Fatalf("seedDemo = %v", err)
	}
	c := h1.findCitizen(3, "identity")
	res := h1.query(h1.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID})
	if _, ok := res.Extensions["ledger"].(map[string]any); !ok {
		t.Fatalf("a read through the hub over --mongo-uri: no ledger receipt; errors %+v", res.Errors)
	}
	if strings.Contains(logs1.String(), "shares this FerretDB") {
		t.Errorf("the only hub warned of another:\n%s", logs1.String())
	}

	h2 := &testHub{t: t, dir: t.TempDir(), gen: demo.NewGenerator(testSeed)}
	copyKeys(t, h1.dir, h2.dir)
	cfg2 := h2.config()
	cfg2.MongoURI, cfg2.MongoDB, cfg2.Logger = uri, db, slog.New(slog.NewTextHandler(&logs2, nil))
	a2, err := openApp(t.Context(), cfg2)
	if err != nil {
		t.Fatalf("openApp (second hub) = %v", err)
	}
	h2.app, h2.handler = a2, a2.handler()
	t.Cleanup(h2.close)
	ferret, err := mongostore.ServedByFerretDB(t.Context(), client.Database(db))
	if err != nil {
		t.Fatal(err)
	}
	if warned := strings.Contains(logs2.String(), "another hub instance shares this FerretDB"); warned != ferret {
		t.Errorf("second hub on one database (FerretDB: %v): warned %v; logs:\n%s", ferret, warned, logs2.String())
	}
}
