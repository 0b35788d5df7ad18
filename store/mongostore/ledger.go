package mongostore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/ledger"
)

// The ledger's storage (ledger.Storage) on MongoDB.
var _ ledger.Storage = (*Store)(nil)

// batchDoc is a batch as stored: its entries compressed (Z, packed by packLeaves), or, as written
// before compression, as they are (Leaves), which a reader takes first when present.
type batchDoc struct {
	ID     string   `bson:"_id"`
	First  int64    `bson:"first"`
	N      int64    `bson:"n,omitempty"`
	Z      []byte   `bson:"z,omitempty"`
	Leaves [][]byte `bson:"leaves,omitempty"`
}

// AddBatch implements ledger.BatchStorage.
func (s *Store) AddBatch(ctx context.Context, b ledger.Batch) error {
	d := batchDoc{ID: pad(b.First), First: int64(b.First), N: int64(len(b.Leaves)), Z: compress(packLeaves(b.Leaves))}
	_, err := s.batches.InsertOne(ctx, d)
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("%w: %d", ledger.ErrDuplicate, b.First)
	}
	return err
}

// ReadBatch implements ledger.BatchStorage.
func (s *Store) ReadBatch(ctx context.Context, first uint64) (ledger.Batch, error) {
	var d batchDoc
	err := s.batches.FindOne(ctx, bson.D{{Key: "_id", Value: pad(first)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ledger.Batch{}, ledger.ErrNotFound
	}
	if err != nil {
		return ledger.Batch{}, err
	}
	switch {
	case d.Leaves != nil:
		return ledger.Batch{First: uint64(d.First), Leaves: d.Leaves}, nil
	case d.Z == nil && d.N > 0:
		return ledger.Batch{}, fmt.Errorf("batch %d: holds %d entries but stores none", first, d.N)
	case d.Z == nil:
		return ledger.Batch{First: uint64(d.First)}, nil
	}
	packed, err := decompress(d.Z)
	if err != nil {
		return ledger.Batch{}, fmt.Errorf("batch %d: %w", first, err)
	}
	leaves, err := unpackLeaves(packed)
	if err != nil || int64(len(leaves)) != d.N {
		return ledger.Batch{}, fmt.Errorf("batch %d: stored entries do not unpack to the %d it holds (%d, %v)", first, d.N, len(leaves), err)
	}
	return ledger.Batch{First: uint64(d.First), Leaves: leaves}, nil
}

func tileID(level uint, n uint64) string {
	return strconv.FormatUint(uint64(level), 10) + "/" + strconv.FormatUint(n, 10)
}

// fullTileWidth is the width of a complete tile or bundle: its content is final.
const fullTileWidth = 256

// WriteTiles implements ledger.TileStorage. Complete tiles, whose content is final, go in one bulk
// write; a partial one is written only over a narrower stored version (writeWidest).
func (s *Store) WriteTiles(ctx context.Context, tiles []ledger.TileData) error {
	lowest := map[uint]uint64{} // by level, the lowest complete tile: it may be stored partial
	for _, t := range tiles {
		if len(t.Hashes)/32 == fullTileWidth {
			if n, ok := lowest[t.Level]; !ok || t.N < n {
				lowest[t.Level] = t.N
			}
		}
	}
	var edge, full []writeDoc
	for _, t := range tiles {
		d := writeDoc{tileID(t.Level, t.N), len(t.Hashes) / 32, "hashes", t.Hashes}
		if d.width == fullTileWidth && lowest[t.Level] != t.N {
			full = append(full, d)
		} else {
			edge = append(edge, d)
		}
	}
	return s.writeEdgeAndFull(ctx, s.tiles, edge, full, nil)
}

type writeDoc struct {
	id    string
	width int
	field string
	data  []byte
}

// writeEdgeAndFull stores the documents at a tile level's or the bundles' right edge, partial or
// possibly stored partial (writeWidest), then the complete new ones (one insert, writeFull).
// encode, if not nil, gives the bytes stored for a document's data (the bundles' compression).
func (s *Store) writeEdgeAndFull(ctx context.Context, c collection, edge, full []writeDoc, encode func([]byte) []byte) error {
	if encode != nil {
		for _, docs := range [][]writeDoc{edge, full} {
			for i := range docs {
				docs[i].data = encode(docs[i].data)
			}
		}
	}
	if err := s.writeWidest(ctx, c, edge); err != nil {
		return err
	}
	return s.writeFull(ctx, c, full)
}

// writeFull stores complete tiles or bundles that are new: in one insert (on the embedded store one
// transaction, so one sync), which cannot overwrite anything. A complete tile or bundle's content is
// final, so one already stored under its id is either the same or a partial version of it (a deposed
// writer's, or one this writer wrote before a restart): those few are written again over a narrower
// version only (writeWidest). The callers pass the one complete tile or bundle per level that the
// previous round may have stored partial to writeWidest instead, so that on FerretDB (which, when
// one document of an insert fails, retries the others one transaction each) the insert does not fail.
func (s *Store) writeFull(ctx context.Context, c collection, docs []writeDoc) error {
	if len(docs) == 0 {
		return nil
	}
	ins := make([]any, len(docs))
	for i, d := range docs {
		ins[i] = bson.D{{Key: "_id", Value: d.id}, {Key: "w", Value: d.width}, {Key: d.field, Value: d.data}}
	}
	_, err := c.InsertMany(ctx, ins, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return fmt.Errorf("writing %d complete %s: %w", len(docs), c.Name(), err)
	}
	var stored []writeDoc
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(docs) || !mongo.IsDuplicateKeyError(we) {
			return fmt.Errorf("writing %d complete %s: %w", len(docs), c.Name(), err)
		}
		stored = append(stored, docs[we.Index])
	}
	if err := s.writeWidest(ctx, c, stored); err != nil {
		return fmt.Errorf("writing complete %s: %w", c.Name(), err)
	}
	return nil
}

// ReadTile implements ledger.TileStorage.
func (s *Store) ReadTile(ctx context.Context, level uint, n uint64) ([]byte, error) {
	var d struct {
		Hashes []byte `bson:"hashes"`
	}
	err := s.tiles.FindOne(ctx, bson.D{{Key: "_id", Value: tileID(level, n)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ledger.ErrNotFound
	}
	return d.Hashes, err
}

// WriteBundles implements ledger.BundleStorage, like WriteTiles; each bundle's data is stored
// compressed.
func (s *Store) WriteBundles(ctx context.Context, bundles []ledger.BundleData) error {
	lowest, found := uint64(0), false // the lowest complete bundle: it may be stored partial
	for _, b := range bundles {
		if b.Count == fullTileWidth && (!found || b.N < lowest) {
			lowest, found = b.N, true
		}
	}
	var edge, full []writeDoc
	for _, b := range bundles {
		d := writeDoc{strconv.FormatUint(b.N, 10), b.Count, "z", b.Data}
		if b.Count == fullTileWidth && b.N != lowest {
			full = append(full, d)
		} else {
			edge = append(edge, d)
		}
	}
	return s.writeEdgeAndFull(ctx, s.bundles, edge, full, compress)
}

// ReadBundle implements ledger.BundleStorage.
func (s *Store) ReadBundle(ctx context.Context, n uint64) ([]byte, error) {
	var d struct {
		Data []byte `bson:"data"` // as written before compression
		Z    []byte `bson:"z"`
	}
	err := s.bundles.FindOne(ctx, bson.D{{Key: "_id", Value: strconv.FormatUint(n, 10)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ledger.ErrNotFound
	}
	if err != nil || d.Data != nil || d.Z == nil {
		return d.Data, err
	}
	data, err := decompress(d.Z)
	if err != nil {
		return nil, fmt.Errorf("entry bundle %d: %w", n, err)
	}
	return data, nil
}

// writeWidest stores each document, {_id: id, w: width, field: data}, unless a version at least as
// wide is stored: tiles and bundles only ever grow, even when a deposed writer is late. The
// documents go in one command.
//
// On FerretDB, under the documents' locks, each one's stored width is known from the last write
// through the embedded server (Store.note) or read, and those narrower are replaced. On MongoDB the
// replacement's filter asks for a narrower version, and the upsert of one found at least as wide
// fails on the duplicate _id, which is then no error.
func (s *Store) writeWidest(ctx context.Context, c collection, docs []writeDoc) error {
	if len(docs) == 0 {
		return nil
	}
	replace := func(d writeDoc, filter bson.D) mongo.WriteModel {
		return mongo.NewReplaceOneModel().SetFilter(filter).SetUpsert(true).
			SetReplacement(bson.D{{Key: "_id", Value: d.id}, {Key: "w", Value: d.width}, {Key: d.field, Value: d.data}})
	}
	var models []mongo.WriteModel
	if !s.serialised() {
		for _, d := range docs {
			models = append(models, replace(d, bson.D{{Key: "_id", Value: d.id}, {Key: "$or", Value: bson.A{
				bson.D{{Key: "w", Value: bson.D{{Key: "$lt", Value: d.width}}}},
				bson.D{{Key: "w", Value: bson.D{{Key: "$exists", Value: false}}}},
			}}}))
		}
		_, err := c.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		var bwe mongo.BulkWriteException
		if errors.As(err, &bwe) && bwe.WriteConcernError == nil && len(bwe.WriteErrors) > 0 {
			for _, we := range bwe.WriteErrors {
				if !mongo.IsDuplicateKeyError(we) {
					return fmt.Errorf("writing %s: %w", c.Name(), err)
				}
			}
			return nil // each failed write found a version at least as wide
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", c.Name(), err)
		}
		return nil
	}
	locks, notes := make([]string, len(docs)), make([]string, len(docs))
	for i, d := range docs {
		locks[i] = c.Name() + "/" + d.id
		notes[i] = s.db.Name() + "/" + locks[i]
	}
	defer s.lockAll(locks)()
	var written []int
	for i, d := range docs {
		stored, known := s.note(notes[i])
		if !known {
			var cur struct {
				W *int `bson:"w"`
			}
			err := c.FindOne(ctx, bson.D{{Key: "_id", Value: d.id}}, options.FindOne().SetProjection(bson.D{{Key: "w", Value: 1}})).Decode(&cur)
			switch {
			case errors.Is(err, mongo.ErrNoDocuments):
			case err != nil:
				return fmt.Errorf("reading %s %s: %w", c.Name(), d.id, err)
			case cur.W != nil:
				stored = int64(*cur.W)
			}
		}
		if stored >= int64(d.width) {
			s.setNote(notes[i], stored)
			continue
		}
		models = append(models, replace(d, bson.D{{Key: "_id", Value: d.id}}))
		written = append(written, i)
	}
	if len(models) == 0 {
		return nil
	}
	if _, err := c.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		for _, i := range written {
			s.dropNote(notes[i]) // written or not: read it next time
		}
		return fmt.Errorf("writing %s: %w", c.Name(), err)
	}
	for _, i := range written {
		s.setNote(notes[i], int64(docs[i].width))
	}
	return nil
}

type stateDoc struct {
	ID         string `bson:"_id"`
	Size       int64  `bson:"size"`
	Root       []byte `bson:"root"`
	Checkpoint []byte `bson:"checkpoint"`
}

const stateID = "tree"

// ReadTreeState implements ledger.StateStorage.
func (s *Store) ReadTreeState(ctx context.Context) (ledger.TreeState, error) {
	var d stateDoc
	err := s.state.FindOne(ctx, bson.D{{Key: "_id", Value: stateID}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ledger.TreeState{}, nil
	}
	if err != nil {
		return ledger.TreeState{}, err
	}
	return ledger.TreeState{Size: uint64(d.Size), Root: d.Root, Checkpoint: d.Checkpoint}, nil
}

// SwapTreeState implements ledger.StateStorage.
func (s *Store) SwapTreeState(ctx context.Context, old, next ledger.TreeState) error {
	doc := stateDoc{ID: stateID, Size: int64(next.Size), Root: next.Root, Checkpoint: next.Checkpoint}
	if s.serialised() {
		defer s.lock(collState)()
		cur, err := s.ReadTreeState(ctx)
		if err != nil {
			return err
		}
		if cur.Size != old.Size || !bytes.Equal(cur.Root, old.Root) {
			return fmt.Errorf("%w: tree state is at size %d, not %d", ledger.ErrConflict, cur.Size, old.Size)
		}
		_, err = s.state.ReplaceOne(ctx, bson.D{{Key: "_id", Value: stateID}}, doc, options.Replace().SetUpsert(true))
		return err
	}
	if old.Size == 0 && len(old.Root) == 0 {
		_, err := s.state.InsertOne(ctx, doc)
		if mongo.IsDuplicateKeyError(err) {
			return fmt.Errorf("%w: tree state exists already", ledger.ErrConflict)
		}
		return err
	}
	res, err := s.state.ReplaceOne(ctx, bson.D{{Key: "_id", Value: stateID}, {Key: "size", Value: int64(old.Size)}, {Key: "root", Value: old.Root}}, doc)
	if err != nil {
		return err
	}
	if res.MatchedCount != 1 {
		return fmt.Errorf("%w: tree state is no longer at size %d", ledger.ErrConflict, old.Size)
	}
	return nil
}

// AddCheckpoint implements ledger.StateStorage.
func (s *Store) AddCheckpoint(ctx context.Context, size uint64, text []byte) error {
	_, err := s.checkpoints.InsertOne(ctx, bson.D{{Key: "_id", Value: pad(size)}, {Key: "size", Value: int64(size)}, {Key: "text", Value: text}})
	if !mongo.IsDuplicateKeyError(err) {
		return err
	}
	var d struct {
		Text []byte `bson:"text"`
	}
	if err := s.checkpoints.FindOne(ctx, bson.D{{Key: "_id", Value: pad(size)}}).Decode(&d); err != nil {
		return err
	}
	if !bytes.Equal(d.Text, text) {
		return fmt.Errorf("%w: another checkpoint of size %d is stored", ledger.ErrConflict, size)
	}
	return nil
}

// AddCosigned implements ledger.StateStorage. The latest cosigned checkpoint is also kept in a
// document of its own, so that start-up finds it by _id.
func (s *Store) AddCosigned(ctx context.Context, size uint64, text []byte) error {
	res, err := s.checkpoints.UpdateOne(ctx, bson.D{{Key: "_id", Value: pad(size)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "cosigned", Value: text}}}})
	if err != nil {
		return err
	}
	if res.MatchedCount != 1 {
		return fmt.Errorf("%w: no checkpoint of size %d", ledger.ErrNotFound, size)
	}
	doc := bson.D{{Key: "_id", Value: "cosigned"}, {Key: "size", Value: int64(size)}, {Key: "text", Value: text}}
	if s.serialised() {
		defer s.lock(collState + "/cosigned")()
		var cur struct {
			Size int64 `bson:"size"`
		}
		err := s.state.FindOne(ctx, bson.D{{Key: "_id", Value: "cosigned"}}).Decode(&cur)
		if err == nil && uint64(cur.Size) > size {
			return nil
		}
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return err
		}
		_, err = s.state.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "cosigned"}}, doc, options.Replace().SetUpsert(true))
		return err
	}
	_, err = s.state.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "cosigned"}, {Key: "size", Value: bson.D{{Key: "$lte", Value: int64(size)}}}},
		doc, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil // a larger one is recorded
	}
	return err
}

// LatestCosigned implements ledger.StateStorage.
func (s *Store) LatestCosigned(ctx context.Context) ([]byte, error) {
	var d struct {
		Text []byte `bson:"text"`
	}
	err := s.state.FindOne(ctx, bson.D{{Key: "_id", Value: "cosigned"}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ledger.ErrNotFound
	}
	return d.Text, err
}

// Checkpoints implements ledger.StateStorage.
func (s *Store) Checkpoints(ctx context.Context, fn func(size uint64, text []byte) error) error {
	cur, err := s.checkpoints.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			Size int64  `bson:"size"`
			Text []byte `bson:"text"`
		}
		if err := cur.Decode(&d); err != nil {
			return err
		}
		if err := fn(uint64(d.Size), d.Text); err != nil {
			return err
		}
	}
	return cur.Err()
}

const leasePrefix = "lease/"

func leaseID(term uint64) string { return leasePrefix + pad(term) }

// AddLease implements ledger.LeaseStorage: an insert, so that of two instances taking the same term
// only one succeeds.
func (s *Store) AddLease(ctx context.Context, term uint64, holder string, expires time.Time) error {
	_, err := s.state.InsertOne(ctx, bson.D{{Key: "_id", Value: leaseID(term)}, {Key: "holder", Value: holder}, {Key: "expires", Value: expires.UTC()}})
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("%w: lease term %d", ledger.ErrDuplicate, term)
	}
	return err
}

// LatestLease implements ledger.LeaseStorage: the lease document with the largest _id (terms are
// zero-padded, so the order of the strings is the order of the terms).
func (s *Store) LatestLease(ctx context.Context) (uint64, string, time.Time, error) {
	var d struct {
		ID      string    `bson:"_id"`
		Holder  string    `bson:"holder"`
		Expires time.Time `bson:"expires"`
	}
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: leaseID(0)}, {Key: "$lte", Value: leaseID(math.MaxUint64)}}}}
	err := s.state.FindOne(ctx, filter, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, "", time.Time{}, ledger.ErrNotFound
	}
	if err != nil {
		return 0, "", time.Time{}, err
	}
	term, err := strconv.ParseUint(strings.TrimPrefix(d.ID, leasePrefix), 10, 64)
	if err != nil {
		return 0, "", time.Time{}, fmt.Errorf("lease document %q: %w", d.ID, err)
	}
	return term, d.Holder, d.Expires, nil
}

// DeleteLease implements ledger.LeaseStorage.
func (s *Store) DeleteLease(ctx context.Context, term uint64) error {
	_, err := s.state.DeleteOne(ctx, bson.D{{Key: "_id", Value: leaseID(term)}})
	return err
}

// Enqueue implements ledger.QueueStorage.
func (s *Store) Enqueue(ctx context.Context, q ledger.Queued) error {
	_, err := s.queue.InsertOne(ctx, bson.D{{Key: "_id", Value: q.ID}, {Key: "leaf", Value: q.Leaf},
		{Key: "after", Value: int64(q.After)}, {Key: "created", Value: time.Now().UTC()}})
	return err
}

// Queued implements ledger.QueueStorage. The queue is small (entries wait milliseconds), so a scan is fine.
func (s *Store) Queued(ctx context.Context, limit int) ([]ledger.Queued, error) {
	cur, err := s.queue.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "created", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID    string `bson:"_id"`
		Leaf  []byte `bson:"leaf"`
		After int64  `bson:"after"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]ledger.Queued, len(docs))
	for i, d := range docs {
		out[i] = ledger.Queued{ID: d.ID, Leaf: d.Leaf, After: uint64(d.After)}
	}
	return out, nil
}

// Dequeue implements ledger.QueueStorage.
func (s *Store) Dequeue(ctx context.Context, id string) error {
	_, err := s.queue.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return err
}
