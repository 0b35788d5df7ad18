package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/store/storetest"
)

// A data directory written before citizens' documents held their records (records in the records
// collection, one document per citizen and dataset; record_heads with heads alone) opens, serves
// every record as before, takes updates, moves the records in the background, and passes
// `govhub ledger verify`'s audit.
func TestOldRecordLayoutMoved(t *testing.T) {
	const n = 12
	h := startHub(t, n)
	ids := h.citizensWith(n, "identity", "tax")
	before := map[string][]byte{}
	for _, id := range ids {
		before[id] = mustJSON(t, h.checkServed(identityTaxQuery, id).Data)
	}
	h.close()

	// Back to the old layout.
	ctx := t.Context()
	st, err := openStorage(ctx, h.config())
	if err != nil {
		t.Fatal(err)
	}
	db := st.client.Database("govhub")
	if err := storetest.UnpackCitizens(ctx, db); err != nil {
		t.Fatal(err)
	}
	cur, err := db.Collection("record_heads").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.D
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	old := 0
	for _, d := range docs {
		for _, e := range d {
			if e.Key != "records" {
				continue
			}
			for _, r := range e.Value.(bson.D) {
				if _, err := db.Collection("records").InsertOne(ctx, bson.Raw(r.Value.(bson.Binary).Data)); err != nil {
					t.Fatal(err)
				}
				old++
			}
		}
		if _, err := db.Collection("record_heads").UpdateOne(ctx, bson.D{{Key: "_id", Value: d[0].Value}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: "records", Value: ""}, {Key: "rv", Value: ""}, {Key: "r", Value: ""}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if old == 0 {
		t.Fatal("no record to put back in the old layout")
	}
	st.close(ctx)

	h.open()
	for _, id := range ids {
		if got := mustJSON(t, h.checkServed(identityTaxQuery, id).Data); !bytes.Equal(got, before[id]) {
			t.Errorf("reading %s from the old layout = %s, want %s", id, got, before[id])
		}
	}
	if res := h.query(h.token(taxClerk), updateTax, map[string]any{"id": ids[0], "income": 424242}); len(res.Errors) > 0 {
		t.Fatalf("updateTax on the old layout = %+v", res.Errors)
	}
	// The background move empties the records collection.
	records := h.collection("records")
	for deadline := time.Now().Add(30 * time.Second); ; {
		left, err := records.CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records still in the records collection after 30 s", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range ids[1:] {
		if got := mustJSON(t, h.checkServed(identityTaxQuery, id).Data); !bytes.Equal(got, before[id]) {
			t.Errorf("reading %s after the move = %s, want %s", id, got, before[id])
		}
	}
	h.close()
	if out, err := runVerify(t, h.dir); err != nil {
		t.Fatalf("ledger verify after the move = %v\n%s", err, out)
	}
}

// A hub on the embedded store loads the citizen ids for list pages at start-up, so that the first
// list page does not wait for their scan.
func TestCitizenIndexWarmedAtStart(t *testing.T) {
	h := &testHub{t: t, dir: t.TempDir()}
	var logs syncBuffer
	cfg := h.config()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close(context.Background())
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "loaded the citizen ids for list pages"); {
		if time.Now().After(deadline) {
			t.Fatalf("no list page asked, and the citizen ids were not loaded within 30 s:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
