package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/store"
)

// testHeadAndRecords: a citizen's head and records are read at once, and written apart, each with
// its own compare-and-swap, neither disturbing the other.
func testHeadAndRecords(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	if _, had, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"tax"}); err != nil || had || len(recs) != 0 {
		t.Fatalf("HeadAndRecords(nobody) = %v, %v, %v; want no head, no records", had, recs, err)
	}
	// Records first, the head after (as an import writes them), then the other way round.
	tax := sampleRecord("C000001", "tax", 7)
	if err := s.CreateRecord(ctx, tax); err != nil {
		t.Fatal(err)
	}
	if _, had, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"tax", "identity"}); err != nil || had || !reflect.DeepEqual(recs, map[string]store.Record{"tax": tax}) {
		t.Fatalf("HeadAndRecords(records, no head) = %v, %v, %v", had, recs, err)
	}
	if _, err := s.RecordHead(ctx, "C000001"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordHead(records, no head) = %v, want ErrNotFound", err)
	}
	h := store.Head{Citizen: "C000001", Head: 7, Versions: map[string]uint64{"tax": 7}, MAC: []byte("mac7")}
	if err := s.PutRecordHead(ctx, h, 0, false); err != nil {
		t.Fatalf("PutRecordHead(create beside records) = %v", err)
	}
	if err := s.PutRecordHead(ctx, h, 0, false); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutRecordHead(create again) = %v, want ErrConflict", err)
	}
	h9 := store.Head{Citizen: "C000001", Head: 9, Versions: map[string]uint64{"tax": 9, "identity": 8}, MAC: []byte("mac9")}
	if err := s.PutRecordHead(ctx, h9, 6, true); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutRecordHead(base 6, stored 7) = %v, want ErrConflict", err)
	}
	if err := s.PutRecordHead(ctx, h9, 7, true); err != nil {
		t.Fatalf("PutRecordHead(base 7) = %v", err)
	}
	tax9 := sampleRecord("C000001", "tax", 9)
	if err := s.ReplaceRecord(ctx, tax9, 8); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReplaceRecord(base 8, stored 7) = %v, want ErrConflict", err)
	}
	if err := s.ReplaceRecord(ctx, tax9, 7); err != nil {
		t.Fatalf("ReplaceRecord(base 7) = %v", err)
	}
	id := sampleRecord("C000001", "identity", 8)
	if err := s.CreateRecord(ctx, id); err != nil {
		t.Fatal(err)
	}
	head, had, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"tax", "identity", "health"})
	if err != nil || !had || !reflect.DeepEqual(head, h9) || !reflect.DeepEqual(recs, map[string]store.Record{"tax": tax9, "identity": id}) {
		t.Errorf("HeadAndRecords = %+v, %v, %v, %v; want head 9, tax@9 and identity@8", head, had, recs, err)
	}
	// A head created for a citizen with no document, then records beside it.
	h2 := store.Head{Citizen: "C000002", Head: 3, Versions: map[string]uint64{"tax": 3}, MAC: []byte("m")}
	if err := s.PutRecordHead(ctx, h2, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRecord(ctx, sampleRecord("C000002", "tax", 3)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RecordHead(ctx, "C000002"); err != nil || !reflect.DeepEqual(got, h2) {
		t.Errorf("RecordHead after a record write = %+v, %v; want %+v", got, err, h2)
	}
	var heads []string
	if err := s.EachRecordHead(ctx, func(h store.Head) error { heads = append(heads, fmt.Sprint(h.Citizen, "@", h.Head)); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(heads)
	if want := []string{"C000001@9", "C000002@3"}; !reflect.DeepEqual(heads, want) {
		t.Errorf("EachRecordHead = %v, want %v", heads, want)
	}
	// Racing writers of one citizen's head and of their records: every head CAS from one base
	// admits one writer, and the records are untouched by head writes.
	var won atomic.Int32
	done := make(chan error, 8)
	for i := range 8 {
		go func() {
			next := store.Head{Citizen: "C000001", Head: uint64(100 + i), Versions: map[string]uint64{"tax": 9}, MAC: []byte("x")}
			err := s.PutRecordHead(ctx, next, 9, true)
			if err == nil {
				won.Add(1)
			} else if !errors.Is(err, store.ErrConflict) {
				done <- err
				return
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := won.Load(); n != 1 {
		env.SkipNonAtomicCAS(t, fmt.Sprintf("%d racing head writers from one base succeeded", n))
		t.Errorf("%d racing head writers from one base succeeded, want 1", n)
	}
	if got, err := s.Record(ctx, "C000001", "tax"); err != nil || !reflect.DeepEqual(got, tax9) {
		t.Errorf("Record after head writes = %v, %v; want tax@9", got, err)
	}
	// Erasure: the head, then the records; nothing is left.
	if err := s.DeleteRecordHead(ctx, "C000002"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRecords(ctx, "C000001", []string{"tax", "identity", "health"}); err != nil {
		t.Fatal(err)
	}
	if _, _, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"tax", "identity"}); err != nil || len(recs) != 0 {
		t.Errorf("HeadAndRecords after DeleteRecords = %v, %v; want none", recs, err)
	}
	if _, _, recs, err := s.HeadAndRecords(ctx, "C000002", []string{"tax"}); err != nil || len(recs) != 0 {
		t.Errorf("HeadAndRecords after DeleteRecordHead = %v, %v; want none", recs, err)
	}
}

// testOldLayout: a store written before citizens' documents held their records (records in the
// records collection, one document per citizen and dataset; heads alone in record_heads) opens at
// once, serves every record, takes updates (moving the citizen), and MoveRecords moves the rest.
func testOldLayout(t *testing.T, env *Env) {
	ctx := t.Context()
	// Build the old layout: write records with this store, then put each where the old code kept it.
	var want []store.Record
	for i := 1; i <= 5; i++ {
		c := fmt.Sprintf("C%06d", i)
		h := store.Head{Citizen: c, Versions: map[string]uint64{}, MAC: []byte("mac")}
		for j, ds := range []string{"identity", "tax", "health"}[:1+i%3] {
			r := sampleRecord(c, ds, uint64(10*i+j))
			r.Items[0].Plain = map[string]any{"hukouCity": []string{"杭州市", "福州市"}[i%2]}
			want = append(want, r)
			h.Versions[ds], h.Head = r.Version, r.Version
		}
		if i != 5 { // C000005: records without a head (an import interrupted between the two)
			if err := env.Store.PutRecordHead(ctx, h, 0, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := env.Store.InsertRecords(ctx, want); err != nil {
		t.Fatal(err)
	}
	heads, records := env.DB.Collection("record_heads"), env.DB.Collection("records")
	cur, err := heads.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		for _, r := range d["records"].(bson.D) {
			if _, err := records.InsertOne(ctx, bson.Raw(r.Value.(bson.Binary).Data)); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok := d["head"]; !ok {
			_, err = heads.DeleteOne(ctx, bson.D{{Key: "_id", Value: d["_id"]}})
		} else {
			_, err = heads.UpdateOne(ctx, bson.D{{Key: "_id", Value: d["_id"]}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "records", Value: ""}, {Key: "rv", Value: ""}, {Key: "r", Value: ""}}}})
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	s := env.second(t) // opened on the old layout
	all := []string{"identity", "tax", "health"}
	read := func(when string) {
		t.Helper()
		for _, r := range want {
			got, err := s.Record(ctx, r.Citizen, r.Dataset)
			if err != nil || !reflect.DeepEqual(got, r) {
				t.Errorf("%s: Record(%s, %s) = %v, %v; want version %d", when, r.Citizen, r.Dataset, got.Version, err, r.Version)
			}
		}
		_, had, recs, err := s.HeadAndRecords(ctx, "C000002", all)
		if err != nil || !had || len(recs) != 3 {
			t.Errorf("%s: HeadAndRecords(C000002) = %v, %d records, %v; want a head and 3 records", when, had, len(recs), err)
		}
		var n atomic.Int32
		if err := s.EachRecordConcurrently(ctx, 3, func(int, store.Record) error { n.Add(1); return nil }); err != nil || int(n.Load()) != len(want) {
			t.Errorf("%s: EachRecordConcurrently saw %d records, %v; want %d", when, n.Load(), err, len(want))
		}
		page, err := s.ListCitizens(ctx, "", 10, &store.ListFilter{Dataset: "identity", Field: "hukouCity", Value: "福州市"})
		if want := []string{"C000001", "C000003", "C000005"}; err != nil || !reflect.DeepEqual(page, want) {
			t.Errorf("%s: ListCitizens(hukouCity = 福州市) = %v, %v; want %v", when, page, err, want)
		}
		if has, err := s.HasRecords(ctx); err != nil || !has {
			t.Errorf("%s: HasRecords = %v, %v", when, has, err)
		}
	}
	read("old layout")

	// An update of C000002 moves their records; its compare-and-swap holds.
	at := func(c, ds string) int {
		return slices.IndexFunc(want, func(r store.Record) bool { return r.Citizen == c && r.Dataset == ds })
	}
	tax := want[at("C000002", "tax")]
	next := tax
	next.Version = 99
	if err := s.ReplaceRecord(ctx, next, tax.Version+1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReplaceRecord(old layout, wrong base) = %v, want ErrConflict", err)
	}
	if err := s.CreateRecord(ctx, next); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateRecord(old layout, existing) = %v, want ErrConflict", err)
	}
	if err := s.ReplaceRecord(ctx, next, tax.Version); err != nil {
		t.Fatalf("ReplaceRecord(old layout) = %v", err)
	}
	want[at("C000002", "tax")] = next
	c3 := at("C000003", "identity")
	if err := s.SetRecordMAC(ctx, "C000003", "identity", want[c3].Version, []byte("new mac")); err != nil {
		t.Fatalf("SetRecordMAC(old layout) = %v", err)
	}
	want[c3].MAC = []byte("new mac")
	read("some citizens moved")

	n, err := s.MoveRecords(ctx, nil)
	if err != nil || n != 3 { // C000001, C000004, C000005 (C000002 and C000003 moved on write)
		t.Errorf("MoveRecords = %d, %v; want 3 citizens", n, err)
	}
	read("all moved")
	if left, err := records.CountDocuments(ctx, bson.D{}); err != nil || left != 0 {
		t.Errorf("records collection after MoveRecords: %d documents, %v; want none", left, err)
	}
	if n, err := s.MoveRecords(ctx, nil); err != nil || n != 0 {
		t.Errorf("MoveRecords again = %d, %v; want 0", n, err)
	}
	s = env.second(t) // reopened after the move
	read("reopened")
}
