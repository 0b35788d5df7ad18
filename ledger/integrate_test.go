package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger"
)

// slowTiles is a memStorage whose tile writes take delay, so that an integration round takes at
// least that long.
type slowTiles struct {
	*memStorage
	delay time.Duration
}

func (s slowTiles) WriteTiles(ctx context.Context, tiles []ledger.TileData) error {
	time.Sleep(s.delay)
	return s.memStorage.WriteTiles(ctx, tiles)
}

// afterFirstRound opens a log on st with the given integration interval, appends an entry and
// waits for a checkpoint of it: the integrator is then in the pause after that entry's round. The
// log is shut down when the test ends.
func afterFirstRound(t *testing.T, ctx context.Context, st ledger.Storage, interval time.Duration) (*ledger.Log, ledger.Receipt) {
	t.Helper()
	s, v := keys(t)
	l, err := ledger.New(t.Context(), ledger.Config{Storage: st, Signer: s, Verifier: v}, ledger.WithIntegrationInterval(interval))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	r, err := l.Append(ctx, entry(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.WaitCheckpoint(ctx, r.Index+1); err != nil {
		t.Fatal(err)
	}
	return l, r
}

// secondCheckpointWait appends an entry and waits for a checkpoint of it, then appends another
// right away and returns how long that one waited for a checkpoint of its own: the integrator's
// pause after the first one's round, and the second's round.
func secondCheckpointWait(t *testing.T, st ledger.Storage, interval time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	l, _ := afterFirstRound(t, ctx, st, interval)
	start := time.Now()
	r, err := l.Append(ctx, entry(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.WaitCheckpoint(ctx, r.Index+1); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// After a short round the integrator pauses a quarter of the interval, not all of it: under a
// light load an entry's checkpoint comes sooner. Rounds in memory take well under a millisecond.
func TestShortRoundsPauseAQuarterOfTheInterval(t *testing.T) {
	const interval = 2 * time.Second
	got := secondCheckpointWait(t, newMemStorage(), interval)
	if got < interval/8 || got > interval*3/4 {
		t.Errorf("the second entry's checkpoint came %v after its append; want about %v (a quarter of the interval, %v)", got, interval/4, interval)
	}
}

// After a long round the integrator pauses twice the round, up to the whole interval: under
// load, rounds (each of which holds the store's writer, and rewrites the partial bundle and tiles
// it ends in) keep to about one an interval.
func TestLongRoundsPauseUpToTheInterval(t *testing.T) {
	const interval, round = 800 * time.Millisecond, 900 * time.Millisecond
	got := secondCheckpointWait(t, slowTiles{newMemStorage(), round}, interval)
	if want := interval + round; got < want-300*time.Millisecond || got > want+600*time.Millisecond {
		t.Errorf("the second entry's checkpoint came %v after its append; want about %v (the interval, %v, then its round)", got, want, interval)
	}
}

// Entries waiting in the number of three whole entry bundles end the integrator's pause: under a
// burst they reach a checkpoint in about a round, not after the rest of the pause. (Entries
// appended during that round wait for the next pause, as before.)
func TestABacklogEndsThePause(t *testing.T) {
	const interval = 8 * time.Second // a pause of at least 2 s after each round
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	l, r := afterFirstRound(t, ctx, newMemStorage(), interval)
	// The round of that entry is over, and its pause begun: append 900 entries from 60 callers.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for c := range 60 {
		wg.Go(func() {
			for i := range 15 {
				if _, err := l.Append(ctx, entry(2+c*15+i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	backlog := r.Index + 1 + 768
	if _, err := l.WaitCheckpoint(ctx, backlog); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got > interval/8 {
		t.Errorf("the 768th entry appended during the pause reached a checkpoint %v after the first; want well before the pause (%v) ends", got, interval/4)
	}
}
