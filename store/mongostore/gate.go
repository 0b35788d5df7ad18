package mongostore

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store/embedded"
)

// collection is a collection handle whose write commands pass the store's write gate: on the
// embedded server, one at a time in the process (embedded.Server.LockWrites), so that SQLite never
// puts a writer to sleep waiting for another; elsewhere (MongoDB, FerretDB on PostgreSQL) the gate
// is open and the handle is the driver's. Reads are not gated. Every write the store makes goes
// through one of these methods; a write method of mongo.Collection not overridden here must not be
// used (TestCollectionGatesEveryWrite lists them).
//
// On the embedded server the handle of record_heads also counts its writes (counts, nil
// elsewhere): a write names its document when its filter holds one string _id, and otherwise
// counts as a write of many (headmarks.go).
type collection struct {
	*mongo.Collection
	gate   writeGate
	counts *embedded.WriteCounts
}

// writeGate admits one write at a time (nil: no gate), or fails when ctx ends first; name is the
// collection written, by which the gate reports its time (embedded.Server.WriteGateStats).
type writeGate interface {
	LockWrites(ctx context.Context, name string) (unlock func(), err error)
}

// gated runs write, of the document target names (nil: of many), once c's gate admits it.
func gated[T any](ctx context.Context, c collection, target any, write func() (T, error)) (T, error) {
	if c.gate != nil {
		unlock, err := c.gate.LockWrites(ctx, c.Name())
		if err != nil {
			var zero T
			return zero, err
		}
		defer unlock()
	}
	if c.counts == nil {
		return write()
	}
	var done func(bool)
	if id, ok := target.(string); ok {
		done = c.counts.Start(id)
	} else {
		done = c.counts.StartAll()
	}
	r, err := write()
	done(answered(err))
	return r, err
}

// answered reports whether a write that returned err was decided by the server: it succeeded, or
// the server refused it. Otherwise (the context ended, the connection broke) it may still be
// applied.
func answered(err error) bool {
	var se mongo.ServerError
	return err == nil || errors.Is(err, mongo.ErrNoDocuments) || errors.As(err, &se)
}

// filterID is the document a filter names, a string _id, or nil.
func filterID(filter any) any {
	var d bson.D
	switch f := filter.(type) {
	case bson.D:
		d = f
	case bson.M:
		if id, ok := f["_id"].(string); ok {
			return id
		}
		return nil
	}
	for _, e := range d {
		if id, ok := e.Value.(string); ok && e.Key == "_id" {
			return id
		}
	}
	return nil
}

// gatedSingle is gated for the writes that answer with a single result, which carries the error.
func gatedSingle(ctx context.Context, c collection, target any, write func() *mongo.SingleResult) *mongo.SingleResult {
	r, err := gated(ctx, c, target, func() (*mongo.SingleResult, error) {
		r := write()
		return r, r.Err()
	})
	if r == nil {
		return mongo.NewSingleResultFromDocument(bson.D{}, err, nil)
	}
	return r
}

func (c collection) InsertOne(ctx context.Context, doc any, opts ...options.Lister[options.InsertOneOptions]) (*mongo.InsertOneResult, error) {
	return gated(ctx, c, nil, func() (*mongo.InsertOneResult, error) { return c.Collection.InsertOne(ctx, doc, opts...) })
}

func (c collection) InsertMany(ctx context.Context, docs any, opts ...options.Lister[options.InsertManyOptions]) (*mongo.InsertManyResult, error) {
	return gated(ctx, c, nil, func() (*mongo.InsertManyResult, error) { return c.Collection.InsertMany(ctx, docs, opts...) })
}

func (c collection) UpdateOne(ctx context.Context, filter, update any, opts ...options.Lister[options.UpdateOneOptions]) (*mongo.UpdateResult, error) {
	return gated(ctx, c, filterID(filter), func() (*mongo.UpdateResult, error) { return c.Collection.UpdateOne(ctx, filter, update, opts...) })
}

func (c collection) UpdateByID(ctx context.Context, id, update any, opts ...options.Lister[options.UpdateOneOptions]) (*mongo.UpdateResult, error) {
	return gated(ctx, c, filterID(bson.D{{Key: "_id", Value: id}}), func() (*mongo.UpdateResult, error) { return c.Collection.UpdateByID(ctx, id, update, opts...) })
}

func (c collection) UpdateMany(ctx context.Context, filter, update any, opts ...options.Lister[options.UpdateManyOptions]) (*mongo.UpdateResult, error) {
	return gated(ctx, c, nil, func() (*mongo.UpdateResult, error) { return c.Collection.UpdateMany(ctx, filter, update, opts...) })
}

func (c collection) ReplaceOne(ctx context.Context, filter, replacement any, opts ...options.Lister[options.ReplaceOptions]) (*mongo.UpdateResult, error) {
	return gated(ctx, c, filterID(filter), func() (*mongo.UpdateResult, error) { return c.Collection.ReplaceOne(ctx, filter, replacement, opts...) })
}

func (c collection) DeleteOne(ctx context.Context, filter any, opts ...options.Lister[options.DeleteOneOptions]) (*mongo.DeleteResult, error) {
	return gated(ctx, c, filterID(filter), func() (*mongo.DeleteResult, error) { return c.Collection.DeleteOne(ctx, filter, opts...) })
}

func (c collection) DeleteMany(ctx context.Context, filter any, opts ...options.Lister[options.DeleteManyOptions]) (*mongo.DeleteResult, error) {
	return gated(ctx, c, nil, func() (*mongo.DeleteResult, error) { return c.Collection.DeleteMany(ctx, filter, opts...) })
}

func (c collection) BulkWrite(ctx context.Context, models []mongo.WriteModel, opts ...options.Lister[options.BulkWriteOptions]) (*mongo.BulkWriteResult, error) {
	return gated(ctx, c, nil, func() (*mongo.BulkWriteResult, error) { return c.Collection.BulkWrite(ctx, models, opts...) })
}

func (c collection) FindOneAndUpdate(ctx context.Context, filter, update any, opts ...options.Lister[options.FindOneAndUpdateOptions]) *mongo.SingleResult {
	return gatedSingle(ctx, c, filterID(filter), func() *mongo.SingleResult { return c.Collection.FindOneAndUpdate(ctx, filter, update, opts...) })
}

func (c collection) FindOneAndReplace(ctx context.Context, filter, replacement any, opts ...options.Lister[options.FindOneAndReplaceOptions]) *mongo.SingleResult {
	return gatedSingle(ctx, c, filterID(filter), func() *mongo.SingleResult { return c.Collection.FindOneAndReplace(ctx, filter, replacement, opts...) })
}

func (c collection) FindOneAndDelete(ctx context.Context, filter any, opts ...options.Lister[options.FindOneAndDeleteOptions]) *mongo.SingleResult {
	return gatedSingle(ctx, c, filterID(filter), func() *mongo.SingleResult { return c.Collection.FindOneAndDelete(ctx, filter, opts...) })
}

func (c collection) Drop(ctx context.Context, opts ...options.Lister[options.DropCollectionOptions]) error {
	_, err := gated(ctx, c, nil, func() (struct{}, error) { return struct{}{}, c.Collection.Drop(ctx, opts...) })
	return err
}

// exclusive runs f holding c's gate, for reads and a write with no other write of the process
// between them; f writes through the driver's handle it is given (c's own methods would wait for
// the gate f holds). Without a gate, f runs as it is.
func (c collection) exclusive(ctx context.Context, f func(*mongo.Collection) error) error {
	_, err := gated(ctx, c, nil, func() (struct{}, error) { return struct{}{}, f(c.Collection) })
	return err
}

// coll is the gated handle of collection name (bind's, for the collections it does not keep).
func (s *Store) coll(name string, opts ...options.Lister[options.CollectionOptions]) collection {
	c := collection{Collection: s.db.Collection(name, opts...)}
	if s.embedded != nil {
		c.gate = s.embedded
		if name == collRecordHeads {
			c.counts = s.embedded.Writes() // headmarks.go
		}
	}
	return c
}
