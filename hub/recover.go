package hub

import (
	"context"
	"fmt"
	"time"
)

// RecoveryReport says what Recover did.
type RecoveryReport struct {
	Applied int // updates whose entry was on the ledger and whose record is now written
	Dropped int // updates whose entry never reached the ledger (never acknowledged)
}

// Recover finishes the updates a crash interrupted: for each pending update older than olderThan,
// if its entry is on the ledger the record is brought to match it, otherwise the update was never
// acknowledged and is dropped. A lone instance runs it at start-up with olderThan 0, before
// serving. Instances sharing a database run it periodically with a margin (a minute, say) that no
// live update takes, so that one never settles another's update still in flight.
func (h *Hub) Recover(ctx context.Context, olderThan time.Duration) (RecoveryReport, error) {
	var rep RecoveryReport
	pending, err := h.store.PendingUpdates(ctx)
	if err != nil {
		return rep, fmt.Errorf("listing pending updates: %w", err)
	}
	now := h.now()
	for _, p := range pending {
		if now.Sub(p.Created) < olderThan {
			continue
		}
		var leaf [32]byte
		copy(leaf[:], p.LeafHash)
		index, found, err := h.ledger.FindLeaf(ctx, p.After, leaf)
		if err != nil {
			return rep, fmt.Errorf("looking for the entry of pending update %s: %w", p.ID, err)
		}
		if !found {
			if err := h.store.DeletePending(ctx, p.ID); err != nil {
				return rep, err
			}
			rep.Dropped++
			continue
		}
		dk, err := h.dataKey(ctx, p.Record.Citizen, false)
		if err != nil {
			return rep, fmt.Errorf("pending update %s: %w", p.ID, err)
		}
		if _, err := h.finishUpdate(ctx, dk, p, index); err != nil {
			return rep, fmt.Errorf("applying pending update %s (entry %d): %w", p.ID, index, err)
		}
		rep.Applied++
	}
	return rep, nil
}
