package store

import "time"

// SealedAccess is what the hub keeps of one sealed access (package hub, sealed.go): its details,
// kept encrypted, under the digest the access entry's sealed line carries. Nothing in it is in
// clear but the digest, the unseal date and the ledger indexes.
type SealedAccess struct {
	// ID is the sealed line's digest, 64 lowercase hex.
	ID string
	// Index is the ledger index of the access entry, once known (Indexed).
	Index   uint64
	Indexed bool
	// UnsealOn is the first day (midnight UTC) the details may be shown to the citizen.
	UnsealOn time.Time
	// Box holds the details, their salt and the citizen, sealed under the hub's master key.
	Box []byte
	// Oversight holds the details and their salt encrypted to the oversight body's key.
	Oversight []byte
	Created   time.Time
	// UnsealIndex is the ledger index of the unseal entry that disclosed it (Unsealed).
	UnsealIndex uint64
	Unsealed    bool
	UnsealedAt  time.Time
	// Erased says its citizen's data was lawfully erased (package hub, sealed_erasure.go): Box
	// then holds only what the public counts need (its department) and Oversight is empty; the
	// details, their salt and the citizen are destroyed.
	Erased bool
}

// UnsealProposal is an officer's proposal to unseal a sealed access before its date, and
// another officer's decision on it (package governance). One proposal per sealed access.
type UnsealProposal struct {
	// Index is the sealed access's ledger index.
	Index         uint64
	Reason        string
	ProposedBy    string // the proposing officer's token subject
	Proposed      time.Time
	ProposalEntry uint64 // the proposal's ledger entry
	Status        string // UnsealPending, UnsealApproved or UnsealRejected
	DecidedBy     string
	Decided       time.Time
	DecisionEntry uint64 // the approval's or rejection's ledger entry
	DecisionNote  string // a rejection's reason
	UnsealEntry   uint64 // with UnsealApproved: the unseal entry
}

// Unseal proposal states.
const (
	UnsealPending  = "pending"
	UnsealApproved = "approved"
	UnsealRejected = "rejected"
)
