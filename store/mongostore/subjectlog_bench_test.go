package mongostore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/store/storetest"
)

// subjectDocsEnv sizes BenchmarkSubjectLogFirstPage: the number of log documents seeded, over one
// tenth as many citizens. The target is GOVHUB_BENCH_SUBJECT_DOCS=1000000.
const subjectDocsEnv = "GOVHUB_BENCH_SUBJECT_DOCS"

// BenchmarkSubjectLogFirstPage reads the first page of 20 of a citizen's access log on the embedded
// store, seeded straight into its collections with docs log documents over docs/10 citizens: one
// in a hundred citizens has 100 entries (the ones read), the others share the rest. It reports the
// 50th and 99th percentile latencies of a read besides ns/op.
func BenchmarkSubjectLogFirstPage(b *testing.B) {
	docs := 20_000
	if v := os.Getenv(subjectDocsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("%s=%q: want a number of at least 1000", subjectDocsEnv, v)
		}
		docs = n
	}
	citizens := docs / 10
	heavy := citizens / 100
	pseudonym := func(i int) string {
		h := sha256.Sum256([]byte("citizen " + strconv.Itoa(i)))
		return hex.EncodeToString(h[:])
	}
	env := storetest.Embedded(b)
	ctx := b.Context()

	// Seed: heavy citizens 0 … heavy-1 get 100 entries each, the others the remaining ones in turn.
	start := time.Now()
	seqs := make([]int64, citizens)
	logs, heads := env.DB.Collection("subject_log"), env.DB.Collection("subject_log_heads")
	batch := make([]any, 0, 1000)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := logs.InsertMany(ctx, batch); err != nil {
			b.Fatalf("seeding the log: %v", err)
		}
		batch = batch[:0]
	}
	salt := make([]byte, 32)
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range docs {
		c := i % heavy
		if i >= heavy*100 {
			c = heavy + (i-heavy*100)%(citizens-heavy)
		}
		seqs[c]++
		batch = append(batch, bson.D{{Key: "_id", Value: pseudonym(c) + "/" + strconv.FormatInt(seqs[c], 10)},
			{Key: "index", Value: int64(i)}, {Key: "salt", Value: salt}, {Key: "time", Value: when.Add(time.Duration(i) * time.Second)}})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
	for c := 0; c < citizens; c++ {
		batch = append(batch, bson.D{{Key: "_id", Value: pseudonym(c)}, {Key: "seq", Value: seqs[c]}})
		if len(batch) == cap(batch) {
			if _, err := heads.InsertMany(ctx, batch); err != nil {
				b.Fatalf("seeding heads: %v", err)
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if _, err := heads.InsertMany(ctx, batch); err != nil {
			b.Fatalf("seeding heads: %v", err)
		}
	}
	b.Logf("seeded %d log documents over %d citizens in %v", docs, citizens, time.Since(start).Round(time.Millisecond))

	rng := rand.New(rand.NewPCG(1, 2))
	var took []time.Duration
	b.ResetTimer()
	for b.Loop() {
		p := pseudonym(rng.IntN(heavy))
		t0 := time.Now()
		page, err := env.Store.SubjectLog(ctx, p, 0, 20)
		took = append(took, time.Since(t0))
		if err != nil || len(page.Refs) != 20 || page.End != 100 {
			b.Fatalf("SubjectLog = %d refs, end %d, %v; want 20 of 100", len(page.Refs), page.End, err)
		}
	}
	slices.Sort(took)
	pct := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
