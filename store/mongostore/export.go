package mongostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// exportOrder is allCollections with the ledger's read in the reverse of the order the ledger
// writes them (batches, bundles, tiles, checkpoint, tree state): the tree state first, so that
// what the export holds of the others is at least as new as the state it names, the same as after
// a crash, which the ledger picks up from (wider tiles and bundles, batches past the state).
func exportOrder() []string {
	first := []string{collState, collCheckpoints, collTiles, collBundles, collBatches}
	out := slices.Clone(first)
	for _, c := range allCollections {
		if !slices.Contains(first, c) {
			out = append(out, c)
		}
	}
	return out
}

// Export calls fn with every document of every collection of the hub, as stored, collection by
// collection (package backup writes them). It reads one collection after another, not one
// snapshot: documents written meanwhile may or may not be in it. The ledger's collections come
// first, in an order a restore can always pick up from (exportOrder); records may be newer or
// older than the ledger copy (take it when updates are quiet; the verification after a restore
// reports what does not match). progress, if not nil,
// is called after each collection with its name and document count.
func (s *Store) Export(ctx context.Context, fn func(collection string, doc bson.Raw) error, progress func(collection string, n int64)) error {
	for _, name := range exportOrder() {
		cur, err := s.db.Collection(name).Find(ctx, bson.D{}, options.Find().SetBatchSize(512))
		if err != nil {
			return fmt.Errorf("exporting %s: %w", name, mapErr(err))
		}
		var n int64
		for cur.Next(ctx) {
			if isLease(name, cur.Current) {
				continue
			}
			if err := fn(name, bson.Raw(slices.Clone(cur.Current))); err != nil {
				cur.Close(ctx)
				return err
			}
			n++
		}
		err = cur.Err()
		cur.Close(ctx)
		if err != nil {
			return fmt.Errorf("exporting %s: %w", name, mapErr(err))
		}
		if progress != nil {
			progress(name, n)
		}
	}
	return nil
}

// isLease reports whether doc of collection is a ledger lease term: coordination between the
// instances running at the time, never exported nor restored (a restored store starts without a
// lease, so that whatever opens it first takes one at once; a copied lease would hold every other
// instance off until it expired: an hour for a hub on the embedded store).
func isLease(collection string, doc bson.Raw) bool {
	if collection != collState {
		return false
	}
	id, ok := doc.Lookup("_id").StringValueOK()
	return ok && strings.HasPrefix(id, leasePrefix)
}

// Empty reports whether none of the hub's collections holds a document (a store a restore may
// load), but for the record of its layout, which New writes (checkFormat).
func (s *Store) Empty(ctx context.Context) (bool, error) {
	for _, name := range allCollections {
		filter := bson.D{}
		if name == collMeta {
			filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$ne", Value: metaStoreFormat}}}}
		}
		err := s.db.Collection(name).FindOne(ctx, filter).Err()
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return false, fmt.Errorf("looking into %s: %w", name, mapErr(err))
		}
	}
	return true, nil
}

// ImportDocuments inserts stored documents into collection as they are (a restore into an empty
// store); a document whose _id exists fails it.
func (s *Store) ImportDocuments(ctx context.Context, collection string, docs []bson.Raw) error {
	if len(docs) == 0 {
		return nil
	}
	if !slices.Contains(allCollections, collection) {
		return fmt.Errorf("store: no collection %q in a hub's store", collection)
	}
	batch := make([]any, 0, len(docs))
	for _, d := range docs {
		if isLease(collection, d) { // exports made before leases were left out hold them
			continue
		}
		if collection == collMeta {
			if id, _ := d.Lookup("_id").StringValueOK(); id == metaStoreFormat {
				// The store records its own layout (New); an export of a newer one cannot be read.
				if f, ok := d.Lookup("format").AsInt64OK(); ok && f > storeFormat {
					return fmt.Errorf("restoring: the export was taken from a newer govhub (document layout %d; this build knows up to %d)", f, storeFormat)
				}
				continue
			}
		}
		batch = append(batch, d)
	}
	if len(batch) == 0 {
		return nil
	}
	if collection == collRecords {
		// An export of a store whose records were not all moved into citizens' documents
		// (legacy.go): read them where they are until MoveRecords moves them.
		s.legacy.Store(true)
	}
	if _, err := s.coll(collection).InsertMany(ctx, batch); err != nil {
		return fmt.Errorf("restoring %s: %w", collection, mapErr(err))
	}
	return nil
}
