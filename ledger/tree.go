package ledger

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of the hash tiles, as C2SP tlog-tiles fixes it: 256 hashes a tile.
const TileHeight = 8

const tileWidth = 1 << TileHeight

var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

type tileKey struct {
	level uint
	n     uint64
}

// tree grows the Merkle tree one leaf hash at a time and keeps the hash tiles along its right
// edge, the only ones an append can change. Both the integrator and Verify use it, so the tiles
// that verification expects are computed by the same code that wrote them.
type tree struct {
	rng   *compact.Range
	tiles map[tileKey][]byte // right-edge tiles (partial, or completed since the last flush)
	dirty map[tileKey]bool
	err   error
}

func newTree() *tree {
	return &tree{rng: rangeFactory.NewEmptyRange(0), tiles: map[tileKey][]byte{}, dirty: map[tileKey]bool{}}
}

// loadTree rebuilds the right edge of the tree of the given size from stored tiles.
func loadTree(ctx context.Context, ts TileStorage, size uint64) (*tree, error) {
	t := newTree()
	if size == 0 {
		return t, nil
	}
	// The partial tile at each level, trimmed to the tree: tiles may be wider than the tree when the
	// integrator stopped between writing tiles and advancing the state.
	for level := uint(0); size>>(TileHeight*level) > 0; level++ {
		count := size >> (TileHeight * level)
		w := count % tileWidth
		if w == 0 {
			continue
		}
		k := tileKey{level, count / tileWidth}
		data, err := ts.ReadTile(ctx, k.level, k.n)
		if err != nil {
			return nil, fmt.Errorf("reading tile %d/%d: %w", k.level, k.n, err)
		}
		if uint64(len(data)) < w*tlog.HashSize {
			return nil, fmt.Errorf("tile %d/%d has %d hashes, the tree of size %d needs %d", k.level, k.n, len(data)/tlog.HashSize, size, w)
		}
		t.tiles[k] = bytes.Clone(data[:w*tlog.HashSize])
	}
	// The perfect subtrees along the right edge, read from the tiles that hold them.
	ids := compact.RangeNodes(0, size, nil)
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := t.readNode(ctx, ts, id)
		if err != nil {
			return nil, err
		}
		hashes[i] = h
	}
	rng, err := rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("rebuilding tree of size %d: %w", size, err)
	}
	t.rng = rng
	return t, nil
}

// readNode returns the hash of a perfect subtree node, from the edge tiles or storage.
func (t *tree) readNode(ctx context.Context, ts TileStorage, id compact.NodeID) ([]byte, error) {
	index := tlog.StoredHashIndex(int(id.Level), int64(id.Index))
	tile := tlog.TileForIndex(TileHeight, index)
	k := tileKey{uint(tile.L), uint64(tile.N)}
	data, ok := t.tiles[k]
	if !ok {
		var err error
		if data, err = ts.ReadTile(ctx, k.level, k.n); err != nil {
			return nil, fmt.Errorf("reading tile %d/%d for node %d/%d: %w", k.level, k.n, id.Level, id.Index, err)
		}
	}
	if len(data) < tile.W*tlog.HashSize {
		return nil, fmt.Errorf("tile %d/%d too short for node %d/%d", k.level, k.n, id.Level, id.Index)
	}
	tile.W = len(data) / tlog.HashSize
	h, err := tlog.HashFromTile(tile, data, index)
	if err != nil {
		return nil, fmt.Errorf("node %d/%d: %w", id.Level, id.Index, err)
	}
	return h[:], nil
}

func (t *tree) size() uint64 { return t.rng.End() }

// append adds one leaf hash, recording every completed node on a tile level in its tile.
func (t *tree) append(leafHash []byte) error {
	if t.err != nil {
		return t.err
	}
	if err := t.rng.Append(leafHash, t.visit); err != nil {
		return err
	}
	return t.err
}

func (t *tree) visit(id compact.NodeID, hash []byte) {
	if id.Level%TileHeight != 0 || t.err != nil {
		return
	}
	k := tileKey{id.Level / TileHeight, id.Index / tileWidth}
	data := t.tiles[k]
	if want := (id.Index % tileWidth) * tlog.HashSize; uint64(len(data)) != want {
		t.err = fmt.Errorf("tile %d/%d holds %d bytes, node %d/%d goes at %d", k.level, k.n, len(data), id.Level, id.Index, want)
		return
	}
	t.tiles[k] = append(data, hash...)
	t.dirty[k] = true
}

// root returns the root hash of the tree (the hash of the empty string for an empty tree).
func (t *tree) root() (tlog.Hash, error) {
	var out tlog.Hash
	if t.size() == 0 {
		copy(out[:], rfc6962.DefaultHasher.EmptyRoot())
		return out, nil
	}
	h, err := t.rng.GetRootHash(nil)
	if err != nil {
		return out, err
	}
	copy(out[:], h)
	return out, nil
}

// changed returns the tiles changed since the last call, lowest level first, and forgets the
// completed ones.
func (t *tree) changed() []TileData {
	out := make([]TileData, 0, len(t.dirty))
	for k := range t.dirty {
		out = append(out, TileData{Level: k.level, N: k.n, Hashes: bytes.Clone(t.tiles[k])})
	}
	sortTiles(out)
	t.flushed()
	return out
}

// edge returns the tiles the tree currently holds, lowest level first.
func (t *tree) edge() []TileData {
	out := make([]TileData, 0, len(t.tiles))
	for k, data := range t.tiles {
		out = append(out, TileData{Level: k.level, N: k.n, Hashes: data})
	}
	sortTiles(out)
	return out
}

func sortTiles(ts []TileData) {
	slices.SortFunc(ts, func(a, b TileData) int {
		if c := cmp.Compare(a.Level, b.Level); c != 0 {
			return c
		}
		return cmp.Compare(a.N, b.N)
	})
}

// flushed forgets which tiles changed and drops the completed ones, which no append can touch.
func (t *tree) flushed() {
	clear(t.dirty)
	for k, data := range t.tiles {
		if len(data) == tileWidth*tlog.HashSize {
			delete(t.tiles, k)
		}
	}
}

var errStopped = errors.New("ledger: stopped")
