package store

import "time"

// Erasure is an officers' request to erase one citizen's data (package governance proposes and
// decides it; package hub applies it), in collection erasures, {_id: "<request id>"}. It is the
// only stored document that names the citizen of an erasure in clear, and only until the erasure
// is applied: then Citizen, Salt and Nonce are cleared and only Digest (keyed, see hub's
// erasure.go) is left.
type Erasure struct {
	ID string
	// Citizen to erase; "" once the erasure is applied.
	Citizen string
	// Digest is the keyed digest of the citizen id (the erasure entry's record line and the
	// tombstone's _id); set when the erasure is applied.
	Digest []byte
	// Nonce salts the digest of the request on the proposal, approval and rejection entries
	// (governance); cleared once applied, so those digests can no longer be opened.
	Nonce []byte
	// Basis names the legal basis (a token, e.g. "court-order" or "consent-withdrawn"); Reason is
	// free text. Both stay off the ledger.
	Basis, Reason string

	ProposedBy, ProposerIssuer string
	Created                    time.Time
	Entry                      uint64 // the proposal entry
	Status                     string // ErasurePending, ErasureApproved, ErasureApplied or ErasureRejected
	DecidedBy                  string
	Decided                    time.Time
	DecisionReason             string
	DecisionEntry              uint64
	// Approver names the approving officer on the erasure entry: their department and role, and
	// their official pseudonym (64 hex bytes decoded); kept so that a resumed erasure appends the
	// same entry.
	ApproverDepartment, ApproverRole string
	ApproverOfficial                 []byte
	Policy                           uint64

	// Applying: the erasure entry's subject salt and time (chosen before it is appended, so that a
	// resumed erasure finds the entry by its leaf hash instead of appending another), then its
	// index once it is known.
	Salt        []byte
	EntryTime   time.Time
	LeafHash    []byte
	After       uint64 // a checkpoint size before the entry: where finding it by leaf hash starts
	HasIndex    bool
	ErasedEntry uint64
	Applied     time.Time
}

// Erasure states.
const (
	ErasurePending  = "pending"
	ErasureApproved = "approved" // approved; being applied (resumable)
	ErasureApplied  = "applied"
	ErasureRejected = "rejected"
)

// Tombstone marks an erased citizen, in collection erasure_tombstones, {_id: "<keyed digest of the
// citizen id, hex>"}: what reads and updates meet instead of the citizen's record head (a citizen
// without a head who has a tombstone was erased). Receipt is the citizen's erasure receipt sealed
// under a key only the citizen id and the index key give (hub's erasure.go).
type Tombstone struct {
	Digest  string
	Erasure string // the request id
	Index   uint64 // the erasure entry; 0 while it is being appended
	Time    time.Time
	Receipt []byte
}
