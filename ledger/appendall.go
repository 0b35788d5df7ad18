package ledger

import (
	"context"
	"errors"
	"fmt"
)

// Appending several entries together (AppendAll): a use case whose steps follow one another with
// nothing released between them appends their entries in one batch instead of one write each.

// ErrNotGrouped: the entries could not be appended together, and none of them was appended. The
// log appends entries together only on the instance that sequences (holds the lease), and at most
// a batch's worth; the caller appends them one by one instead (Append), in the same order.
var ErrNotGrouped = errors.New("ledger: the entries could not be appended together (none was appended); append them one by one")

// AppendAll appends entries together: the sequencer writes them in the order given, at consecutive
// indices, in one batch document (one write, one durability point), which may hold other appends'
// entries before or after them but never between. It returns once that batch is durable, with each
// entry's receipt (receipts[i] for entries[i], index receipts[0].Index+i), signed as Append signs.
//
// The entries go through the same checks as an Append (a failed log, the mirrors' bound, a closed
// log: nothing is appended), and the same rules of the sequencer:
//   - they are never split: a group that does not fit in the batch being drained opens the next
//     one, and more entries than a batch holds (WithMaxBatch) are refused with ErrNotGrouped;
//   - a log key rotation is carried out alone, between two batches, and a new key's link entry is
//     written alone before the first batch of its era (rotate.go), so a group never straddles two
//     key eras: all its receipts are signed by one key;
//   - a batch whose index another writer took (a previous lease holder's late write) is written
//     again at the end of what is stored, the group whole (skipStored answers only forwarded
//     entries it finds stored, never a group's);
//   - on an instance that does not hold the lease, or loses it before the batch is written,
//     AppendAll fails with ErrNotGrouped and appends nothing: forwarded through the queue
//     (lease.go), the entries would be sequenced one by one, perhaps apart.
//
// Any other error means, as for Append, that the entries must be treated as not logged (though
// they may still appear in the log, together, if the error came after the write). AppendAll is a
// function rather than a method of Log only to keep Log's method set small.
func AppendAll(ctx context.Context, l *Log, entries []Entry) ([]Receipt, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	if len(entries) > l.maxBatch {
		return nil, fmt.Errorf("%w: %d entries, and a batch holds at most %d", ErrNotGrouped, len(entries), l.maxBatch)
	}
	data := make([][]byte, len(entries))
	for i, e := range entries {
		var err error
		if data[i], err = FormatEntry(e); err != nil {
			return nil, err
		}
	}
	if err := l.Failed(); err != nil {
		return nil, err
	}
	if err := l.mirroring.behind(); err != nil {
		return nil, err
	}
	l.intake.RLock()
	closed := l.closed
	l.intake.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if !l.Leading() {
		return nil, fmt.Errorf("%w: this instance does not sequence (another holds the lease)", ErrNotGrouped)
	}
	req := &appendReq{data: data[0], more: data[1:], group: true, done: make(chan appendResult, 1)}
	if !l.submit(req) {
		return nil, ErrQueueFull
	}
	var res appendResult
	select {
	case res = <-req.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("ledger: waiting for the append: %w", ctx.Err())
	}
	if res.err != nil {
		return nil, res.err
	}
	receipts := make([]Receipt, len(data))
	for i, d := range data {
		r, err := l.sign(res.index+uint64(i), LeafHash(d))
		if err != nil {
			return nil, err
		}
		receipts[i] = r
	}
	return receipts, nil
}
