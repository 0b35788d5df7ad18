package mongostore_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/storetest"
)

// BulkLoadSubjectLogs writes what AppendSubjectLogs would: the logs read back newest first, the
// subject index references, heads from which the next append continues, and it refuses a
// reference without a seq.
func TestBulkLoadSubjectLogs(t *testing.T) {
	env := storetest.Embedded(t)
	ctx := t.Context()
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var refs []store.LogRef
	for i := range 30 { // three citizens, interleaved; citizen c's k'th entry is seq k+1
		p := fmt.Sprintf("p%d", i%3)
		refs = append(refs, store.LogRef{Pseudonym: p, Seq: uint64(i/3 + 1), Index: uint64(100 + i),
			Salt: bytes.Repeat([]byte{byte(i)}, 32), Time: when.Add(time.Duration(i) * time.Second)})
	}
	if err := env.Store.BulkLoadSubjectLogs(ctx, refs); err != nil {
		t.Fatal(err)
	}
	page, err := env.Store.SubjectLog(ctx, "p1", 0, 4)
	if err != nil || page.End != 10 || len(page.Refs) != 4 {
		t.Fatalf("SubjectLog = end %d, %d refs, %v; want end 10, 4 refs", page.End, len(page.Refs), err)
	}
	for k, r := range page.Refs {
		want := refs[(9-k)*3+1]
		if r.Seq != want.Seq || r.Index != want.Index || !bytes.Equal(r.Salt, want.Salt) || !r.Time.Equal(want.Time) {
			t.Errorf("ref %d = %+v, want %+v", k, r, want)
		}
	}
	ref, err := env.Store.SubjectRef(ctx, "p2", 102)
	if err != nil || !bytes.Equal(ref.Salt, refs[2].Salt) {
		t.Fatalf("SubjectRef = %+v, %v", ref, err)
	}
	seq, err := env.Store.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "p0", Index: 500, Salt: make([]byte, 32)})
	if err != nil || seq != 11 {
		t.Fatalf("AppendSubjectLog after the bulk load = %d, %v; want 11", seq, err)
	}
	if err := env.Store.BulkLoadSubjectLogs(ctx, []store.LogRef{{Pseudonym: "q", Index: 1, Salt: make([]byte, 32)}}); err == nil {
		t.Fatal("BulkLoadSubjectLogs took a reference without a seq")
	}
}
