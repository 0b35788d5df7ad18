package mongostore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/storetest"
)

// BenchmarkMovePseudonyms moves 50 citizens, each with 5 access log entries (and their private
// index references), to new pseudonyms in one call on the embedded store: what the background
// move after an index key rotation does per call (hub.Pseudonyms.MoveAll). It reports citizens
// moved per second besides ns/op; the store is seeded outside the timer.
func BenchmarkMovePseudonyms(b *testing.B) {
	const citizens, entries = 50, 5
	env := storetest.Embedded(b)
	ctx := b.Context()
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	index := uint64(0)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		var refs []store.LogRef
		moves := make([]store.PseudonymMove, citizens)
		for c := range citizens {
			from := fmt.Sprintf("old-%d-%d", i, c)
			moves[c] = store.PseudonymMove{From: from, To: fmt.Sprintf("new-%d-%d", i, c)}
			for range entries {
				index++
				refs = append(refs, store.LogRef{Pseudonym: from, Index: index, Salt: make([]byte, 32), Time: at, Entry: make([]byte, 400)})
			}
		}
		if _, err := env.Store.AppendSubjectLogs(ctx, refs); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := env.Store.MovePseudonyms(ctx, moves, false)
		if err != nil || n != citizens*entries {
			b.Fatalf("MovePseudonyms = %d, %v; want %d items", n, err, citizens*entries)
		}
	}
	b.ReportMetric(float64(b.N*citizens)/b.Elapsed().Seconds(), "citizens/s")
}
