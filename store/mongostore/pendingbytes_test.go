package mongostore

import (
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/store"
)

// A pending update's record is stored as BSON bytes with its citizen beside it; one stored by an
// older hub (its record a nested document, no citizen field) is still read, with the same record,
// and still erased with its citizen.
func TestPendingUpdatesStoredByAnOlderHub(t *testing.T) {
	s, _ := newEmbeddedStore(t)
	ctx := t.Context()
	created := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	rec := func(citizen string) store.Record {
		return store.Record{Citizen: citizen, Dataset: "tax", Version: store.PendingVersion, Salt: []byte("salt"),
			Updated: created, MAC: []byte("mac"), SubjectSalt: []byte("subject salt"),
			Items: []store.Item{{
				Plain:  map[string]any{"year": int64(2025), "area": 89.5, "names": []string{"张三"}},
				Sealed: map[string]store.SealedField{"annualIncome": {Ciphertext: []byte{1, 2, 3}, Commitment: []byte{4, 5}, Version: store.PendingVersion, Scheme: "s"}},
			}}}
	}
	// What an older hub stored: its pendingDoc, with the record nested.
	old := struct {
		ID       string    `bson:"_id"`
		Record   recordDoc `bson:"record"`
		Base     int64     `bson:"base"`
		HadBase  bool      `bson:"hadBase"`
		LeafHash []byte    `bson:"leafHash"`
		After    int64     `bson:"after"`
		Salt     []byte    `bson:"subjectSalt"`
		Created  time.Time `bson:"created"`
		HeadBase int64     `bson:"headBase"`
		HadHead  bool      `bson:"hadHead"`
	}{ID: "old", Record: toRecordDoc(rec("C1")), Base: 2, HadBase: true, LeafHash: []byte{9}, After: 10,
		Salt: []byte("s1"), Created: created, HeadBase: 7, HadHead: true}
	if _, err := s.pending.InsertOne(ctx, old); err != nil {
		t.Fatal(err)
	}
	added := store.Pending{ID: "new", Record: rec("C2"), Base: 3, HadBase: true, LeafHash: []byte{8}, After: 11,
		SubjectSalt: []byte("s2"), Created: created.Add(time.Second), HeadBase: 8, HadHead: true}
	if err := s.AddPending(ctx, added); err != nil {
		t.Fatal(err)
	}
	var raw bson.Raw
	if err := s.pending.FindOne(ctx, bson.D{{Key: "_id", Value: "new"}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if v := raw.Lookup("record"); v.Type != bson.TypeBinary {
		t.Errorf("the new pending update's record is stored as a %s, want binary (BSON bytes)", v.Type)
	}
	if v := raw.Lookup("citizen"); v.StringValue() != "C2" {
		t.Errorf("the new pending update's citizen field is %v, want C2", v)
	}

	got, err := s.PendingUpdates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Pending{{ID: "old", Record: rec("C1"), Base: 2, HadBase: true, LeafHash: []byte{9}, After: 10,
		SubjectSalt: []byte("s1"), Created: created, HeadBase: 7, HadHead: true}, added}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PendingUpdates:\n got %+v\nwant %+v", got, want)
	}

	for _, c := range []struct{ citizen, id string }{{"C1", "old"}, {"C2", "new"}} {
		if err := s.DeletePendingOf(ctx, c.citizen); err != nil {
			t.Fatal(err)
		}
		n, err := s.pending.CountDocuments(ctx, bson.D{{Key: "_id", Value: c.id}})
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("DeletePendingOf(%s) left pending update %s", c.citizen, c.id)
		}
	}
}
