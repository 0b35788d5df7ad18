package mongostore

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

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
// MovePseudonyms moves all of it, for many citizens at once. Each chain moves the same way, and
// every step can be repeated:
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
//
// On the embedded store every write is a synced transaction and only lookups by _id equality use
// an index, so a move reads by _id, a few lookups at a time, and writes each step for all the
// citizens of a call together: one insert of the subject references, one of the items, one of the
// new heads (an update each only where a new head exists already), one bulk delete of the old
// references and one of the old items (and, final, one of the old heads). Moving 50 citizens
// costs about five synced writes, not five per item.

// moveBatch bounds the items one insert or delete of a move writes.
const moveBatch = 500

// MovePseudonym is MovePseudonyms of one citizen.
func (s *Store) MovePseudonym(ctx context.Context, from, to string, final bool) (int, error) {
	return s.MovePseudonyms(ctx, []store.PseudonymMove{{From: from, To: to}}, final)
}

// MovePseudonyms moves everything the store holds under each move's From pseudonym to its To
// pseudonym (see above) and returns how many chain items it moved (0: nothing was under any From).
// It leaves the old chains' heads (sequence numbers only), so that an item appended under From
// later, by an instance that had not learnt of the new key, is found by the next move; final
// deletes them too (the last move, once no instance appends under From). Safe for concurrent use,
// and idempotent.
func (s *Store) MovePseudonyms(ctx context.Context, moves []store.PseudonymMove, final bool) (int, error) {
	for _, m := range moves {
		if m.From == "" || m.To == "" || m.From == m.To {
			return 0, fmt.Errorf("store: moving pseudonym %q to %q", m.From, m.To)
		}
	}
	keyed := func(key func(string) string) []chainMove {
		out := make([]chainMove, len(moves))
		for i, m := range moves {
			out[i] = chainMove{from: key(m.From), to: key(m.To), origFrom: m.From, origTo: m.To}
		}
		return out
	}
	same := func(p string) string { return p }
	chains := []struct {
		c      seqChain
		moves  []chainMove
		field  string // the item field that says what the item is
		rename func(ctx context.Context, m chainMove, item bson.Raw) error
	}{
		{s.logChain(), keyed(same), "index", nil},
		{s.queueChain(), keyed(store.QuestionQueueCitizen), "question", func(ctx context.Context, m chainMove, item bson.Raw) error {
			id, _ := item.Lookup("question").StringValueOK()
			return s.renamePseudonym(ctx, s.questions, id, m.origFrom, m.origTo)
		}},
		{s.applicationChain(), keyed(same), "application", func(ctx context.Context, m chainMove, item bson.Raw) error {
			id, _ := item.Lookup("application").StringValueOK()
			if err := s.renamePseudonym(ctx, s.applications, id, m.origFrom, m.origTo); err != nil {
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
			return s.renamePseudonym(ctx, s.certificates, app.Certificate, m.origFrom, m.origTo)
		}},
	}
	// What this process remembers of the moved access logs' ends (seqCache) holds no longer: the
	// old logs' items are gone, and the new logs end where the move leaves their heads.
	defer func() {
		for _, m := range moves {
			s.lastSeqs.forget(m.From)
			s.lastSeqs.forget(m.To)
		}
	}()
	moved := 0
	for _, ch := range chains {
		n, err := s.moveChains(ctx, ch.c, ch.moves, ch.field, final, ch.rename)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// chainMove is one citizen's chain being moved: keys from and to (origFrom and origTo are the
// pseudonyms themselves), and the seqs moved so far.
type chainMove struct {
	from, to, origFrom, origTo string
	done                       uint64 // seqs 1 … done are moved
	end                        uint64 // the old chain's end, this round
}

// movedItem is one old item read for a move.
type movedItem struct {
	m    *chainMove
	seq  uint64
	item bson.Raw
}

// moveChains moves the chains of moves in c (steps 1 to 4 above) and returns how many items it
// moved. A final move goes round again while an old chain grows meanwhile. The old heads stay (at the old
// chain's end, so that an item appended there later is found past it) unless final.
func (s *Store) moveChains(ctx context.Context, c seqChain, moves []chainMove, field string, final bool,
	rename func(context.Context, chainMove, bson.Raw) error) (int, error) {
	c.repairFrom = 0 // every old head is written at its chain's end, however near (above)
	moved := 0
	live := make([]*chainMove, len(moves))
	for i := range moves {
		live[i] = &moves[i]
	}
	for len(live) > 0 {
		if err := s.parallel(ctx, len(live), func(ctx context.Context, i int) error {
			end, err := c.end(ctx, live[i].from)
			live[i].end = end
			return err
		}); err != nil {
			return moved, fmt.Errorf("moving %s: %w", c.what(""), err)
		}
		var next []*chainMove
		var ids []string
		var owners []movedItem
		for _, m := range live {
			if m.end <= m.done {
				continue
			}
			next = append(next, m)
			for seq := m.done + 1; seq <= m.end; seq++ {
				ids = append(ids, seqID(m.from, seq))
				owners = append(owners, movedItem{m: m, seq: seq})
			}
		}
		var items []movedItem
		raws, err := s.findRawByID(ctx, c.items, ids)
		if err != nil {
			return moved, fmt.Errorf("moving %s: %w", c.what(""), err)
		}
		for i, raw := range raws {
			if raw != nil { // nil: moved already (by another move), or erased
				owners[i].item = raw
				items = append(items, owners[i])
			}
		}
		n, err := s.moveItems(ctx, c, items, field, rename)
		moved += n
		if err != nil {
			return moved, fmt.Errorf("moving %s: %w", c.what(""), err)
		}
		for _, m := range next {
			m.done = m.end
		}
		if !final {
			break // what is appended under from meanwhile, the final move takes
		}
		live = next // round again: an appender that had not learnt of the new key may have appended meanwhile
	}
	if final {
		ids := make([]string, len(moves))
		for i, m := range moves {
			ids[i] = m.from
		}
		if err := s.deleteByID(ctx, c.heads, ids); err != nil {
			return moved, fmt.Errorf("moving %s: deleting the old heads: %w", c.what(""), err)
		}
	}
	return moved, nil
}

// moveItems copies items (with the documents they name) to their new chains, advances the new
// heads, and deletes the old items (steps 2 to 4), and returns how many there were.
func (s *Store) moveItems(ctx context.Context, c seqChain, items []movedItem, field string, rename func(context.Context, chainMove, bson.Raw) error) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	if rename != nil {
		for _, it := range items {
			if err := rename(ctx, *it.m, it.item); err != nil {
				return 0, err
			}
		}
	}
	// The items at the same seqs; one whose seq is taken by another item goes after its chain's end.
	docs := make([]any, len(items))
	for i, it := range items {
		docs[i] = withID(it.item, seqID(it.m.to, it.seq))
	}
	taken, err := s.insertAll(ctx, c.items, docs)
	if err != nil {
		return 0, fmt.Errorf("copying the items: %w", err)
	}
	top := map[*chainMove]uint64{} // the highest seq copied to the same seq, per chain
	for i, it := range items {
		if !taken[i] {
			top[it.m] = max(top[it.m], it.seq)
			continue
		}
		same, err := s.copyItem(ctx, c, it.m.to, it.seq, field, it.item)
		if err != nil {
			return 0, fmt.Errorf("copying an item: %w", err)
		}
		if same {
			top[it.m] = max(top[it.m], it.seq)
		}
	}
	// The references once their log documents are stored under the new pseudonym (keys.go).
	var oldRefs, legacyRefs []string
	if c.items == s.subjectLog {
		if oldRefs, legacyRefs, err = s.copySubjectRefs(ctx, items); err != nil {
			return 0, err
		}
	}
	if err := s.advanceAll(ctx, c, top); err != nil {
		return 0, fmt.Errorf("advancing the new heads: %w", err)
	}
	if err := s.deleteByID(ctx, s.subjectLog, oldRefs); err != nil {
		return 0, fmt.Errorf("deleting the old subject references: %w", err)
	}
	if err := s.deleteByID(ctx, s.subjects, legacyRefs); err != nil {
		return 0, fmt.Errorf("deleting the old subject references: %w", err)
	}
	old := make([]string, len(items))
	for i, it := range items {
		old[i] = seqID(it.m.from, it.seq)
	}
	if err := s.deleteByID(ctx, c.items, old); err != nil {
		return 0, fmt.Errorf("deleting the old items: %w", err)
	}
	return len(items), nil
}

// copySubjectRefs stores the subject references of log items (by their ledger index) under the
// new pseudonym in subject_log (keys.go), as they are stored under the old one there or, in a store
// written before format 3, in subjects (looked up only for those not in subject_log), and returns
// the old references' _ids in each place, to delete.
func (s *Store) copySubjectRefs(ctx context.Context, items []movedItem) (old, legacy []string, err error) {
	ids := make([]string, 0, len(items))
	legacyIDs := make([]string, 0, len(items))
	news := make([]string, 0, len(items))
	for _, it := range items {
		index, ok := it.item.Lookup("index").AsInt64OK()
		if !ok {
			return nil, nil, errors.New("a log item without an index")
		}
		ids = append(ids, refID(it.m.from, uint64(index)))
		legacyIDs = append(legacyIDs, subjectID(it.m.from, uint64(index)))
		news = append(news, refID(it.m.to, uint64(index)))
	}
	refs, err := s.findRawByID(ctx, s.subjectLog, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the subject references: %w", err)
	}
	// Those not in subject_log are looked for in subjects, where an older hub left them.
	var missing []int
	var missingIDs []string
	for i, ref := range refs {
		if ref == nil {
			missing = append(missing, i)
			missingIDs = append(missingIDs, legacyIDs[i])
		}
	}
	legacyRefs, err := s.findRawByID(ctx, s.subjects, missingIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the subject references: %w", err)
	}
	var docs []any
	for i, ref := range refs {
		if ref != nil {
			docs = append(docs, withID(ref, news[i]))
			old = append(old, ids[i])
		}
	}
	for k, ref := range legacyRefs {
		if ref != nil {
			docs = append(docs, withID(ref, news[missing[k]]))
		}
	}
	if _, err := s.insertAll(ctx, s.subjectLog, docs); err != nil { // one there already: copied before
		return nil, nil, fmt.Errorf("copying the subject references: %w", err)
	}
	// Every old _id in subjects goes, found or not: a reference may be in both places (an access
	// the older hub indexed, indexed again after the upgrade by a recovered update).
	return old, legacyIDs, nil
}

// advanceAll moves the heads of the new chains up to the seqs in top: one insert for those without a
// head, an advance each for the others.
func (s *Store) advanceAll(ctx context.Context, c seqChain, top map[*chainMove]uint64) error {
	var docs []any
	var ms []*chainMove
	for m, seq := range top {
		docs = append(docs, headDoc{ID: m.to, Seq: int64(seq)})
		ms = append(ms, m)
	}
	taken, err := s.insertAll(ctx, c.heads, docs)
	if err != nil {
		return err
	}
	for i, m := range ms {
		if taken[i] {
			if err := c.advance(ctx, m.to, top[m]); err != nil {
				return err
			}
		}
	}
	return nil
}

// insertAll inserts docs (unordered, moveBatch at a time) and reports which of them were there
// already (a duplicate _id).
func (s *Store) insertAll(ctx context.Context, coll collection, docs []any) (map[int]bool, error) {
	taken := map[int]bool{}
	for lo := 0; lo < len(docs); lo += moveBatch {
		hi := min(len(docs), lo+moveBatch)
		_, err := coll.InsertMany(ctx, docs[lo:hi], options.InsertMany().SetOrdered(false))
		if err == nil {
			continue
		}
		if !onlyDuplicates(err) {
			return nil, mapErr(err)
		}
		var bwe mongo.BulkWriteException
		errors.As(err, &bwe)
		for _, we := range bwe.WriteErrors {
			taken[lo+we.Index] = true
		}
	}
	return taken, nil
}

// deleteByID deletes the documents with the given _ids, moveBatch at a time, each by its _id.
func (s *Store) deleteByID(ctx context.Context, coll collection, ids []string) error {
	for lo := 0; lo < len(ids); lo += moveBatch {
		hi := min(len(ids), lo+moveBatch)
		models := make([]mongo.WriteModel, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			models = append(models, mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: id}}))
		}
		if _, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// findRawByID reads the documents with the given _ids, each by its own _id lookup, a few at a
// time; a missing one is nil.
func (s *Store) findRawByID(ctx context.Context, coll collection, ids []string) ([]bson.Raw, error) {
	out := make([]bson.Raw, len(ids))
	err := s.parallel(ctx, len(ids), func(ctx context.Context, i int) error {
		var raw bson.Raw
		err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: ids[i]}}).Decode(&raw)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			return nil
		case err != nil:
			return mapErr(err)
		}
		out[i] = raw
		return nil
	})
	return out, err
}

// parallel calls fn(0) … fn(n-1), readParallelism at a time, and returns the first error.
func (s *Store) parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readParallelism)
	for i := range n {
		g.Go(func() error { return fn(gctx, i) })
	}
	return g.Wait()
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

// renamePseudonym sets the pseudonym field of document id in coll to to where it is from.
func (s *Store) renamePseudonym(ctx context.Context, coll collection, id, from, to string) error {
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
