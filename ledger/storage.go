package ledger

import (
	"context"
	"errors"
)

// Storage errors. Implementations return these (wrapped or not) so that the log can tell them apart.
var (
	// ErrNotFound: no document with that key.
	ErrNotFound = errors.New("ledger: not found")
	// ErrDuplicate: a batch with that first index already exists; the append lost a race.
	ErrDuplicate = errors.New("ledger: batch already exists")
	// ErrConflict: a compare-and-swap found a different stored value.
	ErrConflict = errors.New("ledger: conflicting update")
)

// Batch is a run of consecutive entries stored as one document. Its First index is the document's
// unique key: the durability point of every entry in it, and the fence against a second writer.
type Batch struct {
	First  uint64
	Leaves [][]byte
}

// End is the index after the batch's last entry.
func (b Batch) End() uint64 { return b.First + uint64(len(b.Leaves)) }

// TreeState is the integrated tree: how many entries the tiles cover, its root, and the latest
// signed checkpoint of exactly that tree.
type TreeState struct {
	Size       uint64
	Root       []byte
	Checkpoint []byte
}

// TileData is one hash tile (C2SP tlog-tiles, height 8): the hashes of the nodes at tree level
// 8·Level with indices [256·N, 256·N + len(Hashes)/32).
type TileData struct {
	Level  uint
	N      uint64
	Hashes []byte
}

// Storage is what the log needs from a database. All methods must be safe for concurrent use and
// must have made a write durable when they return nil.
type Storage interface {
	BatchStorage
	TileStorage
	BundleStorage
	StateStorage
	LeaseStorage
	QueueStorage
}

// BatchStorage holds the sequenced entries.
type BatchStorage interface {
	// AddBatch stores b. It returns ErrDuplicate when a batch with the same First exists.
	AddBatch(ctx context.Context, b Batch) error
	// ReadBatch returns the batch whose first index is first, or ErrNotFound.
	ReadBatch(ctx context.Context, first uint64) (Batch, error)
}

// TileStorage holds the hash tiles derived from the batches. Tiles are written only by the
// integrator, with data that extends what is stored (the same tile, wider).
type TileStorage interface {
	// WriteTiles stores the given tiles, each replacing a narrower stored version; a stored version
	// at least as wide is kept (so a late writer never shortens a tile).
	WriteTiles(ctx context.Context, tiles []TileData) error
	// ReadTile returns the widest stored version of tile (level, n), or ErrNotFound.
	ReadTile(ctx context.Context, level uint, n uint64) ([]byte, error)
}

// BundleStorage holds the entry bundles derived from the batches, with the same rules as tiles.
type BundleStorage interface {
	// WriteBundles stores the given bundles, each replacing one with fewer entries.
	WriteBundles(ctx context.Context, bundles []BundleData) error
	// ReadBundle returns the fullest stored version of entry bundle n, or ErrNotFound.
	ReadBundle(ctx context.Context, n uint64) ([]byte, error)
}

// StateStorage holds the tree state and every published checkpoint.
type StateStorage interface {
	// ReadTreeState returns the stored state, or the zero state when none was ever stored.
	ReadTreeState(ctx context.Context) (TreeState, error)
	// SwapTreeState replaces the state whose Size is old.Size with next, or returns ErrConflict.
	SwapTreeState(ctx context.Context, old, next TreeState) error
	// AddCheckpoint stores a signed checkpoint of a tree of the given size. Storing the same text
	// again is not an error; a different text for a size already stored is ErrConflict.
	AddCheckpoint(ctx context.Context, size uint64, text []byte) error
	// AddCosigned records the cosigned version (more signatures, same body) of the checkpoint of the
	// given size, which must be stored already.
	AddCosigned(ctx context.Context, size uint64, text []byte) error
	// LatestCosigned returns the cosigned checkpoint of the largest size, or ErrNotFound.
	LatestCosigned(ctx context.Context) ([]byte, error)
	// Checkpoints calls fn for every stored checkpoint in increasing size, stopping at fn's error.
	Checkpoints(ctx context.Context, fn func(size uint64, text []byte) error) error
}
