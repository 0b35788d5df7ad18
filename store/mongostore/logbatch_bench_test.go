package mongostore_test

import (
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/storetest"
)

// BenchmarkAppendSubjectLogConcurrent appends b.N access-log references on the embedded store from
// 16 goroutines at once, each for a citizen drawn at random from 4096, and reports appends/s: the
// load a hub serving many logged reads at once puts on the log, where each append is durable before
// it returns.
func BenchmarkAppendSubjectLogConcurrent(b *testing.B) {
	const workers = 16
	citizens := 4096
	if v, _ := strconv.Atoi(os.Getenv("GOVHUB_BENCH_CITIZENS")); v > 0 {
		citizens = v
	}
	env := storetest.Embedded(b)
	ctx := b.Context()
	pseudonyms := make([]string, citizens)
	for i := range pseudonyms {
		var p [32]byte
		_, _ = rand.Read(p[:])
		pseudonyms[i] = hex.EncodeToString(p[:])
	}
	salt := make([]byte, 32)
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), 7))
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				ref := store.LogRef{Pseudonym: pseudonyms[rng.IntN(citizens)], Index: uint64(i), Salt: salt, Time: time.Now()}
				if _, err := env.Store.AppendSubjectLog(ctx, ref); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatalf("AppendSubjectLog = %v", err)
	default:
	}
	b.ReportMetric(float64(b.N)/took.Seconds(), "appends/s")
}
