package graph

import (
	"log/slog"

	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/hub"
)

// Resolver holds what the resolvers need: the hub's use cases, the officers' workflow, and a
// logger for the error presenter. Resolvers translate GraphQL to hub and governance calls and
// back, nothing more.
type Resolver struct {
	Hub      *hub.Hub
	Officers *governance.Officers
	Logger   *slog.Logger
}
