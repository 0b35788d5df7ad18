package mongostore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

type recordDoc struct {
	ID      string    `bson:"_id"`
	Citizen string    `bson:"citizen"`
	Dataset string    `bson:"dataset"`
	Version int64     `bson:"version"`
	Salt    []byte    `bson:"salt"`
	Items   []itemDoc `bson:"items"`
	Updated time.Time `bson:"updated"`
	MAC     []byte    `bson:"mac,omitempty"`
	// SubjectSalt: store.Record.SubjectSalt.
	SubjectSalt []byte `bson:"subject_salt,omitempty"`
}

type itemDoc struct {
	Plain  bson.M               `bson:"plain,omitempty"`
	Sealed map[string]sealedDoc `bson:"sealed,omitempty"`
}

type sealedDoc struct {
	Ciphertext []byte `bson:"ct"`
	Commitment []byte `bson:"c"`
	Version    int64  `bson:"v"`
	Scheme     string `bson:"s,omitempty"`
}

func recordID(citizen, dataset string) string { return citizen + "/" + dataset }

func toRecordDoc(r store.Record) recordDoc {
	d := recordDoc{
		ID: recordID(r.Citizen, r.Dataset), Citizen: r.Citizen, Dataset: r.Dataset,
		Version: int64(r.Version), Salt: r.Salt, Updated: r.Updated.UTC(), Items: make([]itemDoc, len(r.Items)), MAC: r.MAC,
		SubjectSalt: r.SubjectSalt,
	}
	for i, it := range r.Items {
		var id itemDoc
		if len(it.Plain) > 0 {
			id.Plain = bson.M{}
			for k, v := range it.Plain {
				id.Plain[k] = v
			}
		}
		if len(it.Sealed) > 0 {
			id.Sealed = map[string]sealedDoc{}
			for k, v := range it.Sealed {
				id.Sealed[k] = sealedDoc{Ciphertext: v.Ciphertext, Commitment: v.Commitment, Version: int64(v.Version), Scheme: v.Scheme}
			}
		}
		d.Items[i] = id
	}
	return d
}

func fromRecordDoc(d recordDoc) (store.Record, error) {
	r := store.Record{Citizen: d.Citizen, Dataset: d.Dataset, Version: uint64(d.Version), Salt: d.Salt,
		Updated: d.Updated, Items: make([]store.Item, len(d.Items)), MAC: d.MAC, SubjectSalt: d.SubjectSalt}
	for i, id := range d.Items {
		it := store.Item{Plain: map[string]any{}, Sealed: map[string]store.SealedField{}}
		for k, v := range id.Plain {
			nv, err := plainValue(v)
			if err != nil {
				return store.Record{}, fmt.Errorf("record %s field %s: %w", d.ID, k, err)
			}
			it.Plain[k] = nv
		}
		for k, v := range id.Sealed {
			it.Sealed[k] = store.SealedField{Ciphertext: v.Ciphertext, Commitment: v.Commitment, Version: uint64(v.Version), Scheme: v.Scheme}
		}
		r.Items[i] = it
	}
	return r, nil
}

// plainValue maps a decoded BSON value back to the dataset conventions.
func plainValue(v any) (any, error) {
	switch x := v.(type) {
	case string, int64, float64, bool:
		return x, nil
	case int32:
		return int64(x), nil
	case bson.A:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list holds a %T", e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected stored type %T", v)
}

// Record returns one citizen's record in one dataset, or store.ErrNotFound.
func (s *Store) Record(ctx context.Context, citizen, dataset string) (store.Record, error) {
	var d recordDoc
	if err := s.records.FindOne(ctx, bson.D{{Key: "_id", Value: recordID(citizen, dataset)}}).Decode(&d); err != nil {
		return store.Record{}, mapErr(err)
	}
	return fromRecordDoc(d)
}

// Records returns the citizen's records in the given datasets; datasets without a record are
// absent from the map. The lookups run in parallel, each by _id.
func (s *Store) Records(ctx context.Context, citizen string, datasets []string) (map[string]store.Record, error) {
	out := make(map[string]store.Record, len(datasets))
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(datasets))
	for i, ds := range datasets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Record(ctx, citizen, ds)
			if err == nil {
				mu.Lock()
				out[ds] = r
				mu.Unlock()
			} else if !errors.Is(err, store.ErrNotFound) {
				errs[i] = fmt.Errorf("reading %s record: %w", ds, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateRecord stores a record that must not exist yet (store.ErrConflict if it does).
func (s *Store) CreateRecord(ctx context.Context, r store.Record) error {
	_, err := s.records.InsertOne(ctx, toRecordDoc(r))
	return mapErr(err)
}

// ReplaceRecord replaces the record whose stored version is base with r, or returns
// store.ErrConflict if the stored version is another (or there is none).
func (s *Store) ReplaceRecord(ctx context.Context, r store.Record, base uint64) error {
	id := recordID(r.Citizen, r.Dataset)
	if s.serialised() {
		defer s.lock(id)()
		var cur struct {
			Version int64 `bson:"version"`
		}
		err := s.records.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "version", Value: 1}})).Decode(&cur)
		if err != nil {
			if err = mapErr(err); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: record %s does not exist", store.ErrConflict, id)
			}
			return err
		}
		if uint64(cur.Version) != base {
			return fmt.Errorf("%w: record %s is at version %d, not %d", store.ErrConflict, id, cur.Version, base)
		}
		res, err := s.records.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, toRecordDoc(r))
		if err != nil {
			return mapErr(err)
		}
		if res.MatchedCount != 1 {
			return fmt.Errorf("%w: record %s vanished", store.ErrConflict, id)
		}
		return nil
	}
	res, err := s.records.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: int64(base)}}, toRecordDoc(r))
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		return fmt.Errorf("%w: record %s is not at version %d", store.ErrConflict, id, base)
	}
	return nil
}

// ApplyRecord brings the stored record up to r: it writes r when there is no record or an older
// one, does nothing when r's version is stored, and returns store.ErrStale when a newer one is.
// Recovery uses it, so it is idempotent.
func (s *Store) ApplyRecord(ctx context.Context, r store.Record) error {
	id := recordID(r.Citizen, r.Dataset)
	if s.serialised() {
		defer s.lock(id)()
	}
	for attempt := 0; attempt < 4; attempt++ {
		cur, err := s.Record(ctx, r.Citizen, r.Dataset)
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = s.CreateRecord(ctx, r)
			if err == nil || !isConflict(err) {
				return err
			}
			continue // created meanwhile: look again
		case err != nil:
			return err
		case cur.Version == r.Version:
			return nil
		case cur.Version > r.Version:
			return fmt.Errorf("%w: record %s is at version %d, after %d", store.ErrStale, id, cur.Version, r.Version)
		}
		filter := bson.D{{Key: "_id", Value: id}}
		if !s.serialised() {
			filter = append(filter, bson.E{Key: "version", Value: int64(cur.Version)})
		}
		res, err := s.records.ReplaceOne(ctx, filter, toRecordDoc(r))
		if err != nil {
			return mapErr(err)
		}
		if res.MatchedCount == 1 {
			return nil
		}
	}
	return fmt.Errorf("%w: record %s keeps changing", store.ErrConflict, id)
}

// InsertRecords stores new records in bulk (seeding); any that exists already is store.ErrConflict.
func (s *Store) InsertRecords(ctx context.Context, rs []store.Record) error {
	if len(rs) == 0 {
		return nil
	}
	docs := make([]any, len(rs))
	for i, r := range rs {
		docs[i] = toRecordDoc(r)
	}
	_, err := s.records.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	return mapErr(err)
}

// AddCitizens registers citizen ids; ids already registered are left as they are.
func (s *Store) AddCitizens(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	docs := make([]any, len(ids))
	for i, id := range ids {
		docs[i] = bson.D{{Key: "_id", Value: id}, {Key: "created", Value: now.UTC()}}
	}
	_, err := s.citizens.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	x := s.citizenIdx()
	if err != nil && !onlyDuplicates(err) {
		if x != nil {
			x.invalidate() // some may be registered: read them all again
		}
		return mapErr(err)
	}
	if x != nil {
		x.add(ids)
	}
	return nil
}

// CitizenExists reports whether the citizen id is registered.
func (s *Store) CitizenExists(ctx context.Context, id string) (bool, error) {
	err := s.citizens.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

func isConflict(err error) bool { return err != nil && errors.Is(err, store.ErrConflict) }

// onlyDuplicates reports whether a bulk write failed only because some documents existed.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

// EachRecord calls fn for every stored record, stopping at fn's error. It scans the collection: for
// audits, not for hot paths.
func (s *Store) EachRecord(ctx context.Context, fn func(store.Record) error) error {
	cur, err := s.records.Find(ctx, bson.D{})
	if err != nil {
		return mapErr(err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d recordDoc
		if err := cur.Decode(&d); err != nil {
			return err
		}
		r, err := fromRecordDoc(d)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return cur.Err()
}

// ListCitizens returns up to limit citizen ids after the given one, in id order, optionally only
// those whose record matches filter. On MongoDB the citizens' _id index and the records'
// {dataset, citizen} index serve it (a filtered page reads that dataset's records in citizen order
// until it has limit matches); on the embedded store it scans.
func (s *Store) ListCitizens(ctx context.Context, after string, limit int, filter *store.ListFilter) ([]string, error) {
	if x := s.citizenIdx(); filter == nil && x != nil {
		return x.page(ctx, s, after, limit)
	}
	if filter == nil {
		cur, err := s.citizens.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}},
			options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).SetProjection(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			return nil, mapErr(err)
		}
		var docs []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return nil, err
		}
		out := make([]string, len(docs))
		for i, d := range docs {
			out[i] = d.ID
		}
		return out, nil
	}
	q := bson.D{
		{Key: "dataset", Value: filter.Dataset},
		{Key: "items.plain." + filter.Field, Value: filter.Value},
		{Key: "citizen", Value: bson.D{{Key: "$gt", Value: after}}},
	}
	cur, err := s.records.Find(ctx, q, options.Find().SetSort(bson.D{{Key: "citizen", Value: 1}}).SetLimit(int64(limit)).
		SetProjection(bson.D{{Key: "citizen", Value: 1}}))
	if err != nil {
		return nil, mapErr(err)
	}
	var docs []struct {
		Citizen string `bson:"citizen"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.Citizen
	}
	return out, nil
}
