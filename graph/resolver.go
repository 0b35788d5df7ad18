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
	Officers  *governance.Officers
	Logger    *slog.Logger

	// Certificates: certificates issued by rules, applications, revocation.
	Certificates *hub.Certificates
}
