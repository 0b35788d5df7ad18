// Package mongostore implements the hub's repositories on MongoDB with the official driver (v2):
// records, data keys, pending updates, the private subject index and each citizen's access log
// (subjectlog.go), and the ledger's storage.
//
// The same code runs against a real MongoDB replica set and against the embedded FerretDB. They
// differ in one respect, kept inside this package: FerretDB can neither run an atomic filtered
// update on anything but {_id} (other filters are full scans) nor keep concurrent
// read-modify-writes of one document apart. So in embedded mode (WithEmbedded), where this process
// is the only writer, compare-and-swap writes are serialised per document in the process and done
// as read, compare, replace-by-_id; against MongoDB the same writes use atomic {_id, version}
// filters. Only {_id: string} lookups are on hot paths.
package mongostore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/embedded"
)

// Collection names.
const (
	collCitizens        = "citizens"
	collRecords         = "records"
	collDataKeys        = "datakeys"
	collPending         = "pending"
	collSubjects        = "subjects"
	collSubjectLog      = "subject_log"
	collLogHeads        = "subject_log_heads"
	collBatches         = "ledger_batches"
	collTiles           = "ledger_tiles"
	collBundles         = "ledger_bundles"
	collQueue           = "ledger_queue"
	collState           = "ledger_state"
	collCheckpoints     = "ledger_checkpoints"
	collMeta            = "meta"
	collProposals       = "policy_proposals"
	collOfficials       = "officials"
	collQuestions       = "questions"
	collQueues          = "question_queues"
	collQueueHeads      = "question_heads"
	collRecordHeads     = "record_heads"
	collSealed          = "sealed_accesses"
	collUnsealProposals = "unseal_proposals"

	collCertificates     = "certificates"
	collCertCounts       = "certificate_counts"
	collApplications     = "applications"
	collApplicationLists = "application_lists"
	collApplicationHeads = "application_heads"

	collPolicyVersions   = "policy_versions"
	collPolicyPartitions = "policy_partitions"
)

var allCollections = []string{collCitizens, collRecords, collDataKeys, collPending, collSubjects, collSubjectLog, collLogHeads,
	collBatches, collTiles, collBundles, collQueue, collState, collCheckpoints, collMeta, collProposals,
	collPolicyVersions, collPolicyPartitions, collOfficials, collQuestions, collQueues, collQueueHeads, collRecordHeads,
	collSealed, collUnsealProposals,
	collErasures, collTombstones,
	collCertificates, collCertCounts, collApplications, collApplicationLists, collApplicationHeads}

// Store is the MongoDB implementation of the hub's repositories. It is safe for concurrent use. It
// does not own the client: closing the client is the caller's business.
type Store struct {
	db       *mongo.Database
	embedded *embedded.Server // nil against MongoDB
	readOnly bool             // New creates nothing; see ReadOnly
	// locks keeps compare-and-swap writers apart inside this process where the server does not:
	// the embedded server's document locks, or the process's own against an external FerretDB
	// (ServedByFerretDB); nil against MongoDB, whose filtered updates are atomic.
	locks documentLocker

	citizens, records, dataKeys, pending, subjects           collection
	subjectLog, logHeads                                     collection
	batches, tiles, bundles, queue, state, checkpoints, meta collection
	proposals, policyVersions, policyPartitions              collection
	officials                                                collection

	lastSeqs                      seqCache // the latest access-log seq this process knows per citizen
	questions, queues, queueHeads collection
	recordHeads                   collection // each citizen's record head and records (heads.go)
	// legacy is set while records may still be in the records collection (legacy.go).
	legacy                  atomic.Bool
	sealed, unsealProposals collection // sealed.go

	certificates, applications, applicationLists, applicationHeads collection
	certCounts                                                     collection // {_id: certificate id, n}

	// pendingAdds shares one insert among concurrent AddPending calls on FerretDB (groupwrite.go);
	// nil against MongoDB.
	pendingAdds *groupWrite[pendingDoc]
	// logGroups is the group commit of access-log appends on FerretDB (logbatch.go); nil against
	// MongoDB.
	logGroups *groupWrite[*logAppend]
	// marks are the citizens' documents as read lately, for writes that need not read them again
	// (headmarks.go); on the embedded server only.
	marksMu sync.Mutex
	marks   map[string]headMark
}

// maxPendingGroup bounds the pending updates one shared insert, or one delete, carries.
const maxPendingGroup = 256

// Option changes a default of New.
type Option func(*Store)

// WithEmbedded declares that db is served by srv, the embedded FerretDB this process owns: writes
// are serialised in the process (srv.LockDocument, shared by every Store on srv), and New adds the
// _id expression indexes FerretDB needs.
func WithEmbedded(srv *embedded.Server) Option { return func(s *Store) { s.embedded = srv } }

// ReadOnly declares that the caller will only read: New then creates no collection or index (a
// collection that does not exist reads as empty). It is how a second process reads the embedded
// database of a running hub (embedded.Attach), whose writes only that hub may make. Nothing stops
// a write through such a Store; its callers make none.
func ReadOnly() Option { return func(s *Store) { s.readOnly = true } }

// New prepares db: it creates the collections and indexes the repositories need (idempotent),
// unless the store is ReadOnly.
func New(ctx context.Context, db *mongo.Database, opts ...Option) (*Store, error) {
	s := &Store{db: db}
	for _, o := range opts {
		o(s)
	}
	if s.readOnly {
		s.bind(db)
		if err := s.checkFormat(ctx); err != nil {
			return nil, err
		}
		if err := s.openLegacy(ctx); err != nil {
			return nil, err
		}
		return s, nil
	}
	if s.embedded != nil {
		s.locks = s.embedded
	} else if ferret, err := ServedByFerretDB(ctx, db); err != nil {
		return nil, err
	} else if ferret {
		s.locks = &processLocks
	}
	if s.lazyHeads() {
		s.lastSeqs.evicted = s.headOnEviction
	}
	if s.locks != nil {
		s.pendingAdds = &groupWrite[pendingDoc]{max: maxPendingGroup, write: s.insertPendings}
		s.logGroups = s.newLogGroups()
	}
	existing, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("listing collections of %s: %w", db.Name(), err)
	}
	have := map[string]bool{}
	for _, n := range existing {
		have[n] = true
	}
	for _, n := range allCollections {
		if have[n] {
			continue
		}
		if err := db.CreateCollection(ctx, n); err != nil && !isNamespaceExists(err) {
			return nil, fmt.Errorf("creating collection %s: %w", n, err)
		}
	}
	s.bind(db)
	if err := s.checkFormat(ctx); err != nil {
		return nil, err
	}
	if err := s.openLegacy(ctx); err != nil {
		return nil, err
	}
	if s.embedded != nil {
		if err := s.embedded.IndexIDs(ctx, db.Name()); err != nil {
			return nil, err
		}
	} else {
		// ListCitizens with a filter: equality on dataset, then citizen order (range and sort).
		_, err := s.records.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "dataset", Value: 1}, {Key: "citizen", Value: 1}}})
		if err != nil {
			return nil, fmt.Errorf("indexing records by dataset and citizen: %w", err)
		}
	}
	return s, nil
}

// bind sets the collection handles of db.
func (s *Store) bind(db *mongo.Database) {
	copts := options.Collection()
	if s.embedded == nil {
		// Acknowledged means on a majority of the replica set and in its journal; reads see only that.
		copts.SetWriteConcern(&writeconcern.WriteConcern{W: "majority", Journal: ptr(true)}).
			SetReadConcern(readconcern.Majority())
	}
	c := func(name string) collection { return s.coll(name, copts) }
	s.citizens, s.records, s.dataKeys, s.pending, s.subjects = c(collCitizens), c(collRecords), c(collDataKeys), c(collPending), c(collSubjects)
	s.batches, s.tiles, s.bundles, s.queue = c(collBatches), c(collTiles), c(collBundles), c(collQueue)
	s.state, s.checkpoints, s.meta, s.proposals = c(collState), c(collCheckpoints), c(collMeta), c(collProposals)
	s.policyVersions, s.policyPartitions = c(collPolicyVersions), c(collPolicyPartitions)
	s.officials = c(collOfficials)
	s.subjectLog, s.logHeads = c(collSubjectLog), c(collLogHeads)
	s.questions, s.queues, s.queueHeads = c(collQuestions), c(collQueues), c(collQueueHeads)
	s.recordHeads = c(collRecordHeads)
	s.sealed, s.unsealProposals = c(collSealed), c(collUnsealProposals)
	s.certificates, s.applications, s.certCounts = c(collCertificates), c(collApplications), c(collCertCounts)
	s.applicationLists, s.applicationHeads = c(collApplicationLists), c(collApplicationHeads)
}

// Embedded reports whether the store runs on the embedded FerretDB.
func (s *Store) Embedded() bool { return s.embedded != nil }

// documentLocker serialises writes to one document, and one-time upkeep, within this process
// (embedded.Server is one).
type documentLocker interface {
	LockDocument(key string) (unlock func())
	LockDocuments(keys ...string) (unlock func())
	LockUpkeep() (unlock func())
}

// localLocks is a documentLocker for stores on an external FerretDB, shared by every such Store of
// the process (the hub and its ledger each open their own). It keeps one process's writers apart;
// several processes sharing a FerretDB are not (docs/OPERATIONS.md).
type localLocks struct {
	docs   embedded.DocumentLocks
	upkeep sync.Mutex
}

var processLocks localLocks

func (l *localLocks) LockDocument(key string) func() { return l.docs.Lock(key) }

func (l *localLocks) LockDocuments(keys ...string) func() { return l.docs.LockAll(keys...) }

func (l *localLocks) LockUpkeep() func() {
	l.upkeep.Lock()
	return l.upkeep.Unlock
}

// serialised reports whether compare-and-swap writes run as read, compare, replace under the
// process's document lock (FerretDB, embedded or not) rather than as filtered updates (MongoDB).
func (s *Store) serialised() bool { return s.locks != nil }

// lock serialises writes to one document within this process (on FerretDB only), across every
// Store on the same server: the hub and its ledger each open their own.
func (s *Store) lock(key string) func() {
	if s.locks == nil {
		return func() {}
	}
	return s.locks.LockDocument(key)
}

// lockAll is lock for several documents at once.
func (s *Store) lockAll(keys []string) func() {
	if s.locks == nil {
		return func() {}
	}
	return s.locks.LockDocuments(keys...)
}

func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.Code == 48 || ce.Name == "NamespaceExists")
}

// mapErr translates driver errors into the store's sentinels.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return store.ErrNotFound
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return err
}

func ptr[T any](v T) *T { return &v }

// storeFormat is the newest document layout this build writes: 4 since a citizen's document holds
// their head and records packed (heads.go; a build of format 3 would find neither), 3 since the subject references are
// stored in subject_log beside the log documents (keys.go; in subjects before), 2 since the
// ledger's batches and entry bundles are stored compressed (compress.go; 1 or none before). New
// records it in the meta document store_format and refuses a store whose recorded layout is newer,
// so that a build never misreads what a later one wrote (a build from before this record reads a
// compressed batch as holding no entries, and one of format 2 finds no subject reference written
// since: neither can be told).
const storeFormat = 4

// metaStoreFormat is the meta key of the store's layout, {format: n}.
const metaStoreFormat = "store_format"

// checkFormat refuses a store of a layout newer than storeFormat and, unless the store is read
// only, records storeFormat in a store of an older one.
func (s *Store) checkFormat(ctx context.Context) error {
	var d struct {
		Format int `bson:"format"`
	}
	if err := s.Meta(ctx, metaStoreFormat, &d); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("reading the store's layout: %w", err)
	}
	switch {
	case d.Format > storeFormat:
		return fmt.Errorf("the database %s was written by a newer govhub (document layout %d; this build knows up to %d): run that version or a later one", s.db.Name(), d.Format, storeFormat)
	case d.Format < storeFormat && !s.readOnly:
		if err := s.PutMeta(ctx, metaStoreFormat, struct {
			Format int `bson:"format"`
		}{storeFormat}); err != nil {
			return fmt.Errorf("recording the store's layout: %w", err)
		}
	}
	return nil
}

// note, setNote and dropNote keep, on the embedded store only, what a writer holding a document's
// lock knows of it (embedded.Server.Note): the server's files are this process's alone, so a note
// stays true until the document's next writer, who holds the same lock. Elsewhere nothing is kept,
// and writers read the document.
func (s *Store) note(key string) (int64, bool) {
	if s.embedded == nil {
		return 0, false
	}
	return s.embedded.Note(key)
}

func (s *Store) setNote(key string, v int64) {
	if s.embedded != nil {
		s.embedded.SetNote(key, v)
	}
}

func (s *Store) dropNote(key string) {
	if s.embedded != nil {
		s.embedded.DropNote(key)
	}
}
