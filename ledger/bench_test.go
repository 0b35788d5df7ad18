package ledger_test

import (
	"sync"
	"testing"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

// BenchmarkAppend measures Append on the embedded store: one caller at a time (the latency of a
// lone append, one durable batch write each), and 64 concurrent callers (throughput; batches grow).
//
//	go test ./ledger -run '^$' -bench Append -benchtime 2000x
func BenchmarkAppend(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		env := storetest.Embedded(b)
		s, v := keys(b)
		l := openLog(b, env, s, v)
		for i := 0; b.Loop(); i++ {
			if _, err := l.Append(b.Context(), entry(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("concurrent64", func(b *testing.B) {
		env := storetest.Embedded(b)
		s, v := keys(b)
		l := openLog(b, env, s, v)
		work := make(chan int)
		var wg sync.WaitGroup
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					if _, err := l.Append(b.Context(), entry(i)); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}

// BenchmarkVerify measures a full verification of a log of 20,000 entries in batches of 64.
//
//	go test ./ledger -run '^$' -bench Verify -benchtime 3x
func BenchmarkVerify(b *testing.B) {
	env := storetest.Embedded(b)
	s, v := keys(b)
	l := openLog(b, env, s, v)
	work := make(chan int)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if _, err := l.Append(b.Context(), entry(i)); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := 0; i < 20000; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := l.Shutdown(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := ledger.Verify(b.Context(), env.Store, v)
		if err != nil || rep.Entries != 20000 {
			b.Fatalf("Verify = %+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/20000, "µs/entry")
}
