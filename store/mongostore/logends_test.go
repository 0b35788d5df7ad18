package mongostore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/mongostore"
	"github.com/govhub/govhub/store/storetest"
)

// TestLogEndsAcrossARestart: the access-log ends a store knows are saved, loaded by the next store
// on the same embedded database (a restarted hub), and used there without a read of any head or
// log document; a saved set whose ledger size no longer matches is dropped; and an end that is
// behind the log (an append the save did not see) still lands at the log's true end.
func TestLogEndsAcrossARestart(t *testing.T) {
	env := storetest.Embedded(t)
	ctx := t.Context()
	salt := make([]byte, 32)
	ends := map[string]uint64{"c0": 3, "c1": 5, "c2": 9, "c3": 1}
	for p, end := range ends {
		for range end {
			if _, err := env.Store.AppendSubjectLog(ctx, store.LogRef{Pseudonym: p, Index: 7, Salt: salt}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := env.Store.SaveLogEnds(ctx, 42); n != 4 || err != nil {
		t.Fatalf("SaveLogEnds = %d, %v; want 4", n, err)
	}

	// A restart: a new store on the same database, its commands counted.
	restart := func() (*mongostore.Store, *commandCounter) {
		counter := &commandCounter{n: map[string]int{}}
		client, err := mongo.Connect(options.Client().ApplyURI(env.URI).SetMonitor(counter.monitor()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
		st, err := mongostore.New(ctx, client.Database(env.DB.Name()), mongostore.WithEmbedded(env.Server))
		if err != nil {
			t.Fatal(err)
		}
		return st, counter
	}
	warm, counter := restart()
	if n, err := warm.LoadLogEnds(ctx, 42); n != 4 || err != nil {
		t.Fatalf("LoadLogEnds = %d, %v; want 4", n, err)
	}
	if err := env.DB.Collection("meta").FindOne(ctx, bson.D{{Key: "_id", Value: "log_ends"}}).Err(); !errors.Is(err, mongo.ErrNoDocuments) {
		t.Errorf("the saved ends are still stored after loading them (%v)", err)
	}
	for p, end := range ends {
		if seq, err := warm.AppendSubjectLog(ctx, store.LogRef{Pseudonym: p, Index: 8, Salt: salt}); seq != end+1 || err != nil {
			t.Errorf("AppendSubjectLog(%s) after the restart = %d, %v; want %d", p, seq, err, end+1)
		}
		ends[p]++
	}
	if f, h := counter.get("find subject_log"), counter.get("find subject_log_heads"); f != 0 || h != 0 {
		t.Errorf("appends with loaded ends read %d log and %d head documents, want none", f, h)
	}
	if n, err := warm.LoadLogEnds(ctx, 42); n != 0 || err != nil {
		t.Errorf("LoadLogEnds a second time = %d, %v; want 0", n, err)
	}

	// Saved at ledger size 50, but the ledger has grown since: dropped (and deleted), and the
	// appends find the ends by reads.
	if _, err := warm.SaveLogEnds(ctx, 50); err != nil {
		t.Fatal(err)
	}
	stale, counter := restart()
	if n, err := stale.LoadLogEnds(ctx, 51); n != 0 || err != nil {
		t.Errorf("LoadLogEnds of ends saved at another ledger size = %d, %v; want 0", n, err)
	}
	if n, err := stale.LoadLogEnds(ctx, 50); n != 0 || err != nil {
		t.Errorf("LoadLogEnds after dropping stale ends = %d, %v; want 0 (deleted)", n, err)
	}
	if seq, err := stale.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "c2", Index: 9, Salt: salt}); seq != ends["c2"]+1 || err != nil {
		t.Errorf("AppendSubjectLog(c2) with no known end = %d, %v; want %d", seq, err, ends["c2"]+1)
	}
	ends["c2"]++
	if counter.get("find subject_log") == 0 {
		t.Errorf("an append with no known end read no log document")
	}

	// An end that is behind: saved, then another append the save did not see (with the same
	// ledger size, which the hub never lets happen). The next append still lands after it.
	if _, err := warm.SaveLogEnds(ctx, 60); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "c0", Index: 10, Salt: salt}); err != nil {
		t.Fatal(err)
	}
	behind, _ := restart()
	if n, err := behind.LoadLogEnds(ctx, 60); n != 4 || err != nil {
		t.Fatalf("LoadLogEnds = %d, %v; want 4", n, err)
	}
	if seq, err := behind.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "c0", Index: 11, Salt: salt}); seq != ends["c0"]+2 || err != nil {
		t.Errorf("AppendSubjectLog(c0) with an end one behind = %d, %v; want %d", seq, err, ends["c0"]+2)
	}

	// An erased citizen's log end is not saved: behind knows c0 … c3, then c3's log is deleted.
	if err := behind.DeleteSubjectLog(ctx, "c3"); err != nil {
		t.Fatal(err)
	}
	if n, err := behind.SaveLogEnds(ctx, 70); n != 3 || err != nil {
		t.Errorf("SaveLogEnds after an erasure = %d, %v; want 3", n, err)
	}

	// A store opened read-only beside a hub saves and loads nothing.
	ro, err := mongostore.New(ctx, env.DB, mongostore.WithEmbedded(env.Server), mongostore.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ro.SaveLogEnds(ctx, 60); n != 0 || err != nil {
		t.Errorf("SaveLogEnds on a read-only store = %d, %v", n, err)
	}
}

// An import's appends (AppendSubjectLogs of more references than a group commit takes) leave
// their citizens' ends known, and so saved at the stop: a hub that seeded its demo knows every
// seeded log's end.
func TestLogEndsAfterALargeAppend(t *testing.T) {
	env := storetest.Embedded(t)
	ctx := t.Context()
	var refs []store.LogRef
	for i := range 300 {
		refs = append(refs, store.LogRef{Pseudonym: fmt.Sprintf("p%02d", i%60), Index: uint64(i + 1), Salt: make([]byte, 32)})
	}
	if _, err := env.Store.AppendSubjectLogs(ctx, refs); err != nil {
		t.Fatal(err)
	}
	if n, err := env.Store.SaveLogEnds(ctx, 300); n != 60 || err != nil {
		t.Fatalf("SaveLogEnds after appending 300 references for 60 citizens = %d, %v; want 60", n, err)
	}
	st, err := mongostore.New(ctx, env.DB, mongostore.WithEmbedded(env.Server))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.LoadLogEnds(ctx, 300); n != 60 || err != nil {
		t.Fatalf("LoadLogEnds = %d, %v; want 60", n, err)
	}
	if seq, err := st.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "p07", Index: 301, Salt: make([]byte, 32)}); seq != 6 || err != nil {
		t.Errorf("AppendSubjectLog(p07) after the restart = %d, %v; want 6", seq, err)
	}
}
