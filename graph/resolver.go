package graph

import (
	"log/slog"

	"github.com/govhub/govhub/hub"
)

// Resolver holds what the resolvers need: the hub's use cases, and a logger for the error
// presenter. Resolvers translate GraphQL to hub calls and back, nothing more.
type Resolver struct {
	Hub    *hub.Hub
	Logger *slog.Logger
}
