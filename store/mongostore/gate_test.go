package mongostore_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/govhub/govhub/store/embedded"
	"github.com/govhub/govhub/store/storetest"
)

// On the embedded server a write waits for the write gate (embedded.Server.LockWrites), or fails
// when its context ends first, and a read does not wait.
func TestWritesPassTheGate(t *testing.T) {
	env := storetest.Embedded(t)
	ctx := t.Context()
	unlock, err := env.Server.LockWrites(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- env.Store.AddCheckpoint(ctx, 1, []byte("checkpoint 1\n")) }()
	select {
	case err := <-done:
		unlock()
		t.Fatalf("AddCheckpoint returned (%v) while another held the write gate", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := env.Store.ReadTreeState(ctx); err != nil {
		t.Fatalf("ReadTreeState with the write gate held: %v", err)
	}
	// A write whose context ends while it waits fails with the context's error.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := env.Store.AddCheckpoint(short, 2, []byte("checkpoint 2\n")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AddCheckpoint with a 50 ms deadline, the gate held = %v; want the deadline's error", err)
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatalf("AddCheckpoint after the gate opened: %v", err)
	}

	// The gate measured it: the test's own hold of 300 ms or more, and the checkpoint's write that
	// waited for it; the write that gave up is not counted as admitted.
	stats := map[string]embedded.GateStat{}
	for _, st := range env.Server.WriteGateStats() {
		stats[st.Name] = st
	}
	if st := stats["test"]; st.Writes != 1 || st.Held < 300*time.Millisecond {
		t.Errorf("gate stats of the test's hold = %+v; want 1 write held 300 ms or more", st)
	}
	if st := stats["ledger_checkpoints"]; st.Writes != 1 || st.Waited < 250*time.Millisecond || st.Held <= 0 || st.Held > st.Waited {
		t.Errorf("gate stats of the checkpoints = %+v; want 1 write that waited 250 ms or more and held the gate briefly", st)
	}
}

// Every method of the driver's collection that can write is overridden by the store's gated
// handle (gate.go); a driver upgrade that adds one fails here until it is.
func TestCollectionGatesEveryWrite(t *testing.T) {
	reads := []string{"Aggregate", "Clone", "CountDocuments", "Database", "Distinct", "EstimatedDocumentCount",
		"Find", "FindOne", "Indexes", "Name", "SearchIndexes", "Watch"}
	f, err := parser.ParseFile(token.NewFileSet(), "gate.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	gated := map[string]bool{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv == nil {
			continue
		}
		if id, ok := fd.Recv.List[0].Type.(*ast.Ident); ok && id.Name == "collection" {
			gated[fd.Name.Name] = true
		}
	}
	typ := reflect.TypeOf(&mongo.Collection{})
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if !slices.Contains(reads, name) && !gated[name] {
			t.Errorf("mongo.Collection.%s is neither a read nor gated in gate.go", name)
		}
	}
}
