package mongostore_test

import (
	"fmt"
	"testing"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

// BenchmarkWriteBundles writes what one integration round of about 1,900 entries writes: seven
// complete entry bundles (368-byte entries) and the partial one the round ends in, on the
// embedded store.
func BenchmarkWriteBundles(b *testing.B) {
	env := storetest.Embedded(b)
	data := make([]byte, 256*370)
	b.ResetTimer()
	for i := range b.N {
		bs := make([]ledger.BundleData, 0, 8)
		for j := range 7 {
			bs = append(bs, ledger.BundleData{N: uint64(i*8 + j), Count: 256, Data: data})
		}
		bs = append(bs, ledger.BundleData{N: uint64(i*8 + 7), Count: 100, Data: data[:100*370]})
		if err := env.Store.WriteBundles(b.Context(), bs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddCheckpoint stores small checkpoint documents one after the other on an idle embedded
// store: what one small write costs the store's one writer when nothing else runs (compare the
// write gate's time a write under load, govhub bench --json).
func BenchmarkAddCheckpoint(b *testing.B) {
	env := storetest.Embedded(b)
	b.ResetTimer()
	for i := range b.N {
		if err := env.Store.AddCheckpoint(b.Context(), uint64(i+1), fmt.Appendf(nil, "checkpoint %d\n", i+1)); err != nil {
			b.Fatal(err)
		}
	}
}
