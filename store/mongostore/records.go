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

// recordPath is the field of a citizen's document that holds their record in dataset, and
// versionPath the one that holds its version.
func recordPath(dataset string) string  { return "records." + dataset }
func versionPath(dataset string) string { return "rv." + dataset }

// recordFields are the fields of a citizen's document that store r.
func recordFields(r store.Record) (bson.D, error) {
	b, err := bson.Marshal(toRecordDoc(r))
	if err != nil {
		return nil, fmt.Errorf("encoding record %s: %w", recordID(r.Citizen, r.Dataset), err)
	}
	return bson.D{{Key: recordPath(r.Dataset), Value: bson.Binary{Data: b}}, {Key: versionPath(r.Dataset), Value: int64(r.Version)}}, nil
}

// setRecords is the update that writes rs into their citizen's document (which then holds the
// citizen's records: r).
func setRecords(rs ...store.Record) (bson.D, error) {
	set := bson.D{{Key: "r", Value: true}}
	for _, r := range rs {
		f, err := recordFields(r)
		if err != nil {
			return nil, err
		}
		set = append(set, f...)
	}
	return bson.D{{Key: "$set", Value: set}}, nil
}

// serialisedWrite runs one write of a citizen's document on FerretDB: under the process's lock of
// the citizen, it reads the document, moves the citizen's records out of the records collection if
// they are still there, and applies the update decide returns (nil: nothing to write) by _id,
// creating the document if there is none.
//
// decide sees the citizen's head index (Head) and the versions of their records in datasets (RV),
// not the records' contents.
func (s *Store) serialisedWrite(ctx context.Context, citizen string, datasets []string, decide func(d *citizenDoc) (bson.D, error)) error {
	return s.serialisedWriteOf(ctx, citizen, datasets, false, decide)
}

// serialisedWriteOf is serialisedWrite; with marked, it takes the citizen's document as
// HeadAndRecords last read it when no write may have changed it since (headmarks.go), and reads it
// otherwise.
func (s *Store) serialisedWriteOf(ctx context.Context, citizen string, datasets []string, marked bool, decide func(d *citizenDoc) (bson.D, error)) error {
	defer s.lock(citizenKey(citizen))()
	d, found, ok := s.marked(citizen, marked)
	if !ok {
		fields := []string{"r", "head"}
		for _, ds := range datasets {
			fields = append(fields, versionPath(ds))
		}
		var err error
		if d, found, err = s.citizen(ctx, citizen, fields...); err != nil {
			return err
		}
	}
	if err := s.ensureMoved(ctx, &d, found); err != nil {
		return err
	}
	update, err := decide(&d)
	if err != nil || update == nil {
		return err
	}
	_, err = s.recordHeads.UpdateOne(ctx, bson.D{{Key: "_id", Value: citizen}}, update, options.UpdateOne().SetUpsert(true))
	return mapErr(err)
}

// readyToWrite makes sure, against MongoDB, that the citizen's records are out of the records
// collection before a conditional write of their document (a no-op once no record is left there).
func (s *Store) readyToWrite(ctx context.Context, citizen string) error {
	if !s.legacy.Load() {
		return nil
	}
	d, found, err := s.citizen(ctx, citizen, "r")
	if err != nil {
		return err
	}
	return s.ensureMoved(ctx, &d, found)
}

// CreateRecord stores a record that must not exist yet (store.ErrConflict if it does).
func (s *Store) CreateRecord(ctx context.Context, r store.Record) error {
	id := recordID(r.Citizen, r.Dataset)
	if s.serialised() {
		return s.serialisedWrite(ctx, r.Citizen, []string{r.Dataset}, func(d *citizenDoc) (bson.D, error) {
			if _, ok := d.RV[r.Dataset]; ok {
				return nil, fmt.Errorf("%w: record %s exists", store.ErrConflict, id)
			}
			return setRecords(r)
		})
	}
	if err := s.readyToWrite(ctx, r.Citizen); err != nil {
		return err
	}
	// A document holding the record does not match, so the upsert inserts a second _id: a
	// duplicate key, store.ErrConflict.
	update, err := setRecords(r)
	if err != nil {
		return err
	}
	filter := bson.D{{Key: "_id", Value: r.Citizen}, {Key: versionPath(r.Dataset), Value: bson.D{{Key: "$exists", Value: false}}}}
	_, err = s.recordHeads.UpdateOne(ctx, filter, update, options.UpdateOne().SetUpsert(true))
	return mapErr(err)
}

// ReplaceRecord replaces the record whose stored version is base with r, or returns
// store.ErrConflict if the stored version is another (or there is none).
func (s *Store) ReplaceRecord(ctx context.Context, r store.Record, base uint64) error {
	id := recordID(r.Citizen, r.Dataset)
	if s.serialised() {
		return s.serialisedWrite(ctx, r.Citizen, []string{r.Dataset}, func(d *citizenDoc) (bson.D, error) {
			cur, ok := d.RV[r.Dataset]
			if !ok {
				return nil, fmt.Errorf("%w: record %s does not exist", store.ErrConflict, id)
			}
			if uint64(cur) != base {
				return nil, fmt.Errorf("%w: record %s is at version %d, not %d", store.ErrConflict, id, cur, base)
			}
			return setRecords(r)
		})
	}
	if err := s.readyToWrite(ctx, r.Citizen); err != nil {
		return err
	}
	update, err := setRecords(r)
	if err != nil {
		return err
	}
	res, err := s.recordHeads.UpdateOne(ctx, bson.D{{Key: "_id", Value: r.Citizen}, {Key: versionPath(r.Dataset), Value: int64(base)}}, update)
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		return fmt.Errorf("%w: record %s is not at version %d", store.ErrConflict, id, base)
	}
	return nil
}

// PutHeadAndRecord writes an update's head and record into the citizen's document in one write,
// each with its compare-and-swap: w.Head where the stored head is at w.HeadBase (or, with
// w.HadHead false, where there is none), and w.Record where the stored record is at w.Base (or,
// with w.HadBase false, where there is none). If either is otherwise it writes nothing and returns
// store.ErrConflict. It is PutRecordHead and then ReplaceRecord or CreateRecord as one write, so
// that no reader sees the head without its record.
func (s *Store) PutHeadAndRecord(ctx context.Context, w store.HeadAndRecord) error {
	id, ds := w.Record.Citizen, w.Record.Dataset
	if w.Head.Citizen != id {
		return fmt.Errorf("mongostore: the head of %s with a record of %s", w.Head.Citizen, id)
	}
	set, err := setRecords(w.Record)
	if err != nil {
		return err
	}
	set[0].Value = append(set[0].Value.(bson.D), headFields(w.Head)...)
	if s.serialised() {
		// Not the filtered update below: FerretDB uses the _id index only for a filter on _id
		// alone, and scans the whole collection for any other (an update took 4.1 s at 100,000
		// citizens with it).
		return s.serialisedWriteOf(ctx, id, []string{ds}, true, func(d *citizenDoc) (bson.D, error) {
			cur, had := d.RV[ds]
			switch {
			case (d.Head != nil) != w.HadHead || w.HadHead && uint64(*d.Head) != w.HeadBase:
				return nil, fmt.Errorf("%w: the record head of %s is not where update %d found it", store.ErrConflict, id, w.Head.Head)
			case had != w.HadBase || had && uint64(cur) != w.Base:
				return nil, fmt.Errorf("%w: record %s is not at the version update %d was built on", store.ErrConflict, recordID(id, ds), w.Head.Head)
			}
			return set, nil
		})
	}
	if err := s.readyToWrite(ctx, id); err != nil {
		return err
	}
	filter := bson.D{{Key: "_id", Value: id}}
	if w.HadHead {
		filter = append(filter, bson.E{Key: "head", Value: int64(w.HeadBase)})
	} else {
		filter = append(filter, bson.E{Key: "head", Value: bson.D{{Key: "$exists", Value: false}}})
	}
	if w.HadBase {
		filter = append(filter, bson.E{Key: versionPath(ds), Value: int64(w.Base)})
	} else {
		filter = append(filter, bson.E{Key: versionPath(ds), Value: bson.D{{Key: "$exists", Value: false}}})
	}
	// With neither a head nor a record to replace, the citizen may have no document yet: upsert.
	// A document that exists but does not match then makes the upsert insert a second _id: a
	// duplicate key, store.ErrConflict.
	opts := options.UpdateOne().SetUpsert(!w.HadHead && !w.HadBase)
	res, err := s.recordHeads.UpdateOne(ctx, filter, set, opts)
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 && res.UpsertedCount != 1 {
		return fmt.Errorf("%w: the head or the %s record of %s moved on before update %d", store.ErrConflict, ds, id, w.Head.Head)
	}
	return nil
}

// ApplyRecord brings the stored record up to r: it writes r when there is no record or an older
// one, does nothing when r's version is stored, and returns store.ErrStale when a newer one is.
// Recovery uses it, so it is idempotent.
func (s *Store) ApplyRecord(ctx context.Context, r store.Record) error {
	id := recordID(r.Citizen, r.Dataset)
	decide := func(cur store.Record, found bool) error {
		switch {
		case found && cur.Version == r.Version:
			return errApplied
		case found && cur.Version > r.Version:
			return fmt.Errorf("%w: record %s is at version %d, after %d", store.ErrStale, id, cur.Version, r.Version)
		}
		return nil
	}
	if s.serialised() {
		err := s.serialisedWrite(ctx, r.Citizen, []string{r.Dataset}, func(d *citizenDoc) (bson.D, error) {
			v, found := d.RV[r.Dataset]
			if err := decide(store.Record{Version: uint64(v)}, found); err != nil {
				return nil, err
			}
			return setRecords(r)
		})
		if errors.Is(err, errApplied) {
			return nil
		}
		return err
	}
	for attempt := 0; attempt < 4; attempt++ {
		cur, err := s.Record(ctx, r.Citizen, r.Dataset)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := decide(cur, found); errors.Is(err, errApplied) {
			return nil
		} else if err != nil {
			return err
		}
		if found {
			err = s.ReplaceRecord(ctx, r, cur.Version)
		} else {
			err = s.CreateRecord(ctx, r)
		}
		if err == nil || !isConflict(err) {
			return err
		}
		// written meanwhile: look again
	}
	return fmt.Errorf("%w: record %s keeps changing", store.ErrConflict, id)
}

// errApplied: the record is stored at the version offered (ApplyRecord).
var errApplied = errors.New("record applied already")

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
	if s.serialised() {
		for _, c := range order {
			recs := byCitizen[c]
			var datasets []string
			for _, r := range recs {
				datasets = append(datasets, r.Dataset)
			}
			err := s.serialisedWrite(ctx, c, datasets, func(d *citizenDoc) (bson.D, error) {
				for _, r := range recs {
					if _, ok := d.RV[r.Dataset]; ok {
						return nil, fmt.Errorf("%w: record %s exists", store.ErrConflict, recordID(r.Citizen, r.Dataset))
					}
				}
				return setRecords(recs...)
			})
			if isConflict(err) {
				conflicts++
			} else if err != nil {
				return err
			}
		}
	} else {
		models := make([]mongo.WriteModel, 0, len(order))
		for _, c := range order {
			if err := s.readyToWrite(ctx, c); err != nil {
				return err
			}
			filter := bson.D{{Key: "_id", Value: c}}
			for _, r := range byCitizen[c] {
				filter = append(filter, bson.E{Key: versionPath(r.Dataset), Value: bson.D{{Key: "$exists", Value: false}}})
			}
			update, err := setRecords(byCitizen[c]...)
			if err != nil {
				return err
			}
			models = append(models, mongo.NewUpdateOneModel().SetFilter(filter).SetUpdate(update).SetUpsert(true))
		}
		_, err := s.recordHeads.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		if err != nil && !onlyDuplicates(err) {
			return mapErr(err)
		}
		if err != nil {
			return mapErr(err)
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
	withMAC := func(cur store.Record) (bson.D, error) {
		if cur.Version != version {
			return nil, fmt.Errorf("%w: record %s is at version %d, not %d", store.ErrConflict, id, cur.Version, version)
		}
		cur.MAC = mac
		return setRecords(cur)
	}
	if s.serialised() {
		defer s.lock(citizenKey(citizen))()
		d, found, err := s.citizen(ctx, citizen, "r", recordPath(dataset))
		if err != nil {
			return err
		}
		if err := s.ensureMoved(ctx, &d, found); err != nil {
			return err
		}
		cur, ok, err := d.record(dataset)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		update, err := withMAC(cur)
		if err != nil {
			return err
		}
		_, err = s.recordHeads.UpdateOne(ctx, bson.D{{Key: "_id", Value: citizen}}, update)
		return mapErr(err)
	}
	if err := s.readyToWrite(ctx, citizen); err != nil {
		return err
	}
	cur, err := s.Record(ctx, citizen, dataset)
	if err != nil {
		return err
	}
	update, err := withMAC(cur)
	if err != nil {
		return err
	}
	res, err := s.recordHeads.UpdateOne(ctx, bson.D{{Key: "_id", Value: citizen}, {Key: versionPath(dataset), Value: int64(version)}}, update)
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		return fmt.Errorf("%w: record %s is not at version %d", store.ErrConflict, id, version)
	}
	return nil
}

// HasRecords reports whether any record is stored.
func (s *Store) HasRecords(ctx context.Context) (bool, error) {
	err := s.recordHeads.FindOne(ctx, bson.D{{Key: "rv", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if err == nil {
		return true, nil
	}
	if err = mapErr(err); !errors.Is(err, store.ErrNotFound) {
		return false, err
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
		SetProjection(bson.D{{Key: "r", Value: 1}, {Key: "records", Value: 1}}))
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
