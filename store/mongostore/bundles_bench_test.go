package mongostore_test

import (
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
