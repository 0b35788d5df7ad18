package mongostore

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/govhub/govhub/store"
)

// insertInOrder stores a document only when every one before it is stored or refused, across the
// 100-document batches FerretDB splits an insert into: a log document whose seq another writer
// took is refused, and its reference, right after it, is left out, so no reference is ever stored
// without its log document (keys.go). Sixty log documents with their references (120 documents),
// two of the seqs taken, one in each of FerretDB's batches.
func TestInsertInOrderLeavesOutARefusedLogsReference(t *testing.T) {
	s, _ := newEmbeddedStore(t)
	ctx := t.Context()
	ref := func(i int) store.LogRef {
		return store.LogRef{Pseudonym: fmt.Sprintf("p%02d", i), Index: uint64(100 + i), Salt: []byte{byte(i)}}
	}
	taken := []int{10, 55} // pairs whose log documents' seqs another writer took
	for _, i := range taken {
		if _, err := s.subjectLog.InsertOne(ctx, toLogDoc(store.LogRef{Pseudonym: ref(i).Pseudonym, Index: 1, Salt: []byte{1}}, 1)); err != nil {
			t.Fatal(err)
		}
	}
	var docs []any
	for i := range 60 {
		docs = append(docs, toLogDoc(ref(i), 1), subjectDoc(subjectRefOf(ref(i))))
	}
	var refused []int
	err := s.insertInOrder(ctx, docs, func(j int) int {
		refused = append(refused, j)
		return 1 - j%2 // a log document's reference is left out
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(refused, []int{20, 110}) {
		t.Errorf("refused documents %v, want [20 110] (the two taken log documents, nothing else)", refused)
	}
	for i := range 60 {
		var d bson.Raw
		err := s.subjectLog.FindOne(ctx, bson.D{{Key: "_id", Value: refID(ref(i).Pseudonym, ref(i).Index)}}).Decode(&d)
		stored := err == nil
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			t.Fatal(err)
		}
		if want := !slices.Contains(taken, i); stored != want {
			t.Errorf("reference %d stored: %v, want %v", i, stored, want)
		}
		var l logDoc
		if err := s.subjectLog.FindOne(ctx, bson.D{{Key: "_id", Value: seqID(ref(i).Pseudonym, 1)}}).Decode(&l); err != nil {
			t.Errorf("log document %d: %v", i, err)
		} else if want := int64(100 + i); !slices.Contains(taken, i) && l.Index != want {
			t.Errorf("log document %d holds index %d, want %d", i, l.Index, want)
		}
	}
}

// An append through the group commit whose seq another writer took lands after it, and its
// reference is stored too, after its log document (retryLost).
func TestGroupAppendAfterATakenSeqStoresItsReference(t *testing.T) {
	s, _ := newEmbeddedStore(t)
	ctx := t.Context()
	if _, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "c", Index: 1, Salt: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	// Another writer takes seq 2, which this store believes free.
	if _, err := s.subjectLog.InsertOne(ctx, toLogDoc(store.LogRef{Pseudonym: "c", Index: 2, Salt: []byte{2}}, 2)); err != nil {
		t.Fatal(err)
	}
	seq, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "c", Index: 3, Salt: []byte{3}})
	if err != nil || seq != 3 {
		t.Fatalf("AppendSubjectLog after a taken seq = %d, %v; want seq 3", seq, err)
	}
	if r, err := s.SubjectRef(ctx, "c", 3); err != nil || !slices.Equal(r.Salt, []byte{3}) {
		t.Errorf("SubjectRef(c, 3) = %+v, %v", r, err)
	}
}

// The three forms of legacyRefs' filter (one pseudonym's _id range; several as FerretDB's regular
// expression or as MongoDB's $or of ranges) select the same references: those of the pseudonyms
// asked for, and not of one whose name extends theirs ("a.b" quoted, "ab" beside "a").
func TestLegacyRefsFilters(t *testing.T) {
	s, _ := newEmbeddedStore(t)
	ctx := t.Context()
	var refs []store.SubjectRef
	for _, p := range []string{"a", "ab", "a.b", "axb", "b"} {
		for i := range uint64(3) {
			refs = append(refs, store.SubjectRef{Pseudonym: p, Index: 10 + i, Salt: []byte(p)})
		}
	}
	if err := s.AddSubjectRefs(ctx, refs); err != nil {
		t.Fatal(err)
	}
	ids := func(filter bson.D) []string {
		t.Helper()
		cur, err := s.subjects.Find(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		var docs []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range docs {
			out = append(out, d.ID)
		}
		slices.Sort(out)
		return out
	}
	want := func(ps ...string) []string {
		var out []string
		for _, p := range ps {
			for i := range uint64(3) {
				out = append(out, subjectID(p, 10+i))
			}
		}
		slices.Sort(out)
		return out
	}
	if got := ids(legacyRefsFilter([]string{"a"}, true)); !slices.Equal(got, want("a")) {
		t.Errorf("one pseudonym: %v, want %v", got, want("a"))
	}
	for _, serialised := range []bool{true, false} {
		if got := ids(legacyRefsFilter([]string{"a", "a.b"}, serialised)); !slices.Equal(got, want("a", "a.b")) {
			t.Errorf("two pseudonyms (serialised %v): %v, want %v", serialised, got, want("a", "a.b"))
		}
	}
	got, err := s.legacyRefs(ctx, []string{"a", "a.b", "none"})
	if err != nil || len(got) != 2 || len(got["a"]) != 3 || len(got["a.b"]) != 3 {
		t.Errorf("legacyRefs = %v, %v; want three indexes each for a and a.b", got, err)
	}
}
