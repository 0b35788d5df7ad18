package graph

import (
	"log/slog"

	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/hub"
)

// Resolver holds what the resolvers need: one field per capability (releasing citizen data,
// updating it, reviewing the ledger, the citizen's view of it, the officers' workflow), and a logger for the error
// presenter. Resolvers translate GraphQL to hub and governance calls and back, nothing more.
type Resolver struct {
	Reader     *hub.Reader
	Updater    *hub.Updater
	Review     *hub.Review
	CitizenLog *hub.Citizens
	// Questions: citizens' questions about accesses, and the departments' answers.
	Questions *hub.Questions
	// Sealed: sealed accesses' disclosure to citizens; Unseals: officers' early unseals.
	Sealed   *hub.Sealed
	Unseals  *governance.EarlyUnseals
	Officers *governance.Officers
	// Erasures: the officers' erasure workflow; Erasure gives citizens their erasure receipts.
	Erasures *governance.Erasures
	Erasure  *hub.Erasure
	Logger   *slog.Logger

	// Certificates: certificates issued by rules, applications, revocation.
	Certificates *hub.Certificates
}
