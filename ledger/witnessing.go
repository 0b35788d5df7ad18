package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/govhub/govhub/ledger/witness"
)

// Cosigner is a witness the log pushes its checkpoints to (a *witness.Client is one).
type Cosigner interface {
	Name() string
	AddCheckpoint(ctx context.Context, oldSize uint64, proof [][32]byte, checkpoint []byte) ([]byte, error)
}

// DefaultWitnessTimeout bounds one push to one witness.
const DefaultWitnessTimeout = 5 * time.Second

// WithWitnesses makes the log push every checkpoint it signs to the witnesses, with a consistency
// proof from the size each witness last cosigned, and publish it only once quorum of them
// cosigned it. Without witnesses, every signed checkpoint is published at once.
func WithWitnesses(ws []Cosigner, quorum int) Option {
	return func(l *Log) {
		for _, w := range ws {
			l.witnesses = append(l.witnesses, &witnessPeer{c: w})
		}
		l.quorum = quorum
	}
}

// witnessPeer is a witness and the size it is known to have cosigned.
type witnessPeer struct {
	c      Cosigner
	size   uint64 // 0 until learned: the witness answers 409 with its size
	origin string // the origin size is of: a new log key's origin starts again from 0
}

// cosign gets the latest signed checkpoint cosigned by the witnesses, and publishes it when a
// quorum answered. It is a no-op when that checkpoint is published already.
func (l *Log) cosign(ctx context.Context) error {
	cp := l.Integrated()
	if pub := l.Latest(); cp.Size == 0 || pub.Note != nil && pub.Size >= cp.Size {
		return nil // nothing to witness yet, or published already
	}
	sigs := make([][]byte, len(l.witnesses))
	errs := make([]error, len(l.witnesses))
	var wg sync.WaitGroup
	for i, p := range l.witnesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wctx, cancel := context.WithTimeout(ctx, DefaultWitnessTimeout)
			defer cancel()
			sigs[i], errs[i] = l.pushTo(wctx, p, cp)
		}()
	}
	wg.Wait()
	note := bytes.Clone(cp.Note)
	n := 0
	for i, s := range sigs {
		if errs[i] != nil {
			l.logger.WarnContext(ctx, "witness did not cosign", slog.String("witness", l.witnesses[i].c.Name()),
				slog.Uint64("size", cp.Size), slog.String("error", errs[i].Error()))
			continue
		}
		note = append(note, s...)
		n++
	}
	if n < l.quorum {
		return fmt.Errorf("ledger: %d of %d witnesses cosigned the checkpoint of size %d, the quorum is %d: %w",
			n, len(l.witnesses), cp.Size, l.quorum, errors.Join(errs...))
	}
	cosigned := cp
	cosigned.Note = note
	if err := l.stateStore.AddCosigned(ctx, cp.Size, note); err != nil {
		return fmt.Errorf("ledger: storing the cosigned checkpoint %d: %w", cp.Size, err)
	}
	l.publishCosigned(cosigned)
	return nil
}

// pushTo submits cp to one witness, catching up on its size when it says it saw another.
func (l *Log) pushTo(ctx context.Context, p *witnessPeer, cp Checkpoint) ([]byte, error) {
	if p.origin != cp.Origin {
		// A rotated log key (keys.go): to the witness, the new origin is a new log.
		p.origin, p.size = cp.Origin, 0
	}
	for attempt := 0; attempt < 3; attempt++ {
		old := p.size
		if old > cp.Size {
			return nil, fmt.Errorf("the witness has cosigned a tree of size %d, larger than ours (%d): was the log rolled back?", old, cp.Size)
		}
		proof, err := l.reader.ProveConsistency(ctx, old, cp.Size)
		if err != nil {
			return nil, err
		}
		pb := make([][32]byte, len(proof))
		for i := range proof {
			pb[i] = proof[i]
		}
		sigs, err := p.c.AddCheckpoint(ctx, old, pb, cp.Note)
		var ce *witness.ConflictError
		if errors.As(err, &ce) {
			p.size = ce.Size
			continue
		}
		if err != nil {
			return nil, err
		}
		p.size = cp.Size
		return sigs, nil
	}
	return nil, fmt.Errorf("the witness's size keeps changing")
}
