package ledger_test

// This file is in the external test package, not in package ledger as first planned: the
// embedded store (store/storetest, store/mongostore) imports ledger, so an internal test of
// ledger cannot import it ("import cycle not allowed in test"), and the point of this benchmark is
// the stored tree. So the tiles are built here with transparency-dev/merkle's compact range, the
// library the integrator's tree type is built on, and checked by the log itself: ledger.New
// recomputes the root from the stored tiles and refuses a mismatch with the checkpoint, and every
// tile a proof reads is authenticated against the root by sumdb/tlog. The warm-up also checks the
// proofs it gets against leaf hashes and roots computed here.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

// Proof benchmark settings.
const (
	// proofSizeEnv names the variable that sets the size of the benchmark's tree.
	proofSizeEnv = "GOVHUB_BENCH_PROOF_SIZE"
	// defaultProofSize keeps an unconfigured `go test -bench .` quick (a hundredth of the 10M
	// tree, whose setup docs/BENCHMARKS.md measured at 40 s with the command below).
	defaultProofSize = 100_000
	// proofWarmup is how many proofs of each kind warm the tile cache before timing (the cache
	// holds 4096 tiles; a random index in a 10M tree falls in one of 39,063 level-0 tiles).
	proofWarmup = 8192
	// proofCheckedRoots is how many tree sizes get an independently computed root, against
	// which warm-up consistency proofs are checked.
	proofCheckedRoots = 32
	// tileWriteBatch is how many completed tiles go into one WriteTiles call during setup.
	tileWriteBatch = 256
)

// BenchmarkProofs10M measures inclusion and consistency proofs on a large stored tree, on the
// embedded store, with the log's tile cache warm: ProveInclusion(random index, size) and
// ProveConsistency(random size, size). The tree has $GOVHUB_BENCH_PROOF_SIZE entries, 100,000 when
// the variable is unset (the size the benchmark is named for, 10 million, took 40 s to build with
// this command, docs/BENCHMARKS.md):
//
//	GOVHUB_BENCH_PROOF_SIZE=10000000 go test ./ledger -run '^$' -bench Proofs10M -benchtime 2000x -timeout 60m
//
// Setup does not go through the sequencer: synthetic leaves (leaf i is the 8-byte big-endian i)
// are hashed into a compact Merkle range, every hash tile is written as it completes, then the last
// partial entry bundle (ledger.New reads it), a signed checkpoint and the tree state; no batch
// documents are stored. Besides ns/op, each line reports
//
//	tile-reads/op  tiles read from the store per proof (cache misses)
//	store-µs/op    time spent in those reads per proof
//
// and the inclusion line also reports the tree size, the setup time and the database's size on
// disk, and the Go heap (HeapInuse after GC) the open log added: just opened, and once warm.
func BenchmarkProofs10M(b *testing.B) {
	size := proofBenchSize(b)
	ctx := b.Context()
	env := storetest.Embedded(b)
	s, v := keys(b)
	rng := mrand.New(mrand.NewPCG(10, 6))

	checked := make([]uint64, 0, proofCheckedRoots)
	for range proofCheckedRoots {
		checked = append(checked, 1+rng.Uint64N(size-1))
	}
	began := time.Now()
	roots, err := buildProofTree(ctx, env.Store, s, size, checked)
	if err != nil {
		b.Fatalf("building a tree of %d entries: %v", size, err)
	}
	setup := time.Since(began)
	disk, err := dirSize(env.Dir)
	if err != nil {
		b.Fatal(err)
	}

	st := &tileCounter{Storage: env.Store}
	before := heapInuse()
	l, err := ledger.New(ctx, ledger.Config{Storage: st, Signer: s, Verifier: v})
	if err != nil {
		b.Fatalf("ledger.New on the built tree = %v", err)
	}
	b.Cleanup(func() { _ = l.Shutdown(context.Background()) })
	opened := heapInuse() - before
	cp := l.Latest()
	if cp.Size != size || cp.Root != roots[size] {
		b.Fatalf("ledger.New opened size %d root %v, want size %d root %v", cp.Size, cp.Root, size, roots[size])
	}
	b.Logf("tree of %d entries built in %v, %.1f MB on disk; log opened in the heap with %.1f MB",
		size, setup.Round(time.Millisecond), mb(disk), mb(opened))

	// Warm the cache, checking every proof on the way.
	for range proofWarmup {
		i := rng.Uint64N(size)
		p, err := l.Reader().ProveInclusion(ctx, i, size)
		if err != nil {
			b.Fatal(err)
		}
		if err := ledger.CheckInclusion(p, cp, i, ledger.LeafHash(proofLeaf(i))); err != nil {
			b.Fatalf("CheckInclusion(ProveInclusion(%d, %d)) = %v", i, size, err)
		}
	}
	for k := range proofWarmup {
		from := 1 + rng.Uint64N(size-1)
		if k < len(checked) {
			from = checked[k]
		}
		p, err := l.Reader().ProveConsistency(ctx, from, size)
		if err != nil {
			b.Fatal(err)
		}
		if root, ok := roots[from]; ok {
			old := ledger.Checkpoint{Size: from, Root: root}
			if err := ledger.CheckConsistency(p, old, cp); err != nil {
				b.Fatalf("CheckConsistency(ProveConsistency(%d, %d)) = %v", from, size, err)
			}
		}
	}
	warm := heapInuse() - before
	runtime.KeepAlive(l)

	b.Run("inclusion", func(b *testing.B) {
		reads, spent := st.reads.Load(), st.nanos.Load()
		for b.Loop() {
			if _, err := l.Reader().ProveInclusion(ctx, rng.Uint64N(size), size); err != nil {
				b.Fatal(err)
			}
		}
		st.report(b, reads, spent)
		b.ReportMetric(float64(size), "entries")
		b.ReportMetric(setup.Seconds(), "setup-s")
		b.ReportMetric(mb(disk), "disk-MB")
		b.ReportMetric(mb(opened), "heap-open-MB")
		b.ReportMetric(mb(warm), "heap-warm-MB")
	})
	b.Run("consistency", func(b *testing.B) {
		reads, spent := st.reads.Load(), st.nanos.Load()
		for b.Loop() {
			if _, err := l.Reader().ProveConsistency(ctx, 1+rng.Uint64N(size-1), size); err != nil {
				b.Fatal(err)
			}
		}
		st.report(b, reads, spent)
	})
}

// proofBenchSize reads the tree size from the environment.
func proofBenchSize(b *testing.B) uint64 {
	env := os.Getenv(proofSizeEnv)
	if env == "" {
		return defaultProofSize
	}
	n, err := strconv.ParseUint(env, 10, 64)
	if err != nil || n < 2 {
		b.Fatalf("%s=%q: want a number of entries, at least 2", proofSizeEnv, env)
	}
	return n
}

// proofLeaf is the i'th synthetic leaf.
func proofLeaf(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// buildProofTree stores the hash tiles of the tree of the first size synthetic leaves, the last
// partial entry bundle, a checkpoint signed by s and the tree state. It returns the root of the
// whole tree and of the trees of each size in at (computed along the way).
func buildProofTree(ctx context.Context, st ledger.Storage, s note.Signer, size uint64, at []uint64) (map[uint64]tlog.Hash, error) {
	at = append(slices.Sorted(slices.Values(at)), size)
	roots := make(map[uint64]tlog.Hash, len(at))

	// Completed tiles go to a writer goroutine in batches, so hashing and writing overlap.
	batches := make(chan []ledger.TileData, 4)
	written := make(chan error, 1)
	go func() {
		var err error
		for batch := range batches {
			if err == nil {
				err = st.WriteTiles(ctx, batch)
			}
		}
		written <- err
	}()
	type key struct {
		level uint
		n     uint64
	}
	edge := map[key][]byte{} // partial tiles along the right edge
	var done []ledger.TileData
	visit := func(id compact.NodeID, hash []byte) {
		if id.Level%ledger.TileHeight != 0 {
			return
		}
		k := key{id.Level / ledger.TileHeight, id.Index >> ledger.TileHeight}
		data := append(edge[k], hash...)
		if len(data) < tlog.HashSize<<ledger.TileHeight {
			edge[k] = data
			return
		}
		delete(edge, k)
		done = append(done, ledger.TileData{Level: k.level, N: k.n, Hashes: data})
		if len(done) == tileWriteBatch {
			batches <- done
			done = nil
		}
	}
	rng := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	for i := uint64(0); i < size; i++ {
		h := ledger.LeafHash(proofLeaf(i))
		if err := rng.Append(h[:], visit); err != nil {
			close(batches)
			<-written
			return nil, err
		}
		for len(at) > 0 && at[0] == i+1 {
			root, err := rng.GetRootHash(nil)
			if err != nil {
				close(batches)
				<-written
				return nil, err
			}
			roots[i+1] = tlog.Hash(root)
			at = at[1:]
		}
	}
	for k, data := range edge {
		done = append(done, ledger.TileData{Level: k.level, N: k.n, Hashes: data})
	}
	batches <- done
	close(batches)
	if err := <-written; err != nil {
		return nil, fmt.Errorf("writing tiles: %w", err)
	}

	if w := size % (1 << ledger.TileHeight); w != 0 {
		n := size >> ledger.TileHeight
		var data []byte
		for i := n << ledger.TileHeight; i < size; i++ {
			data = ledger.AppendBundleEntry(data, proofLeaf(i))
		}
		if err := st.WriteBundles(ctx, []ledger.BundleData{{N: n, Count: int(w), Data: data}}); err != nil {
			return nil, fmt.Errorf("writing entry bundle %d: %w", n, err)
		}
	}
	root := roots[size]
	cp, err := ledger.SignCheckpoint(s, size, root)
	if err != nil {
		return nil, err
	}
	if err := st.AddCheckpoint(ctx, size, cp.Note); err != nil {
		return nil, fmt.Errorf("storing the checkpoint: %w", err)
	}
	next := ledger.TreeState{Size: size, Root: root[:], Checkpoint: cp.Note}
	if err := st.SwapTreeState(ctx, ledger.TreeState{}, next); err != nil {
		return nil, fmt.Errorf("storing the tree state: %w", err)
	}
	return roots, nil
}

// tileCounter counts the tiles the log reads from storage, and the time it spends reading them.
type tileCounter struct {
	ledger.Storage
	reads, nanos atomic.Int64
}

func (c *tileCounter) ReadTile(ctx context.Context, level uint, n uint64) ([]byte, error) {
	t0 := time.Now()
	data, err := c.Storage.ReadTile(ctx, level, n)
	c.nanos.Add(int64(time.Since(t0)))
	c.reads.Add(1)
	return data, err
}

// report reports the reads since the counts were reads and nanos, per operation.
func (c *tileCounter) report(b *testing.B, reads, nanos int64) {
	ops := float64(b.N)
	b.ReportMetric(float64(c.reads.Load()-reads)/ops, "tile-reads/op")
	b.ReportMetric(float64(c.nanos.Load()-nanos)/ops/1e3, "store-µs/op")
}

// heapInuse returns the bytes of in-use heap spans after a garbage collection.
func heapInuse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// dirSize returns the total size of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		return nil
	})
	return total, err
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }
