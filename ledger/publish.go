package ledger

import (
	"context"
	"fmt"
)

// Publishing: the checkpoints the log makes known. Every signed checkpoint is the integrated one;
// it is published at once without witnesses, or once a quorum of witnesses cosigned it
// (witnessing.go). Waiters are woken through the changed channel.

// publishIntegrated records the latest checkpoint the log signed; without witnesses it is also
// the published one.
func (l *Log) publishIntegrated(cp Checkpoint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.integrated = cp
	if len(l.witnesses) == 0 {
		l.published = cp
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// publishCosigned records a checkpoint cosigned by a quorum of witnesses.
func (l *Log) publishCosigned(cp Checkpoint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cp.Size >= l.published.Size {
		l.published = cp
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// Latest returns the latest published checkpoint: signed by the log and, when the log has
// witnesses, cosigned by a quorum of them. Its Note is nil when no checkpoint was cosigned yet.
func (l *Log) Latest() Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.published
}

// Integrated returns the latest checkpoint the log signed (which may still await cosignatures).
func (l *Log) Integrated() Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.integrated
}

// WaitCheckpoint waits until a published checkpoint covers at least size entries and returns it.
func (l *Log) WaitCheckpoint(ctx context.Context, size uint64) (Checkpoint, error) {
	for {
		l.mu.Lock()
		cp, ch, ierr := l.published, l.changed, l.intErr
		l.mu.Unlock()
		if cp.Size >= size {
			return cp, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if ierr != nil {
				return cp, fmt.Errorf("ledger: no checkpoint covers %d (last integration error: %v): %w", size, ierr, ctx.Err())
			}
			return cp, fmt.Errorf("ledger: no checkpoint covers %d: %w", size, ctx.Err())
		}
	}
}
