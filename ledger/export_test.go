package ledger

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// TreeRoot exposes the Reader's root of the stored tree of size n to the package's external tests.
func TreeRoot(r *Reader, ctx context.Context, n uint64) (tlog.Hash, error) { return r.treeRoot(ctx, n) }
