package mongostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

// seqChain is an insert-only sequence 1, 2, 3, … per key, addressable by string _id alone, shared by
// the citizens' access logs (subjectlog.go) and the question queues (questions.go):
//
//	items  {_id: "<key>/<seq>", …}
//	heads  {_id: "<key>", seq: int64}
//
// seq is in decimal without padding. A duplicate _id insert is the compare-and-swap that gives each
// item its own seq, so the sequence is dense. The head is a hint, never past an inserted item and
// never moved back ($max on MongoDB, under the process's document lock on the embedded store); it
// may lag, so readers and appenders start at the head and probe forward to the end (probeFrom).
type seqChain struct {
	s            *Store
	items, heads collection
	// what names a key's sequence in errors, e.g. "an access log".
	what func(key string) string
	// repairFrom: a reader (end) writes the end it found back to the head when the head lagged
	// it by this many or more (0: by any). A chain whose appenders keep the head within a bound
	// of the end repairs only past that bound, so that reading costs no write in the common case.
	repairFrom uint64
}

// seqID is the _id of a chain's item seq of key.
func seqID(key string, seq uint64) string { return key + "/" + strconv.FormatUint(seq, 10) }

type headDoc struct {
	ID  string `bson:"_id"`
	Seq int64  `bson:"seq"`
}

// head returns key's head hint, 0 when there is none.
func (c seqChain) head(ctx context.Context, key string) (uint64, error) {
	var d headDoc
	err := c.heads.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("reading the head of %s: %w", c.what(key), mapErr(err))
	}
	return uint64(d.Seq), nil
}

// advance moves key's head hint up to seq, never down ($max, atomic on MongoDB, under the process's
// document lock on the embedded store). seq must name an inserted item.
func (c seqChain) advance(ctx context.Context, key string, seq uint64) error {
	if c.s.serialised() {
		defer c.s.lock(c.headKey(key))()
	}
	return c.writeHead(ctx, key, seq)
}

// advanceIfStored is advance for a writer that runs apart from the append that stored item seq (in
// the background): it writes nothing if that item is gone, so that it never puts back the head of a
// sequence deleted meanwhile (an erasure deletes the items, then the head under the same lock:
// deleteHead). Against MongoDB, with no process lock, it is advance.
func (c seqChain) advanceIfStored(ctx context.Context, key string, seq uint64) error {
	if !c.s.serialised() {
		return c.writeHead(ctx, key, seq)
	}
	defer c.s.lock(c.headKey(key))()
	if ok, err := c.s.docExists(ctx, c.items, seqID(key, seq)); err != nil || !ok {
		return err
	}
	return c.writeHead(ctx, key, seq)
}

// deleteHead deletes key's head hint, under the process's document lock on FerretDB
// (advanceIfStored).
func (c seqChain) deleteHead(ctx context.Context, key string) error {
	if c.s.serialised() {
		defer c.s.lock(c.headKey(key))()
	}
	_, err := c.heads.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}})
	return mapErr(err)
}

// headKey is the process lock (lock) of key's head hint.
func (c seqChain) headKey(key string) string { return c.heads.Name() + "/" + key }

// writeHead moves key's head hint up to seq ($max, upsert); on FerretDB the caller holds its lock.
func (c seqChain) writeHead(ctx context.Context, key string, seq uint64) error {
	update := bson.D{{Key: "$max", Value: bson.D{{Key: "seq", Value: int64(seq)}}}}
	var err error
	for range 2 { // two first upserts of one _id: one may fail as a duplicate, and then matches
		_, err = c.heads.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}}, update, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	return mapErr(err)
}

// end returns key's latest seq, 0 when it has none (endAndHead).
func (c seqChain) end(ctx context.Context, key string) (uint64, error) {
	_, end, err := c.endAndHead(ctx, key)
	return end, err
}

// endAndHead returns key's latest seq, 0 when it has none, and its head hint once read: the head
// hint, then a few _id lookups past it (probeFrom; one when the head is current). A reader that
// found the head lagging (by repairFrom or more) writes the end it found back to the head, and
// returns that as the head.
func (c seqChain) endAndHead(ctx context.Context, key string) (head, end uint64, err error) {
	head, end, err = c.probeEnd(ctx, key, 0)
	if err != nil {
		return 0, 0, err
	}
	if end > head && end-head >= c.repairFrom {
		if c.advance(ctx, key, end) == nil { // read repair; a hint only
			head = end
		}
	}
	return head, end, nil
}

// insertNext inserts doc(seq) at key's first free seq from from on and returns that seq; doc must
// give the item the _id seqID(key, seq). After a taken seq it looks for the sequence's end again
// (the head, then probeFrom) and tries the seq after it, at most
// maxAppendTries times (then store.ErrConflict). On the embedded server it looks and inserts
// holding the write gate (collection.exclusive), so that no write comes between the two: another
// appender that keeps its writes queued (the group commit of another store on the server) cannot
// take every seq it finds. It does not advance the head.
func (c seqChain) insertNext(ctx context.Context, key string, from uint64, doc func(seq uint64) any) (uint64, error) {
	seq := from
	for range maxAppendTries {
		var err error
		if seq == from || c.items.gate == nil {
			_, err = c.items.InsertOne(ctx, doc(seq))
		} else {
			err = c.items.exclusive(ctx, func(items *mongo.Collection) error {
				_, end, err := c.probeEnd(ctx, key, seq-1)
				if err != nil {
					return err
				}
				seq = end + 1
				_, err = items.InsertOne(ctx, doc(seq))
				return err
			})
		}
		if err == nil {
			return seq, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return 0, mapErr(err)
		}
		if c.items.gate != nil {
			seq++ // the next try finds the end itself, holding the gate
			continue
		}
		_, end, err := c.probeEnd(ctx, key, seq)
		if err != nil {
			return 0, err
		}
		seq = end + 1
	}
	return 0, fmt.Errorf("%w: %d seqs from %d on were taken", store.ErrConflict, maxAppendTries, from)
}

// probeEnd returns key's head hint and latest seq, knowing that taken is (0: nothing known): from
// the head (or taken, if later) on, probeFrom.
func (c seqChain) probeEnd(ctx context.Context, key string, taken uint64) (head, end uint64, err error) {
	if head, err = c.head(ctx, key); err != nil {
		return 0, 0, err
	}
	end, err = c.probeFrom(ctx, key, max(head, taken))
	return head, end, err
}

// probeFrom returns key's latest seq, knowing that seq from exists (0: nothing known). It looks up
// from+1, from+3, from+7, … (the step doubling) until a miss, then halves the gap between the last
// seq found and that miss until they are adjacent: one lookup at an end that is current, three
// for an end one or two past from, five for three to six past it, seven for seven, and about
// 2·log2(n) for an end n past it (a head hint that lagged since a crash). Halving is sound because
// the sequence is dense: above the head, every seq up to the end exists (an erasure deletes a log
// from its end down, so one cut short leaves a dense prefix).
func (c seqChain) probeFrom(ctx context.Context, key string, from uint64) (uint64, error) {
	exists := func(seq uint64) (bool, error) {
		ok, err := c.s.docExists(ctx, c.items, seqID(key, seq))
		if err != nil {
			return false, fmt.Errorf("probing %s: %w", c.what(key), err)
		}
		return ok, nil
	}
	lo, hi := from, uint64(0) // lo exists (or is 0), hi does not (once found)
	for step := uint64(1); hi == 0; step *= 2 {
		ok, err := exists(lo + step)
		if err != nil {
			return 0, err
		}
		if ok {
			lo += step
		} else {
			hi = lo + step
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// get decodes key's item seq into v and reports whether it exists.
func (c seqChain) get(ctx context.Context, key string, seq uint64, v any) (bool, error) {
	err := c.items.FindOne(ctx, bson.D{{Key: "_id", Value: seqID(key, seq)}}).Decode(v)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading %s: %w", c.what(key), mapErr(err))
	}
	return true, nil
}
