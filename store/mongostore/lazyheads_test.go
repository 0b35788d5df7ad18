package mongostore

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/govhub/govhub/store"
)

// storedHead returns the head hint stored for pseudonym, and whether there is one.
func storedHead(t *testing.T, s *Store, pseudonym string) (uint64, bool) {
	t.Helper()
	var d headDoc
	err := s.logHeads.FindOne(t.Context(), bson.D{{Key: "_id", Value: pseudonym}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return uint64(d.Seq), true
}

// On the store this process owns, an append writes no head hint while the process remembers the
// citizen's end; the head is written when the cache forgets the citizen to make room, and only if
// it lags the end by headEvery or more. A citizen forgotten because their log was erased gets no
// head. A process that starts without the ends (after a crash) finds a log's end from a head that
// lags, or from none, and writes it back.
func TestLazyHeadsAreWrittenWhenTheCacheForgets(t *testing.T) {
	s, srv := newEmbeddedStore(t)
	if !s.lazyHeads() {
		t.Fatal("the embedded store keeps its heads lazily")
	}
	s.lastSeqs.size = 2
	ctx := t.Context()
	appendN := func(p string, n int) {
		t.Helper()
		for i := range n {
			if _, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: p, Index: uint64(1000 + i), Salt: []byte{1}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN("a", 9)
	if h, ok := storedHead(t, s, "a"); ok {
		t.Errorf("after 9 appends the head of a is %d; want none while the process remembers the end", h)
	}
	if end, err := s.SubjectLogEnd(ctx, "a"); err != nil || end != 9 {
		t.Fatalf("SubjectLogEnd(a) = %d, %v; want 9", end, err)
	}
	appendN("b", 1)
	appendN("c", 1) // forgets a: 9 past no head
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if h, _ := storedHead(t, s, "a"); h == 9 {
			break
		}
		if time.Now().After(deadline) {
			h, _ := storedHead(t, s, "a")
			t.Fatalf("a forgotten at its end 9: its head is %d, want 9", h)
		}
	}
	appendN("d", 1) // forgets b: 1 past no head, under headEvery
	appendN("e", 9) // forgets c, likewise
	if err := s.DeleteSubjectLog(ctx, "e"); err != nil {
		t.Fatal(err)
	}
	appendN("f", 1) // d is forgotten, e was by the erasure
	// Every write decided on has started (headOnEviction decides before it returns); give a wrong
	// one time to reach the server.
	time.Sleep(300 * time.Millisecond)
	for _, p := range []string{"b", "c", "d", "e"} {
		if h, ok := storedHead(t, s, p); ok {
			t.Errorf("head of %s = %d; want none (forgotten under headEvery past it, or erased)", p, h)
		}
	}

	again := storeOn(t, srv, nil) // a process that starts afresh on the store, as after a crash
	for p, want := range map[string]uint64{"a": 9, "b": 1, "d": 1, "e": 0, "f": 1} {
		if end, err := again.SubjectLogEnd(ctx, p); err != nil || end != want {
			t.Errorf("after a restart SubjectLogEnd(%s) = %d, %v; want %d", p, end, err, want)
		}
	}
	appendN("g", 20) // by the first process, which remembers g's end
	if end, err := again.SubjectLogEnd(ctx, "g"); err != nil || end != 20 {
		t.Fatalf("SubjectLogEnd(g), by a process that never saw it = %d, %v; want 20", end, err)
	}
	if h, _ := storedHead(t, s, "g"); h != 20 {
		t.Errorf("the head of g, found 20 past none, is %d after a read; want 20 (written back)", h)
	}
}

// probeFrom finds a log's end from any seq at or below it that exists, in about two lookups per
// doubling of the distance: a head that lags by thousands (after a crash) costs a few dozen
// lookups, not thousands.
func TestProbeFromFindsTheEndInFewLookups(t *testing.T) {
	_, srv := newEmbeddedStore(t)
	var finds atomic.Int64
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if coll, _ := e.Command.Lookup("find").StringValueOK(); e.CommandName == "find" && coll == collSubjectLog {
			finds.Add(1)
		}
	}}
	s := storeOn(t, srv, monitor)
	ctx := t.Context()
	for _, end := range []uint64{0, 1, 2, 3, 4, 7, 8, 9, 100, 2500} {
		p := fmt.Sprint("p", end)
		docs := make([]any, end)
		for i := range docs {
			docs[i] = toLogDoc(store.LogRef{Pseudonym: p, Index: uint64(i), Salt: []byte{1}}, uint64(i+1))
		}
		if end > 0 {
			if _, err := s.subjectLog.InsertMany(ctx, docs); err != nil {
				t.Fatal(err)
			}
		}
		for _, from := range []uint64{0, end / 3, max(end, 1) - 1, end} {
			before := finds.Load()
			got, err := s.logChain().probeFrom(ctx, p, from)
			lookups := finds.Load() - before
			if err != nil || got != end {
				t.Errorf("probeFrom(%s, %d) = %d, %v; want %d", p, from, got, err, end)
			}
			if most := int64(2*bits.Len64(end-from) + 1); lookups > most {
				t.Errorf("probeFrom(%s, %d): %d lookups; want at most %d", p, from, lookups, most)
			}
		}
	}
}

// A head write decided before an erasure (a citizen forgotten to make room) that reaches the store
// after it writes nothing: it finds the log document gone, and the erased log keeps no head.
func TestBackgroundHeadWriteAfterAnErasureWritesNothing(t *testing.T) {
	s, _ := newEmbeddedStore(t)
	ctx := t.Context()
	for _, p := range []string{"x", "y"} {
		for i := range 9 {
			if _, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: p, Index: uint64(100 + i), Salt: []byte{1}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteSubjectLog(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	s.advanceInBackground(ctx, "x", 9)
	if h, ok := storedHead(t, s, "x"); ok {
		t.Errorf("the erased log x has a head, %d, written after its erasure", h)
	}
	s.advanceInBackground(ctx, "y", 9)
	if h, _ := storedHead(t, s, "y"); h != 9 {
		t.Errorf("head of y = %d, want 9", h)
	}
}
