package hub

import (
	"runtime"
	"testing"
	"time"

	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/demo"
)

// BenchmarkRecordCacheMemory measures what the record cache holds per citizen: demo citizens are
// imported, each read once through the cache (all their datasets), and the Go heap in use is
// compared before and after. The cache's default size (cmd/govhub --record-cache) rests on it.
//
//	go test ./hub -run '^$' -bench RecordCacheMemory -benchtime 1x
func BenchmarkRecordCacheMemory(b *testing.B) {
	const n = 500
	f := newFixture(b)
	g := demo.NewGenerator(1)
	var batch []NewCitizen
	for i := 1; i <= n; i++ {
		c := g.Citizen(i)
		batch = append(batch, NewCitizen{ID: c.ID, Records: c.Records})
	}
	if err := f.updater.Import(b.Context(), batch); err != nil {
		b.Fatal(err)
	}
	if err := f.log.WaitCaughtUp(b.Context()); err != nil {
		b.Fatal(err)
	}
	in := f.integrity
	names := dataset.Names()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for b.Loop() {
		in.cache = newRecordCache(n, time.Hour)
		before := heap()
		for _, c := range batch {
			if _, err := in.load(b.Context(), f.env.Store, c.ID, names); err != nil {
				b.Fatal(err)
			}
		}
		after := heap()
		b.ReportMetric(float64(after-before)/n, "heap-B/citizen")
		b.ReportMetric(float64(in.cache.lru.Len()), "citizens")
	}
}

// BenchmarkDataKeyCacheMemory measures the heap a cached data key takes (its AES-GCM state and the
// LRU's own), on which cmd/govhub's default data-key cache size rests.
//
//	go test ./hub -run '^$' -bench DataKeyCacheMemory -benchtime 1x
func BenchmarkDataKeyCacheMemory(b *testing.B) {
	const n = 10000
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for b.Loop() {
		before := heap()
		c := newDataKeyCache(n)
		for i := range n {
			dk, err := seal.NewDataKey(nil)
			if err != nil {
				b.Fatal(err)
			}
			c.lru.Add(demo.CitizenID(i+1), dk)
		}
		after := heap()
		b.ReportMetric(float64(after-before)/n, "heap-B/key")
		runtime.KeepAlive(c)
	}
}
