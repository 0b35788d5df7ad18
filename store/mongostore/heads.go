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

// One document per citizen in record_heads holds the citizen's record head (store.Head) and their
// current records, so that a read of a citizen is one find by _id:
//
//	{_id: "C000001", head: 42, versions: {tax: 42, identity: 7}, mac: <bytes>,
//	 r: true, records: {tax: <bytes>, identity: <bytes>}, rv: {tax: 42, identity: 7}}
//
// head, versions and mac are there once the citizen has a head (PutRecordHead). records holds each
// record as the BSON bytes of the document the records collection held before (recordDoc), in a
// binary field: FerretDB decodes a stored document from JSON, node by node, and a binary field is
// one string to it, so one find of a citizen costs about what one find of one record did; rv holds
// each record's version, for the compare-and-swap. r says that the citizen's records were moved
// out of the records collection (legacy.go), so that none of them is left there. Every write sets
// or unsets fields of this document ($set, $unset) and never replaces it whole, so that the head and
// the records are written independently, each with its own compare-and-swap: against MongoDB by
// filters on {_id, head} or {_id, rv.<dataset>}; on FerretDB by reading and writing by _id under
// the process's lock of the citizen (citizenKey).

type citizenDoc struct {
	ID       string           `bson:"_id"`
	Head     *int64           `bson:"head,omitempty"`
	Versions map[string]int64 `bson:"versions,omitempty"`
	MAC      []byte           `bson:"mac,omitempty"`
	Moved    bool             `bson:"r,omitempty"`
	// Records holds each record's document (recordDoc) as BSON bytes, opaque to the server, and
	// RV each record's version, which the server compares.
	Records map[string][]byte `bson:"records,omitempty"`
	RV      map[string]int64  `bson:"rv,omitempty"`
}

// record decodes d's record in dataset; ok is false when d holds none.
func (d *citizenDoc) record(dataset string) (r store.Record, ok bool, err error) {
	b, ok := d.Records[dataset]
	if !ok {
		return store.Record{}, false, nil
	}
	var rd recordDoc
	if err := bson.Unmarshal(b, &rd); err != nil {
		return store.Record{}, true, fmt.Errorf("record %s/%s: %w", d.ID, dataset, err)
	}
	r, err = fromRecordDoc(rd)
	return r, true, err
}

// citizenKey is the process lock (lock) of everything stored in a citizen's document.
func citizenKey(citizen string) string { return collRecordHeads + "/" + citizen }

// headFieldNames are the fields of a citizen's document that hold their head.
var headFieldNames = []string{"head", "versions", "mac"}

func headFields(h store.Head) bson.D {
	versions := make(bson.D, 0, len(h.Versions))
	for ds, v := range h.Versions {
		versions = append(versions, bson.E{Key: ds, Value: int64(v)})
	}
	return bson.D{{Key: "head", Value: int64(h.Head)}, {Key: "versions", Value: versions}, {Key: "mac", Value: h.MAC}}
}

// head returns the citizen's head held by d, and whether d holds one.
func (d *citizenDoc) head() (store.Head, bool) {
	if d.Head == nil {
		return store.Head{}, false
	}
	h := store.Head{Citizen: d.ID, Head: uint64(*d.Head), Versions: make(map[string]uint64, len(d.Versions)), MAC: d.MAC}
	for ds, v := range d.Versions {
		h.Versions[ds] = uint64(v)
	}
	return h, true
}

// citizen reads the citizen's document, only the fields of fields if not nil (a projection);
// found is false when there is none.
func (s *Store) citizen(ctx context.Context, citizen string, fields ...string) (d citizenDoc, found bool, err error) {
	opts := options.FindOne()
	if fields != nil {
		proj := make(bson.D, len(fields))
		for i, f := range fields {
			proj[i] = bson.E{Key: f, Value: 1}
		}
		opts.SetProjection(proj)
	}
	err = s.recordHeads.FindOne(ctx, bson.D{{Key: "_id", Value: citizen}}, opts).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return citizenDoc{ID: citizen}, false, nil
	}
	if err != nil {
		return d, false, mapErr(err)
	}
	return d, true, nil
}

// RecordHead returns the citizen's record head, or store.ErrNotFound.
func (s *Store) RecordHead(ctx context.Context, citizen string) (store.Head, error) {
	d, _, err := s.citizen(ctx, citizen, headFieldNames...)
	if err != nil {
		return store.Head{}, err
	}
	h, ok := d.head()
	if !ok {
		return store.Head{}, store.ErrNotFound
	}
	return h, nil
}

// HeadAndRecords returns the citizen's record head (hadHead false when they have none) and their
// records in datasets (datasets without a record are absent from the map), read at once: one find
// by _id of the citizen's document, in which both are kept.
func (s *Store) HeadAndRecords(ctx context.Context, citizen string, datasets []string) (h store.Head, hadHead bool, recs map[string]store.Record, err error) {
	st, stamped := s.stamp(citizen)
	d, found, err := s.citizen(ctx, citizen)
	if err != nil {
		return store.Head{}, false, nil, err
	}
	if stamped {
		s.mark(citizen, st, d, found)
	}
	h, hadHead = d.head()
	recs, err = s.recordsOf(ctx, &d, datasets)
	if err != nil {
		return store.Head{}, false, nil, err
	}
	return h, hadHead, recs, nil
}

// PutRecordHead writes h over the citizen's head whose Head is base (compare-and-swap), or, with
// hadBase false, creates it where the citizen has none. Another stored head (or none, or one
// already there) is store.ErrConflict. It leaves the citizen's records as they are.
func (s *Store) PutRecordHead(ctx context.Context, h store.Head, base uint64, hadBase bool) error {
	id := h.Citizen
	set := bson.D{{Key: "$set", Value: headFields(h)}}
	if s.serialised() {
		defer s.lock(citizenKey(id))()
		d, found, err := s.citizen(ctx, id, "head")
		if err != nil {
			return err
		}
		cur, had := d.head()
		switch {
		case !hadBase && had:
			return fmt.Errorf("%w: %s has a record head already", store.ErrConflict, id)
		case hadBase && !had:
			return fmt.Errorf("%w: %s has no record head", store.ErrConflict, id)
		case hadBase && cur.Head != base:
			return fmt.Errorf("%w: the record head of %s is at %d, not %d", store.ErrConflict, id, cur.Head, base)
		}
		if !found {
			doc := append(bson.D{{Key: "_id", Value: id}}, headFields(h)...)
			if !s.legacy.Load() {
				doc = append(doc, bson.E{Key: "r", Value: true})
			}
			_, err := s.recordHeads.InsertOne(ctx, doc)
			return mapErr(err)
		}
		res, err := s.recordHeads.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, set)
		if err != nil {
			return mapErr(err)
		}
		if res.MatchedCount != 1 {
			return fmt.Errorf("%w: the document of %s vanished", store.ErrConflict, id)
		}
		return nil
	}
	if !hadBase {
		// A document without a head (records written first) gets one; one with a head does not
		// match, so the upsert inserts a second _id: a duplicate key, store.ErrConflict.
		filter := bson.D{{Key: "_id", Value: id}, {Key: "head", Value: bson.D{{Key: "$exists", Value: false}}}}
		if !s.legacy.Load() {
			set = append(set, bson.E{Key: "$setOnInsert", Value: bson.D{{Key: "r", Value: true}}})
		}
		_, err := s.recordHeads.UpdateOne(ctx, filter, set, options.UpdateOne().SetUpsert(true))
		return mapErr(err)
	}
	res, err := s.recordHeads.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "head", Value: int64(base)}}, set)
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
	var conflicts []error
	var fresh []any
	for _, h := range hs {
		doc := append(bson.D{{Key: "_id", Value: h.Citizen}}, headFields(h)...)
		if !s.legacy.Load() {
			doc = append(doc, bson.E{Key: "r", Value: true})
		}
		fresh = append(fresh, doc)
	}
	_, err := s.recordHeads.InsertMany(ctx, fresh, options.InsertMany().SetOrdered(false))
	if err == nil || !onlyDuplicates(err) {
		return mapErr(err)
	}
	// Some citizens have a document already: those without a head get one, the others conflict.
	var bwe mongo.BulkWriteException
	errors.As(err, &bwe)
	for _, we := range bwe.WriteErrors {
		h := hs[we.Index]
		if err := s.PutRecordHead(ctx, h, 0, false); err != nil {
			conflicts = append(conflicts, err)
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("%w: %d record heads exist already", store.ErrConflict, len(conflicts))
	}
	return nil
}

// EachRecordHead calls fn with every citizen's record head (a scan: for restores and audits).
func (s *Store) EachRecordHead(ctx context.Context, fn func(store.Head) error) error {
	cur, err := s.recordHeads.Find(ctx, bson.D{}, options.Find().SetBatchSize(1024).
		SetProjection(bson.D{{Key: "head", Value: 1}, {Key: "versions", Value: 1}, {Key: "mac", Value: 1}}))
	if err != nil {
		return fmt.Errorf("reading record heads: %w", mapErr(err))
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d citizenDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("reading record heads: %w", err)
		}
		h, ok := d.head()
		if !ok {
			continue
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("reading record heads: %w", mapErr(err))
	}
	return nil
}

// deleteFromCitizen deletes the citizen's records in datasets from their document, and the
// document if it is left with neither head nor records (erasure).
func (s *Store) deleteFromCitizen(ctx context.Context, citizen string, datasets []string) error {
	unset := bson.D{}
	for _, ds := range datasets {
		unset = append(unset, bson.E{Key: recordPath(ds), Value: ""}, bson.E{Key: versionPath(ds), Value: ""})
	}
	whole := bson.D{{Key: "records", Value: ""}, {Key: "rv", Value: ""}}
	id := bson.D{{Key: "_id", Value: citizen}}
	if s.serialised() {
		defer s.lock(citizenKey(citizen))()
		d, found, err := s.citizen(ctx, citizen, "head", "rv")
		if err != nil || !found {
			return err
		}
		for _, ds := range datasets {
			delete(d.RV, ds)
		}
		if _, had := d.head(); !had && len(d.RV) == 0 {
			_, err = s.recordHeads.DeleteOne(ctx, id)
			return mapErr(err)
		}
		if len(d.RV) == 0 {
			unset = whole
		}
		_, err = s.recordHeads.UpdateOne(ctx, id, bson.D{{Key: "$unset", Value: unset}})
		return mapErr(err)
	}
	if _, err := s.recordHeads.UpdateOne(ctx, id, bson.D{{Key: "$unset", Value: unset}}); err != nil {
		return mapErr(err)
	}
	if _, err := s.recordHeads.UpdateOne(ctx, bson.D{{Key: "_id", Value: citizen}, {Key: "rv", Value: bson.D{}}},
		bson.D{{Key: "$unset", Value: whole}}); err != nil {
		return mapErr(err)
	}
	_, err := s.recordHeads.DeleteOne(ctx, bson.D{{Key: "_id", Value: citizen},
		{Key: "head", Value: bson.D{{Key: "$exists", Value: false}}}, {Key: "rv", Value: bson.D{{Key: "$exists", Value: false}}}})
	return mapErr(err)
}
