package mongostore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/store"
)

// Against MongoDB a write of a citizen's document is a compare-and-swap on its count of writes n:
// a write that another came before reads the document again and decides again, so neither write is
// lost, and a document deleted meanwhile is not written back. MongoDB is not available here: the
// store runs on the embedded server with its process locks taken away, which makes it write as it
// does against MongoDB (one writer at a time, as this test is).
func TestCitizenWritesCompareAndSwapOnN(t *testing.T) {
	s, srv := newEmbeddedStore(t)
	s.locks = nil // MongoDB's path (serialised false)
	other := storeOn(t, srv, nil)
	ctx := t.Context()
	rec := func(ds string, v uint64) store.Record {
		return store.Record{Citizen: "C000001", Dataset: ds, Version: v, Salt: make([]byte, 32),
			Updated: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), Items: []store.Item{{Plain: map[string]any{"v": int64(v)}}}}
	}
	head := func(n uint64, versions map[string]uint64) store.Head {
		return store.Head{Citizen: "C000001", Head: n, Versions: versions, MAC: []byte("mac")}
	}
	if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: head(1, map[string]uint64{"tax": 1}), Record: rec("tax", 1)}); err != nil {
		t.Fatal(err)
	}
	raw := func() bson.M {
		t.Helper()
		var m bson.M
		if err := s.recordHeads.FindOne(ctx, bson.D{{Key: "_id", Value: "C000001"}}).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := raw(); m["n"] != int64(1) || m["p"] == nil || len(m) != 3 {
		t.Fatalf("the citizen's document after its first write = %v, want _id, n 1 and p alone", keysOf(m))
	}

	// Another store writes the identity record between this write's read and its compare-and-swap.
	var calls int
	err := s.writeCitizen(ctx, "C000001", false, func(d *citizenDoc) (bool, error) {
		calls++
		if calls == 1 {
			if err := other.CreateRecord(ctx, rec("identity", 2)); err != nil {
				t.Fatal(err)
			}
		}
		return true, d.setRecord(rec("tax", 3))
	})
	if err != nil || calls != 2 {
		t.Fatalf("writeCitizen with a write in between = %v after %d calls of change, want nil after 2", err, calls)
	}
	recs, err := s.Records(ctx, "C000001", []string{"tax", "identity"})
	if err != nil || recs["tax"].Version != 3 || recs["identity"].Version != 2 {
		t.Errorf("after both writes: tax %d, identity %d, %v; want 3 and 2", recs["tax"].Version, recs["identity"].Version, err)
	}
	if m := raw(); m["n"] != int64(3) {
		t.Errorf("n after three writes = %v, want 3", m["n"])
	}

	// The document is deleted between the read and the compare-and-swap: not written back.
	calls = 0
	var emptyAgain bool
	err = s.writeCitizen(ctx, "C000001", false, func(d *citizenDoc) (bool, error) {
		calls++
		if calls == 1 {
			if err := other.DeleteRecordHead(ctx, "C000001"); err != nil {
				t.Fatal(err)
			}
			return true, d.setRecord(rec("tax", 4))
		}
		emptyAgain = d.empty()
		return false, nil
	})
	if err != nil || calls != 2 || !emptyAgain {
		t.Errorf("writeCitizen on a document deleted in between = %v after %d calls (saw it gone: %v), want nil after 2, gone", err, calls, emptyAgain)
	}
	if err := s.recordHeads.FindOne(ctx, bson.D{{Key: "_id", Value: "C000001"}}).Err(); !errors.Is(mapErr(err), store.ErrNotFound) {
		t.Errorf("the deleted document after the refused write: %v, want none", err)
	}

	// Writes that keep losing give up as a conflict.
	calls = 0
	err = s.writeCitizen(ctx, "C000002", false, func(d *citizenDoc) (bool, error) {
		calls++
		if err := other.CreateRecord(ctx, store.Record{Citizen: "C000002", Dataset: "x" + string(rune('a'+calls)), Version: 1,
			Updated: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		d.setHead(store.Head{Citizen: "C000002", Head: 1})
		return true, nil
	})
	if !errors.Is(err, store.ErrConflict) || calls != maxWriteAttempts {
		t.Errorf("writeCitizen losing every race = %v after %d calls, want ErrConflict after %d", err, calls, maxWriteAttempts)
	}
}

// A citizen's document written before format 4 (its fields at its top level) is read as it is, and
// its next write packs it, leaving none of those fields.
func TestFormat3DocumentPackedByItsNextWrite(t *testing.T) {
	for _, mongo := range []bool{false, true} {
		s, _ := newEmbeddedStore(t)
		if mongo {
			s.locks = nil
		}
		ctx := t.Context()
		r := store.Record{Citizen: "C000001", Dataset: "tax", Version: 5, Salt: make([]byte, 32),
			Updated: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), Items: []store.Item{{Plain: map[string]any{"v": int64(5)}}}}
		b, err := bson.Marshal(toRecordDoc(r))
		if err != nil {
			t.Fatal(err)
		}
		old := bson.D{{Key: "_id", Value: "C000001"}, {Key: "head", Value: int64(5)}, {Key: "versions", Value: bson.D{{Key: "tax", Value: int64(5)}}},
			{Key: "mac", Value: []byte("mac")}, {Key: "r", Value: true}, {Key: "records", Value: bson.D{{Key: "tax", Value: bson.Binary{Data: b}}}},
			{Key: "rv", Value: bson.D{{Key: "tax", Value: int64(5)}}}}
		if _, err := s.recordHeads.InsertOne(ctx, old); err != nil {
			t.Fatal(err)
		}
		h, had, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"tax"})
		if err != nil || !had || h.Head != 5 || recs["tax"].Version != 5 || !reflect.DeepEqual(recs["tax"].Items[0].Plain, r.Items[0].Plain) {
			t.Fatalf("HeadAndRecords(format 3) = %+v, %v, %v, %v", h, had, recs, err)
		}
		next := r
		next.Version = 6
		if err := s.PutHeadAndRecord(ctx, store.HeadAndRecord{Head: store.Head{Citizen: "C000001", Head: 6, Versions: map[string]uint64{"tax": 6}, MAC: []byte("mac")},
			HeadBase: 5, HadHead: true, Record: next, Base: 5, HadBase: true}); err != nil {
			t.Fatalf("PutHeadAndRecord(format 3, mongo path %v) = %v", mongo, err)
		}
		var m bson.M
		if err := s.recordHeads.FindOne(ctx, bson.D{{Key: "_id", Value: "C000001"}}).Decode(&m); err != nil {
			t.Fatal(err)
		}
		if keys := keysOf(m); !slices.Equal(keys, []string{"_id", "n", "p"}) {
			t.Errorf("the document after its first write (mongo path %v) has %v, want _id, n, p", mongo, keys)
		}
		if got, err := s.Record(ctx, "C000001", "tax"); err != nil || got.Version != 6 {
			t.Errorf("Record after the write = %d, %v; want version 6", got.Version, err)
		}
	}
}

// BenchmarkCitizenDocumentShapes reads (FindOne by _id, decoded as the store decodes it) and
// updates ($set by _id) citizens' documents of the demo's size, 3,000 in the collection, in the
// form of format 3 (about fifty fields at the top level) and packed (format 4): what FerretDB's
// conversion of a document to and from its JSON costs by the number of its fields.
//
//	go test ./store/mongostore -run '^$' -bench CitizenDocumentShapes -benchtime 3000x -count 3
func BenchmarkCitizenDocumentShapes(b *testing.B) {
	// The datasets of a demo citizen and the sizes of their records' BSON (a 100,000-citizen demo).
	datasets := []string{"businessLicense", "health", "identity", "marriage", "property", "socialInsurance", "tax"}
	sizes := []int{450, 690, 920, 333, 620, 696, 620}
	const n = 3000
	body := func() citizenBody {
		var c citizenBody
		head := int64(2448)
		c.Head, c.MAC, c.Moved = &head, make([]byte, 32), true
		c.Versions, c.RV, c.Records = map[string]int64{}, map[string]int64{}, map[string][]byte{}
		for k, ds := range datasets {
			rec := make([]byte, sizes[k])
			_, _ = rand.Read(rec)
			c.Versions[ds], c.RV[ds], c.Records[ds] = int64(2000+k), int64(2000+k), rec
		}
		return c
	}
	for _, form := range []string{"format3", "packed"} {
		s, srv := newEmbeddedStore(b)
		ctx := b.Context()
		docs := make([]any, n)
		for i := range n {
			id := fmt.Sprintf("C%06d", i)
			if form == "packed" {
				d, err := newPacked(id, body())
				if err != nil {
					b.Fatal(err)
				}
				docs[i] = d
				continue
			}
			raw, err := bson.Marshal(body())
			if err != nil {
				b.Fatal(err)
			}
			docs[i] = append(bson.D{{Key: "_id", Value: id}}, bsonD(b, raw)...)
		}
		if _, err := s.recordHeads.InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
		if err := srv.IndexIDs(ctx, s.db.Name()); err != nil {
			b.Fatal(err)
		}
		id := func(i int) string { return fmt.Sprintf("C%06d", (i*7919)%n) }
		b.Run("find/"+form, func(b *testing.B) {
			for i := range b.N {
				if _, found, err := s.citizen(ctx, id(i)); err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
		b.Run("update/"+form, func(b *testing.B) {
			for i := range b.N {
				rec := make([]byte, sizes[6])
				_, _ = rand.Read(rec)
				var set bson.D
				if form == "packed" {
					c := body()
					p, err := bson.Marshal(c)
					if err != nil {
						b.Fatal(err)
					}
					set = bson.D{{Key: "n", Value: int64(i + 2)}, {Key: "p", Value: bson.Binary{Data: p}}}
				} else {
					set = bson.D{{Key: "head", Value: int64(i)}, {Key: "versions", Value: bson.D{{Key: "tax", Value: int64(i)}}},
						{Key: "mac", Value: make([]byte, 32)}, {Key: "records.tax", Value: bson.Binary{Data: rec}}, {Key: "rv.tax", Value: int64(i)}}
				}
				if _, err := s.recordHeads.UpdateOne(ctx, bson.D{{Key: "_id", Value: id(i)}}, bson.D{{Key: "$set", Value: set}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bsonD decodes raw as a bson.D.
func bsonD(b *testing.B, raw []byte) bson.D {
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		b.Fatal(err)
	}
	return d
}

// Against MongoDB an update's write takes the document its HeadAndRecords read (its mark) for its
// first try: one find an update. A mark older than the document never makes a write succeed (the
// compare-and-swap on n refuses it), nor makes one fail that the document allows (the write reads
// it and decides again).
func TestMarksAgainstMongoDB(t *testing.T) {
	finds, monitor := recordHeadFinds() // through a
	s, srv := newEmbeddedStore(t)
	a := storeOn(t, srv, monitor)
	a.locks = nil // MongoDB's path
	ctx := t.Context()
	rec := func(v uint64) store.Record {
		return store.Record{Citizen: "C000001", Dataset: "tax", Version: v, Salt: make([]byte, 32),
			Updated: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), Items: []store.Item{{Plain: map[string]any{"v": int64(v)}}}}
	}
	w := func(from, to uint64) store.HeadAndRecord {
		return store.HeadAndRecord{Head: store.Head{Citizen: "C000001", Head: to, Versions: map[string]uint64{"tax": to}, MAC: []byte("mac")},
			HeadBase: from, HadHead: from > 0, Record: rec(to), Base: from, HadBase: from > 0}
	}
	if err := s.PutHeadAndRecord(ctx, w(0, 1)); err != nil {
		t.Fatal(err)
	}
	read := func(want uint64) {
		t.Helper()
		if h, _, _, err := a.HeadAndRecords(ctx, "C000001", []string{"tax"}); err != nil || h.Head != want {
			t.Fatalf("HeadAndRecords = head %d, %v; want %d", h.Head, err, want)
		}
	}

	read(1)
	before := finds.Load()
	if err := a.PutHeadAndRecord(ctx, w(1, 2)); err != nil {
		t.Fatalf("update 1 → 2 = %v", err)
	}
	if n := finds.Load() - before; n != 0 {
		t.Errorf("an update's write read the citizen's document %d times, want none (its mark)", n)
	}

	// Another instance writes between a's read and a's write: a's write is refused.
	read(2)
	if err := s.PutHeadAndRecord(ctx, w(2, 3)); err != nil {
		t.Fatal(err)
	}
	if err := a.PutHeadAndRecord(ctx, w(2, 4)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a's write built on head 2 after another wrote head 3 = %v, want ErrConflict", err)
	}

	// a's mark is older than the document its write builds on (another update's read left it):
	// the write reads the document and succeeds.
	read(3)
	if err := s.PutHeadAndRecord(ctx, w(3, 4)); err != nil {
		t.Fatal(err)
	}
	if err := a.PutHeadAndRecord(ctx, w(4, 5)); err != nil {
		t.Errorf("a's write built on head 4 with a mark of head 3 = %v, want nil", err)
	}
	if h, _, recs, err := s.HeadAndRecords(ctx, "C000001", []string{"tax"}); err != nil || h.Head != 5 || recs["tax"].Version != 5 {
		t.Errorf("after it: head %d, tax record %d, %v; want both at 5", h.Head, recs["tax"].Version, err)
	}
}
