package hub

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/storetest"
)

// A citizen named under a re-keyed ring is moved on first use: concurrent first uses all get the
// new pseudonym, and their log (appended under the former one) is under it, nothing left under the
// former; a hub given no store to move in, or told to fail, refuses rather than name anyone under
// a key whose data may not have moved; Shred erases under the former pseudonyms too.
func TestPseudonymsMoveOnFirstUse(t *testing.T) {
	env := storetest.Embedded(t)
	ctx := t.Context()
	k1, k2 := bytes.Repeat([]byte{1}, subject.KeySize), bytes.Repeat([]byte{2}, subject.KeySize)
	ring, err := subject.NewRing(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	const citizen, other = "C000001", "C000002"
	for i, id := range []string{citizen, citizen, other} {
		ref := store.LogRef{Pseudonym: subject.Pseudonym(k1, id), Index: uint64(10 + i), Salt: []byte{byte(i)}, Time: time.Now()}
		if _, err := env.Store.AppendSubjectLog(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	ps := NewPseudonyms(ring, env.Store)
	if got, err := ps.of(ctx, citizen); err != nil || got != subject.Pseudonym(k1, citizen) {
		t.Fatalf("before the re-keying: %s, %v; want the pseudonym under the oldest key", got, err)
	}
	if err := ring.SetPseudonymKeys(subject.KeyID(k2), []string{subject.KeyID(k1)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	names := make([]string, 8)
	errs := make([]error, 8)
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			names[i], errs[i] = ps.of(ctx, citizen)
		}()
	}
	wg.Wait()
	want := subject.Pseudonym(k2, citizen)
	for i := range names {
		if errs[i] != nil || names[i] != want {
			t.Fatalf("first use %d: %s, %v; want %s", i, names[i], errs[i], want)
		}
	}
	page, err := env.Store.SubjectLog(ctx, want, 0, 10)
	if err != nil || len(page.Refs) != 2 || page.Refs[0].Index != 11 || page.Refs[1].Index != 10 {
		t.Errorf("the log under the new pseudonym = %+v, %v; want entries 11 and 10", page.Refs, err)
	}
	// Only the former log's head (a sequence number) stays, for the final round.
	if old, err := env.Store.SubjectLog(ctx, subject.Pseudonym(k1, citizen), 0, 10); err != nil || len(old.Refs) != 0 {
		t.Errorf("after the first use, accesses left under the former pseudonym: %+v, %v", old.Refs, err)
	}
	if _, err := env.Store.SubjectRef(ctx, subject.Pseudonym(k1, citizen), 10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the first use, the private index reference under the former pseudonym = %v, want ErrNotFound", err)
	}
	if under, err := env.Store.PseudonymsUnder(ctx, []string{subject.Pseudonym(k1, other)}); err != nil || len(under) != 1 {
		t.Errorf("another citizen, not used yet, was moved: %v, %v", under, err)
	}

	if _, err := NewPseudonyms(ring, nil).of(ctx, other); !errors.Is(err, ErrUnavailable) {
		t.Errorf("without a store to move in = %v, want ErrUnavailable", err)
	}
	ps.Fail(errors.New("the key files lack the pseudonym key"))
	if _, err := ps.of(ctx, citizen); !errors.Is(err, ErrUnavailable) {
		t.Errorf("after Fail = %v, want ErrUnavailable", err)
	}
	ps.Fail(nil)
	if got, err := ps.of(ctx, citizen); err != nil || got != want {
		t.Errorf("after Fail(nil) = %s, %v", got, err)
	}

	// Erasing the citizen not moved yet deletes their log under the former pseudonym.
	if err := Shred(ctx, env.Store, env.Store, ring, other); err != nil {
		t.Fatal(err)
	}
	if under, err := env.Store.PseudonymsUnder(ctx, []string{subject.Pseudonym(k1, other), subject.Pseudonym(k2, other)}); err != nil || len(under) != 0 {
		t.Errorf("after Shred, the citizen still has data under %v (%v)", under, err)
	}
	if _, err := env.Store.SubjectRef(ctx, subject.Pseudonym(k1, other), 12); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after Shred, the private index reference under the former pseudonym = %v, want ErrNotFound", err)
	}
}

// firstMoveGivesUp is the real store, whose first move waits until its request ends.
type firstMoveGivesUp struct {
	PseudonymMover
	once    sync.Once
	started chan struct{}
}

func (m *firstMoveGivesUp) MovePseudonyms(ctx context.Context, moves []store.PseudonymMove, final bool) (int, error) {
	first := false
	m.once.Do(func() { first = true })
	if first {
		close(m.started)
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return m.PseudonymMover.MovePseudonyms(ctx, moves, final)
}

// A request waiting for another's move of the same citizen moves the citizen itself when that
// request gives up, rather than fail with the other's cancellation.
func TestPseudonymsWaiterMovesWhenTheMoverGivesUp(t *testing.T) {
	env := storetest.Embedded(t)
	k1, k2 := bytes.Repeat([]byte{1}, subject.KeySize), bytes.Repeat([]byte{2}, subject.KeySize)
	ring, err := subject.NewRing(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.SetPseudonymKeys(subject.KeyID(k2), []string{subject.KeyID(k1)}); err != nil {
		t.Fatal(err)
	}
	const citizen = "C000001"
	if _, err := env.Store.AppendSubjectLog(t.Context(), store.LogRef{Pseudonym: subject.Pseudonym(k1, citizen), Index: 7, Salt: []byte{7}, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	mover := &firstMoveGivesUp{PseudonymMover: env.Store, started: make(chan struct{})}
	ps := NewPseudonyms(ring, mover)
	ctx, cancel := context.WithCancel(t.Context())
	leader := make(chan error, 1)
	go func() { _, err := ps.of(ctx, citizen); leader <- err }()
	<-mover.started
	waiter := make(chan error, 1)
	go func() { _, err := ps.of(t.Context(), citizen); waiter <- err }()
	time.Sleep(50 * time.Millisecond) // the second request waits for the first's move
	cancel()
	if err := <-leader; err == nil {
		t.Fatal("the request that gave up got no error")
	}
	if err := <-waiter; err != nil {
		t.Fatalf("the waiting request = %v, want it to move the citizen itself", err)
	}
	page, err := env.Store.SubjectLog(t.Context(), subject.Pseudonym(k2, citizen), 0, 10)
	if err != nil || len(page.Refs) != 1 || page.Refs[0].Index != 7 {
		t.Errorf("the log under the new pseudonym = %+v, %v", page.Refs, err)
	}
}
