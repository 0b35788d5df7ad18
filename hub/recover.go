package hub

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RecoveryReport says what Recover did.
type RecoveryReport struct {
	Applied int // updates whose entry was on the ledger and whose record is now written
	// Dropped counts updates not applied, none of them ever acknowledged: their entry never
	// reached the ledger, or the record had moved past the version they were built on (overtaken).
	Dropped int
}

// Recover finishes the updates a crash interrupted: for each pending update older than olderThan,
// if its entry is on the ledger the citizen's record head and then the record are brought to match
// it (unless the head has moved past the head the update was built on), otherwise the update was never acknowledged and is
// dropped. A lone instance runs it at start-up with olderThan 0, before serving. Instances sharing
// a database run it periodically with a margin (a minute, say) that no live update takes, so that
// one never settles another's update still in flight.
func (u *Updater) Recover(ctx context.Context, olderThan time.Duration) (RecoveryReport, error) {
	var rep RecoveryReport
	pending, err := u.pending.PendingUpdates(ctx)
	if err != nil {
		return rep, fmt.Errorf("listing pending updates: %w", err)
	}
	now := u.now()
	for _, p := range pending {
		if now.Sub(p.Created) < olderThan {
			continue
		}
		var leaf [32]byte
		copy(leaf[:], p.LeafHash)
		index, found, err := u.leaves.FindLeaf(ctx, p.After, leaf)
		if err != nil {
			return rep, fmt.Errorf("looking for the entry of pending update %s: %w", p.ID, err)
		}
		if !found {
			if err := u.pending.DeletePending(ctx, p.ID); err != nil {
				return rep, err
			}
			rep.Dropped++
			continue
		}
		if p.HadHead {
			u.integ.note(p.HeadBase) // the entry is on the ledger: its base is superseded
		}
		dk, err := u.keyring.dataKey(ctx, p.Record.Citizen)
		if err != nil {
			return rep, fmt.Errorf("pending update %s: %w", p.ID, err)
		}
		_, err = u.finishUpdate(ctx, dk, p, index, nil, nil)
		if err != nil && !errors.Is(err, ErrConflict) {
			return rep, fmt.Errorf("applying pending update %s (entry %d): %w", p.ID, index, err)
		}
		if derr := u.pending.DeletePending(ctx, p.ID); derr != nil {
			return rep, fmt.Errorf("dropping pending update %s: %w", p.ID, derr)
		}
		if errors.Is(err, ErrConflict) {
			rep.Dropped++
			continue
		}
		rep.Applied++
	}
	return rep, nil
}
