// Package store defines the hub's stored records and the errors its repositories return. The
// MongoDB repositories live in store/mongostore (one implementation, for a real MongoDB replica set
// and for the embedded FerretDB default of store/embedded); store/storetest is the conformance suite
// both run.
//
// What is stored, by collection (database "govhub" unless configured otherwise):
//
//	citizens            {_id: "C000001", created}
//	records             stores written before record_heads held the records: one document per
//	                    citizen and dataset, {_id: "C000001/tax", …}, read for citizens not moved
//	                    yet, moved on their next write or by mongostore.Store.MoveRecords in the
//	                    background, then emptied (meta "records_moved" marks it)
//	datakeys            {_id: citizen, wrapped}: the citizen's data key, wrapped by the master key
//	pending             updates whose ledger entry may or may not have been appended yet:
//	                    {_id, citizen, record: <the record's BSON bytes>, base, leafHash, …}
//	                    (an older hub's holds record as a nested document and no citizen;
//	                    both are read and erased)
//	subject_log         each citizen's access log, one insert-only document per access in the
//	                    citizen's own dense sequence 1, 2, 3, …: {_id: "<pseudonym>/<seq>", index,
//	                    salt, time, page?} (see LogRef; read newest first by _id lookups alone);
//	                    and beside them the private index from a citizen's pseudonym to the ledger
//	                    entries about them, with the salts of the subject commitments: {_id:
//	                    "<pseudonym>/i<index>", index, salt, page?} (does entry <index> concern this
//	                    citizen, and with which salt), written in the same insert as the log document
//	subjects            that private index as stores before format 3 kept it, {_id:
//	                    "<pseudonym>/<index>"}: read where a reference is not in subject_log
//	subject_log_heads   a hint of each citizen's latest log sequence, {_id: "<pseudonym>", seq}
//	ledger_batches      sequenced ledger entries, {_id: "<first index, 20 digits>", first, n, z:
//	                    the entries compressed (see store/mongostore/compress.go)}
//	ledger_tiles        hash tiles, {_id: "<level>/<n>", w: width}
//	ledger_bundles      entry bundles, {_id: "<n>", w: entries, z: the bundle compressed}
//	ledger_queue        entries other instances forwarded to the lease holder
//	ledger_state        the integrated tree {_id: "tree"}, the latest cosigned checkpoint
//	                    {_id: "cosigned"}, and the lease chain {_id: "lease/<term>"}
//	ledger_checkpoints  every signed checkpoint, {_id: "<size, 20 digits>"}
//	policy_versions     one document per policy version, {_id: "<version, 20 digits>"}
//	policy_partitions   a version's rules, one department at a time (see store/mongostore/policy.go)
//	policy_proposals    officers' proposed policy changes and their decisions, {_id: "<proposal id>"}
//	meta                small documents of hub state by key (Store.Meta, Store.PutMeta)
//	questions           citizens' questions about accesses and their answers, {_id: "<random id>"}
//	question_queues     insert-only queues of question ids, {_id: "<queue>/<seq>", question}: per
//	                    department ("department:<code>/<seq>"), per citizen ("citizen:<pseudonym>/<seq>")
//	                    and one of all ("all/<seq>"); see Question
//	question_heads      a hint of each queue's latest seq, {_id: "<queue>", seq}
//	record_heads        one document per citizen with their record head (see Head) and their current
//	                    records: {_id: "<citizen>", head, versions, mac, r: true, records: {<dataset>:
//	                    <BSON bytes>}, rv: {<dataset>: version}}; a record holds plain non-sensitive
//	                    values, and for each sensitive field only its AES-GCM seal and its Pedersen
//	                    commitment. One find by _id reads a citizen (mongostore.Store.HeadAndRecords).
//	erasures            officers' erasure requests (see Erasure), {_id: "<request id>"}
//	erasure_tombstones  erased citizens, {_id: "<keyed digest of the citizen id, hex>"} (see Tombstone)
//
// Every hot lookup is by a computed string _id: the embedded store can only use an index for that.
package store

import (
	"errors"
	"math"
	"time"
)

// Errors callers test for.
var (
	// ErrNotFound: no such document.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a create found the document already there, or a replace found another version.
	ErrConflict = errors.New("store: conflicting write")
	// ErrStale: the stored document is newer than the one offered.
	ErrStale = errors.New("store: a newer version is stored")
)

// PendingVersion is the version under which a pending update's values are sealed, before the
// ledger has given the update its index. No ledger index ever takes this value.
const PendingVersion = math.MaxUint64

// Record is one citizen's record in one dataset.
type Record struct {
	Citizen string
	Dataset string
	// Version is the ledger index of the update entry that wrote this record.
	Version uint64
	// Salt is the salt of the record digest in that entry; it stays off the ledger.
	Salt []byte
	// Items holds one item for a plain dataset, any number for a list dataset.
	Items   []Item
	Updated time.Time
	// MAC authenticates the record under the hub's integrity key (package hub, integrity.go); nil
	// on records written before record MACs existed.
	MAC []byte
	// SubjectSalt is the salt of the citizen's subject commitment in the update entry that wrote
	// this record (the one the private subject index also holds), so that the record audit need
	// not look it up; nil on records written before it was kept. It is not under the MAC: a
	// changed salt cannot match the entry's commitment to this citizen, so the audit reports it.
	SubjectSalt []byte
}

// Head is a citizen's record head: which version of each of their dataset records is current, and
// the ledger index of their latest update entry, authenticated under the hub's integrity key
// (package hub, integrity.go). It is what a read checks rollbacks and deletions against.
type Head struct {
	Citizen string
	// Head is the ledger index of the citizen's latest applied update entry (of any dataset).
	Head uint64
	// Versions maps each dataset the citizen has a record in to the record's version.
	Versions map[string]uint64
	MAC      []byte
}

// HeadAndRecord is what one update writes into its citizen's document at once: the new head
// over the stored one whose Head is HeadBase (HadHead false: where the citizen has none), and the
// record over the stored one at version Base (HadBase false: where there is none in its dataset).
type HeadAndRecord struct {
	Head     Head
	HeadBase uint64
	HadHead  bool
	Record   Record
	Base     uint64
	HadBase  bool
}

// Item is one set of field values. Plain values follow the conventions of package dataset
// (string, int64, float64, bool, []string).
type Item struct {
	Plain  map[string]any
	Sealed map[string]SealedField
}

// SealedField is a sensitive value at rest: its seal (value and commitment blinding, AES-GCM under
// the citizen's data key) and its commitment.
type SealedField struct {
	Ciphertext []byte
	Commitment []byte
	// Version is the record version under which the value was sealed and committed: the ledger index
	// of the update entry that carries this commitment.
	Version uint64
	// Scheme names the commitment's scheme (package crypto/commit), which says how the value was
	// mapped to what is committed: empty for pedersen-bls12381-g1/v1, the scheme of every value
	// stored before schemes were recorded; pedersen-bls12381-g1/v2 for dates committed as day numbers.
	Scheme string
}

// Pending is an update between its two durable steps: its values are stored here (sealed under
// PendingVersion) before its ledger entry is appended, and the record is written after. Start-up
// recovery finishes what a crash interrupted.
type Pending struct {
	ID     string
	Record Record
	// Base is the version of the record the update replaces, with HadBase false for a new record.
	Base    uint64
	HadBase bool
	// LeafHash identifies the update's ledger entry.
	LeafHash []byte
	// After is a ledger size known before the entry was appended: it lies at or after this index.
	After uint64
	// SubjectSalt is the salt of the citizen's subject commitment in the entry.
	SubjectSalt []byte
	// HeadBase is the citizen's record head the update was built on (the entry's base line), with
	// HadHead false for the citizen's first update.
	HeadBase uint64
	HadHead  bool
	Created  time.Time
}

// SubjectRef says that ledger entry Index concerns the citizen with the given pseudonym, whose
// subject commitment in that entry uses Salt.
type SubjectRef struct {
	Pseudonym string
	Index     uint64
	Salt      []byte
	// Page is the citizen's path in a list page's subject tree (see LogRef.Page), or nil.
	Page *PagePath
}

// Official is one entry of the officials directory: the token subject behind an official
// pseudonym (crypto/subject.Official), sealed under its department's key so that only that
// department can read it.
type Official struct {
	Pseudonym  string // 64 hex digits, as on the entries' official lines
	Department string
	Sealed     []byte
}

// LogRef is one entry of a citizen's access log (Store.AppendSubjectLog, Store.SubjectLog): ledger
// entry Index concerns the citizen with the given pseudonym, whose subject commitment in that entry
// uses Salt. Seq is its place in the citizen's own log (1, 2, 3, … in the order the accesses were
// logged, not necessarily in ledger order); it is the log's cursor.
type LogRef struct {
	Pseudonym string
	Seq       uint64
	Index     uint64
	Salt      []byte
	// Page is set for a list page whose entry carries a Merkle root of the page's subject
	// commitments instead of the commitments themselves: the citizen's path to that root.
	Page *PagePath
	// Time is when the access was logged (kept to the millisecond).
	Time time.Time
	// Entry is the entry's canonical bytes as appended, kept so that a page of the log reads no
	// entry bundle; nil when the appender did not have them (a reader then reads the ledger).
	// They are a copy: readers check them against the ledger's leaf hash before use.
	Entry []byte
}

// PseudonymMove names one citizen's move from their pseudonym under a former index key to their
// pseudonym under the current one (an index key rotation re-keys the pseudonyms).
type PseudonymMove struct {
	From, To string
}

// MaxPagePath is the most hashes a PagePath holds: a page of up to 2^7 = 128 subjects (list pages
// hold at most 100).
const MaxPagePath = 7

// PagePath is a citizen's Merkle path in a list page's tree of subject commitments: the position of
// their commitment among the page's and the sibling hashes (32 bytes each) from the leaf up.
type PagePath struct {
	Position int
	Hashes   [][]byte
}

// MaxLogPage is the most references one read of a citizen's log returns.
const MaxLogPage = 100

// LogPage is one page of a citizen's access log, newest first.
type LogPage struct {
	// Refs are the references read, newest (highest Seq) first. A ledger index appears at most once
	// among them: an append retried after an error may have logged one access twice, and the
	// page keeps the copy with the highest Seq.
	Refs []LogRef
	// End is the citizen's latest Seq when the page was read; 0 when they have no log.
	End uint64
	// Next is the before to read the following (older) page with, or 0 when this page reached the
	// citizen's first entry.
	Next uint64
}

// Proposal is a policy change an officer proposed, waiting for (or after) another officer's decision.
// The change and its impact preview are kept as the hub encodes them.
type Proposal struct {
	ID         string
	Base       uint64 // the policy version it was proposed against
	Reason     string
	ProposedBy string
	// ProposerIssuer is the issuer of the proposer's token ("" for proposals stored before it was
	// kept): with ProposedBy it names the proposer (auth.Principal.Same).
	ProposerIssuer string
	Created        time.Time
	Change         []byte // the change, JSON
	Impact         []byte // the impact preview, JSON
	Entry          uint64 // ledger index of the proposal entry
	// CertificateImpact is the certificate types' preview, JSON (nil without one).
	CertificateImpact []byte

	Status         string // ProposalPending, ProposalApproved or ProposalRejected
	DecidedBy      string
	Decided        time.Time
	DecisionReason string
	Version        uint64 // the version an approval created
	DecisionEntry  uint64 // ledger index of the approval or rejection entry
}

// Proposal states.
const (
	ProposalPending  = "pending"
	ProposalApproved = "approved"
	ProposalRejected = "rejected"
)

// ListFilter selects citizens whose record in Dataset has a plain Field equal to Value (package
// dataset's conventions: string, int64, float64 or bool).
type ListFilter struct {
	Dataset, Field string
	Value          any
}

// Question is a citizen's question about one ledger entry that concerns them, and the answer of the
// department that made the access (Store.AddQuestion, Store.AnswerQuestion). The texts are kept
// here, off the ledger; the question and answer entries carry their digests.
type Question struct {
	ID string
	// Citizen asked; Pseudonym is their pseudonym in the private subject index (their queue's key).
	Citizen   string
	Pseudonym string
	// Department made the access at AccessIndex and must answer.
	Department  string
	AccessIndex uint64
	Message     string
	Asked       time.Time
	Entry       uint64 // ledger index of the question entry

	Status      string // QuestionOpen or QuestionAnswered
	Basis       string // the answer's reason token: legal-basis, case or misuse
	Answer      string
	AnsweredBy  string // the answering officer's official pseudonym (64 hex), as on the answer entry
	Answered    time.Time
	AnswerEntry uint64 // ledger index of the answer entry
}

// Question states.
const (
	QuestionOpen     = "open"
	QuestionAnswered = "answered"
)

// Question queues: insert-only lists of question ids, each in its own dense sequence 1, 2, 3, …
// in the order the questions were added, read by _id alone (Store.Questions).
const (
	// QuestionQueueAll lists every question (the privacy office's queue).
	QuestionQueueAll = "all"
)

// QuestionQueueDepartment is the queue of the questions a department must answer.
func QuestionQueueDepartment(department string) string { return "department:" + department }

// QuestionQueueCitizen is the queue of one citizen's questions, by their pseudonym.
func QuestionQueueCitizen(pseudonym string) string { return "citizen:" + pseudonym }

// MaxQuestions is the most questions one read of a queue returns (its newest).
const MaxQuestions = 1000
