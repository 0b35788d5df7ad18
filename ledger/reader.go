package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sync/errgroup"
)

// ErrNotIntegrated: the entry or tree size asked for is beyond the latest checkpoint.
var ErrNotIntegrated = errors.New("ledger: not yet covered by a checkpoint")

// ReaderStorage is what a Reader reads: the read methods of Storage, and nothing that writes. The
// methods are specified where Storage's sub-interfaces declare them (BatchStorage, TileStorage,
// BundleStorage, StateStorage); every Storage is a ReaderStorage. They must be safe for concurrent
// use.
type ReaderStorage interface {
	// ReadBatch returns the batch whose first index is first, or ErrNotFound.
	ReadBatch(ctx context.Context, first uint64) (Batch, error)
	// ReadTile returns the widest stored version of hash tile (level, n), or ErrNotFound.
	ReadTile(ctx context.Context, level uint, n uint64) ([]byte, error)
	// ReadBundle returns the fullest stored version of entry bundle n, or ErrNotFound.
	ReadBundle(ctx context.Context, n uint64) ([]byte, error)
	// ReadTreeState returns the stored tree state, or the zero state when none was ever stored.
	ReadTreeState(ctx context.Context) (TreeState, error)
	// LatestCosigned returns the cosigned checkpoint of the largest size, or ErrNotFound.
	LatestCosigned(ctx context.Context) ([]byte, error)
}

// Reader is the read side of a log: entries, inclusion and consistency proofs, tree roots, the
// sequenced entries not yet integrated (FindLeaf), and the C2SP tlog-tiles read API (Handler). It
// never writes.
//
// Proofs, roots and entries are served within the Reader's latest integrated checkpoint (beyond
// it: ErrNotIntegrated), and every hash read from storage is authenticated against that
// checkpoint's root before it is used or cached. A Reader obtained from a running log (Log.Reader)
// follows the log's checkpoints as they are signed and serves the published one (cosigned when
// the log has witnesses) at "checkpoint"; a Reader built by NewReader reads the stored tree state
// on every call instead.
//
// A Reader is safe for concurrent use.
type Reader struct {
	store  ReaderStorage
	keys   func() Keys // the log key's history
	reload func() bool // reads it again; reports whether it grew (nil: never)
	tiles  *tileCache
	// heads returns the latest integrated checkpoint (proofs are made within it) and the latest
	// published one (served by Handler).
	heads func(ctx context.Context) (integrated, published Checkpoint, err error)
}

// NewReader returns a Reader of the log kept in s, for tools that read a log without appending to
// it (nothing is started, nothing needs shutting down). Its checkpoint is the one stored with the
// tree state, verified under v on every call; with no checkpoint stored it serves an empty tree.
// Its Handler serves that checkpoint, whether or not witnesses have cosigned it.
func NewReader(s ReaderStorage, v note.Verifier) *Reader {
	return NewReaderKeys(s, SingleKey(v))
}

// NewReaderKeys is NewReader for a log whose key was rotated: checkpoints are verified under the
// key history k.
func NewReaderKeys(s ReaderStorage, k Keys) *Reader {
	v := k.Current()
	r := &Reader{store: s, keys: func() Keys { return k }, tiles: newTileCache(4096)}
	r.heads = func(ctx context.Context) (Checkpoint, Checkpoint, error) {
		st, err := s.ReadTreeState(ctx)
		if err != nil {
			return Checkpoint{}, Checkpoint{}, fmt.Errorf("ledger: reading tree state: %w", err)
		}
		if st.Size == 0 && len(st.Checkpoint) == 0 {
			return Checkpoint{Origin: v.Name()}, Checkpoint{Origin: v.Name()}, nil
		}
		cp, err := r.parseCheckpoint(st.Checkpoint)
		if err != nil {
			return Checkpoint{}, Checkpoint{}, fmt.Errorf("ledger: latest checkpoint: %w", err)
		}
		if cp.Size != st.Size {
			return Checkpoint{}, Checkpoint{}, fmt.Errorf("ledger: latest checkpoint is for size %d, the tree state says %d", cp.Size, st.Size)
		}
		return cp, cp, nil
	}
	return r
}

// Keys returns the log key's history (what GET log-keys serves).
func (r *Reader) Keys() Keys { return r.keys() }

// parseCheckpoint verifies a checkpoint under the key history.
func (r *Reader) parseCheckpoint(text []byte) (Checkpoint, error) {
	cp, err := r.keys().ParseCheckpoint(text)
	if err != nil && r.reload != nil && r.reload() {
		cp, err = r.keys().ParseCheckpoint(text)
	}
	return cp, err
}

// Reader returns the log's read side, which follows the log's checkpoints.
func (l *Log) Reader() *Reader { return l.reader }

// tileCache keeps tiles read from storage. Any tile of a given width is immutable (a partial tile
// is a prefix of the full one), so entries never go stale; the cache only bounds its size.
type tileCache struct {
	mu    sync.Mutex
	max   int
	tiles map[tlog.Tile][]byte
	order []tlog.Tile
}

func newTileCache(max int) *tileCache { return &tileCache{max: max, tiles: map[tlog.Tile][]byte{}} }

func (c *tileCache) get(t tlog.Tile) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.tiles[t]
	return d, ok
}

func (c *tileCache) put(t tlog.Tile, d []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.tiles[t]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.tiles, c.order[0])
		c.order = c.order[1:]
	}
	c.tiles[t] = d
	c.order = append(c.order, t)
}

// tileReader serves tlog's TileHashReader from storage through the cache.
type tileReader struct {
	ctx context.Context
	ts  interface {
		ReadTile(ctx context.Context, level uint, n uint64) ([]byte, error)
	}
	cache *tileCache
}

func (r tileReader) Height() int { return TileHeight }

// ReadTiles reads the tiles not in the cache, up to tileParallelism at once.
func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	g, ctx := errgroup.WithContext(r.ctx)
	g.SetLimit(tileParallelism)
	for i, t := range tiles {
		if d, ok := r.cache.get(t); ok {
			out[i] = d
			continue
		}
		g.Go(func() error {
			d, err := r.ts.ReadTile(ctx, uint(t.L), uint64(t.N))
			if err != nil {
				return fmt.Errorf("reading tile %d/%d: %w", t.L, t.N, err)
			}
			if len(d) < t.W*tlog.HashSize {
				return fmt.Errorf("tile %d/%d holds %d hashes, want %d", t.L, t.N, len(d)/tlog.HashSize, t.W)
			}
			out[i] = d[:t.W*tlog.HashSize]
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// tileParallelism bounds the tiles one ReadTiles reads at once.
const tileParallelism = 8

// SaveTiles is called by tlog once tiles are authenticated against the tree root: only then are
// they cached.
func (r tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, t := range tiles {
		r.cache.put(t, bytes.Clone(data[i]))
	}
}

// hashReader reads stored hashes of the latest integrated tree, authenticated against its root.
func (r *Reader) hashReader(ctx context.Context) (tlog.HashReader, Checkpoint, error) {
	cp, _, err := r.heads(ctx)
	if err != nil {
		return nil, cp, err
	}
	tree := tlog.Tree{N: int64(cp.Size), Hash: cp.Root}
	return tlog.TileHashReader(tree, tileReader{ctx: ctx, ts: r.store, cache: r.tiles}), cp, nil
}

// ProveInclusion returns the RFC 6962 inclusion proof of entry index in the tree of size treeSize
// (which no checkpoint may be smaller than: ErrNotIntegrated).
func (r *Reader) ProveInclusion(ctx context.Context, index, treeSize uint64) ([]tlog.Hash, error) {
	hr, cp, err := r.hashReader(ctx)
	if err != nil {
		return nil, err
	}
	if treeSize > cp.Size {
		return nil, fmt.Errorf("%w: tree size %d, latest checkpoint %d", ErrNotIntegrated, treeSize, cp.Size)
	}
	if index >= treeSize {
		return nil, fmt.Errorf("ledger: entry %d is not in a tree of size %d", index, treeSize)
	}
	p, err := tlog.ProveRecord(int64(treeSize), int64(index), hr)
	if err != nil {
		return nil, fmt.Errorf("ledger: proving entry %d in tree %d: %w", index, treeSize, err)
	}
	return p, nil
}

// ProveConsistency returns the RFC 6962 consistency proof from the tree of size from to the tree of
// size to.
func (r *Reader) ProveConsistency(ctx context.Context, from, to uint64) ([]tlog.Hash, error) {
	hr, cp, err := r.hashReader(ctx)
	if err != nil {
		return nil, err
	}
	if to > cp.Size {
		return nil, fmt.Errorf("%w: tree size %d, latest checkpoint %d", ErrNotIntegrated, to, cp.Size)
	}
	if from > to {
		return nil, fmt.Errorf("ledger: no consistency proof from %d down to %d", from, to)
	}
	if from == 0 || from == to {
		return nil, nil
	}
	p, err := tlog.ProveTree(int64(to), int64(from), hr)
	if err != nil {
		return nil, fmt.Errorf("ledger: proving %d consistent with %d: %w", from, to, err)
	}
	return p, nil
}

// treeRoot returns the root hash of the tree of size n (no larger than the latest checkpoint).
func (r *Reader) treeRoot(ctx context.Context, n uint64) (tlog.Hash, error) {
	hr, cp, err := r.hashReader(ctx)
	if err != nil {
		return tlog.Hash{}, err
	}
	if n > cp.Size {
		return tlog.Hash{}, fmt.Errorf("%w: tree size %d, latest checkpoint %d", ErrNotIntegrated, n, cp.Size)
	}
	return tlog.TreeHash(int64(n), hr)
}

// LeafHashes returns the leaf hashes of the entries at indexes, in their order, read from the
// level-0 hash tiles (8 KiB each, where an entry bundle is about 100 KiB) and authenticated against
// the root of the latest integrated checkpoint, whose size it also returns. An index at or beyond
// that size gets the zero hash: its entry is not integrated yet. A caller holding an entry's bytes
// from elsewhere checks them against the ledger with LeafHash(bytes) == the hash returned.
func (r *Reader) LeafHashes(ctx context.Context, indexes []uint64) ([]tlog.Hash, uint64, error) {
	hr, cp, err := r.hashReader(ctx)
	if err != nil {
		return nil, 0, err
	}
	var stored []int64
	for _, index := range indexes {
		if index < cp.Size {
			stored = append(stored, tlog.StoredHashIndex(0, int64(index)))
		}
	}
	out := make([]tlog.Hash, len(indexes))
	if len(stored) == 0 {
		return out, cp.Size, nil
	}
	hashes, err := hr.ReadHashes(stored)
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: reading leaf hashes: %w", err)
	}
	k := 0
	for i, index := range indexes {
		if index < cp.Size {
			out[i] = hashes[k]
			k++
		}
	}
	return out, cp.Size, nil
}

// Entry returns the canonical bytes of an integrated entry, read from its entry bundle.
func (r *Reader) Entry(ctx context.Context, index uint64) ([]byte, error) {
	cp, _, err := r.heads(ctx)
	if err != nil {
		return nil, err
	}
	if index >= cp.Size {
		return nil, fmt.Errorf("%w: entry %d, latest checkpoint %d", ErrNotIntegrated, index, cp.Size)
	}
	data, err := r.store.ReadBundle(ctx, index/tileWidth)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading the bundle of entry %d: %w", index, err)
	}
	entries, err := ParseBundle(data)
	if err != nil {
		return nil, err
	}
	i := int(index % tileWidth)
	if i >= len(entries) {
		return nil, fmt.Errorf("ledger: the bundle of entry %d is too short", index)
	}
	return entries[i], nil
}

// Checkpoint returns the checkpoint the Reader serves proofs within: the log's latest integrated
// one (a Reader built by NewReader: the stored one, verified).
func (r *Reader) Checkpoint(ctx context.Context) (Checkpoint, error) {
	cp, _, err := r.heads(ctx)
	return cp, err
}

// LatestCosigned returns the largest checkpoint ever cosigned by witnesses, as stored, or
// ErrNotFound. Tools that open the log without its witness configuration use it to give out
// proofs against cosigned checkpoints.
func (r *Reader) LatestCosigned(ctx context.Context) (Checkpoint, error) {
	text, err := r.store.LatestCosigned(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	return r.parseCheckpoint(text)
}

// FindLeaf looks for the entry with the given leaf hash among the sequenced entries from index
// from on, which must be a batch boundary (the size of any checkpoint is one). It reports the
// entry's index and whether it was found.
func (r *Reader) FindLeaf(ctx context.Context, from uint64, leafHash [32]byte) (uint64, bool, error) {
	for {
		b, err := r.store.ReadBatch(ctx, from)
		if errors.Is(err, ErrNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("ledger: reading batch %d: %w", from, err)
		}
		for i, leaf := range b.Leaves {
			if LeafHash(leaf) == leafHash {
				return b.First + uint64(i), true, nil
			}
		}
		from = b.End()
	}
}

// maxPendingBatches bounds the batches SequencedEntry walks past the latest checkpoint: the
// integrator folds them in within about a second, so there are only a few.
const maxPendingBatches = 4096

// SequencedEntry returns the canonical bytes of a sequenced entry, integrated or not: an
// integrated one from its entry bundle (Entry), a newer one from the batch document that made it
// durable, found by walking the batches from the latest integrated checkpoint's size (a batch
// boundary) on, by their keys alone. The bytes of an entry not yet integrated are as stored: a
// later checkpoint and inclusion proof are what prove them. It fails with an error wrapping
// ErrNotFound for an index not sequenced (yet).
func (r *Reader) SequencedEntry(ctx context.Context, index uint64) ([]byte, error) {
	cp, _, err := r.heads(ctx)
	if err != nil {
		return nil, err
	}
	if index < cp.Size {
		return r.Entry(ctx, index)
	}
	from := cp.Size
	for range maxPendingBatches {
		b, err := r.store.ReadBatch(ctx, from)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ledger: reading batch %d: %w", from, err)
		}
		if b.First != from || b.End() <= from {
			return nil, fmt.Errorf("ledger: batch %d is not the batch stored under its key", from)
		}
		if index < b.End() {
			return b.Leaves[index-b.First], nil
		}
		from = b.End()
	}
	return nil, fmt.Errorf("%w: entry %d is not sequenced", ErrNotFound, index)
}

// bundleParallelism bounds the entry bundles SequencedEntries reads at once.
const bundleParallelism = 8

// SequencedEntries is SequencedEntry for several indexes, in their order, reading each entry
// bundle once however many of the entries it holds, and up to bundleParallelism bundles at once
// (the entries of one citizen's log page usually sit in as many bundles as there are entries).
func (r *Reader) SequencedEntries(ctx context.Context, indexes []uint64) ([][]byte, error) {
	cp, _, err := r.heads(ctx)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(indexes))
	bundles := map[uint64][][]byte{}
	var ns []uint64
	for _, index := range indexes {
		if n := index / tileWidth; index < cp.Size && !slices.Contains(ns, n) {
			ns = append(ns, n)
		}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(bundleParallelism)
	for _, n := range ns {
		g.Go(func() error {
			data, err := r.store.ReadBundle(gctx, n)
			if err != nil {
				return fmt.Errorf("ledger: reading entry bundle %d: %w", n, err)
			}
			entries, err := ParseBundle(data)
			if err != nil {
				return err
			}
			mu.Lock()
			bundles[n] = entries
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, index := range indexes {
		if index >= cp.Size {
			if out[i], err = r.SequencedEntry(ctx, index); err != nil {
				return nil, err
			}
			continue
		}
		entries := bundles[index/tileWidth]
		if int(index%tileWidth) >= len(entries) {
			return nil, fmt.Errorf("ledger: the bundle of entry %d is too short", index)
		}
		out[i] = entries[index%tileWidth]
	}
	return out, nil
}
