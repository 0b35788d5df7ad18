package mongostore_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

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
