package hub

// Sealed accesses of an erased citizen (docs/SEALED.md, docs/ERASURE.md).
//
// A sealed access keeps, under the master key, the citizen it was about, the details and their
// salt (the box), and the details and salt encrypted to the oversight body (the oversight copy);
// the access entry on the ledger carries only the details' digest and the citizen's salted
// commitment. A lawful erasure destroys, for every sealed access of the citizen (sealed or
// unsealed already, and those whose request failed before its entry was acknowledged):
//
//   - the box: replaced by a stub sealed under the master key that holds only the department that
//     read ({"erased": true, "department": "public-security"}), so that the public counts per
//     department stay right;
//   - the oversight copy: deleted. The oversight body can no longer read the details; what it
//     decrypted before the erasure is outside the hub.
//
// The document keeps its id (the sealed line's digest, which is on the ledger anyway), its
// entry's index, its unseal date and its unseal mark, and is marked erased. With the details,
// their salt and the citizen's subject salts gone, nothing the hub keeps links the sealed access
// entry, or its unseal entry, to the citizen, or opens its sealed line. The ledger is not touched,
// so it still verifies.
//
// An erased sealed access is never unsealed: the unseal job skips it, an early unseal (proposal
// or approval) fails with ErrErased, and the citizen's disclosure finds nothing (their access log
// is gone too). Failing closed is the decision: an unseal entry names the citizen's commitment
// under a fresh salt and hands the details to the citizen, and neither is possible or lawful
// once they are erased.
//
// An erasure finds the citizen's sealed accesses by opening every box (the sealed accesses are
// few: court orders); a box that does not open leaves the erasure unfinished (it is retried),
// since the hub cannot then tell whether it names the citizen. A restore replays it the same way
// for every erased citizen on the ledger (ReplaySealedErasures).
//
// A sealed read that raced the erasure (it found the citizen's records just before they went)
// cannot leave a box behind: the erasure writes its tombstone before it looks for sealed
// accesses, and a sealed read looks for the tombstone after keeping its box and before
// appending its entry (appendAccess); if it finds one, it erases its own box and fails with
// ErrErased, releasing nothing.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
)

// SealedEraser destroys an erased citizen's sealed access details (see the file comment). It
// needs the store and the master key, not the oversight key: a hub that no longer takes sealed
// reads still erases what it kept of the earlier ones. Safe for concurrent use.
type SealedEraser struct {
	s *Sealer
}

// NewSealedEraser returns the eraser of st's sealed accesses, whose boxes master opens.
func NewSealedEraser(st SealedStore, master SealingKey) (*SealedEraser, error) {
	if st == nil || master == nil {
		return nil, errors.New("hub: NewSealedEraser needs the sealed accesses' store and the master key")
	}
	return &SealedEraser{s: &Sealer{store: st, master: master}}, nil
}

// EraseCitizen destroys the details of every sealed access of citizen, and returns how many it
// erased now (0 when there were none, or when they were erased already).
func (e *SealedEraser) EraseCitizen(ctx context.Context, citizen string) (int, error) {
	if citizen == "" {
		return 0, errors.New("hub: erasing the sealed accesses of no citizen")
	}
	return e.erase(ctx, func(c string) bool { return c == citizen })
}

// ReplaySealedErasures destroys the details of every sealed access whose citizen is among erased
// (ErasureDigest under indexKey, as ErasuresOnLedger returns them): what a restore from an older
// backup does (ReplayErasures). It returns how many it erased.
func (e *SealedEraser) ReplaySealedErasures(ctx context.Context, indexKey []byte, erased map[string]uint64) (int, error) {
	if len(erased) == 0 {
		return 0, nil
	}
	return e.erase(ctx, func(c string) bool {
		_, ok := erased[string(ErasureDigest(indexKey, c))]
		return ok
	})
}

func (e *SealedEraser) erase(ctx context.Context, match func(citizen string) bool) (int, error) {
	st := e.s.store
	all, err := st.SealedAccesses(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing sealed accesses: %w", err)
	}
	n := 0
	for _, a := range all {
		if a.Erased {
			continue
		}
		b, err := e.s.unlock(a.ID, a.Box)
		if err != nil {
			return n, fmt.Errorf("sealed access %s does not open, so whether it names the citizen is unknown: %w", a.ID, err)
		}
		if b.Erased || !match(b.Citizen) {
			continue
		}
		if err := e.s.eraseOne(ctx, a.ID, detailsDepartment(b.Details)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// eraseOne replaces the box of the sealed access id with a stub naming department alone, and
// deletes its oversight copy.
func (s *Sealer) eraseOne(ctx context.Context, id, department string) error {
	stub, err := s.lock(rand.Reader, id, sealedBox{Erased: true, Department: department})
	if err != nil {
		return fmt.Errorf("sealing the stub of sealed access %s: %w", id, err)
	}
	if err := s.store.EraseSealedAccess(ctx, id, stub); err != nil {
		return fmt.Errorf("erasing sealed access %s: %w", id, err)
	}
	return nil
}

// errSealedErased is the error of an unseal (or a disclosure) of an erased sealed access.
func errSealedErased(index uint64) error {
	return fmt.Errorf("%w: sealed access %d concerned a citizen whose data was erased; its details were destroyed, and it is never unsealed", ErrErased, index)
}
