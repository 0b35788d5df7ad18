package governance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/govhub/govhub/policy"
)

// Follower puts the newest stored policy version in force in one engine: how every instance
// follows approvals made on any of them. It is safe for concurrent use.
type Follower struct {
	policy   *policy.Engine
	versions policy.Storage
	loader   policy.Loader
}

// NewFollower returns a follower loading versions from versions through loader into engine. If
// loader is also a [policy.Warmer], each new version is warmed before it is put in force.
func NewFollower(engine *policy.Engine, versions policy.Storage, loader policy.Loader) (*Follower, error) {
	if engine == nil || versions == nil || loader == nil {
		return nil, errors.New("governance: NewFollower needs an engine, policy versions and a loader")
	}
	return &Follower{policy: engine, versions: versions, loader: loader}, nil
}

// Reload makes the newest stored version the one in force, if it is newer.
func (f *Follower) Reload(ctx context.Context) error {
	cur := f.policy.Snapshot().Version()
	latest, err := f.versions.LatestVersion(ctx, cur)
	if err != nil {
		return fmt.Errorf("looking for a new policy version: %w", err)
	}
	if latest <= cur {
		return nil
	}
	info, err := f.versions.VersionInfo(ctx, latest)
	if err != nil {
		return fmt.Errorf("reading policy %d: %w", latest, err)
	}
	// Read the version's description now, so that the first request under it reads only the
	// partitions it needs.
	if w, ok := f.loader.(policy.Warmer); ok {
		if err := w.Warm(ctx, latest); err != nil {
			return fmt.Errorf("reading policy %d: %w", latest, err)
		}
	}
	if err := f.policy.Load(ctx, info, f.loader); err != nil && !errors.Is(err, policy.ErrStaleVersion) {
		return fmt.Errorf("loading policy %d: %w", latest, err)
	}
	return nil
}

// Watch polls for new policy versions until ctx ends, putting each in force within interval, and
// logs each change of version and each failed reload.
func (f *Follower) Watch(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		before := f.policy.Snapshot().Version()
		if err := f.Reload(ctx); err != nil {
			logger.WarnContext(ctx, "policy reload", slog.String("error", err.Error()))
			continue
		}
		if after := f.policy.Snapshot().Version(); after != before {
			logger.InfoContext(ctx, "policy version now in force", slog.Uint64("version", after), slog.Uint64("was", before))
		}
	}
}
