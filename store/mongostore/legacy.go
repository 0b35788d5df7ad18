package mongostore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/store"
)

// The records of a store written before citizens' documents held them are in the records
// collection, one document per citizen and dataset, {_id: "<citizen>/<dataset>", …} (recordDoc).
// Such a store opens at once and is moved over while it serves:
//
//   - A citizen's document without r (Moved) means that their records may still be in the records
//     collection: reads of them read it, as before (one find per dataset).
//   - Every write of a citizen's records first moves all of them into their document (moveInto)
//     and sets r; nothing writes the records collection any more, so what is left there is as
//     the last write before the move left it.
//   - MoveRecords moves every other citizen, in the background, and then writes the meta marker
//     recordsMovedMarker and drops the records collection (dropMovedRecords). A Store opened on a store with the
//     marker, or with no document in the records collection, never reads that collection.
//
// Every step is idempotent, so a move interrupted anywhere resumes by running again. Hubs that
// predate this layout write the records collection, so they must be stopped before the first
// instance of this version starts (the same as for every migration, docs/OPERATIONS.md).

// recordsMovedMarker is the meta document written once no record is left to move.
const recordsMovedMarker = "records_moved"

// openLegacy sets whether records may still be in the records collection.
func (s *Store) openLegacy(ctx context.Context) error {
	var marker struct{}
	switch err := s.Meta(ctx, recordsMovedMarker, &marker); {
	case err == nil:
		s.legacy.Store(false)
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("reading the records layout marker: %w", err)
	}
	err := s.records.FindOne(ctx, bson.D{}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		s.legacy.Store(false)
		return nil
	case err != nil:
		return fmt.Errorf("looking for records to move: %w", mapErr(err))
	}
	s.legacy.Store(true)
	return nil
}

// moved reports whether the records of the citizen whose document is d are all in d.
func (s *Store) moved(d *citizenDoc) bool { return d.Moved || !s.legacy.Load() }

// legacyRecords reads the citizen's records in datasets from the records collection, by _id, in
// parallel.
func (s *Store) legacyRecords(ctx context.Context, citizen string, datasets []string) (map[string]store.Record, error) {
	out := make(map[string]store.Record, len(datasets))
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(datasets))
	for i, ds := range datasets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d recordDoc
			err := s.records.FindOne(ctx, bson.D{{Key: "_id", Value: recordID(citizen, ds)}}).Decode(&d)
			if errors.Is(err, mongo.ErrNoDocuments) {
				return
			}
			var r store.Record
			if err == nil {
				r, err = fromRecordDoc(d)
			}
			if err != nil {
				errs[i] = fmt.Errorf("reading %s record: %w", ds, mapErr(err))
				return
			}
			mu.Lock()
			out[ds] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// moveInto moves into d, the citizen's document as read, their records still in the records
// collection, unless d holds them already; moved reports whether it changed d, which its writer
// (writeCitizen) then writes. That write is under the citizen's lock on FerretDB, and a
// compare-and-swap against MongoDB, so a record an erasure deleted from the records collection
// after this read is not written back: the erasure then writes the citizen's document too, first
// or after.
func (s *Store) moveInto(ctx context.Context, d *citizenDoc) (moved bool, err error) {
	if s.moved(d) {
		return false, nil
	}
	old, err := s.legacyRecords(ctx, d.ID, dataset.Names())
	if err != nil {
		return false, fmt.Errorf("moving the records of %s: %w", d.ID, err)
	}
	d.Records, d.RV = nil, nil
	for _, ds := range slices.Sorted(maps.Keys(old)) {
		if err := d.setRecord(old[ds]); err != nil {
			return false, err
		}
	}
	d.Moved = true
	return true, nil
}

// moveCitizen moves one citizen's records out of the records collection (if not done).
func (s *Store) moveCitizen(ctx context.Context, citizen string) error {
	return s.writeCitizen(ctx, citizen, false, func(*citizenDoc) (bool, error) { return false, nil })
}

// MoveRecords moves every record still in the records collection into its citizen's document
// (see above), then writes the marker and empties the records collection. It returns how many
// citizens it moved (0 when there was nothing to do); progress, if not nil, is called now and then
// with the citizens looked at and their number. Run it in the background once the hub serves:
// reads and writes of citizens not moved yet work meanwhile. It is idempotent, and resumes where a
// run that stopped got to.
func (s *Store) MoveRecords(ctx context.Context, progress func(done, total int)) (int, error) {
	if !s.legacy.Load() {
		return 0, s.dropMovedRecords(ctx)
	}
	// The citizens whose documents say their records may not be moved, and those of the records
	// left in the records collection (a record without a document, from an interrupted write).
	todo := map[string]bool{}
	cur, err := s.recordHeads.Find(ctx, bson.D{}, options.Find().SetBatchSize(1024).SetProjection(packedFields("r")))
	if err != nil {
		return 0, fmt.Errorf("listing citizens to move: %w", mapErr(err))
	}
	moved := map[string]bool{}
	for cur.Next(ctx) {
		var d citizenDoc
		if err := cur.Decode(&d); err != nil {
			cur.Close(ctx)
			return 0, fmt.Errorf("listing citizens to move: %w", err)
		}
		if d.Moved {
			moved[d.ID] = true
		} else {
			todo[d.ID] = true
		}
	}
	err = cur.Err()
	cur.Close(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing citizens to move: %w", mapErr(err))
	}
	old, err := s.records.Find(ctx, bson.D{}, options.Find().SetBatchSize(1024).SetProjection(bson.D{{Key: "citizen", Value: 1}, {Key: "dataset", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("listing records to move: %w", mapErr(err))
	}
	known := dataset.Names()
	for old.Next(ctx) {
		var d struct {
			ID      string `bson:"_id"`
			Citizen string `bson:"citizen"`
			Dataset string `bson:"dataset"`
		}
		if err := old.Decode(&d); err != nil {
			old.Close(ctx)
			return 0, fmt.Errorf("listing records to move: %w", err)
		}
		if !slices.Contains(known, d.Dataset) {
			// A move takes the datasets this version knows; emptying the collection would lose it.
			old.Close(ctx)
			return 0, fmt.Errorf("record %s is of dataset %q, which this version does not know: not moving records", d.ID, d.Dataset)
		}
		if !moved[d.Citizen] {
			todo[d.Citizen] = true
		}
	}
	err = old.Err()
	old.Close(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing records to move: %w", mapErr(err))
	}
	citizens := slices.Sorted(maps.Keys(todo))
	for i, c := range citizens {
		if err := s.moveCitizen(ctx, c); err != nil {
			return i, err
		}
		if progress != nil && (i+1)%5000 == 0 {
			progress(i+1, len(citizens))
		}
	}
	if progress != nil {
		progress(len(citizens), len(citizens))
	}
	if err := s.PutMeta(ctx, recordsMovedMarker, bson.D{{Key: "citizens", Value: len(citizens)}}); err != nil {
		return len(citizens), fmt.Errorf("marking the records moved: %w", err)
	}
	s.legacy.Store(false)
	return len(citizens), s.dropMovedRecords(ctx)
}

// dropMovedRecords drops the records collection once the marker says every record was moved (a
// move that stopped after its marker left it): dropping is one step where deleting 100,000
// citizens' records one by one outlasted the driver's timeout.
func (s *Store) dropMovedRecords(ctx context.Context) error {
	var marker struct{}
	if err := s.Meta(ctx, recordsMovedMarker, &marker); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil // never had the old layout
		}
		return fmt.Errorf("reading the records layout marker: %w", err)
	}
	err := s.records.FindOne(ctx, bson.D{}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking for moved records: %w", mapErr(err))
	}
	if err := s.records.Drop(ctx); err != nil {
		return fmt.Errorf("dropping the moved records: %w", mapErr(err))
	}
	return nil
}

// listFiltered is ListCitizens with a filter: the citizens whose documents hold a matching record
// (and, while records are being moved, those of matching records not moved yet), in id order.
func (s *Store) listFiltered(ctx context.Context, after string, limit int, filter *store.ListFilter) ([]string, error) {
	// The records are opaque to the server: read the citizens' documents in id order and match
	// in the process (as the server did before, from the dataset's records in citizen order).
	cur, err := s.recordHeads.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(256).
			SetProjection(packedFields("r", "records."+filter.Dataset)))
	if err != nil {
		return nil, mapErr(err)
	}
	var out []string
	for len(out) < limit && cur.Next(ctx) {
		var d citizenDoc
		if err := cur.Decode(&d); err != nil {
			cur.Close(ctx)
			return nil, err
		}
		r, ok, err := d.record(filter.Dataset)
		if err != nil {
			cur.Close(ctx)
			return nil, err
		}
		if ok && matches(r, filter) {
			out = append(out, d.ID)
		}
	}
	err = cur.Err()
	cur.Close(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	if !s.legacy.Load() {
		return out, nil
	}
	oq := bson.D{
		{Key: "dataset", Value: filter.Dataset},
		{Key: "items.plain." + filter.Field, Value: filter.Value},
		{Key: "citizen", Value: bson.D{{Key: "$gt", Value: after}}},
	}
	oc, err := s.records.Find(ctx, oq, options.Find().SetSort(bson.D{{Key: "citizen", Value: 1}}).SetLimit(int64(limit)).
		SetProjection(bson.D{{Key: "citizen", Value: 1}}))
	if err != nil {
		return nil, mapErr(err)
	}
	var olds []struct {
		Citizen string `bson:"citizen"`
	}
	if err := oc.All(ctx, &olds); err != nil {
		return nil, err
	}
	for _, o := range olds {
		d, _, err := s.citizen(ctx, o.Citizen, "r")
		if err != nil {
			return nil, err
		}
		if !d.Moved && !slices.Contains(out, o.Citizen) {
			out = append(out, o.Citizen)
		}
	}
	slices.Sort(out)
	return out[:min(len(out), limit)], nil
}

// matches reports whether one of r's items has the plain value filter names (a list value: holds
// it), as the query {items.plain.<field>: value} did.
func matches(r store.Record, filter *store.ListFilter) bool {
	for _, it := range r.Items {
		switch v := it.Plain[filter.Field].(type) {
		case []string:
			if s, ok := filter.Value.(string); ok && slices.Contains(v, s) {
				return true
			}
		case nil:
		default:
			if v == normalise(filter.Value) {
				return true
			}
		}
	}
	return false
}

// normalise maps a filter value to the type a stored plain value decodes to.
func normalise(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	}
	return v
}
