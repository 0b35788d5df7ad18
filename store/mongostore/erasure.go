package mongostore

// Erasure requests, tombstones, and the deletions that erase one citizen's data (package hub,
// erasure.go, is the specification). Every deletion is by string _id, so each is idempotent and
// an erasure interrupted at any point is finished by running it again. Requests are few and read
// only by officers, so listing them scans their collection.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/govhub/govhub/store"
)

const (
	collErasures   = "erasures"
	collTombstones = "erasure_tombstones"
)

type erasureDoc struct {
	ID                 string    `bson:"_id"`
	Citizen            string    `bson:"citizen,omitempty"`
	Digest             []byte    `bson:"digest,omitempty"`
	Nonce              []byte    `bson:"nonce,omitempty"`
	Basis              string    `bson:"basis"`
	Reason             string    `bson:"reason"`
	ProposedBy         string    `bson:"proposedBy"`
	ProposerIssuer     string    `bson:"proposerIssuer,omitempty"`
	Created            time.Time `bson:"created"`
	Entry              int64     `bson:"entry"`
	Status             string    `bson:"status"`
	DecidedBy          string    `bson:"decidedBy,omitempty"`
	Decided            time.Time `bson:"decided,omitempty"`
	DecisionReason     string    `bson:"decisionReason,omitempty"`
	DecisionEntry      int64     `bson:"decisionEntry,omitempty"`
	ApproverDepartment string    `bson:"approverDepartment,omitempty"`
	ApproverRole       string    `bson:"approverRole,omitempty"`
	ApproverOfficial   []byte    `bson:"approverOfficial,omitempty"`
	Policy             int64     `bson:"policy,omitempty"`
	Salt               []byte    `bson:"salt,omitempty"`
	EntryTime          time.Time `bson:"entryTime,omitempty"`
	LeafHash           []byte    `bson:"leafHash,omitempty"`
	After              int64     `bson:"after,omitempty"`
	HasIndex           bool      `bson:"hasIndex,omitempty"`
	ErasedEntry        int64     `bson:"erasedEntry,omitempty"`
	Applied            time.Time `bson:"applied,omitempty"`
}

func toErasureDoc(e store.Erasure) erasureDoc {
	return erasureDoc{ID: e.ID, Citizen: e.Citizen, Digest: e.Digest, Nonce: e.Nonce, Basis: e.Basis, Reason: e.Reason,
		ProposedBy: e.ProposedBy, ProposerIssuer: e.ProposerIssuer, Created: e.Created.UTC(), Entry: int64(e.Entry), Status: e.Status,
		DecidedBy: e.DecidedBy, Decided: e.Decided.UTC(), DecisionReason: e.DecisionReason, DecisionEntry: int64(e.DecisionEntry),
		ApproverDepartment: e.ApproverDepartment, ApproverRole: e.ApproverRole, ApproverOfficial: e.ApproverOfficial, Policy: int64(e.Policy),
		Salt: e.Salt, EntryTime: e.EntryTime.UTC(), LeafHash: e.LeafHash, After: int64(e.After), HasIndex: e.HasIndex, ErasedEntry: int64(e.ErasedEntry), Applied: e.Applied.UTC()}
}

func (d erasureDoc) erasure() store.Erasure {
	return store.Erasure{ID: d.ID, Citizen: d.Citizen, Digest: d.Digest, Nonce: d.Nonce, Basis: d.Basis, Reason: d.Reason,
		ProposedBy: d.ProposedBy, ProposerIssuer: d.ProposerIssuer, Created: d.Created, Entry: uint64(d.Entry), Status: d.Status,
		DecidedBy: d.DecidedBy, Decided: d.Decided, DecisionReason: d.DecisionReason, DecisionEntry: uint64(d.DecisionEntry),
		ApproverDepartment: d.ApproverDepartment, ApproverRole: d.ApproverRole, ApproverOfficial: d.ApproverOfficial, Policy: uint64(d.Policy),
		Salt: d.Salt, EntryTime: d.EntryTime, LeafHash: d.LeafHash, After: uint64(d.After), HasIndex: d.HasIndex, ErasedEntry: uint64(d.ErasedEntry), Applied: d.Applied}
}

func (s *Store) erasuresColl() collection   { return s.coll(collErasures, s.collOpts()) }
func (s *Store) tombstonesColl() collection { return s.coll(collTombstones, s.collOpts()) }

// AddErasure stores a new erasure request; store.ErrConflict if its id exists.
func (s *Store) AddErasure(ctx context.Context, e store.Erasure) error {
	_, err := s.erasuresColl().InsertOne(ctx, toErasureDoc(e))
	return mapErr(err)
}

// Erasure returns one erasure request, or store.ErrNotFound.
func (s *Store) Erasure(ctx context.Context, id string) (store.Erasure, error) {
	var d erasureDoc
	if err := s.erasuresColl().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return store.Erasure{}, mapErr(err)
	}
	return d.erasure(), nil
}

// Erasures lists the erasure requests with the status ("" for all), newest first.
func (s *Store) Erasures(ctx context.Context, status string) ([]store.Erasure, error) {
	filter := bson.D{}
	if status != "" {
		filter = bson.D{{Key: "status", Value: status}}
	}
	cur, err := s.erasuresColl().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "created", Value: -1}}))
	if err != nil {
		return nil, mapErr(err)
	}
	var docs []erasureDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr(err)
	}
	out := make([]store.Erasure, 0, len(docs))
	for _, d := range docs {
		if status == "" || d.Status == status {
			out = append(out, d.erasure())
		}
	}
	return out, nil
}

// UpdateErasure replaces the stored request with e if its stored status is from (a compare-and-
// swap: store.ErrConflict if the status is another, store.ErrNotFound if there is no request).
func (s *Store) UpdateErasure(ctx context.Context, e store.Erasure, from string) error {
	if s.serialised() {
		defer s.lock(collErasures + "/" + e.ID)()
		cur, err := s.Erasure(ctx, e.ID)
		if err != nil {
			return err
		}
		if cur.Status != from {
			return fmt.Errorf("%w: erasure %s is %s, not %s", store.ErrConflict, e.ID, cur.Status, from)
		}
		_, err = s.erasuresColl().ReplaceOne(ctx, bson.D{{Key: "_id", Value: e.ID}}, toErasureDoc(e))
		return mapErr(err)
	}
	res, err := s.erasuresColl().ReplaceOne(ctx, bson.D{{Key: "_id", Value: e.ID}, {Key: "status", Value: from}}, toErasureDoc(e))
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		if _, err := s.Erasure(ctx, e.ID); err != nil {
			return err
		}
		return fmt.Errorf("%w: erasure %s is no longer %s", store.ErrConflict, e.ID, from)
	}
	return nil
}

type tombstoneDoc struct {
	ID      string    `bson:"_id"`
	Erasure string    `bson:"erasure"`
	Index   int64     `bson:"index"`
	Time    time.Time `bson:"time"`
	Receipt []byte    `bson:"receipt,omitempty"`
}

// AddTombstone stores a tombstone; one already there under its digest is kept (not an error), so
// that an interrupted erasure can add it again.
func (s *Store) AddTombstone(ctx context.Context, t store.Tombstone) error {
	_, err := s.tombstonesColl().InsertOne(ctx, tombstoneDoc{ID: t.Digest, Erasure: t.Erasure, Index: int64(t.Index), Time: t.Time.UTC(), Receipt: t.Receipt})
	if err = mapErr(err); errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

// Tombstone returns the tombstone under digest (hex), or store.ErrNotFound.
func (s *Store) Tombstone(ctx context.Context, digest string) (store.Tombstone, error) {
	var d tombstoneDoc
	if err := s.tombstonesColl().FindOne(ctx, bson.D{{Key: "_id", Value: digest}}).Decode(&d); err != nil {
		return store.Tombstone{}, mapErr(err)
	}
	return store.Tombstone{Digest: d.ID, Erasure: d.Erasure, Index: uint64(d.Index), Time: d.Time, Receipt: d.Receipt}, nil
}

// PutTombstone replaces the tombstone under t.Digest (with the erasure entry's index and the sealed
// receipt, once known).
func (s *Store) PutTombstone(ctx context.Context, t store.Tombstone) error {
	_, err := s.tombstonesColl().ReplaceOne(ctx, bson.D{{Key: "_id", Value: t.Digest}},
		tombstoneDoc{ID: t.Digest, Erasure: t.Erasure, Index: int64(t.Index), Time: t.Time.UTC(), Receipt: t.Receipt}, options.Replace().SetUpsert(true))
	return mapErr(err)
}

// DeleteRecordHead deletes the citizen's record head (none there: not an error).
func (s *Store) DeleteRecordHead(ctx context.Context, citizen string) error {
	defer s.lock(collRecordHeads + "/" + citizen)()
	_, err := s.recordHeads.DeleteOne(ctx, bson.D{{Key: "_id", Value: citizen}})
	return mapErr(err)
}

// DeleteDataKey deletes the citizen's wrapped data key: what the key sealed can no longer be opened
// (crypto-shredding). None there: not an error.
func (s *Store) DeleteDataKey(ctx context.Context, citizen string) error {
	defer s.lock("data_keys/" + citizen)() // apart from a re-wrap's compare-and-swap
	_, err := s.dataKeys.DeleteOne(ctx, bson.D{{Key: "_id", Value: citizen}})
	return mapErr(err)
}

// DeleteRecords deletes the citizen's records in datasets (their sealed values, blindings,
// commitments and plain fields): from their document, and from the records collection where a
// store written before citizens' documents held them may still have them (legacy.go). A document
// left with neither head nor records is deleted.
func (s *Store) DeleteRecords(ctx context.Context, citizen string, datasets []string) error {
	for _, ds := range datasets {
		id := recordID(citizen, ds)
		unlock := s.lock(collRecords + "/" + id)
		_, err := s.records.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
		unlock()
		if err != nil {
			return mapErr(err)
		}
	}
	return s.deleteFromCitizen(ctx, citizen, datasets)
}

// DeleteCitizen unregisters the citizen.
func (s *Store) DeleteCitizen(ctx context.Context, citizen string) error {
	_, err := s.citizens.DeleteOne(ctx, bson.D{{Key: "_id", Value: citizen}})
	if x := s.citizenIdx(); x != nil {
		x.invalidate()
	}
	return mapErr(err)
}

// DeletePendingOf deletes the pending updates of the citizen (a scan of the pending updates, which
// are few: only updates between their two durable steps).
func (s *Store) DeletePendingOf(ctx context.Context, citizen string) error {
	// citizen: since pending updates hold their record as bytes; record.citizen: before.
	_, err := s.pending.DeleteMany(ctx, bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "citizen", Value: citizen}}, bson.D{{Key: "record.citizen", Value: citizen}}}}})
	return mapErr(err)
}

// DeleteSubjectLog deletes the access logs of a citizen's pseudonyms (every seq up to each log's
// end), their private index references (in subject_log, and in subjects for stores written before
// format 3 and for references without a log document; keys.go), and their head hints: nothing is
// left that links a ledger entry to any of the pseudonyms. The references in subject_log go before
// the log documents that name them, so an erasure cut short and run again still finds them; those
// in subjects are found by one scan of that collection for all the pseudonyms.
func (s *Store) DeleteSubjectLog(ctx context.Context, pseudonyms ...string) error {
	for _, pseudonym := range pseudonyms {
		if err := s.deleteLog(ctx, pseudonym); err != nil {
			return err
		}
	}
	// Every reference in subjects (an older hub's, and those without a log document: stored before
	// the access log existed, or by AddSubjectRefs alone): one scan of that collection for all the
	// pseudonyms. None is in subject_log without its log document (keys.go), so that collection is
	// not scanned.
	indexes, err := s.legacyRefs(ctx, pseudonyms)
	if err != nil {
		return err
	}
	var legacy []string
	for p, ixs := range indexes {
		for _, index := range ixs {
			legacy = append(legacy, subjectID(p, index))
		}
	}
	if err := s.deleteByID(ctx, s.subjects, legacy); err != nil {
		return err
	}
	for _, pseudonym := range pseudonyms {
		// Under the head's lock: a background advance that found the log document still there has
		// written before this, and one that comes after finds it gone and writes nothing.
		if err := s.logChain().deleteHead(ctx, pseudonym); err != nil {
			return err
		}
		// Not kept in memory, nor saved at the next stop (logends.go): nothing of the log remains.
		s.lastSeqs.forget(pseudonym)
	}
	return nil
}

// deleteLog deletes the pseudonym's log documents and the references in subject_log they name,
// those first. The pseudonym's references in subjects, with a log document or not, are left to
// DeleteSubjectLog's one scan of that collection. It deletes from the log's end down, a batch at a
// time, so that an erasure cut short leaves a log whose seqs 1 … n all exist, whose end the next
// erasure finds whether the head hint is there or not (seqChain.probeFrom).
func (s *Store) deleteLog(ctx context.Context, pseudonym string) error {
	end, err := s.SubjectLogEnd(ctx, pseudonym)
	if err != nil {
		return err
	}
	for hi := end; hi >= 1; {
		lo := uint64(1)
		if hi > moveBatch {
			lo = hi - moveBatch + 1
		}
		docs, err := s.readLog(ctx, pseudonym, lo, hi)
		if err != nil {
			return err
		}
		var refs, logs []string
		for i, d := range docs {
			if d != nil {
				refs = append(refs, refID(pseudonym, uint64(d.Index)))
			}
			logs = append(logs, seqID(pseudonym, lo+uint64(i)))
		}
		if err := s.deleteByID(ctx, s.subjectLog, refs); err != nil {
			return err
		}
		if err := s.deleteByID(ctx, s.subjectLog, logs); err != nil {
			return err
		}
		hi = lo - 1
	}
	return nil
}

// ScrubQuestions removes the citizen from their questions (queue citizen:<pseudonym>): the
// citizen id and the question's text are cleared; the department's answer, and the entries, stay.
func (s *Store) ScrubQuestions(ctx context.Context, pseudonym string) error {
	qs, err := s.Questions(ctx, store.QuestionQueueCitizen(pseudonym), store.MaxQuestions)
	if err != nil {
		return err
	}
	for _, q := range qs {
		unlock := s.lock(collQuestions + "/" + q.ID)
		_, err := s.questions.UpdateOne(ctx, bson.D{{Key: "_id", Value: q.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "citizen", Value: ""}, {Key: "message", Value: ""}, {Key: "pseudonym", Value: ""}}}})
		unlock()
		if err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// collOpts are the collection options bind uses: majority, journaled writes and majority reads
// against MongoDB.
func (s *Store) collOpts() *options.CollectionOptionsBuilder {
	copts := options.Collection()
	if s.embedded == nil {
		copts.SetWriteConcern(&writeconcern.WriteConcern{W: "majority", Journal: ptr(true)}).SetReadConcern(readconcern.Majority())
	}
	return copts
}
