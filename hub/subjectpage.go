package hub

import (
	"context"
	"fmt"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// appendForPage appends e, one entry about several citizens (a list page, a review queue page),
// naming them by the root of a subject tree (ledger.NewSubjectTree: each citizen's commitment
// under a fresh salt, and random fillers), which shows nothing about the others to a citizen who
// verifies it, not even how many there were; and indexes it in each citizen's access log with
// their path to the root. Durable when it returns nil: the page may go out. With no citizens it
// appends e as it is.
func (c *core) appendForPage(ctx context.Context, e ledger.Entry, citizens []string) (ledger.Receipt, error) {
	salts := make([][]byte, len(citizens))
	subjs := make([][]byte, len(citizens))
	for i, id := range citizens {
		var err error
		if salts[i], subjs[i], err = c.subject(id); err != nil {
			return ledger.Receipt{}, err
		}
	}
	var tree *ledger.SubjectTree
	if len(citizens) > 0 {
		var err error
		if tree, err = ledger.NewSubjectTree(subjs, c.rand); err != nil {
			return ledger.Receipt{}, fmt.Errorf("building the page's subject tree: %w", err)
		}
		root := tree.Root()
		e.SubjectRoot = root[:]
	}
	r, err := c.appendEntry(ctx, e)
	if err != nil || len(citizens) == 0 {
		return r, err
	}
	refs := make([]store.LogRef, len(citizens))
	now, raw := c.now(), entryBytes(e, r)
	for i, id := range citizens {
		pos, path, ok := tree.Path(subjs[i])
		if !ok {
			return r, fmt.Errorf("%w: indexing entry %d: a commitment is missing from the page's tree", ErrUnavailable, r.Index)
		}
		hashes := make([][]byte, len(path))
		for j := range path {
			hashes[j] = path[j][:]
		}
		name, err := c.pseudonym(ctx, id)
		if err != nil {
			return r, fmt.Errorf("indexing entry %d: %w", r.Index, err)
		}
		refs[i] = store.LogRef{Pseudonym: name, Index: r.Index, Salt: salts[i], Time: now,
			Page: &store.PagePath{Position: pos, Hashes: hashes}, Entry: raw}
	}
	if _, err := c.index.AppendSubjectLogs(ctx, refs); err != nil {
		return r, fmt.Errorf("%w: indexing entry %d: %v", ErrUnavailable, r.Index, err)
	}
	return r, nil
}
