package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/store"
)

// Re-keying the pseudonyms (indexkeys.go). After an index key rotation the new key becomes the
// pseudonym key as well (the store records it, and every instance sharing the store takes it up),
// and what the store holds under each citizen's pseudonym under the former key moves to their
// pseudonym under the new one:
//
//   - on first use: before the hub names a citizen under the new pseudonym for the first time
//     (to append to their access log, read it, list their questions or applications, erase
//     them), it moves what is under their former pseudonyms (PseudonymMover.MovePseudonym), one
//     move at a time per citizen in this process; the moves are idempotent, so two instances
//     moving one citizen at once do no harm;
//   - in the background: MoveAll moves every registered citizen, then, once the instances that
//     have not yet learnt of the new pseudonym key must have (the caller waits for that), moves
//     them all again with final set (the late appends under a former pseudonym, and the old
//     sequence heads); then the former keys are dropped from the store's record and nothing is
//     under them any more.
//
// Until then a citizen's first use costs the move's reads (about six _id lookups when nothing is
// left to move) once per process.

// PseudonymMover moves what the store holds under citizens' pseudonyms to others (the store's
// MovePseudonyms) and lists the registered citizens.
type PseudonymMover interface {
	MovePseudonyms(ctx context.Context, moves []store.PseudonymMove, final bool) (int, error)
	ListCitizens(ctx context.Context, after string, limit int, filter *store.ListFilter) ([]string, error)
}

// Pseudonyms names citizens under the ring's pseudonym key and moves their data from the former
// pseudonym keys on first use. Safe for concurrent use.
type Pseudonyms struct {
	ring  *subject.Ring
	mover PseudonymMover

	failed atomic.Pointer[error] // Fail

	mu      sync.Mutex
	gen     uint64              // the ring generation moved is for
	moved   map[string]struct{} // citizens moved under the ring's pseudonym keys of gen
	flights map[string]*moveFlight
}

type moveFlight struct {
	done   chan struct{}
	err    error
	gaveUp bool // the move failed because the request that made it ended
}

// NewPseudonyms returns the pseudonyms of ring, moving data with mover.
func NewPseudonyms(ring *subject.Ring, mover PseudonymMover) *Pseudonyms {
	return &Pseudonyms{ring: ring, mover: mover, moved: map[string]struct{}{}, flights: map[string]*moveFlight{}}
}

// errNoMover: the ring names former pseudonym keys, but nothing can move their data.
var errNoMover = errors.New("hub: pseudonyms are being re-keyed, and this hub was given no store to move them in")

// of returns the citizen's pseudonym, once everything under their former pseudonyms has moved to
// it.
func (ps *Pseudonyms) of(ctx context.Context, citizen string) (string, error) {
	if err := ps.failed.Load(); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, *err)
	}
	gen := ps.ring.Generation()
	cur, former := ps.ring.PseudonymKeys()
	name := subject.Pseudonym(cur, citizen)
	if len(former) == 0 {
		return name, nil
	}
	ps.mu.Lock()
	if ps.gen != gen {
		ps.gen, ps.moved = gen, map[string]struct{}{}
	}
	if _, ok := ps.moved[citizen]; ok {
		ps.mu.Unlock()
		return name, nil
	}
	f, running := ps.flights[citizen]
	if !running {
		f = &moveFlight{done: make(chan struct{})}
		ps.flights[citizen] = f
	}
	ps.mu.Unlock()
	if running {
		select {
		case <-f.done:
			if f.gaveUp {
				return ps.of(ctx, citizen) // the request that moved gave up: this one moves
			}
			if f.err != nil {
				return "", f.err
			}
			return name, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	f.err = ps.move(ctx, []string{citizen}, cur, former, false)
	f.gaveUp = f.err != nil && ctx.Err() != nil
	ps.mu.Lock()
	delete(ps.flights, citizen)
	if f.err == nil && ps.gen == gen {
		ps.moved[citizen] = struct{}{}
	}
	ps.mu.Unlock()
	close(f.done)
	if f.err != nil {
		return "", f.err
	}
	return name, nil
}

// pseudonymsOf returns the citizen's pseudonym under ring's pseudonym key, then under each former
// pseudonym key (whose data may not have moved yet).
func pseudonymsOf(ring *subject.Ring, citizen string) []string {
	cur, former := ring.PseudonymKeys()
	out := []string{subject.Pseudonym(cur, citizen)}
	for _, k := range former {
		out = append(out, subject.Pseudonym(k, citizen))
	}
	return out
}

// everyPseudonym returns the citizen's pseudonym under every key ring holds.
func everyPseudonym(ring *subject.Ring, citizen string) []string {
	keys := ring.Keys()
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = subject.Pseudonym(k, citizen)
	}
	return out
}

// subjectRefReader reads one reference of the private subject index (store.ErrNotFound: none).
type subjectRefReader interface {
	SubjectRef(ctx context.Context, pseudonym string, index uint64) (store.SubjectRef, error)
}

// findSubjectRef reads the citizen's reference to entry index under their pseudonym, then under
// each former one (read-only: what a check that must not move data uses).
func findSubjectRef(ctx context.Context, st subjectRefReader, ring *subject.Ring, citizen string, index uint64) (store.SubjectRef, error) {
	var err error
	for _, p := range pseudonymsOf(ring, citizen) {
		var ref store.SubjectRef
		if ref, err = st.SubjectRef(ctx, p, index); !errors.Is(err, store.ErrNotFound) {
			return ref, err
		}
	}
	return store.SubjectRef{}, err
}

// Fail makes every use that names a citizen fail with err (ErrUnavailable), until Fail(nil): what
// a hub does while it cannot take up the pseudonym key the store names (its key files lack it), so
// that it never names a citizen under the wrong key.
func (ps *Pseudonyms) Fail(err error) {
	if err == nil {
		ps.failed.Store(nil)
		return
	}
	ps.failed.Store(&err)
}

// named reports whether pseudonym names citizen, under the pseudonym key or a former one (a
// document written while the citizen's data moved may keep the former).
func (ps *Pseudonyms) named(pseudonym, citizen string) bool {
	return slices.Contains(pseudonymsOf(ps.ring, citizen), pseudonym)
}

// move moves the citizens' data under each former key to their pseudonym under cur.
func (ps *Pseudonyms) move(ctx context.Context, citizens []string, cur []byte, former [][]byte, final bool) error {
	if ps.mover == nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, errNoMover)
	}
	moves := make([]store.PseudonymMove, 0, len(citizens)*len(former))
	for _, c := range citizens {
		to := subject.Pseudonym(cur, c)
		for _, k := range former {
			moves = append(moves, store.PseudonymMove{From: subject.Pseudonym(k, c), To: to})
		}
	}
	if _, err := ps.mover.MovePseudonyms(ctx, moves, final); err != nil {
		return fmt.Errorf("%w: moving citizens' access logs to their new pseudonyms: %v", ErrUnavailable, err)
	}
	return nil
}

// PseudonymProgress is how far MoveAll got.
type PseudonymProgress struct {
	Final    bool // the final round
	Citizens int  // citizens moved (or found with nothing to move) in this round
}

// MoveAll moves every registered citizen's data from the ring's former pseudonym keys to the
// pseudonym key, reporting progress after each page of citizens, then (once wait returns: the
// caller's bound on when every instance has learnt of the pseudonym key) moves them all again
// with final set. It returns the former keys it moved from: the caller records that nothing is
// under them any more. A citizen not registered (erased: their data is gone) is not moved.
func (ps *Pseudonyms) MoveAll(ctx context.Context, wait func(context.Context) error, progress func(PseudonymProgress)) ([][]byte, error) {
	cur, former := ps.ring.PseudonymKeys()
	if len(former) == 0 {
		return nil, nil
	}
	if ps.mover == nil {
		return nil, errNoMover
	}
	for _, final := range []bool{false, true} {
		if final {
			if err := wait(ctx); err != nil {
				return nil, err
			}
		}
		p := PseudonymProgress{Final: final}
		after := ""
		for {
			ids, err := ps.mover.ListCitizens(ctx, after, listPage, nil)
			if err != nil {
				return nil, fmt.Errorf("listing the citizens to move: %w", err)
			}
			for lo := 0; lo < len(ids); lo += moveCitizens {
				chunk := ids[lo:min(len(ids), lo+moveCitizens)]
				if err := ps.move(ctx, chunk, cur, former, final); err != nil {
					return nil, err
				}
				p.Citizens += len(chunk)
				if progress != nil {
					progress(p)
				}
			}
			if len(ids) < listPage {
				break
			}
			after = ids[len(ids)-1]
		}
	}
	return former, nil
}

// listPage is how many citizens MoveAll lists at a time, and moveCitizens how many it moves in one
// store call (whose writes are shared: store/mongostore's MovePseudonyms).
const (
	listPage     = 500
	moveCitizens = 50
)
