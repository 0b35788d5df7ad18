package store

import "time"

// Certificate is an issued certificate as the hub keeps it (Store.AddCertificate): the signed
// credential, its holder by pseudonym, its ledger entries, its status and its verification count.
// The ledger holds the issuance and revocation; this is the copy the hub serves.
type Certificate struct {
	ID          string // unguessable, "c-" and 26 base32 characters (130 bits)
	Type        string // certificate type code
	RuleVersion string // "code@since"
	Department  string // issuing department
	// Pseudonym names the holder in the private subject index.
	Pseudonym  string
	Credential []byte // the signed credential, JSON
	Issued     time.Time
	IssueIndex uint64 // the issue entry
	// Revocation, when Revoked.
	Revoked      bool
	RevokedAt    time.Time
	RevokeReason string
	RevokeIndex  uint64
	// Verifications counts the public verifications; VerifiedAt holds the times of the latest of
	// them (at most MaxVerifiedAt, oldest first), for the holder; LinkDisabled turns the public
	// link off.
	Verifications int64
	VerifiedAt    []time.Time
	LinkDisabled  bool
}

// MaxVerifiedAt is how many verification times a certificate keeps (Certificate.VerifiedAt).
const MaxVerifiedAt = 50

// Application statuses.
const (
	ApplicationReceived = "received"
	ApplicationGathered = "gathered"
	ApplicationDecided  = "decided"
	ApplicationReview   = "review"   // waiting for a clerk's review
	ApplicationReviewed = "reviewed" // a clerk approved it
	ApplicationIssued   = "issued"
	ApplicationRefused  = "refused"
)

// ApplicationStep is one step of an application, with its step entry on the ledger.
type ApplicationStep struct {
	Name  string // one of the application statuses
	Time  time.Time
	Index uint64 // the step entry
}

// Application is a request for a certificate about one citizen, by the citizen or a department,
// and its steps (Store.SaveApplication).
type Application struct {
	ID         string
	Type       string
	Citizen    string // the citizen it is about (kept off the ledger, for a review's gathering)
	Pseudonym  string // the citizen's pseudonym in the private subject index
	Department string // the issuing department
	ByCitizen  bool   // the citizen applied (else a department requested)
	Status     string
	Steps      []ApplicationStep
	// Certificate is the certificate issued; Reason why it was refused (a rule, never a value).
	Certificate string
	Reason      string
	Created     time.Time
}
