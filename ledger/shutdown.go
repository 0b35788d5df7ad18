package ledger

import (
	"context"
	"fmt"
)

// Shutdown: the log stops in the order that loses nothing: intake, sequencer, integrator and queue
// puller, then the lease.

// Shutdown stops taking entries, writes those already queued, integrates them, and returns when
// done or when ctx ends.
func (l *Log) Shutdown(ctx context.Context) error {
	l.intake.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.intake.Unlock()
	select {
	case <-l.seqDone:
	case <-ctx.Done():
		return fmt.Errorf("ledger: waiting for the sequencer: %w", ctx.Err())
	}
	// Integrate what is left while still holding the lease, then hand the lease over.
	l.stopOnce.Do(func() { close(l.stopInt) })
	for _, done := range []chan struct{}{l.intDone, l.pullDone} {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("ledger: waiting for the integrator: %w", ctx.Err())
		}
	}
	l.leaseStopOnce.Do(func() { close(l.stopLease) })
	select {
	case <-l.leaseDone:
	case <-ctx.Done():
		return fmt.Errorf("ledger: handing over the lease: %w", ctx.Err())
	}
	return nil
}
