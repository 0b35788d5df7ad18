package ledger

import (
	"context"
	"fmt"
)

// EachEntry calls fn with every entry within the Reader's latest integrated checkpoint, in index
// order, with that checkpoint's size: the number of entries fn is called with. It reads each
// entry bundle once (one read by key each), the next one while fn works on the current one, and
// stops at fn's first error, which it returns. Audits that compare something with every entry
// use it rather than Entry, which reads a whole bundle for one entry. Like Entry, it does not
// authenticate the bundles against the checkpoint's root; Verify checks them.
func (r *Reader) EachEntry(ctx context.Context, fn func(index, size uint64, entry []byte) error) error {
	cp, _, err := r.heads(ctx)
	if err != nil {
		return err
	}
	size := cp.Size
	if size == 0 {
		return nil
	}
	type bundle struct {
		entries [][]byte
		err     error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	read := func(n uint64) <-chan bundle {
		ch := make(chan bundle, 1)
		go func() {
			data, err := r.store.ReadBundle(ctx, n)
			if err != nil {
				ch <- bundle{err: fmt.Errorf("ledger: reading entry bundle %d: %w", n, err)}
				return
			}
			entries, err := ParseBundle(data)
			if err != nil {
				err = fmt.Errorf("ledger: entry bundle %d: %w", n, err)
			}
			ch <- bundle{entries, err}
		}()
		return ch
	}
	last := (size - 1) / tileWidth
	next := read(0)
	for n := uint64(0); n <= last; n++ {
		b := <-next
		if n < last {
			next = read(n + 1)
		}
		if b.err != nil {
			return b.err
		}
		first := n * tileWidth
		count := min(uint64(tileWidth), size-first)
		if uint64(len(b.entries)) < count {
			return fmt.Errorf("ledger: entry bundle %d holds %d entries, the checkpoint of size %d covers %d", n, len(b.entries), size, count)
		}
		for i := range count {
			if err := fn(first+i, size, b.entries[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
