package hub

import "github.com/govhub/govhub/policy"

// Metrics receives counts of what the hub decides, for operators' dashboards; the hub does not
// know how they are exported. It carries no principal, citizen, field value or key: only the
// bounded names given here. Implementations must be safe for concurrent use and cheap (they are
// called on every read).
type Metrics interface {
	// Decided counts n field decisions at level (one per requested field of a read or list page).
	Decided(level policy.Level, n int)
}

// WithMetrics sets where the hub counts its decisions (default: nowhere).
func WithMetrics(m Metrics) Option {
	return func(c *core) {
		if m != nil {
			c.metrics = m
		}
	}
}

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) Decided(policy.Level, int) {}
