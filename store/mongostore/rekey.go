package mongostore

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

// Moving a citizen from one pseudonym to another (an index key rotation re-keys the pseudonyms,
// hub/pseudonyms.go). What the store addresses by a citizen's pseudonym:
//
//	subject_log, subject_log_heads      their access log (a seqChain keyed "<pseudonym>")
//	subjects                            the private index references, "<pseudonym>/<index>"
//	question_queues, question_heads     their question queue (keyed "citizen:<pseudonym>"), and
//	                                    the pseudonym field of each question on it
//	application_lists, application_heads their applications (keyed "<pseudonym>"), and the
//	                                    pseudonym field of each application on it and of the
//	                                    certificate each names
//
// MovePseudonym moves all of it. Each chain moves the same way, and every step can be repeated:
//
//  1. read the chain's items 1 … end under the old key (end: its head, probed past);
//  2. for each item: set the pseudonym field of the document it names (question, application,
//     certificate) where it still holds the old pseudonym; copy the subject reference of a log item;
//     insert the item under the new key at the same seq;
//  3. advance the new key's head to at least end;
//  4. delete the items and the old subject references (and, on the final move, the old head).
//
// Nothing is deleted before it is stored under the new key, so a move that stops anywhere (a crash,
// an error) loses nothing and the next move finishes it; two moves of one citizen at once (two
// instances) insert the same copies, and the second finds the first's as duplicates. An item whose
// seq under the new key is already taken by another item (an instance that had not yet learnt of
// the rotation appended under the old key after the new key's chain had begun) is appended after
// the new chain's end instead, so it is not lost, only later in the log than it happened. The new
// key's chain continues the old one's sequence (the hub moves a citizen before it appends for them
// under the new key), so the same seqs are free.

// moveBatch bounds the items one step of a move reads or writes at once.
const moveBatch = 100

// MovePseudonym moves everything the store holds under the citizen's pseudonym from to their
// pseudonym to (see above) and returns how many chain items it moved (0: nothing was under from).
// It leaves the old chains' heads (sequence numbers only), so that an item appended under from
// later, by an instance that had not learnt of the new key, is found by the next move; final
// deletes them too (the last move, once no instance appends under from). Safe for concurrent use,
// and idempotent.
func (s *Store) MovePseudonym(ctx context.Context, from, to string, final bool) (int, error) {
	if from == "" || to == "" || from == to {
		return 0, fmt.Errorf("store: moving pseudonym %q to %q", from, to)
	}
	moves := []struct {
		c      seqChain
		from   string
		to     string
		key    string // the item field that says what the item is
		rename func(ctx context.Context, item bson.Raw) error
	}{
		{s.logChain(), from, to, "index", func(ctx context.Context, item bson.Raw) error {
			return s.copySubjectRef(ctx, from, to, item)
		}},
		{s.queueChain(), store.QuestionQueueCitizen(from), store.QuestionQueueCitizen(to), "question", func(ctx context.Context, item bson.Raw) error {
			id, _ := item.Lookup("question").StringValueOK()
			return s.renamePseudonym(ctx, s.questions, id, from, to)
		}},
		{s.applicationChain(), from, to, "application", func(ctx context.Context, item bson.Raw) error {
			id, _ := item.Lookup("application").StringValueOK()
			if err := s.renamePseudonym(ctx, s.applications, id, from, to); err != nil {
				return err
			}
			var app struct {
				Certificate string `bson:"certificate"`
			}
			err := s.applications.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&app)
			if errors.Is(err, mongo.ErrNoDocuments) || err == nil && app.Certificate == "" {
				return nil
			}
			if err != nil {
				return mapErr(err)
			}
			return s.renamePseudonym(ctx, s.certificates, app.Certificate, from, to)
		}},
	}
	moved := 0
	for _, m := range moves {
		n, err := s.moveChain(ctx, m.c, m.from, m.to, m.key, final, m.rename)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// moveChain moves the chain of key from to key to (steps 1 to 4 above) and returns how many items
// it moved. It goes round again while the old chain grows meanwhile. The old head stays (at the
// old chain's end, so that an item appended there later is found past it) unless final.
func (s *Store) moveChain(ctx context.Context, c seqChain, from, to, field string, final bool, rename func(context.Context, bson.Raw) error) (int, error) {
	moved := 0
	lo := uint64(1)
	for {
		end, err := c.end(ctx, from)
		if err != nil {
			return moved, err
		}
		if end < lo {
			if !final {
				return moved, nil
			}
			_, err := c.heads.DeleteOne(ctx, bson.D{{Key: "_id", Value: from}})
			return moved, mapErr(err)
		}
		for ; lo <= end; lo += moveBatch {
			hi := min(end, lo+moveBatch-1)
			n, err := s.moveItems(ctx, c, from, to, field, lo, hi, rename)
			moved += n
			if err != nil {
				return moved, fmt.Errorf("moving %s: %w", c.what(from), err)
			}
		}
		lo = end + 1
		// Round again: an appender that had not learnt of the new key may have appended meanwhile.
	}
}

// moveItems moves the items lo … hi of from's chain to to's, and returns how many there were.
func (s *Store) moveItems(ctx context.Context, c seqChain, from, to, field string, lo, hi uint64, rename func(context.Context, bson.Raw) error) (int, error) {
	ids := make([]string, 0, hi-lo+1)
	for seq := lo; seq <= hi; seq++ {
		ids = append(ids, seqID(from, seq))
	}
	items, err := s.findRaw(ctx, c.items, ids)
	if err != nil {
		return 0, err
	}
	var done []string
	top := uint64(0) // the highest seq copied to the same seq under to
	for seq := lo; seq <= hi; seq++ {
		item, ok := items[seqID(from, seq)]
		if !ok {
			continue // moved already (by another move), or erased
		}
		if err := rename(ctx, item); err != nil {
			return 0, err
		}
		same, err := s.copyItem(ctx, c, to, seq, field, item)
		if err != nil {
			return 0, err
		}
		if same {
			top = seq
		}
		done = append(done, seqID(from, seq))
	}
	if len(done) == 0 {
		return 0, nil
	}
	if top > 0 {
		if err := c.advance(ctx, to, top); err != nil {
			return 0, fmt.Errorf("advancing the new head: %w", err)
		}
	}
	if c.items == s.subjectLog {
		refs := make([]string, 0, len(done))
		for _, id := range done {
			if index, ok := items[id].Lookup("index").AsInt64OK(); ok {
				refs = append(refs, subjectID(from, uint64(index)))
			}
		}
		if _, err := s.subjects.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: refs}}}}); err != nil {
			return 0, fmt.Errorf("deleting the old subject references: %w", mapErr(err))
		}
	}
	if _, err := c.items.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: done}}}}); err != nil {
		return 0, fmt.Errorf("deleting the old items: %w", mapErr(err))
	}
	return len(done), nil
}

// findRaw reads the documents with the given _ids, a batch at a time, by _id.
func (s *Store) findRaw(ctx context.Context, coll *mongo.Collection, ids []string) (map[string]bson.Raw, error) {
	cur, err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, mapErr(err)
	}
	defer cur.Close(ctx)
	out := make(map[string]bson.Raw, len(ids))
	for cur.Next(ctx) {
		id, _ := cur.Current.Lookup("_id").StringValueOK()
		out[id] = append(bson.Raw(nil), cur.Current...)
	}
	return out, mapErr(cur.Err())
}

// copyItem inserts item under key to at seq (same: true); if that seq holds another item (by
// field), it appends item after to's end instead (same: false). The same item there already (a
// move before) is not an error.
func (s *Store) copyItem(ctx context.Context, c seqChain, to string, seq uint64, field string, item bson.Raw) (same bool, err error) {
	doc := func(seq uint64) any { return withID(item, seqID(to, seq)) }
	if _, err := c.items.InsertOne(ctx, doc(seq)); err == nil || !mongo.IsDuplicateKeyError(err) {
		return err == nil, mapErr(err)
	}
	var there bson.Raw
	if err := c.items.FindOne(ctx, bson.D{{Key: "_id", Value: seqID(to, seq)}}).Decode(&there); err != nil {
		return false, mapErr(err)
	}
	if there.Lookup(field).Equal(item.Lookup(field)) {
		return true, nil
	}
	end, err := c.end(ctx, to)
	if err != nil {
		return false, err
	}
	at, err := c.insertNext(ctx, to, end+1, doc)
	if err != nil {
		return false, err
	}
	return false, c.advance(ctx, to, at)
}

// withID returns doc's elements with _id replaced by id.
func withID(doc bson.Raw, id string) bson.D {
	out := bson.D{{Key: "_id", Value: id}}
	elems, _ := doc.Elements()
	for _, e := range elems {
		if e.Key() != "_id" {
			out = append(out, bson.E{Key: e.Key(), Value: e.Value()})
		}
	}
	return out
}

// copySubjectRef stores the subject reference of a log item (by its ledger index) under to, as it
// is stored under from; none under from: nothing to copy.
func (s *Store) copySubjectRef(ctx context.Context, from, to string, item bson.Raw) error {
	index, ok := item.Lookup("index").AsInt64OK()
	if !ok {
		return errors.New("a log item without an index")
	}
	var ref bson.Raw
	err := s.subjects.FindOne(ctx, bson.D{{Key: "_id", Value: subjectID(from, uint64(index))}}).Decode(&ref)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return mapErr(err)
	}
	_, err = s.subjects.InsertOne(ctx, withID(ref, subjectID(to, uint64(index))))
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return mapErr(err)
}

// renamePseudonym sets the pseudonym field of document id in coll to to where it is from.
func (s *Store) renamePseudonym(ctx context.Context, coll *mongo.Collection, id, from, to string) error {
	if id == "" {
		return nil
	}
	if s.serialised() {
		defer s.lock(coll.Name() + "/" + id)()
	}
	_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "pseudonym", Value: from}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "pseudonym", Value: to}}}}, options.UpdateOne())
	return mapErr(err)
}

// PseudonymsUnder reports which of the pseudonyms hold anything in the store: an access log, a
// question queue or an application list. It is what a move's completeness check asks.
func (s *Store) PseudonymsUnder(ctx context.Context, pseudonyms []string) ([]string, error) {
	var out []string
	for _, p := range pseudonyms {
		for _, c := range []struct {
			c   seqChain
			key string
		}{{s.logChain(), p}, {s.queueChain(), store.QuestionQueueCitizen(p)}, {s.applicationChain(), p}} {
			end, err := c.c.end(ctx, c.key)
			if err != nil {
				return nil, err
			}
			if end > 0 {
				out = append(out, p)
				break
			}
		}
	}
	return out, nil
}
