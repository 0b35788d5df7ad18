package mongostore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/mongostore"
	"github.com/govhub/govhub/store/storetest"
)

// TestGroupCommitConflicts appends concurrently to a few citizens through two stores on one
// embedded server, each with its own group commit and seq cache (two hub instances on one
// database), after seqs were taken behind both caches' backs. Every append must come back with its
// own seq, each citizen's log must be dense and hold every appended index once, and every subject
// reference must be stored.
func TestGroupCommitConflicts(t *testing.T) {
	env := storetest.Embedded(t)
	ctx := t.Context()
	other, err := mongostore.New(ctx, env.DB, mongostore.WithEmbedded(env.Server))
	if err != nil {
		t.Fatal(err)
	}
	stores := []*mongostore.Store{env.Store, other}
	citizens := []string{"alice", "bob", "carol", "dave"}
	salt := make([]byte, 32)

	// Each store learns a seq for alice, then alice's next seqs are taken directly.
	for i, s := range stores {
		if _, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "alice", Index: uint64(1000 + i), Salt: salt}); err != nil {
			t.Fatal(err)
		}
	}
	for seq := 3; seq <= 5; seq++ {
		doc := bson.D{{Key: "_id", Value: fmt.Sprintf("alice/%d", seq)}, {Key: "index", Value: int64(1000 + seq)}, {Key: "salt", Value: salt}}
		if _, err := env.DB.Collection("subject_log").InsertOne(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]uint64{"alice": {1000, 1001, 1003, 1004, 1005}}

	const workers, each = 8, 25
	type got struct {
		p          string
		index, seq uint64
	}
	results := make(chan got, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%len(stores)]
			for i := range each {
				p := citizens[(w+i)%len(citizens)]
				index := uint64(w*each + i)
				seq, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: p, Index: index, Salt: salt})
				if err != nil {
					t.Errorf("AppendSubjectLog(%s, %d) = %v", p, index, err)
					return
				}
				results <- got{p, index, seq}
			}
		}()
	}
	wg.Wait()
	close(results)
	seqs := map[string]map[uint64]uint64{} // citizen → seq → index
	for r := range results {
		if seqs[r.p] == nil {
			seqs[r.p] = map[uint64]uint64{}
		}
		if prev, ok := seqs[r.p][r.seq]; ok {
			t.Errorf("%s: seq %d returned for indexes %d and %d", r.p, r.seq, prev, r.index)
		}
		seqs[r.p][r.seq] = r.index
		want[r.p] = append(want[r.p], r.index)
		if _, err := env.Store.SubjectRef(ctx, r.p, r.index); err != nil {
			t.Errorf("SubjectRef(%s, %d) = %v", r.p, r.index, err)
		}
	}
	for _, p := range citizens {
		end, err := env.Store.SubjectLogEnd(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var have []uint64
		for before := end + 1; before > 1; {
			page, err := env.Store.SubjectLog(ctx, p, before, store.MaxLogPage)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Refs {
				have = append(have, r.Index)
			}
			if page.Next == 0 {
				break
			}
			before = page.Next
		}
		slices.Sort(have)
		slices.Sort(want[p])
		if int(end) != len(want[p]) || !slices.Equal(have, want[p]) {
			t.Errorf("%s: end %d, log holds %v; want %d entries %v", p, end, have, len(want[p]), want[p])
		}
		for seq := range seqs[p] {
			if seq < 1 || seq > end {
				t.Errorf("%s: seq %d outside 1 … %d", p, seq, end)
			}
		}
	}
}

// commandCounter counts the commands a client sends, by command name and collection.
type commandCounter struct {
	mu sync.Mutex
	n  map[string]int // "insert subject_log", "update subject_log_heads", …, "writeErrors insert"
}

func (c *commandCounter) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		coll, _ := e.Command.Lookup(e.CommandName).StringValueOK()
		c.mu.Lock()
		c.n[e.CommandName+" "+coll]++
		c.mu.Unlock()
	}, Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
		if _, err := e.Reply.LookupErr("writeErrors"); err == nil { // a document refused: a taken _id
			c.mu.Lock()
			c.n["writeErrors "+e.CommandName]++
			c.mu.Unlock()
		}
	}}
}

func (c *commandCounter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// TestColdAppendsFindTheEnd appends, through a store that knows no citizen's seq (a hub just
// started), to logs whose head hints lag their ends, as they do after a restart. Each append must
// land at its log's end through the group commit, with no insert that finds its seq taken: on
// FerretDB one taken _id turns the group's insert into one transaction per document, plus a retry
// of its own. On a shared store (reached by URI) a head is written only where the append takes it
// headEvery (8) or more behind; the store this process owns (the embedded one) writes none while
// it remembers the ends (lazyheads_test.go).
func TestColdAppendsFindTheEnd(t *testing.T) {
	t.Run("shared", func(t *testing.T) { testColdAppendsFindTheEnd(t, false) })
	t.Run("owned", func(t *testing.T) { testColdAppendsFindTheEnd(t, true) })
}

func testColdAppendsFindTheEnd(t *testing.T, owned bool) {
	env := storetest.Embedded(t)
	ctx := t.Context()
	salt := make([]byte, 32)
	// citizen → its log's end; every head hint says 1.
	ends := map[string]int{"c0": 2, "c1": 3, "c2": 4, "c3": 5, "c4": 6, "c5": 6, "c6": 9, "c7": 12}
	for p, end := range ends {
		for seq := 1; seq <= end; seq++ {
			doc := bson.D{{Key: "_id", Value: fmt.Sprintf("%s/%d", p, seq)}, {Key: "index", Value: int64(seq)}, {Key: "salt", Value: salt}}
			if _, err := env.DB.Collection("subject_log").InsertOne(ctx, doc); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := env.DB.Collection("subject_log_heads").InsertOne(ctx, bson.D{{Key: "_id", Value: p}, {Key: "seq", Value: int64(1)}}); err != nil {
			t.Fatal(err)
		}
	}

	counter := &commandCounter{n: map[string]int{}}
	client, err := mongo.Connect(options.Client().ApplyURI(env.URI).SetMonitor(counter.monitor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	var opts []mongostore.Option
	if owned {
		opts = append(opts, mongostore.WithEmbedded(env.Server))
	}
	cold, err := mongostore.New(ctx, client.Database(env.DB.Name()), opts...)
	if err != nil {
		t.Fatal(err)
	}

	// c0 … c5 one at a time and together; c6 and c7 as one AppendSubjectLogs (a list page).
	var wg sync.WaitGroup
	for _, p := range []string{"c0", "c1", "c2", "c3", "c4", "c5"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq, err := cold.AppendSubjectLog(ctx, store.LogRef{Pseudonym: p, Index: 100, Salt: salt})
			if err != nil || seq != uint64(ends[p]+1) {
				t.Errorf("AppendSubjectLog(%s) = %d, %v; want seq %d", p, seq, err, ends[p]+1)
			}
		}()
	}
	seqs, err := cold.AppendSubjectLogs(ctx, []store.LogRef{{Pseudonym: "c6", Index: 100, Salt: salt}, {Pseudonym: "c7", Index: 100, Salt: salt}})
	if err != nil || !slices.Equal(seqs, []uint64{10, 13}) {
		t.Errorf("AppendSubjectLogs(c6, c7) = %v, %v; want [10 13]", seqs, err)
	}
	wg.Wait()

	if n := counter.get("writeErrors insert"); n > 0 {
		t.Errorf("%d inserts refused documents: some found their seq taken", n)
	}
	if owned {
		time.Sleep(300 * time.Millisecond) // time for a wrong head write to reach the server
		if n := counter.get("update subject_log_heads"); n != 0 {
			t.Errorf("%d head writes, want none", n)
		}
		return
	}
	// c6 (end 9) and c7 (end 12) were taken 8 or more past their head, 1: their heads move, in the
	// background; no other head is written.
	for _, p := range []string{"c6", "c7"} {
		want := int64(ends[p] + 1)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var h struct {
				Seq int64 `bson:"seq"`
			}
			if err := env.DB.Collection("subject_log_heads").FindOne(ctx, bson.D{{Key: "_id", Value: p}}).Decode(&h); err != nil {
				t.Fatal(err)
			}
			if h.Seq == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("head of %s is %d, want %d", p, h.Seq, want)
			}
		}
	}
	// Every append has returned, so every head write it decided on has started (advanceAfter
	// decides before returning); give a wrong one time to reach the server before counting.
	time.Sleep(300 * time.Millisecond)
	if n := counter.get("update subject_log_heads"); n != 2 {
		t.Errorf("%d head writes, want 2 (c6 and c7)", n)
	}
}

// A reader of an access log writes the end it found back to the head hint only when the hint lags
// by eight or more (an advance was lost): appenders keep it within seven, and a write for every
// reader that probed would cost the store's one writer a write a read. A shared store (reached by
// URI): the embedded one, owned by this process, reads the ends it remembers instead.
func TestLogReadRepairsOnlyFarHeads(t *testing.T) {
	env := storetest.Embedded(t)
	ctx := t.Context()
	salt := make([]byte, 32)
	shared, err := mongostore.New(ctx, env.DB)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		if _, err := shared.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "r", Index: uint64(100 + i), Salt: salt}); err != nil {
			t.Fatal(err)
		}
	}
	heads := env.DB.Collection("subject_log_heads")
	head := func() int64 {
		t.Helper()
		var h struct {
			Seq int64 `bson:"seq"`
		}
		if err := heads.FindOne(ctx, bson.D{{Key: "_id", Value: "r"}}).Decode(&h); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			t.Fatal(err)
		}
		return h.Seq
	}
	// The appends' advance to 8 runs in the background: wait for it, so that it cannot land over
	// the heads set below (or leave nothing for them to replace).
	for deadline := time.Now().Add(10 * time.Second); head() != 8; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("head of r is %d after 12 appends, want 8", head())
		}
	}
	for _, tc := range []struct{ set, want int64 }{{5, 5}, {4, 12}, {11, 11}} {
		if _, err := heads.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "r"}}, bson.D{{Key: "seq", Value: tc.set}}); err != nil {
			t.Fatal(err)
		}
		if end, err := shared.SubjectLogEnd(ctx, "r"); err != nil || end != 12 {
			t.Fatalf("SubjectLogEnd(r) = %d, %v; want 12", end, err)
		}
		if got := head(); got != tc.want {
			t.Errorf("head %d (end 12): after a read the head is %d, want %d", tc.set, got, tc.want)
		}
	}
}
