package witness_test

import (
	"net/http"
	"testing"

	"github.com/govhub/govhub/ledger/witness"
)

// A witness told to follow a log's new origin while it serves (a log key rotation) cosigns its
// checkpoints from then on, refused before as an unknown log; adding it again changes nothing, and
// the same origin under another key is refused, the first kept.
func TestAddLogsWhileServing(t *testing.T) {
	f := newFixture(t, 8)
	f.advance(t, 5)
	s2, v2 := newLogKey(t, logName+"/2")
	next := &testLog{signer: s2, verifier: v2, tree: newTree(t, 8, plainLeaf)}
	if status, _, _ := f.post(t, body(0, nil, next.checkpoint(t, 3))); status != http.StatusNotFound {
		t.Fatalf("a checkpoint of a log not followed = %d, want 404", status)
	}
	if n, err := f.server.AddLogs(witness.Log{Origin: v2.Name(), Verifier: v2}); err != nil || n != 1 {
		t.Fatalf("AddLogs(the new origin) = %d, %v; want 1", n, err)
	}
	if _, err := f.client.AddCheckpoint(t.Context(), 0, nil, next.checkpoint(t, 3)); err != nil {
		t.Fatalf("a checkpoint of the added log = %v", err)
	}
	if size, _, ok := f.server.Latest(v2.Name()); !ok || size != 3 {
		t.Errorf("Latest(the added log) = %d, %v; want 3", size, ok)
	}
	f.advance(t, 8) // the first log goes on
	if n, err := f.server.AddLogs(witness.Log{Origin: v2.Name(), Verifier: v2}, witness.Log{Origin: logName, Verifier: f.log.verifier}); err != nil || n != 0 {
		t.Errorf("AddLogs(logs followed already) = %d, %v; want 0", n, err)
	}
	_, other := newLogKey(t, logName+"/2")
	if _, err := f.server.AddLogs(witness.Log{Origin: v2.Name(), Verifier: other}); err == nil {
		t.Errorf("AddLogs(a followed origin under another key) = nil error")
	}
	if _, err := f.client.AddCheckpoint(t.Context(), 3, next.tree.proof(t, 3, 6), next.checkpoint(t, 6)); err != nil {
		t.Errorf("after the refused AddLogs, the added log's next checkpoint = %v", err)
	}
}
