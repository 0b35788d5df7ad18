package mongostore

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

// Record heads (store.Head): one document per citizen, {_id: "<citizen>", head, versions, mac},
// read and written by _id alone.

type recordHeadDoc struct {
	ID       string           `bson:"_id"`
	Head     int64            `bson:"head"`
	Versions map[string]int64 `bson:"versions"`
	MAC      []byte           `bson:"mac"`
}

func toRecordHeadDoc(h store.Head) recordHeadDoc {
	d := recordHeadDoc{ID: h.Citizen, Head: int64(h.Head), Versions: make(map[string]int64, len(h.Versions)), MAC: h.MAC}
	for ds, v := range h.Versions {
		d.Versions[ds] = int64(v)
	}
	return d
}

func fromRecordHeadDoc(d recordHeadDoc) store.Head {
	h := store.Head{Citizen: d.ID, Head: uint64(d.Head), Versions: make(map[string]uint64, len(d.Versions)), MAC: d.MAC}
	for ds, v := range d.Versions {
		h.Versions[ds] = uint64(v)
	}
	return h
}

// RecordHead returns the citizen's record head, or store.ErrNotFound.
func (s *Store) RecordHead(ctx context.Context, citizen string) (store.Head, error) {
	var d recordHeadDoc
	if err := s.recordHeads.FindOne(ctx, bson.D{{Key: "_id", Value: citizen}}).Decode(&d); err != nil {
		return store.Head{}, mapErr(err)
	}
	return fromRecordHeadDoc(d), nil
}

// PutRecordHead writes h over the citizen's head whose Head is base (compare-and-swap), or, with
// hadBase false, creates it where the citizen has none. Another stored head (or none, or one
// already there) is store.ErrConflict.
func (s *Store) PutRecordHead(ctx context.Context, h store.Head, base uint64, hadBase bool) error {
	if !hadBase {
		_, err := s.recordHeads.InsertOne(ctx, toRecordHeadDoc(h))
		return mapErr(err)
	}
	id := h.Citizen
	filter := bson.D{{Key: "_id", Value: id}, {Key: "head", Value: int64(base)}}
	if s.embedded != nil {
		defer s.lock("record_heads/" + id)()
		var cur struct {
			Head int64 `bson:"head"`
		}
		err := s.recordHeads.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "head", Value: 1}})).Decode(&cur)
		if err != nil {
			if err = mapErr(err); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %s has no record head", store.ErrConflict, id)
			}
			return err
		}
		if uint64(cur.Head) != base {
			return fmt.Errorf("%w: the record head of %s is at %d, not %d", store.ErrConflict, id, cur.Head, base)
		}
		filter = bson.D{{Key: "_id", Value: id}}
	}
	res, err := s.recordHeads.ReplaceOne(ctx, filter, toRecordHeadDoc(h))
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		return fmt.Errorf("%w: the record head of %s is not at %d", store.ErrConflict, id, base)
	}
	return nil
}

// InsertRecordHeads stores new heads in bulk (import, migration); any that exists already is
// store.ErrConflict (the others are stored).
func (s *Store) InsertRecordHeads(ctx context.Context, hs []store.Head) error {
	if len(hs) == 0 {
		return nil
	}
	docs := make([]any, len(hs))
	for i, h := range hs {
		docs[i] = toRecordHeadDoc(h)
	}
	_, err := s.recordHeads.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	return mapErr(err)
}

// SetRecordMAC sets the MAC of the record of citizen in dataset at version (migration: records
// written before record MACs). A record at another version is store.ErrConflict.
func (s *Store) SetRecordMAC(ctx context.Context, citizen, dataset string, version uint64, mac []byte) error {
	id := recordID(citizen, dataset)
	defer s.lock(id)()
	cur, err := s.Record(ctx, citizen, dataset)
	if err != nil {
		return err
	}
	if cur.Version != version {
		return fmt.Errorf("%w: record %s is at version %d, not %d", store.ErrConflict, id, cur.Version, version)
	}
	filter := bson.D{{Key: "_id", Value: id}}
	if s.embedded == nil {
		filter = append(filter, bson.E{Key: "version", Value: int64(version)})
	}
	res, err := s.records.UpdateOne(ctx, filter,
		bson.D{{Key: "$set", Value: bson.D{{Key: "mac", Value: mac}}}})
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		return fmt.Errorf("%w: record %s moved on", store.ErrConflict, id)
	}
	return nil
}

// HasRecords reports whether any record is stored.
func (s *Store) HasRecords(ctx context.Context) (bool, error) {
	err := s.records.FindOne(ctx, bson.D{}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if err = mapErr(err); errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// EachRecordHead calls fn with every citizen's record head (a scan: for restores and audits).
func (s *Store) EachRecordHead(ctx context.Context, fn func(store.Head) error) error {
	cur, err := s.recordHeads.Find(ctx, bson.D{}, options.Find().SetBatchSize(1024))
	if err != nil {
		return fmt.Errorf("reading record heads: %w", mapErr(err))
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d recordHeadDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("reading record heads: %w", err)
		}
		if err := fn(fromRecordHeadDoc(d)); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("reading record heads: %w", mapErr(err))
	}
	return nil
}
