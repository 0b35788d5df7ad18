// Package bench compares the GovHub ledger with a baseline transparency log, Tessera's POSIX
// driver (github.com/transparency-dev/tessera v1.0.4), on the same machine, with the same entry
// bytes and the same closed-loop workload. It is a separate module so that Tessera never becomes
// a dependency of the product. This package holds no code of its own, only the benchmarks in its
// tests; the module also holds cmd/ledgerload, the load command for the ledger alone (sustained
// appends, time to a cosigned checkpoint, with local witnesses).
//
// The workload: C callers each append one entry, wait until it is durable, and append the next,
// until N entries are in. An entry is a GovHub access entry (ledger.FormatEntry of an entry shaped
// like the ledger package's sample), with a per-entry request digest and subject commitment so that
// every entry differs while all have the same size. Each benchmark reports
//
//	entries/s     N divided by the time from the first append to the last acknowledgement
//	p50-ms p99-ms the per-append latency (call to acknowledgement)
//	incl-p50-ms   the time from an append's call to the first published, signed checkpoint that
//	incl-p99-ms   covers its index
//	B/entry       the size of one entry
//
// "Durable" means what each system promises when it acknowledges: ledger.Log.Append returns once
// the batch holding the entry is stored (tree integration and checkpointing follow in the
// background); a Tessera POSIX index future resolves once the entry's bundle, the hash tiles and
// the tree state are written with fsync (the driver integrates inline), and its checkpoint is
// published afterwards at the checkpoint interval.
//
// Run it with a fixed count, once, on an otherwise idle machine:
//
//	go test -run '^$' -bench . -benchtime 20000x
package bench
