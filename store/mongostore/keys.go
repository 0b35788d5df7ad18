package mongostore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/govhub/govhub/store"
)

// DataKey returns the citizen's wrapped data key, or store.ErrNotFound.
func (s *Store) DataKey(ctx context.Context, citizen string) ([]byte, error) {
	var d struct {
		Wrapped []byte `bson:"wrapped"`
	}
	if err := s.dataKeys.FindOne(ctx, bson.D{{Key: "_id", Value: citizen}}).Decode(&d); err != nil {
		return nil, mapErr(err)
	}
	return d.Wrapped, nil
}

// AddDataKey stores the citizen's wrapped data key; store.ErrConflict if one exists already (the
// caller then reads that one, so two first writes for one citizen agree on a key).
func (s *Store) AddDataKey(ctx context.Context, citizen string, wrapped []byte) error {
	_, err := s.dataKeys.InsertOne(ctx, bson.D{{Key: "_id", Value: citizen}, {Key: "wrapped", Value: wrapped}, {Key: "created", Value: time.Now().UTC()}})
	return mapErr(err)
}

// AddDataKeys stores wrapped data keys in bulk (seeding); store.ErrConflict if any exists.
func (s *Store) AddDataKeys(ctx context.Context, keys map[string][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	now := time.Now().UTC()
	docs := make([]any, 0, len(keys))
	for c, w := range keys {
		docs = append(docs, bson.D{{Key: "_id", Value: c}, {Key: "wrapped", Value: w}, {Key: "created", Value: now}})
	}
	_, err := s.dataKeys.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	return mapErr(err)
}

// pendingDoc is a pending update's document. Its record is stored as the BSON bytes of its
// recordDoc (as in a citizen's document, records.go), with the citizen beside it for an erasure's
// filter: FerretDB converts a nested document field by field, bytes in one piece, and a delete of
// finished pending updates reads every pending update the collection holds (DeletePending). A pending
// update stored by an older hub holds its record as a nested document, and no citizen field;
// both are read (pendingRecord) and erased (DeletePendingOf).
type pendingDoc struct {
	ID       string        `bson:"_id"`
	Citizen  string        `bson:"citizen,omitempty"`
	Record   bson.RawValue `bson:"record"`
	Base     int64         `bson:"base"`
	HadBase  bool          `bson:"hadBase"`
	LeafHash []byte        `bson:"leafHash"`
	After    int64         `bson:"after"`
	Salt     []byte        `bson:"subjectSalt"`
	Created  time.Time     `bson:"created"`
	HeadBase int64         `bson:"headBase"`
	HadHead  bool          `bson:"hadHead"`
}

// pendingRecord decodes a pending update's record: BSON bytes, or (stored by an older hub) a nested
// document.
func pendingRecord(id string, v bson.RawValue) (store.Record, error) {
	var d recordDoc
	switch v.Type {
	case bson.TypeBinary:
		_, data, ok := v.BinaryOK()
		if !ok {
			return store.Record{}, fmt.Errorf("pending update %s: its record is not readable", id)
		}
		if err := bson.Unmarshal(data, &d); err != nil {
			return store.Record{}, fmt.Errorf("pending update %s: decoding its record: %w", id, err)
		}
	case bson.TypeEmbeddedDocument:
		if err := v.Unmarshal(&d); err != nil {
			return store.Record{}, fmt.Errorf("pending update %s: decoding its record: %w", id, err)
		}
	default:
		return store.Record{}, fmt.Errorf("pending update %s: its record is a %s", id, v.Type)
	}
	return fromRecordDoc(d)
}

// AddPending stores a pending update. On FerretDB concurrent calls share one insert (groupWrite).
func (s *Store) AddPending(ctx context.Context, p store.Pending) error {
	rec, err := bson.Marshal(toRecordDoc(p.Record))
	if err != nil {
		return fmt.Errorf("encoding pending update %s: %w", p.ID, err)
	}
	doc := pendingDoc{ID: p.ID, Citizen: p.Record.Citizen, Record: binaryValue(rec), Base: int64(p.Base),
		HadBase: p.HadBase, LeafHash: p.LeafHash, After: int64(p.After), Salt: p.SubjectSalt, Created: p.Created.UTC(),
		HeadBase: int64(p.HeadBase), HadHead: p.HadHead}
	if s.pendingAdds != nil {
		return s.pendingAdds.do(ctx, doc)
	}
	_, err = s.pending.InsertOne(ctx, doc)
	return mapErr(err)
}

// binaryValue is data as a BSON binary value (subtype generic).
func binaryValue(data []byte) bson.RawValue {
	return bson.RawValue{Type: bson.TypeBinary, Value: bsoncore.AppendBinary(nil, 0, data)}
}

// insertPendings stores a group of pending updates in one unordered insert: each gets its own
// outcome where the server reports only duplicate ids, every one the insert's error otherwise.
func (s *Store) insertPendings(ctx context.Context, docs []pendingDoc) []error {
	all := make([]any, len(docs))
	for i, d := range docs {
		all[i] = d
	}
	errs := make([]error, len(docs))
	_, err := s.pending.InsertMany(ctx, all, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	switch {
	case err == nil:
	case onlyDuplicates(err) && errors.As(err, &bwe):
		for _, we := range bwe.WriteErrors {
			errs[we.Index] = fmt.Errorf("%w: pending update %s exists", store.ErrConflict, docs[we.Index].ID)
		}
	default:
		for i := range errs {
			errs[i] = mapErr(err)
		}
	}
	return errs
}

// DeletePending removes pending updates once their records are written (or they are abandoned):
// the ids given together, in one delete a maxPendingGroup of them. An id not stored is no error.
// The hub gathers the finished updates of a fifth of a second into one call (hub.Updater's
// dropLater). On FerretDB a filter on more than one _id scans the collection, which holds only the
// updates in flight and those waiting for their delete: a few hundred documents at most.
func (s *Store) DeletePending(ctx context.Context, ids ...string) error {
	for len(ids) > 0 {
		n := min(len(ids), maxPendingGroup)
		if _, err := s.pending.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids[:n]}}}}); err != nil {
			return mapErr(err)
		}
		ids = ids[n:]
	}
	return nil
}

// PendingUpdates returns every pending update, oldest first.
func (s *Store) PendingUpdates(ctx context.Context) ([]store.Pending, error) {
	cur, err := s.pending.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "created", Value: 1}}))
	if err != nil {
		return nil, mapErr(err)
	}
	var docs []pendingDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr(err)
	}
	out := make([]store.Pending, 0, len(docs))
	for _, d := range docs {
		r, err := pendingRecord(d.ID, d.Record)
		if err != nil {
			return nil, err
		}
		out = append(out, store.Pending{ID: d.ID, Record: r, Base: uint64(d.Base), HadBase: d.HadBase,
			LeafHash: d.LeafHash, After: uint64(d.After), SubjectSalt: d.Salt, Created: d.Created,
			HeadBase: uint64(d.HeadBase), HadHead: d.HadHead})
	}
	return out, nil
}

// A subject reference (does ledger entry <index> concern this pseudonym, and with which salt and
// page path) of an access is stored, since store format 3, in the subject_log collection beside the
// citizen's log document, so that an access's log document and its reference go in one insert
// command:
//
//	subject_log  {_id: "<pseudonym>/i<index, 20 digits>", index: int64, salt: bin,
//	              page: {pos: int64, path: [bin, …]}}   (page only for a list page's path)
//
// The "i" keeps its _id apart from the log documents' "<pseudonym>/<seq>" (digits only). A
// reference there is written only once its log document is stored (after it in an ordered insert,
// insertInOrder, or by a later command), so an erasure finds every one through the log, whose
// _ids it can name, and never has to scan subject_log (a full scan on the embedded store: 36 s
// for 1,000,000 documents). A reference without a log document (AddSubjectRefs), and every
// reference of a store written before format 3, is in the subjects collection, {_id:
// "<pseudonym>/<index, 20 digits>"} with the same fields, which an erasure scans: a lookup that
// finds none in subject_log reads there, and an erasure or a pseudonym's move deletes from both.

// refID is the _id of a subject reference in subject_log; a pseudonym's references sort by index.
func refID(pseudonym string, index uint64) string {
	return pseudonym + "/i" + pad(index)
}

// subjectID is the _id of a subject reference in the subjects collection (before store format 3).
func subjectID(pseudonym string, index uint64) string {
	return pseudonym + "/" + pad(index)
}

// subjectDoc is a subject reference's document in subject_log.
func subjectDoc(r store.SubjectRef) bson.D { return refDoc(refID(r.Pseudonym, r.Index), r) }

// refDoc is a subject reference's document under the _id id (refID in subject_log, subjectID in
// subjects): the same fields in both places.
func refDoc(id string, r store.SubjectRef) bson.D {
	d := bson.D{{Key: "_id", Value: id}, {Key: "index", Value: int64(r.Index)}, {Key: "salt", Value: r.Salt}}
	if r.Page != nil {
		d = append(d, bson.E{Key: "page", Value: pageDoc{Pos: int64(r.Page.Position), Path: r.Page.Hashes}})
	}
	return d
}

// AddSubjectRefs stores references in the private subject index; storing one again is not an error.
// It writes no access log documents: an access goes through AppendSubjectLog(s), which writes both.
// A reference without a log document goes to the subjects collection, where an erasure's scan
// finds it.
func (s *Store) AddSubjectRefs(ctx context.Context, refs []store.SubjectRef) error {
	if len(refs) == 0 {
		return nil
	}
	docs := make([]any, len(refs))
	for i, r := range refs {
		docs[i] = refDoc(subjectID(r.Pseudonym, r.Index), r)
	}
	_, err := s.subjects.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil && !onlyDuplicates(err) {
		return mapErr(err)
	}
	return nil
}

// addRefsBeside stores the subject references of log documents already stored, beside them in
// subject_log; storing one again is not an error.
func (s *Store) addRefsBeside(ctx context.Context, refs []store.LogRef) error {
	if len(refs) == 0 {
		return nil
	}
	docs := make([]any, len(refs))
	for i, r := range refs {
		docs[i] = subjectDoc(subjectRefOf(r))
	}
	_, err := s.subjectLog.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil && !onlyDuplicates(err) {
		return fmt.Errorf("appending %d references to the subject index: %w", len(refs), mapErr(err))
	}
	return nil
}

// subjectRefOf is the subject reference a log reference carries.
func subjectRefOf(r store.LogRef) store.SubjectRef {
	return store.SubjectRef{Pseudonym: r.Pseudonym, Index: r.Index, Salt: r.Salt, Page: r.Page}
}

// legacyRefsFilter is legacyRefs' filter for one or more pseudonyms, on FerretDB (serialised) or
// not.
func legacyRefsFilter(pseudonyms []string, serialised bool) bson.D {
	rangeOf := func(p string) bson.D {
		return bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p + "/"}, {Key: "$lt", Value: p + "0"}}}}
	}
	if len(pseudonyms) == 1 {
		return rangeOf(pseudonyms[0])
	}
	if serialised {
		quoted := make([]string, len(pseudonyms))
		for i, p := range pseudonyms {
			quoted[i] = regexp.QuoteMeta(p)
		}
		return bson.D{{Key: "_id", Value: bson.Regex{Pattern: "^(" + strings.Join(quoted, "|") + ")/"}}}
	}
	ranges := make(bson.A, len(pseudonyms))
	for i, p := range pseudonyms {
		ranges[i] = rangeOf(p)
	}
	return bson.D{{Key: "$or", Value: ranges}}
}

// legacyRefs returns the indexes of the pseudonyms' references in the subjects collection, by
// pseudonym: one query, a full scan of that collection on the embedded store, which on a store of
// format 3 holds only references without a log document. The filter is an _id range for one
// pseudonym; for several, on FerretDB an anchored regular expression (which it evaluates at about
// the cost of one range: 15.8 s against 14.1 s for 503,534 references, where an $or of two ranges
// took 23.6 s), and elsewhere an $or of ranges, which MongoDB answers from its _id index.
func (s *Store) legacyRefs(ctx context.Context, pseudonyms []string) (map[string][]uint64, error) {
	if len(pseudonyms) == 0 {
		return nil, nil
	}
	wanted := map[string]bool{}
	for _, p := range pseudonyms {
		wanted[p] = true
	}
	filter := legacyRefsFilter(pseudonyms, s.serialised())
	cur, err := s.subjects.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "index", Value: 1}}))
	if err != nil {
		return nil, mapErr(err)
	}
	var docs []struct {
		ID    string `bson:"_id"`
		Index int64  `bson:"index"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr(err)
	}
	out := map[string][]uint64{}
	for _, d := range docs {
		if p, _, ok := strings.Cut(d.ID, "/"); ok && wanted[p] {
			out[p] = append(out[p], uint64(d.Index))
		}
	}
	return out, nil
}

// SubjectRef returns the reference of one pseudonym to one entry, with its page path when it was
// stored with one, or store.ErrNotFound: one _id lookup in subject_log, and, when it finds none, one
// in the subjects collection of stores written before format 3.
func (s *Store) SubjectRef(ctx context.Context, pseudonym string, index uint64) (store.SubjectRef, error) {
	var d struct {
		Salt []byte   `bson:"salt"`
		Page *pageDoc `bson:"page,omitempty"`
	}
	err := s.subjectLog.FindOne(ctx, bson.D{{Key: "_id", Value: refID(pseudonym, index)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = s.subjects.FindOne(ctx, bson.D{{Key: "_id", Value: subjectID(pseudonym, index)}}).Decode(&d)
	}
	if err != nil {
		return store.SubjectRef{}, mapErr(err)
	}
	ref := store.SubjectRef{Pseudonym: pseudonym, Index: index, Salt: d.Salt}
	if d.Page != nil {
		ref.Page = &store.PagePath{Position: int(d.Page.Pos), Hashes: d.Page.Path}
	}
	return ref, nil
}

// SubjectRefs returns the references of one pseudonym in ledger order, from both places a reference
// may be stored. It is two range queries, full scans of their collections on the embedded store: not
// for serving. A citizen's accesses are read with SubjectLog, and an erasure scans subjects alone
// (legacyRefs); this stays for tests outside this package.
func (s *Store) SubjectRefs(ctx context.Context, pseudonym string) ([]store.SubjectRef, error) {
	byIndex := map[uint64]store.SubjectRef{}
	for _, at := range []struct {
		coll   collection
		lo, hi string // the range of the pseudonym's reference _ids
	}{
		{s.subjects, pseudonym + "/", pseudonym + "0"},
		{s.subjectLog, pseudonym + "/i", pseudonym + "/j"}, // taken over the subjects copy: newer
	} {
		filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: at.lo}, {Key: "$lt", Value: at.hi}}}}
		cur, err := at.coll.Find(ctx, filter)
		if err != nil {
			return nil, mapErr(err)
		}
		var docs []struct {
			ID    string `bson:"_id"`
			Index int64  `bson:"index"`
			Salt  []byte `bson:"salt"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return nil, mapErr(err)
		}
		for _, d := range docs {
			if p, _, ok := strings.Cut(d.ID, "/"); !ok || p != pseudonym {
				continue
			}
			byIndex[uint64(d.Index)] = store.SubjectRef{Pseudonym: pseudonym, Index: uint64(d.Index), Salt: d.Salt}
		}
	}
	out := make([]store.SubjectRef, 0, len(byIndex))
	for _, r := range byIndex {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.SubjectRef) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}

// pad formats n as 20 decimal digits, so that string order is numeric order.
func pad(n uint64) string {
	s := strconv.FormatUint(n, 10)
	return strings.Repeat("0", 20-len(s)) + s
}

// Meta reads a small hub-state document into v; store.ErrNotFound if absent.
func (s *Store) Meta(ctx context.Context, key string, v any) error {
	return mapErr(s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(v))
}

// PutMeta writes a small hub-state document (v must marshal to a BSON document).
func (s *Store) PutMeta(ctx context.Context, key string, v any) error {
	raw, err := bson.Marshal(v)
	if err != nil {
		return err
	}
	var doc bson.D
	if err := bson.Unmarshal(raw, &doc); err != nil {
		return err
	}
	doc = append(bson.D{{Key: "_id", Value: key}}, doc...)
	_, err = s.meta.ReplaceOne(ctx, bson.D{{Key: "_id", Value: key}}, doc, options.Replace().SetUpsert(true))
	return mapErr(err)
}

// EachDataKey calls fn with every citizen's wrapped data key (a scan: for re-wrapping after a
// master key rotation). fn must not write data keys itself while the scan runs on the embedded
// store; collect and replace afterwards, or replace from fn (ReplaceDataKey takes its own lock).
func (s *Store) EachDataKey(ctx context.Context, fn func(citizen string, wrapped []byte) error) error {
	cur, err := s.dataKeys.Find(ctx, bson.D{}, options.Find().SetBatchSize(1024).SetProjection(bson.D{{Key: "wrapped", Value: 1}}))
	if err != nil {
		return fmt.Errorf("reading data keys: %w", mapErr(err))
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			ID      string `bson:"_id"`
			Wrapped []byte `bson:"wrapped"`
		}
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("reading data keys: %w", err)
		}
		if err := fn(d.ID, d.Wrapped); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("reading data keys: %w", mapErr(err))
	}
	return nil
}

// ReplaceDataKey replaces the citizen's wrapped data key old by wrapped (compare-and-swap: the
// same data key wrapped again, under another master key). A citizen whose stored key is not old,
// or who has none, is store.ErrConflict.
func (s *Store) ReplaceDataKey(ctx context.Context, citizen string, old, wrapped []byte) error {
	filter := bson.D{{Key: "_id", Value: citizen}, {Key: "wrapped", Value: old}}
	if s.serialised() {
		defer s.lock("data_keys/" + citizen)()
		cur, err := s.DataKey(ctx, citizen)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %s has no data key", store.ErrConflict, citizen)
			}
			return err
		}
		if !bytes.Equal(cur, old) {
			return fmt.Errorf("%w: the data key of %s changed", store.ErrConflict, citizen)
		}
		filter = bson.D{{Key: "_id", Value: citizen}}
	}
	res, err := s.dataKeys.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "wrapped", Value: wrapped}}}})
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		return fmt.Errorf("%w: the data key of %s is not the one re-wrapped", store.ErrConflict, citizen)
	}
	return nil
}
