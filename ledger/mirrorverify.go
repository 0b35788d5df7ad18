package ledger

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// TreeBuilder extends a stored tree with new leaves and yields the hash tiles to store, computed by
// the same code as the log's own integrator: a copy of a log built with it (package mirror) holds
// tiles byte for byte identical to the log's.
type TreeBuilder struct{ t *tree }

// LoadTreeBuilder picks up the tree of the given size from the tiles stored in ts (an empty tree
// for size 0).
func LoadTreeBuilder(ctx context.Context, ts TileStorage, size uint64) (*TreeBuilder, error) {
	t, err := loadTree(ctx, ts, size)
	if err != nil {
		return nil, err
	}
	return &TreeBuilder{t: t}, nil
}

// Size is the number of leaves in the tree.
func (b *TreeBuilder) Size() uint64 { return b.t.size() }

// Append adds the leaf hash of the next entry (LeafHash of its bytes).
func (b *TreeBuilder) Append(leafHash tlog.Hash) error { return b.t.append(leafHash[:]) }

// Root returns the tree's root hash.
func (b *TreeBuilder) Root() (tlog.Hash, error) { return b.t.root() }

// Tiles returns the hash tiles changed since the last call, lowest level first.
func (b *TreeBuilder) Tiles() []TileData { return b.t.changed() }
