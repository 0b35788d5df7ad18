package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// Sequencing: Append queues an entry for the one sequencer goroutine, which drains the queue into
// a batch (up to the maximum batch size) and writes it as one batch document at the next index.
// The insert of that document is the durability point of every entry in it; a duplicate _id means
// another writer holds the index, and the sequencer moves past what is stored. Appends this
// instance may not sequence (it does not hold the lease) are forwarded (lease.go).

// appendReq is one entry waiting for the sequencer.
type appendReq struct {
	data   []byte
	done   chan appendResult
	queued bool      // forwarded by another instance: still in the queue, never forwarded again
	rot    *rotation // a log key rotation (rotate.go), carried out alone
	// AppendAll (appendall.go): group marks entries appended together, more the ones that follow
	// data at the next indices of the same batch. A group is never split, never forwarded.
	group bool
	more  [][]byte
}

// size is how many entries r adds to a batch.
func (r *appendReq) size() int { return 1 + len(r.more) }

type appendResult struct {
	index uint64
	err   error
}

// Append sequences e and returns once the batch holding it is durable. The receipt carries its index
// and leaf hash, signed by the log key. An error means the entry must be treated as not logged
// (though it may still appear in the log, if the error came after the write).
func (l *Log) Append(ctx context.Context, e Entry) (Receipt, error) {
	data, err := FormatEntry(e)
	if err != nil {
		return Receipt{}, err
	}
	if err := l.Failed(); err != nil {
		return Receipt{}, err
	}
	if err := l.mirroring.behind(); err != nil {
		return Receipt{}, err
	}
	l.intake.RLock()
	closed := l.closed
	l.intake.RUnlock()
	if closed {
		return Receipt{}, ErrClosed
	}
	if !l.Leading() {
		index, err := l.forward(ctx, data)
		if err != nil {
			return Receipt{}, err
		}
		return l.sign(index, LeafHash(data))
	}
	req := &appendReq{data: data, done: make(chan appendResult, 1)}
	if !l.submit(req) {
		return Receipt{}, ErrQueueFull
	}
	select {
	case res := <-req.done:
		if res.err != nil {
			return Receipt{}, res.err
		}
		return l.sign(res.index, LeafHash(data))
	case <-ctx.Done():
		return Receipt{}, fmt.Errorf("ledger: waiting for the append: %w", ctx.Err())
	}
}

// submit queues a request for the sequencer, or reports that the queue is full or closed.
func (l *Log) submit(req *appendReq) bool {
	l.intake.RLock()
	defer l.intake.RUnlock()
	if l.closed {
		return false
	}
	select {
	case l.queue <- req:
		return true
	default:
		return false
	}
}

func (l *Log) sequence(ctx context.Context) {
	defer close(l.seqDone)
	batch := make([]*appendReq, 0, l.maxBatch)
	var carried *appendReq // a group that did not fit in the batch before: the next one begins with it
	for {
		req := carried
		carried = nil
		if req == nil {
			var ok bool
			if req, ok = <-l.queue; !ok {
				return
			}
		}
		if req.rot != nil {
			l.rotate(ctx, req)
			continue
		}
		batch = append(batch[:0], req)
		n := req.size()
		var rot *appendReq // a rotation found while draining: after this batch, alone
	drain:
		for n < l.maxBatch {
			select {
			case r, ok := <-l.queue:
				if !ok {
					break drain
				}
				if r.rot != nil {
					rot = r
					break drain
				}
				if n+r.size() > l.maxBatch {
					carried = r // a group is never split (AppendAll refuses one larger than a batch)
					break drain
				}
				batch = append(batch, r)
				n += r.size()
			default:
				break drain
			}
		}
		l.writeBatch(ctx, batch)
		if rot != nil {
			l.rotate(ctx, rot)
		}
	}
}

// writeBatch stores one batch at the next index and answers its appends. Without the lease, it
// hands them over to the holder instead.
func (l *Log) writeBatch(ctx context.Context, reqs []*appendReq) {
	if !l.Leading() {
		l.handOver(ctx, reqs)
		return
	}
	// The mirrors' bound holds for every entry the holder sequences, its own and those other
	// instances forwarded (which stay queued and are retried: their forwarders time out, closed).
	if err := l.mirroring.behind(); err != nil {
		for _, r := range reqs {
			r.done <- appendResult{err: err}
		}
		return
	}
	if l.linkData != nil && (len(reqs) != 1 || reqs[0].group || !bytes.Equal(reqs[0].data, l.linkData)) {
		// A new log key's era begins with its link entry (rotate.go).
		if err := l.writePendingLink(ctx); err != nil {
			for _, r := range reqs {
				r.done <- appendResult{err: fmt.Errorf("ledger: the link entry of the new log key must be written first: %w", err)}
			}
			return
		}
	}
	for attempt := 0; ; attempt++ {
		leaves := make([][]byte, 0, len(reqs))
		for _, r := range reqs {
			leaves = append(append(leaves, r.data), r.more...) // a group's entries side by side
		}
		b := Batch{First: l.next, Leaves: leaves}
		err := l.batchStore.AddBatch(ctx, b)
		if errors.Is(err, ErrDuplicate) && attempt < 8 {
			if stored, rerr := l.batchStore.ReadBatch(ctx, b.First); rerr == nil && slices.EqualFunc(stored.Leaves, leaves, bytes.Equal) {
				err = nil // our own write, whose acknowledgement was lost (a driver retry)
			} else if !l.Leading() {
				// Another instance took the lease and wrote there: it sequences these entries.
				l.handOver(ctx, reqs)
				return
			} else {
				// The index is taken: this instance's next index was stale (it just took the lease),
				// or a previous holder's late write landed there. Move past what is stored, and try
				// again there with what that holder did not write.
				next, rest, serr := l.skipStored(ctx, l.next, reqs)
				if serr != nil {
					for _, r := range rest {
						r.done <- appendResult{err: serr}
					}
					return
				}
				l.setNext(next)
				reqs = rest
				if len(reqs) == 0 {
					return
				}
				continue
			}
		}
		if err != nil {
			for _, r := range reqs {
				r.done <- appendResult{err: fmt.Errorf("ledger: storing batch at %d: %w", b.First, err)}
			}
			return
		}
		l.setNext(b.End())
		l.mu.Lock()
		if len(l.fresh) < 1024 {
			l.fresh[b.First] = b
		}
		l.mu.Unlock()
		l.mirroring.acknowledged(b.End())
		at := b.First
		for _, r := range reqs {
			r.done <- appendResult{index: at} // a group's first index: the others follow it
			at += uint64(r.size())
		}
		l.kickIntegrator()
		return
	}
}

// skipStored walks the batches stored from first (a batch boundary) to the end. Entries taken
// from the queue that it finds there were sequenced by the previous holder, whose write raced
// with this one's reading of the queue: they are answered with the index found, not written again.
// It returns the end of the stored batches and the requests still to write.
func (l *Log) skipStored(ctx context.Context, first uint64, reqs []*appendReq) (uint64, []*appendReq, error) {
	queued := map[tlog.Hash]int{}
	for i, r := range reqs {
		if r.queued {
			queued[LeafHash(r.data)] = i
		}
	}
	answered := make([]bool, len(reqs))
	rest := func() []*appendReq {
		out := reqs[:0:0]
		for i, r := range reqs {
			if !answered[i] {
				out = append(out, r)
			}
		}
		return out
	}
	for {
		b, err := l.batchStore.ReadBatch(ctx, first)
		if errors.Is(err, ErrNotFound) {
			return first, rest(), nil
		}
		if err != nil {
			return 0, rest(), fmt.Errorf("ledger: reading batch %d: %w", first, err)
		}
		if b.First != first || len(b.Leaves) == 0 {
			return 0, rest(), fmt.Errorf("ledger: batch stored under %d claims to start at %d with %d entries", first, b.First, len(b.Leaves))
		}
		for k, leaf := range b.Leaves {
			if i, ok := queued[LeafHash(leaf)]; ok && !answered[i] {
				reqs[i].done <- appendResult{index: b.First + uint64(k)}
				answered[i] = true
			}
		}
		first = b.End()
	}
}

// handOver answers appends this instance may not sequence (it does not hold the lease): its own
// are forwarded to the holder through the queue; those it took from the queue are refused with
// ErrNotLeader, for they are still queued and the holder sequences them (forwarding them again
// would queue a second copy, and both could be sequenced). A group (AppendAll) is refused with
// ErrNotGrouped: forwarded, its entries would be sequenced one by one, perhaps apart.
func (l *Log) handOver(ctx context.Context, reqs []*appendReq) {
	for _, r := range reqs {
		if r.group {
			r.done <- appendResult{err: fmt.Errorf("%w: the lease moved to another instance before they were written", ErrNotGrouped)}
			continue
		}
		if r.queued {
			r.done <- appendResult{err: ErrNotLeader}
			continue
		}
		go func() {
			index, err := l.forward(ctx, r.data)
			r.done <- appendResult{index: index, err: err}
		}()
	}
}

// lastBatchEnd walks the batches from first (a batch boundary) to the end of the last one.
func (l *Log) lastBatchEnd(ctx context.Context, first uint64) (uint64, error) {
	for {
		b, err := l.batchStore.ReadBatch(ctx, first)
		if errors.Is(err, ErrNotFound) {
			return first, nil
		}
		if err != nil {
			return 0, fmt.Errorf("ledger: reading batch %d: %w", first, err)
		}
		if b.First != first || len(b.Leaves) == 0 {
			return 0, fmt.Errorf("ledger: batch stored under %d claims to start at %d with %d entries", first, b.First, len(b.Leaves))
		}
		first = b.End()
	}
}

// Sign signs a receipt for the entry with the given leaf hash at index (for an entry whose index was
// found again after its append's answer was lost). It does not check that the entry is there.
func (l *Log) Sign(index uint64, leafHash [32]byte) (Receipt, error) {
	return l.sign(index, leafHash)
}

// sign signs a receipt with the key of index's era.
func (l *Log) sign(index uint64, leafHash [32]byte) (Receipt, error) {
	s, err := l.signerForIndex(index)
	if err != nil {
		return Receipt{}, err
	}
	return signReceipt(s, index, leafHash)
}
