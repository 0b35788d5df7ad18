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
	oneWins(t, env, "head writers", func(i int) error {
		next := store.Head{Citizen: "C000001", Head: uint64(100 + i), Versions: map[string]uint64{"tax": 9}, MAC: []byte("x")}
		return s.PutRecordHead(ctx, next, 9, true)
	})
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

// testHeadWithRecord: PutHeadAndRecord writes an update's head and record together, each only
// over what the update found (no head or no record, or the stored one it built on); when either
// has moved it writes neither, and racing writers from one base admit one.
func testHeadWithRecord(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	head := func(n uint64, versions map[string]uint64) store.Head {
		return store.Head{Citizen: "C000001", Head: n, Versions: versions, MAC: []byte(fmt.Sprint("mac", n))}
	}
	check := func(what string, wantHead store.Head, want map[string]store.Record) {
		t.Helper()
		got, had, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"tax", "identity"})
		if err != nil || !had || !reflect.DeepEqual(got, wantHead) || !reflect.DeepEqual(recs, want) {
			t.Errorf("%s: HeadAndRecords = %+v, %v, %v, %v; want %+v and %v", what, got, had, recs, err, wantHead, want)
		}
	}
	// A citizen with no document: head and first record created together.
	id5, h5 := sampleRecord("C000001", "identity", 5), head(5, map[string]uint64{"identity": 5})
	if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: h5, Record: id5}); err != nil {
		t.Fatalf("PutHeadAndRecord(nothing stored) = %v", err)
	}
	check("created", h5, map[string]store.Record{"identity": id5})
	if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: h5, Record: id5}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutHeadAndRecord(create again) = %v, want ErrConflict", err)
	}
	// A first record in another dataset, over the head.
	tax7, h7 := sampleRecord("C000001", "tax", 7), head(7, map[string]uint64{"identity": 5, "tax": 7})
	conflicts := []struct {
		what string
		w    store.HeadAndRecord
	}{
		{"head base 4, stored 5", store.HeadAndRecord{Head: h7, HeadBase: 4, HadHead: true, Record: tax7}},
		{"no head, one stored", store.HeadAndRecord{Head: h7, Record: tax7}},
		{"tax record base 3, none stored", store.HeadAndRecord{Head: h7, HeadBase: 5, HadHead: true, Record: tax7, Base: 3, HadBase: true}},
	}
	for _, c := range conflicts {
		if err := s.PutHeadAndRecord(ctx, c.w); !errors.Is(err, store.ErrConflict) {
			t.Errorf("PutHeadAndRecord(%s) = %v, want ErrConflict", c.what, err)
		}
		check("after "+c.what, h5, map[string]store.Record{"identity": id5})
	}
	if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: h7, HeadBase: 5, HadHead: true, Record: tax7}); err != nil {
		t.Fatalf("PutHeadAndRecord(first tax record) = %v", err)
	}
	check("first tax record", h7, map[string]store.Record{"identity": id5, "tax": tax7})
	// The record replaced: a wrong record base writes nothing, not even the head.
	tax9, h9 := sampleRecord("C000001", "tax", 9), head(9, map[string]uint64{"identity": 5, "tax": 9})
	if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: h9, HeadBase: 7, HadHead: true, Record: tax9, Base: 6, HadBase: true}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutHeadAndRecord(record base 6, stored 7) = %v, want ErrConflict", err)
	}
	if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: h9, HeadBase: 7, HadHead: true, Record: tax9, HadBase: false}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutHeadAndRecord(no record, one stored) = %v, want ErrConflict", err)
	}
	check("after wrong record bases", h7, map[string]store.Record{"identity": id5, "tax": tax7})
	// Racing writers from one base: one wins, and what is stored is its head with its record.
	oneWins(t, env, "head-and-record writers", func(i int) error {
		n := uint64(100 + i)
		return s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: head(n, map[string]uint64{"identity": 5, "tax": n}), HeadBase: 7, HadHead: true,
			Record: sampleRecord("C000001", "tax", n), Base: 7, HadBase: true})
	})
	got, _, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"tax"})
	if err != nil || got.Head < 100 || recs["tax"].Version != got.Head {
		t.Errorf("after the race: head %d, tax record at %d (%v); want the winner's both", got.Head, recs["tax"].Version, err)
	}
	// A head of another citizen than the record's is refused.
	if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: store.Head{Citizen: "C000002"}, Record: sampleRecord("C000003", "tax", 1)}); err == nil {
		t.Error("PutHeadAndRecord(head and record of two citizens) = nil, want an error")
	}
}

// oneWins runs eight writers at once, all from one base (write(i) is writer i's), and checks that
// exactly one succeeds and the others meet store.ErrConflict.
func oneWins(t *testing.T, env *Env, what string, write func(i int) error) {
	t.Helper()
	var won atomic.Int32
	done := make(chan error, 8)
	for i := range 8 {
		go func() {
			err := write(i)
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
		env.SkipNonAtomicCAS(t, fmt.Sprintf("%d racing %s from one base succeeded", n, what))
		t.Errorf("%d racing %s from one base succeeded, want 1", n, what)
	}
}

// testOldLayout: a store written before citizens' documents held their records (records in the
// records collection, one document per citizen and dataset; heads alone in record_heads) opens at
// once, serves every record, takes updates (moving the citizen), and MoveRecords moves the rest.
func testOldLayout(t *testing.T, env *Env) {
	ctx := t.Context()
	// Build the old layout: write records with this store, then put each where the old code kept it.
	// C000005: records without a head (an import interrupted between the two).
	want := seedCitizens(t, env, 5, []string{"identity", "tax", "health"}, func(i int) bool { return i != 5 })
	heads, records := env.DB.Collection("record_heads"), env.DB.Collection("records")
	cur, err := heads.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	for _, packed := range docs {
		d := unpacked(t, packed)
		for _, r := range d["records"].(bson.D) {
			if _, err := records.InsertOne(ctx, bson.Raw(r.Value.(bson.Binary).Data)); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok := d["head"]; !ok {
			_, err = heads.DeleteOne(ctx, bson.D{{Key: "_id", Value: d["_id"]}})
		} else {
			// The old layout's head alone, at the document's top level.
			_, err = heads.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d["_id"]}},
				bson.D{{Key: "_id", Value: d["_id"]}, {Key: "head", Value: d["head"]}, {Key: "versions", Value: d["versions"]}, {Key: "mac", Value: d["mac"]}})
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

// unpacked returns a citizen's document of record_heads as a store of format 3 held it: the
// fields of its packed form (p) at its top level, without n and p.
func unpacked(t *testing.T, d bson.M) bson.M {
	t.Helper()
	p, ok := d["p"].(bson.Binary)
	if !ok {
		t.Fatalf("the document of %v is not packed: %v", d["_id"], d)
	}
	var out bson.M
	if err := bson.Unmarshal(p.Data, &out); err != nil {
		t.Fatal(err)
	}
	out["_id"] = d["_id"]
	return out
}

// testFormat3Documents: citizens' documents written before format 4 (their fields at the top
// level, not packed) are read by every reader of them, and a write packs the document it writes.
func testFormat3Documents(t *testing.T, env *Env) {
	ctx := t.Context()
	want := seedCitizens(t, env, 4, []string{"identity", "tax"}, func(int) bool { return true })
	if err := UnpackCitizens(ctx, env.DB); err != nil {
		t.Fatal(err)
	}
	keys := func(c string) []string {
		t.Helper()
		var m bson.M
		if err := env.DB.Collection("record_heads").FindOne(ctx, bson.D{{Key: "_id", Value: c}}).Decode(&m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if got := keys("C000002"); !slices.Contains(got, "records") || slices.Contains(got, "p") {
		t.Fatalf("an unpacked document has %v, want its fields at the top level", got)
	}

	s := env.second(t)
	read := func(when string) {
		t.Helper()
		for _, r := range want {
			if got, err := s.Record(ctx, r.Citizen, r.Dataset); err != nil || !reflect.DeepEqual(got, r) {
				t.Errorf("%s: Record(%s, %s) = version %d, %v; want %d", when, r.Citizen, r.Dataset, got.Version, err, r.Version)
			}
		}
		if h, had, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"identity", "tax"}); err != nil || !had || h.Head != 11 || len(recs) != 2 {
			t.Errorf("%s: HeadAndRecords(C000001) = %+v, %v, %d records, %v; want head 11 and 2 records", when, h, had, len(recs), err)
		}
		var heads int
		if err := s.EachRecordHead(ctx, func(store.Head) error { heads++; return nil }); err != nil || heads != 4 {
			t.Errorf("%s: EachRecordHead saw %d heads, %v; want 4", when, heads, err)
		}
		var n atomic.Int32
		if err := s.EachRecordConcurrently(ctx, 2, func(int, store.Record) error { n.Add(1); return nil }); err != nil || int(n.Load()) != len(want) {
			t.Errorf("%s: EachRecordConcurrently saw %d records, %v; want %d", when, n.Load(), err, len(want))
		}
		page, err := s.ListCitizens(ctx, "", 10, &store.ListFilter{Dataset: "identity", Field: "hukouCity", Value: "福州市"})
		if want := []string{"C000001", "C000003"}; err != nil || !reflect.DeepEqual(page, want) {
			t.Errorf("%s: ListCitizens(hukouCity = 福州市) = %v, %v; want %v", when, page, err, want)
		}
		if has, err := s.HasRecords(ctx); err != nil || !has {
			t.Errorf("%s: HasRecords = %v, %v", when, has, err)
		}
		if n, err := s.CountRecords(ctx); err != nil || n == 0 {
			t.Errorf("%s: CountRecords = %d, %v; want some", when, n, err)
		}
	}
	read("format 3")

	at := slices.IndexFunc(want, func(r store.Record) bool { return r.Citizen == "C000001" && r.Dataset == "tax" })
	next := want[at]
	next.Version = 99
	if err := s.ReplaceRecord(ctx, next, next.Version); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReplaceRecord(format 3, wrong base) = %v, want ErrConflict", err)
	}
	if err := s.ReplaceRecord(ctx, next, want[at].Version); err != nil {
		t.Fatalf("ReplaceRecord(format 3) = %v", err)
	}
	want[at] = next
	if got := keys("C000001"); !reflect.DeepEqual(got, []string{"_id", "n", "p"}) {
		t.Errorf("the document written since has %v, want _id, n and p alone", got)
	}
	if err := s.DeleteRecords(ctx, "C000002", []string{"identity"}); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(r store.Record) bool { return r.Citizen == "C000002" && r.Dataset == "identity" })
	if got := keys("C000002"); !reflect.DeepEqual(got, []string{"_id", "n", "p"}) {
		t.Errorf("the document an erasure wrote has %v, want _id, n and p alone", got)
	}
	read("some written since")
}

// seedCitizens stores citizens C000001…C00000n through env's store: citizen i has records in the
// first 1+i%len(datasets) of datasets (version 10i+j, hukouCity 杭州市 or 福州市 by i's parity), and
// a head listing them where withHead(i). It returns the records, citizen by citizen.
func seedCitizens(t *testing.T, env *Env, n int, datasets []string, withHead func(i int) bool) []store.Record {
	t.Helper()
	ctx := t.Context()
	var recs []store.Record
	for i := 1; i <= n; i++ {
		c := fmt.Sprintf("C%06d", i)
		h := store.Head{Citizen: c, Versions: map[string]uint64{}, MAC: []byte("mac")}
		for j, ds := range datasets[:1+i%len(datasets)] {
			r := sampleRecord(c, ds, uint64(10*i+j))
			r.Items[0].Plain = map[string]any{"hukouCity": []string{"杭州市", "福州市"}[i%2]}
			recs = append(recs, r)
			h.Versions[ds], h.Head = r.Version, r.Version
		}
		if withHead(i) {
			if err := env.Store.PutRecordHead(ctx, h, 0, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := env.Store.InsertRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	return recs
}
