package mongostore_test

import (
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/store/storetest"
)

// BenchmarkInsertDocs inserts n documents of size bytes in one insert command on an idle embedded
// store, and reports the time a document besides ns/op: what a command costs the store's one
// writer by itself and what each document adds (the group commits share one insert among the
// requests waiting together).
//
//	go test ./store/mongostore -run '^$' -bench InsertDocs -benchtime 400x
func BenchmarkInsertDocs(b *testing.B) {
	for _, n := range []int{1, 4, 16, 64} {
		for _, size := range []int{40, 600} {
			b.Run(fmt.Sprintf("n=%d/size=%d", n, size), func(b *testing.B) {
				env := storetest.Embedded(b)
				c := env.DB.Collection("bench_docs")
				payload := make([]byte, size)
				b.ResetTimer()
				for i := range b.N {
					docs := make([]any, n)
					for j := range n {
						docs[j] = bson.D{{Key: "_id", Value: fmt.Sprintf("pseudonym%032d/%d", i, j)}, {Key: "e", Value: payload}, {Key: "s", Value: int64(j)}}
					}
					if _, err := c.InsertMany(b.Context(), docs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/doc")
			})
		}
	}
}
