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
}
