package mongostore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	d, _, err := s.citizen(ctx, citizen)
	if err != nil {
		return store.Record{}, err
	}
	recs, err := s.recordsOf(ctx, &d, []string{dataset})
	if err != nil {
		return store.Record{}, err
	}
	r, ok := recs[dataset]
	if !ok {
		return store.Record{}, store.ErrNotFound
	}
	return r, nil
}

// Records returns the citizen's records in the given datasets; datasets without a record are
// absent from the map. It reads the citizen's document, one find by _id.
func (s *Store) Records(ctx context.Context, citizen string, datasets []string) (map[string]store.Record, error) {
	d, _, err := s.citizen(ctx, citizen)
	if err != nil {
		return nil, err
	}
	return s.recordsOf(ctx, &d, datasets)
}

// recordsOf returns the records in datasets of the citizen whose document is d: from d, or, for a
// citizen whose records were not moved yet, from the records collection (legacy.go).
func (s *Store) recordsOf(ctx context.Context, d *citizenDoc, datasets []string) (map[string]store.Record, error) {
	if !s.moved(d) {
		return s.legacyRecords(ctx, d.ID, datasets)
	}
	out := make(map[string]store.Record, len(datasets))
	for _, ds := range datasets {
		r, ok, err := d.record(ds)
		if err != nil {
			return nil, err
		}
		if ok {
			out[ds] = r
		}
	}
	return out, nil
}

// CreateRecord stores a record that must not exist yet (store.ErrConflict if it does).
func (s *Store) CreateRecord(ctx context.Context, r store.Record) error {
	return s.writeCitizen(ctx, r.Citizen, false, func(d *citizenDoc) (bool, error) {
		if _, ok := d.RV[r.Dataset]; ok {
			return false, fmt.Errorf("%w: record %s exists", store.ErrConflict, recordID(r.Citizen, r.Dataset))
		}
		return true, d.setRecord(r)
	})
}

// ReplaceRecord replaces the record whose stored version is base with r, or returns
// store.ErrConflict if the stored version is another (or there is none).
func (s *Store) ReplaceRecord(ctx context.Context, r store.Record, base uint64) error {
	id := recordID(r.Citizen, r.Dataset)
	return s.writeCitizen(ctx, r.Citizen, false, func(d *citizenDoc) (bool, error) {
		cur, ok := d.RV[r.Dataset]
		if !ok {
			return false, fmt.Errorf("%w: record %s does not exist", store.ErrConflict, id)
		}
		if uint64(cur) != base {
			return false, fmt.Errorf("%w: record %s is at version %d, not %d", store.ErrConflict, id, cur, base)
		}
		return true, d.setRecord(r)
	})
}

// PutHeadAndRecord writes an update's head and record into the citizen's document in one write,
// each with its compare-and-swap: w.Head where the stored head is at w.HeadBase (or, with
// w.HadHead false, where there is none), and w.Record where the stored record is at w.Base (or,
// with w.HadBase false, where there is none). If either is otherwise it writes nothing and returns
// store.ErrConflict. It is PutRecordHead and then ReplaceRecord or CreateRecord as one write, so
// that no reader sees the head without its record. On FerretDB it uses the document as the
// update's HeadAndRecords read it, when it is still as read (headmarks.go).
func (s *Store) PutHeadAndRecord(ctx context.Context, w store.HeadAndRecord) error {
	id, ds := w.Record.Citizen, w.Record.Dataset
	if w.Head.Citizen != id {
		return fmt.Errorf("mongostore: the head of %s with a record of %s", w.Head.Citizen, id)
	}
	return s.writeCitizen(ctx, id, true, func(d *citizenDoc) (bool, error) {
		cur, had := d.RV[ds]
		switch {
		case (d.Head != nil) != w.HadHead || w.HadHead && uint64(*d.Head) != w.HeadBase:
			return false, fmt.Errorf("%w: the record head of %s is not where update %d found it", store.ErrConflict, id, w.Head.Head)
		case had != w.HadBase || had && uint64(cur) != w.Base:
			return false, fmt.Errorf("%w: record %s is not at the version update %d was built on", store.ErrConflict, recordID(id, ds), w.Head.Head)
		}
		d.setHead(w.Head)
		return true, d.setRecord(w.Record)
	})
}

// ApplyRecord brings the stored record up to r: it writes r when there is no record or an older
// one, does nothing when r's version is stored, and returns store.ErrStale when a newer one is.
// Recovery uses it, so it is idempotent.
func (s *Store) ApplyRecord(ctx context.Context, r store.Record) error {
	id := recordID(r.Citizen, r.Dataset)
	return s.writeCitizen(ctx, r.Citizen, false, func(d *citizenDoc) (bool, error) {
		v, found := d.RV[r.Dataset]
		switch {
		case found && uint64(v) == r.Version:
			return false, nil
		case found && uint64(v) > r.Version:
			return false, fmt.Errorf("%w: record %s is at version %d, after %d", store.ErrStale, id, v, r.Version)
		}
		return true, d.setRecord(r)
	})
}

// InsertRecords stores new records in bulk (seeding); any that exists already is store.ErrConflict
// (the citizen's other records in rs are then not stored either).
func (s *Store) InsertRecords(ctx context.Context, rs []store.Record) error {
	if len(rs) == 0 {
		return nil
	}
	var order []string
	byCitizen := map[string][]store.Record{}
	for _, r := range rs {
		if _, ok := byCitizen[r.Citizen]; !ok {
			order = append(order, r.Citizen)
		}
		byCitizen[r.Citizen] = append(byCitizen[r.Citizen], r)
	}
	var conflicts int
	for _, c := range order {
		recs := byCitizen[c]
		err := s.writeCitizen(ctx, c, false, func(d *citizenDoc) (bool, error) {
			for _, r := range recs {
				if _, ok := d.RV[r.Dataset]; ok {
					return false, fmt.Errorf("%w: record %s exists", store.ErrConflict, recordID(r.Citizen, r.Dataset))
				}
			}
			for _, r := range recs {
				if err := d.setRecord(r); err != nil {
					return false, err
				}
			}
			return true, nil
		})
		if isConflict(err) {
			conflicts++
		} else if err != nil {
			return err
		}
	}
	if conflicts > 0 {
		return fmt.Errorf("%w: %d citizens have some of these records already", store.ErrConflict, conflicts)
	}
	return nil
}

// SetRecordMAC sets the MAC of the record of citizen in dataset at version (migration: records
// written before record MACs). A record at another version is store.ErrConflict.
func (s *Store) SetRecordMAC(ctx context.Context, citizen, dataset string, version uint64, mac []byte) error {
	id := recordID(citizen, dataset)
	return s.writeCitizen(ctx, citizen, false, func(d *citizenDoc) (bool, error) {
		cur, ok, err := d.record(dataset)
		switch {
		case err != nil:
			return false, err
		case !ok:
			return false, store.ErrNotFound
		case cur.Version != version:
			return false, fmt.Errorf("%w: record %s is at version %d, not %d", store.ErrConflict, id, cur.Version, version)
		}
		cur.MAC = mac
		return true, d.setRecord(cur)
	})
}

// HasRecords reports whether any record is stored.
func (s *Store) HasRecords(ctx context.Context) (bool, error) {
	// The records are packed where the server does not see them: read the citizens' documents
	// until one holds a record (the first, but on a store with heads alone).
	cur, err := s.recordHeads.Find(ctx, bson.D{}, options.Find().SetBatchSize(64).SetProjection(packedFields("rv")))
	if err != nil {
		return false, mapErr(err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d citizenDoc
		if err := cur.Decode(&d); err != nil {
			return false, err
		}
		if len(d.RV) > 0 {
			return true, nil
		}
	}
	if err := cur.Err(); err != nil {
		return false, mapErr(err)
	}
	if !s.legacy.Load() {
		return false, nil
	}
	err = s.records.FindOne(ctx, bson.D{}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if err = mapErr(err); errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// EachRecord calls fn for every stored record, stopping at fn's error. It scans the citizens'
// documents (and, while some citizens' records are not moved yet, the records collection): for
// audits, not for hot paths.
func (s *Store) EachRecord(ctx context.Context, fn func(store.Record) error) error {
	return s.eachRecordDoc(ctx, func(d recordDoc) error {
		r, err := fromRecordDoc(d)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// eachRecordDoc calls fn with every stored record's document: those of the citizens' documents,
// then those of the records collection whose citizens' records were not moved (legacy.go).
func (s *Store) eachRecordDoc(ctx context.Context, fn func(recordDoc) error) error {
	moved := map[string]bool{}
	legacy := s.legacy.Load()
	cur, err := s.recordHeads.Find(ctx, bson.D{}, options.Find().SetBatchSize(recordBatch/4).
		SetProjection(packedFields("r", "records")))
	if err != nil {
		return mapErr(err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d citizenDoc
		if err := cur.Decode(&d); err != nil {
			return err
		}
		if !s.moved(&d) {
			continue
		}
		if legacy {
			moved[d.ID] = true
		}
		if err := eachOf(&d, fn); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return mapErr(err)
	}
	if !legacy {
		return nil
	}
	old, err := s.records.Find(ctx, bson.D{})
	if err != nil {
		return mapErr(err)
	}
	defer old.Close(ctx)
	for old.Next(ctx) {
		var d recordDoc
		if err := old.Decode(&d); err != nil {
			return err
		}
		if moved[d.Citizen] {
			continue
		}
		// Moved since the first scan (and perhaps updated since): read them from their document.
		c, _, err := s.citizen(ctx, d.Citizen)
		if err != nil {
			return err
		}
		if c.Moved {
			moved[d.Citizen] = true
			if err := eachOf(&c, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return old.Err()
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
	return s.listFiltered(ctx, after, limit, filter)
}

// eachOf calls fn with each record document d holds, in dataset order.
func eachOf(d *citizenDoc, fn func(recordDoc) error) error {
	for _, ds := range slices.Sorted(maps.Keys(d.Records)) {
		var rd recordDoc
		if err := bson.Unmarshal(d.Records[ds], &rd); err != nil {
			return fmt.Errorf("record %s/%s: %w", d.ID, ds, err)
		}
		if err := fn(rd); err != nil {
			return err
		}
	}
	return nil
}
