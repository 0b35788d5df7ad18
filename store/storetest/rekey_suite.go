package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/store"
)

// testMovePseudonym: a citizen's access log, private index references, question queue and
// application list move from one pseudonym to another with their seqs, the documents they name
// follow, nothing stays under the old pseudonym, an item appended under the old one after the
// move (an instance that had not learnt of the new key) is moved by the next move without losing
// one appended under the new one meanwhile, and moving again changes nothing.
func testMovePseudonym(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	const from, to, other = "p-old", "p-new", "p-other"
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	logRef := func(p string, index uint64) store.LogRef {
		return store.LogRef{Pseudonym: p, Index: index, Salt: []byte{byte(index)}, Time: at.Add(time.Duration(index) * time.Second)}
	}
	for _, index := range []uint64{10, 11, 12} {
		if _, err := s.AppendSubjectLog(ctx, logRef(from, index)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AppendSubjectLog(ctx, logRef(other, 13)); err != nil {
		t.Fatal(err)
	}
	// Index 11's reference as a hub before store format 3 stored it: in the subjects collection;
	// index 12's in both places (an older hub's, and one written again after the upgrade).
	if _, err := env.DB.Collection("subject_log").DeleteOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("%s/i%020d", from, 11)}}); err != nil {
		t.Fatal(err)
	}
	addLegacyRefs(t, env, []store.SubjectRef{{Pseudonym: from, Index: 11, Salt: []byte{11}}, {Pseudonym: from, Index: 12, Salt: []byte{12}}})
	q := store.Question{ID: "q1", Citizen: "C000001", Pseudonym: from, Department: "housing", AccessIndex: 10, Message: "why?",
		Asked: at, Entry: 14, Status: store.QuestionOpen}
	if err := s.AddQuestion(ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCertificate(ctx, store.Certificate{ID: "c-1", Type: "t", Department: "housing", Pseudonym: from, Credential: []byte("{}"), Issued: at}); err != nil {
		t.Fatal(err)
	}
	app := store.Application{ID: "a-1", Type: "t", Citizen: "C000001", Pseudonym: from, Department: "housing", Status: "issued", Certificate: "c-1", Created: at}
	if err := s.SaveApplication(ctx, app); err != nil {
		t.Fatal(err)
	}

	moved, err := s.MovePseudonym(ctx, from, to, false)
	if err != nil || moved != 5 {
		t.Fatalf("MovePseudonym = %d, %v; want 5 items (3 log, 1 question, 1 application)", moved, err)
	}
	logOf := func(p string) []uint64 {
		t.Helper()
		page, err := s.SubjectLog(ctx, p, 0, store.MaxLogPage)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, r := range page.Refs {
			out = append(out, r.Seq*100+r.Index)
		}
		return out
	}
	if got, want := logOf(to), []uint64{312, 211, 110}; !slices.Equal(got, want) {
		t.Errorf("the new log (seq*100+index) = %v, want %v", got, want)
	}
	if got := logOf(from); len(got) != 0 {
		t.Errorf("the old log still holds %v", got)
	}
	if got := logOf(other); !slices.Equal(got, []uint64{113}) {
		t.Errorf("another citizen's log = %v, want [113]", got)
	}
	for _, index := range []uint64{10, 11, 12} {
		if r, err := s.SubjectRef(ctx, to, index); err != nil || r.Salt[0] != byte(index) {
			t.Errorf("SubjectRef(new, %d) = %+v, %v", index, r, err)
		}
		if _, err := s.SubjectRef(ctx, from, index); err == nil {
			t.Errorf("SubjectRef(old, %d) still there", index)
		}
	}
	if n := legacyRefsOf(t, env, from); n != 0 {
		t.Errorf("%d references of the old pseudonym left in subjects", n)
	}
	if qs, err := s.Questions(ctx, store.QuestionQueueCitizen(to), 10); err != nil || len(qs) != 1 || qs[0].Pseudonym != to {
		t.Errorf("the new question queue = %+v, %v", qs, err)
	}
	if qs, err := s.Questions(ctx, store.QuestionQueueCitizen(from), 10); err != nil || len(qs) != 0 {
		t.Errorf("the old question queue = %+v, %v", qs, err)
	}
	if apps, err := s.Applications(ctx, to, 10); err != nil || len(apps) != 1 || apps[0].Pseudonym != to {
		t.Errorf("the new application list = %+v, %v", apps, err)
	}
	if c, err := s.Certificate(ctx, "c-1"); err != nil || c.Pseudonym != to {
		t.Errorf("the certificate's holder = %q, %v; want %q", c.Pseudonym, err, to)
	}

	// An instance that has not learnt of the new key appends under the old pseudonym (at the
	// seq after the old chain's end, the same seq one that has takes under the new one).
	if seq, err := s.AppendSubjectLog(ctx, logRef(to, 20)); err != nil || seq != 4 {
		t.Fatalf("appending under the new pseudonym = %d, %v; want seq 4 (the sequence goes on)", seq, err)
	}
	if seq, err := s.AppendSubjectLog(ctx, logRef(from, 21)); err != nil || seq != 4 {
		t.Fatalf("appending under the old pseudonym = %d, %v; want seq 4 (past its head)", seq, err)
	}
	under, err := s.PseudonymsUnder(ctx, []string{from, to, "p-none"})
	if err != nil || !slices.Equal(under, []string{from, to}) {
		t.Errorf("PseudonymsUnder = %v, %v; want [%s %s]", under, err, from, to)
	}
	if moved, err := s.MovePseudonym(ctx, from, to, true); err != nil || moved != 1 {
		t.Fatalf("the final move = %d, %v; want 1", moved, err)
	}
	if got, want := logOf(to), []uint64{521, 420, 312, 211, 110}; !slices.Equal(got, want) {
		t.Errorf("after the late append, the new log = %v, want %v (the late one after the end, none lost)", got, want)
	}
	if under, err := s.PseudonymsUnder(ctx, []string{from}); err != nil || len(under) != 0 {
		t.Errorf("after the final move, the old pseudonym still holds something: %v, %v", under, err)
	}
	if end, err := s.SubjectLogEnd(ctx, from); err != nil || end != 0 {
		t.Errorf("after the final move, the old log's end = %d, %v; want 0 (its head deleted)", end, err)
	}
	if apps, err := s.Applications(ctx, from, 10); err != nil || len(apps) != 0 {
		t.Errorf("after the final move, the old application list = %+v, %v", apps, err)
	}
	if moved, err := s.MovePseudonym(ctx, from, to, true); err != nil || moved != 0 {
		t.Errorf("moving again = %d, %v; want 0", moved, err)
	}
	if got := logOf(to); len(got) != 5 {
		t.Errorf("moving again changed the log: %v", got)
	}

	// Several citizens in one call, one of them with a new log begun already (its head there).
	for i, p := range []string{"p-a", "p-a", "p-b", "p-b", "p-b"} {
		if _, err := s.AppendSubjectLog(ctx, logRef(p, uint64(30+i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.MovePseudonym(ctx, "p-b", "p-b2", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendSubjectLog(ctx, logRef("p-b2", 40)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendSubjectLog(ctx, logRef("p-b", 41)); err != nil { // late, at seq 4 too
		t.Fatal(err)
	}
	moved, err = s.MovePseudonyms(ctx, []store.PseudonymMove{{From: "p-a", To: "p-a2"}, {From: "p-b", To: "p-b2"}}, true)
	if err != nil || moved != 3 {
		t.Fatalf("MovePseudonyms(two citizens) = %d, %v; want 3 items (2 + the late one)", moved, err)
	}
	if got, want := logOf("p-a2"), []uint64{231, 130}; !slices.Equal(got, want) {
		t.Errorf("the first citizen's new log = %v, want %v", got, want)
	}
	if got, want := logOf("p-b2"), []uint64{541, 440, 334, 233, 132}; !slices.Equal(got, want) {
		t.Errorf("the second citizen's new log = %v, want %v", got, want)
	}
	if under, err := s.PseudonymsUnder(ctx, []string{"p-a", "p-b"}); err != nil || len(under) != 0 {
		t.Errorf("after the final move of both, %v still hold data (%v)", under, err)
	}
}
