package ledger_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

// Verify reports its progress from the start to the last entry, never going back nor past the
// total, and ends at done == total; Reader.EachEntry gives every integrated entry once, in order.
func TestVerifyProgressAndEachEntry(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	l := openLog(t, env, s, v)
	const n = 700 // three entry bundles, the last one partial
	leaves := appendN(t, l, n)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := l.WaitCheckpoint(ctx, n); err != nil {
		t.Fatal(err)
	}

	type call struct{ done, total uint64 }
	var calls []call
	rep, err := ledger.Verify(t.Context(), env.Store, v, ledger.WithProgress(func(done, total uint64) {
		calls = append(calls, call{done, total})
	}))
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if len(calls) < 2 || calls[0].done != 0 {
		t.Fatalf("progress calls = %v, want several from 0", calls)
	}
	for i, c := range calls {
		if c.done > c.total {
			t.Errorf("progress call %d: done %d > total %d", i, c.done, c.total)
		}
		if i > 0 && c.done < calls[i-1].done {
			t.Errorf("progress call %d: done went from %d back to %d", i, calls[i-1].done, c.done)
		}
	}
	if last := calls[len(calls)-1]; last.done != last.total || last.done != rep.Entries || rep.Entries != n {
		t.Errorf("last progress call = %v, report %+v; want done = total = %d", last, rep, n)
	}

	var next uint64
	err = l.Reader().EachEntry(t.Context(), func(index, size uint64, entry []byte) error {
		if index != next || size != n {
			t.Fatalf("EachEntry gave entry %d of %d, want %d of %d", index, size, next, n)
		}
		if !bytes.Equal(entry, leaves[index]) {
			t.Errorf("EachEntry entry %d differs from the one appended", index)
		}
		next++
		return nil
	})
	if err != nil || next != n {
		t.Errorf("EachEntry = %v after %d entries, want nil after %d", err, next, n)
	}
}
