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
// current records, so that a read of a citizen is one find by _id. Since store format 4 it holds
// them packed, as the BSON bytes of one document in a binary field, beside a count of its writes:
//
//	{_id: "C000001", n: 12, p: <bytes of {head: 42, versions: {tax: 42, identity: 7}, mac: <bytes>,
//	 r: true, records: {tax: <bytes>, identity: <bytes>}, rv: {tax: 42, identity: 7}}>}
//
// head, versions and mac are there once the citizen has a head (PutRecordHead). records holds each
// record as the BSON bytes of the document the records collection held before (recordDoc), rv
// each record's version. r says that the citizen's records were moved out of the records
// collection (legacy.go), so that none of them is left there.
//
// Why packed: FerretDB stores a document as JSON with a schema node beside every value, and
// decodes and encodes it whole for every find and every update, node by node. The packed form is
// three values where the fields above are about fifty (go test ./store/mongostore -run '^$' -bench
// CitizenDocumentShapes: a find of a demo citizen's document 0.58 to 0.60 ms against 0.85 to 0.89,
// an update 1.46 to 1.54 ms against 1.63 to 1.65, on an idle store). The server compares none of
// the packed fields.
//
// Every write reads the document, changes it in the process and writes it whole (writeCitizen):
// on FerretDB by _id under the process's lock of the citizen (citizenKey); against MongoDB as a
// compare-and-swap on n, read and tried again when another write came first. A document written
// before format 4 holds the same fields at its top level and no n; it is read as it is, and its
// next write packs it (and removes the top-level fields).

// citizenDoc is a citizen's document as read: its fields (citizenBody) from p, or from the top
// level for a document written before format 4.
type citizenDoc struct {
	ID string
	// N counts the writes of the packed form (0: never written packed).
	N int64
	citizenBody
	// wasPacked says that the document read was packed.
	wasPacked bool
}

// citizenBody is what a citizen's document holds: packed in p (format 4), or at its top level.
type citizenBody struct {
	Head     *int64           `bson:"head,omitempty"`
	Versions map[string]int64 `bson:"versions,omitempty"`
	MAC      []byte           `bson:"mac,omitempty"`
	Moved    bool             `bson:"r,omitempty"`
	// Records holds each record's document (recordDoc) as BSON bytes, RV each record's version.
	Records map[string][]byte `bson:"records,omitempty"`
	RV      map[string]int64  `bson:"rv,omitempty"`
}

// UnmarshalBSON decodes a citizen's document of either form, unpacking p.
func (d *citizenDoc) UnmarshalBSON(b []byte) error {
	raw := bson.Raw(b)
	id, _ := raw.Lookup("_id").StringValueOK()
	*d = citizenDoc{ID: id}
	_, p, packed := raw.Lookup("p").BinaryOK()
	if !packed { // written before format 4
		return bson.Unmarshal(b, &d.citizenBody)
	}
	d.N, _ = raw.Lookup("n").Int64OK()
	if err := bson.Unmarshal(p, &d.citizenBody); err != nil {
		return fmt.Errorf("the packed document of %s: %w", id, err)
	}
	d.wasPacked = true
	return nil
}

// packed reports whether d was read in the packed form.
func (d *citizenDoc) packed() bool { return d.wasPacked }

// topLevelFields are the fields of a document written before format 4, which its first packed
// write removes.
var topLevelFields = bson.D{{Key: "head", Value: ""}, {Key: "versions", Value: ""}, {Key: "mac", Value: ""},
	{Key: "r", Value: ""}, {Key: "records", Value: ""}, {Key: "rv", Value: ""}}

// packedFields are the fields of a citizen's document a projection names to read it whole: the
// packed form, and the top-level fields of a document written before format 4 among fields.
func packedFields(fields ...string) bson.D {
	proj := bson.D{{Key: "n", Value: 1}, {Key: "p", Value: 1}}
	for _, f := range fields {
		proj = append(proj, bson.E{Key: f, Value: 1})
	}
	return proj
}

// newPacked returns the document of a citizen with none yet, holding body packed.
func newPacked(id string, body citizenBody) (bson.D, error) {
	p, err := bson.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("packing the document of %s: %w", id, err)
	}
	return bson.D{{Key: "_id", Value: id}, {Key: "n", Value: int64(1)}, {Key: "p", Value: bson.Binary{Data: p}}}, nil
}

// setHead makes h the head d holds.
func (d *citizenDoc) setHead(h store.Head) {
	head := int64(h.Head)
	d.Head, d.MAC = &head, h.MAC
	d.Versions = make(map[string]int64, len(h.Versions))
	for ds, v := range h.Versions {
		d.Versions[ds] = int64(v)
	}
}

// setRecord makes r the record d holds in its dataset.
func (d *citizenDoc) setRecord(r store.Record) error {
	b, err := bson.Marshal(toRecordDoc(r))
	if err != nil {
		return fmt.Errorf("encoding record %s: %w", recordID(r.Citizen, r.Dataset), err)
	}
	if d.Records == nil {
		d.Records = map[string][]byte{}
	}
	if d.RV == nil {
		d.RV = map[string]int64{}
	}
	d.Records[r.Dataset], d.RV[r.Dataset] = b, int64(r.Version)
	return nil
}

// empty reports whether d holds neither a head nor a record.
func (d *citizenDoc) empty() bool { return d.Head == nil && len(d.RV) == 0 && len(d.Records) == 0 }

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

// headFieldNames are the top-level fields of a citizen's document written before format 4 that
// hold their head.
var headFieldNames = []string{"head", "versions", "mac"}

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

// citizen reads the citizen's document: whole, or, with fields, its packed form and those of its
// top-level fields (a document written before format 4); found is false when there is none.
func (s *Store) citizen(ctx context.Context, citizen string, fields ...string) (d citizenDoc, found bool, err error) {
	opts := options.FindOne()
	if fields != nil {
		opts.SetProjection(packedFields(fields...))
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

// maxWriteAttempts bounds how often a write of a citizen's document against MongoDB reads the
// document again after another write came first.
const maxWriteAttempts = 16

// writeCitizen changes the citizen's document: change sees it as stored (d.ID set; neither head nor
// records when there is none), after any records still in the records collection were moved into
// it (legacy.go), changes it in place and reports whether to write it; with false or an error
// nothing is written (but a move). The document is then written packed, or deleted when it is left
// with neither head nor records.
//
// On FerretDB it reads and writes by _id under the process's lock of the citizen (with marked, it
// takes the document as HeadAndRecords last read it when no write may have changed it since:
// headmarks.go). Against MongoDB the write is a compare-and-swap on n (on the absence of n for a
// document written before format 4, or for none), on the mark for its first try with marked, and
// a write that finds another came first, or a conflict change found on the mark (which another
// update's read may have left older than the document), reads the document and calls change
// again.
func (s *Store) writeCitizen(ctx context.Context, citizen string, marked bool, change func(d *citizenDoc) (bool, error)) error {
	if s.serialised() {
		defer s.lock(citizenKey(citizen))()
		d, found, ok := s.marked(citizen, marked)
		if !ok {
			var err error
			if d, found, err = s.citizen(ctx, citizen); err != nil {
				return err
			}
		}
		_, err := s.changeCitizen(ctx, &d, found, change)
		return err
	}
	for try := range maxWriteAttempts {
		d, found, ok := s.marked(citizen, marked && try == 0)
		if !ok {
			var err error
			if d, found, err = s.citizen(ctx, citizen); err != nil {
				return err
			}
		}
		done, err := s.changeCitizen(ctx, &d, found, change)
		if ok && isConflict(err) {
			continue // decided on a mark, which may be older than the document: read it
		}
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("%w: the document of %s keeps changing", store.ErrConflict, citizen)
}

// changeCitizen is one try of writeCitizen on d, the citizen's document as read (found: stored);
// done is false when, against MongoDB, another write changed the document first.
func (s *Store) changeCitizen(ctx context.Context, d *citizenDoc, found bool, change func(d *citizenDoc) (bool, error)) (done bool, err error) {
	moved, err := s.moveInto(ctx, d)
	if err != nil {
		return false, err
	}
	write, err := change(d)
	if err != nil || !write && !moved {
		return true, err
	}
	filter := bson.D{{Key: "_id", Value: d.ID}}
	if !s.serialised() {
		if found && d.packed() {
			filter = append(filter, bson.E{Key: "n", Value: d.N})
		} else {
			filter = append(filter, bson.E{Key: "n", Value: bson.D{{Key: "$exists", Value: false}}})
		}
	}
	if d.empty() {
		if !found {
			return true, nil
		}
		res, err := s.recordHeads.DeleteOne(ctx, filter)
		if err != nil {
			return false, mapErr(err)
		}
		return res.DeletedCount == 1 || s.serialised(), nil
	}
	p, err := bson.Marshal(d.citizenBody)
	if err != nil {
		return false, fmt.Errorf("packing the document of %s: %w", d.ID, err)
	}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: d.N + 1}, {Key: "p", Value: bson.Binary{Data: p}}}}}
	if found && !d.packed() {
		update = append(update, bson.E{Key: "$unset", Value: topLevelFields})
	}
	// Only a document not there when read is created: one deleted since stays deleted.
	res, err := s.recordHeads.UpdateOne(ctx, filter, update, options.UpdateOne().SetUpsert(!found))
	if err != nil {
		if err = mapErr(err); isConflict(err) && !s.serialised() {
			return false, nil // the upsert met a document written meanwhile: read it
		}
		return false, err
	}
	if res.MatchedCount == 1 || res.UpsertedCount == 1 {
		return true, nil
	}
	if s.serialised() {
		return true, fmt.Errorf("%w: the document of %s vanished", store.ErrConflict, d.ID)
	}
	return false, nil
}

// PutRecordHead writes h over the citizen's head whose Head is base (compare-and-swap), or, with
// hadBase false, creates it where the citizen has none. Another stored head (or none, or one
// already there) is store.ErrConflict. It leaves the citizen's records as they are.
func (s *Store) PutRecordHead(ctx context.Context, h store.Head, base uint64, hadBase bool) error {
	id := h.Citizen
	return s.writeCitizen(ctx, id, false, func(d *citizenDoc) (bool, error) {
		cur, had := d.head()
		switch {
		case !hadBase && had:
			return false, fmt.Errorf("%w: %s has a record head already", store.ErrConflict, id)
		case hadBase && !had:
			return false, fmt.Errorf("%w: %s has no record head", store.ErrConflict, id)
		case hadBase && cur.Head != base:
			return false, fmt.Errorf("%w: the record head of %s is at %d, not %d", store.ErrConflict, id, cur.Head, base)
		}
		d.setHead(h)
		return true, nil
	})
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
		var d citizenDoc
		d.setHead(h)
		// While records may be in the records collection, a new document does not say they were
		// moved (legacy.go).
		d.Moved = !s.legacy.Load()
		doc, err := newPacked(h.Citizen, d.citizenBody)
		if err != nil {
			return err
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
		SetProjection(packedFields(headFieldNames...)))
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
	return s.writeCitizen(ctx, citizen, false, func(d *citizenDoc) (bool, error) {
		for _, ds := range datasets {
			delete(d.Records, ds)
			delete(d.RV, ds)
		}
		return true, nil
	})
}

// PackCitizens packs every citizen's document written before format 4 (a write each, as any
// other write of the document: writeCitizen) and returns how many it packed; progress, if not nil,
// is called now and then with the documents done and their number. Documents packed meanwhile are
// left as they are, so it may run beside hubs of this version, and again after an interruption.
func (s *Store) PackCitizens(ctx context.Context, progress func(done, total int)) (int, error) {
	cur, err := s.recordHeads.Find(ctx, bson.D{{Key: "p", Value: bson.D{{Key: "$exists", Value: false}}}},
		options.Find().SetBatchSize(1024).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("listing citizens to pack: %w", mapErr(err))
	}
	var ids []string
	for cur.Next(ctx) {
		id, _ := cur.Current.Lookup("_id").StringValueOK()
		ids = append(ids, id)
	}
	err = cur.Err()
	cur.Close(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing citizens to pack: %w", mapErr(err))
	}
	packed := 0
	for i, id := range ids {
		var wrote bool // by the last call of change: against MongoDB a write may be tried again
		err := s.writeCitizen(ctx, id, false, func(d *citizenDoc) (bool, error) {
			wrote = !d.packed() && !d.empty()
			return wrote, nil
		})
		if err != nil {
			return packed, fmt.Errorf("packing the document of %s: %w", id, err)
		}
		if wrote {
			packed++
		}
		if progress != nil && ((i+1)%1000 == 0 || i+1 == len(ids)) {
			progress(i+1, len(ids))
		}
	}
	return packed, nil
}
