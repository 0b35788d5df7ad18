package mongostore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/govhub/govhub/store"
)

// An update's write of a citizen's document uses what HeadAndRecords read just before (one find of
// the document, not two), and only while no write of the document, through any store on the
// server, may have changed it since: a write through another store in between is seen, and the
// update is refused as a conflict rather than written over it.
func TestMarksSaveAReadAndSeeOtherWrites(t *testing.T) {
	finds, monitor := recordHeadFinds() // through a
	s, srv := newEmbeddedStore(t)
	a := storeOn(t, srv, monitor)
	ctx := t.Context()
	rec := func(v uint64) store.Record {
		return store.Record{Citizen: "C000001", Dataset: "tax", Version: v, Salt: make([]byte, 32),
			Updated: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), Items: []store.Item{{Plain: map[string]any{"taxPaid": int64(v)}}}}
	}
	head := func(n uint64) store.Head {
		return store.Head{Citizen: "C000001", Head: n, Versions: map[string]uint64{"tax": n}, MAC: []byte("mac")}
	}
	if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: head(1), Record: rec(1)}); err != nil {
		t.Fatal(err)
	}
	// An update through a: read, then write over what it read.
	update := func(from, to uint64) error {
		t.Helper()
		h, had, recs, err := a.HeadAndRecords(ctx, "C000001", []string{"tax"})
		if err != nil || !had || h.Head != from || recs["tax"].Version != from {
			t.Fatalf("HeadAndRecords = %+v, %v, %v, %v; want head and record at %d", h, had, recs, err, from)
		}
		return a.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: head(to), HeadBase: from, HadHead: true, Record: rec(to), Base: from, HadBase: true})
	}

	before := finds.Load()
	if err := update(1, 2); err != nil {
		t.Fatalf("update 1 → 2 = %v", err)
	}
	if n := finds.Load() - before; n != 1 {
		t.Errorf("an update read the citizen's document %d times, want once", n)
	}

	// Another store on the server moves the document between a's read and a's write.
	h, _, _, err := a.HeadAndRecords(ctx, "C000001", []string{"tax"})
	if err != nil || h.Head != 2 {
		t.Fatalf("HeadAndRecords = %+v, %v", h, err)
	}
	if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: head(3), HeadBase: 2, HadHead: true, Record: rec(3), Base: 2, HadBase: true}); err != nil {
		t.Fatal(err)
	}
	err = a.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: head(4), HeadBase: 2, HadHead: true, Record: rec(4), Base: 2, HadBase: true})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("a's write built on head 2 after another store wrote head 3 = %v, want ErrConflict", err)
	}
	if h, _, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"tax"}); err != nil || h.Head != 3 || recs["tax"].Version != 3 {
		t.Errorf("after the refused write: head %d, tax record %d, %v; want both at 3", h.Head, recs["tax"].Version, err)
	}

	// A write of many documents at once (here a deletion by a filter the store cannot name one
	// document by) also counts.
	if _, _, _, err := a.HeadAndRecords(ctx, "C000001", []string{"tax"}); err != nil {
		t.Fatal(err)
	}
	d, _, err := s.citizen(ctx, "C000001")
	if err != nil {
		t.Fatal(err)
	}
	d.setHead(head(5))
	p, err := bson.Marshal(d.citizenBody)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.recordHeads.UpdateMany(ctx, bson.D{{Key: "n", Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "p", Value: bson.Binary{Data: p}}}}}); err != nil {
		t.Fatal(err)
	}
	err = a.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: head(4), HeadBase: 3, HadHead: true, Record: rec(4), Base: 3, HadBase: true})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("a's write built on head 3 after a write of many moved it to 5 = %v, want ErrConflict", err)
	}
}

// recordHeadFinds returns a monitor for a client, and the count of the finds of record_heads it
// saw.
func recordHeadFinds() (*atomic.Int64, *event.CommandMonitor) {
	var finds atomic.Int64
	return &finds, &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if coll, _ := e.Command.Lookup(e.CommandName).StringValueOK(); e.CommandName == "find" && coll == collRecordHeads {
			finds.Add(1)
		}
	}}
}
