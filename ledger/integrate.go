package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Integration: one integrator goroutine folds the sequenced batches, in index order, into the
// hash tiles and entry bundles, signs a checkpoint of the new tree, and advances the tree state by
// compare-and-swap. It also (re)loads the tree from storage: at start-up, on taking over the lease,
// after a failed round, and while following another instance.

// load reads the tree state, checks its checkpoint, and rebuilds the tree's right edge from tiles.
func (l *Log) load(ctx context.Context) error {
	st, err := l.stateStore.ReadTreeState(ctx)
	if err != nil {
		return fmt.Errorf("ledger: reading tree state: %w", err)
	}
	t, err := loadTree(ctx, l.tileStore, st.Size)
	if err != nil {
		return fmt.Errorf("ledger: stored tree of size %d: %w", st.Size, err)
	}
	root, err := t.root()
	if err != nil {
		return fmt.Errorf("ledger: stored tree of size %d: %w", st.Size, err)
	}
	var cp Checkpoint
	if st.Size > 0 || len(st.Checkpoint) > 0 {
		if cp, err = l.parseCheckpoint(st.Checkpoint); err != nil {
			return fmt.Errorf("ledger: latest checkpoint: %w", err)
		}
		if cp.Size != st.Size {
			return fmt.Errorf("ledger: latest checkpoint is for size %d, the tree state says %d", cp.Size, st.Size)
		}
		if cp.Root != root {
			return fmt.Errorf("ledger: stored tiles of the tree of size %d hash to %s, the latest checkpoint says %s", st.Size, root, cp.Root)
		}
		if !bytes.Equal(st.Root, root[:]) {
			return fmt.Errorf("ledger: tree state root differs from its own checkpoint at size %d", st.Size)
		}
	} else {
		// An empty log still gets a signed checkpoint, so that there is always a latest one;
		// unsigned (Note nil, as before anything is published) where this instance holds only a
		// later key than the first (a store being restored from its batches).
		if s, err := l.signerForSize(0); err != nil {
			cp = Checkpoint{Origin: l.keys().eras[0].Verifier.Name(), Root: root}
		} else if cp, err = SignCheckpoint(s, 0, root); err != nil {
			return err
		}
	}
	b, err := loadBundler(ctx, l.bundleStore, st.Size)
	if err != nil {
		return fmt.Errorf("ledger: stored tree of size %d: %w", st.Size, err)
	}
	l.state, l.tree, l.bundles = st, t, b
	l.mu.Lock()
	for first := range l.fresh { // integrated already, by this instance or another
		if first < st.Size {
			delete(l.fresh, first)
		}
	}
	l.mu.Unlock()
	l.publishIntegrated(cp)
	if len(l.witnesses) > 0 {
		text, err := l.stateStore.LatestCosigned(ctx)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return fmt.Errorf("ledger: reading the latest cosigned checkpoint: %w", err)
		default:
			cc, err := l.parseCheckpoint(text)
			if err != nil {
				return fmt.Errorf("ledger: latest cosigned checkpoint: %w", err)
			}
			if cc.Size > st.Size {
				return fmt.Errorf("ledger: a checkpoint of size %d was cosigned, but the stored tree has %d entries", cc.Size, st.Size)
			}
			if root, err := l.rootAt(ctx, cc.Size); err != nil || root != cc.Root {
				return fmt.Errorf("ledger: the cosigned checkpoint of size %d does not match the stored tree", cc.Size)
			}
			l.publishCosigned(cc)
		}
	}
	return nil
}

// rootAt computes the root of the stored tree of size n (at most the integrated size).
func (l *Log) rootAt(ctx context.Context, n uint64) (tlog.Hash, error) {
	if n == 0 {
		return l.tree.root() // only used on an empty tree
	}
	return l.reader.treeRoot(ctx, n)
}

func (l *Log) kickIntegrator() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *Log) integrateLoop(ctx context.Context) {
	defer close(l.intDone)
	tick := time.NewTicker(time.Second) // also picks up batches another writer stored
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.stopInt:
			l.integrateOnce(ctx)
			return
		case <-l.kick:
		case <-tick.C:
		}
		start := time.Now()
		l.integrateOnce(ctx)
		if !l.pause(ctx, l.pauseAfter(time.Since(start))) {
			return
		}
	}
}

// backlogRound is how many entries waiting for integration end the integrator's pause: three whole
// entry bundles. The pause bounds how often rounds rewrite the partial bundle and tiles at the
// log's end (pauseAfter); a round that finds this many entries writes mostly complete bundles and
// tiles, whose content is final, so its rewrites of partial ones are few for the entries it
// carries. Under a burst of appends (tens of thousands a second) entries then reach a checkpoint
// in about a round and a half instead of a pause and a round; a hub's requests (hundreds a
// second) never wait in such numbers, and its rounds keep the pause.
const backlogRound = 3 * tileWidth

// pause waits for d, or until backlogRound entries wait for integration, whichever comes first.
// It reports false when the integrator must stop instead (after a last round, on Shutdown).
func (l *Log) pause(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	kicked := false
	defer func() {
		if kicked { // a batch stored during the pause is integrated by the next round
			l.kickIntegrator()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-l.stopInt:
			l.integrateOnce(ctx)
			return false
		case <-timer.C:
			return true
		case <-l.kick:
			kicked = true
			if l.tree != nil && l.sequenced.Load() >= l.tree.size()+backlogRound {
				return true
			}
		}
	}
}

// pauseFactor is how many times a round's own duration the integrator pauses after it: rounds
// then take at most about a third of the time.
const pauseFactor = 2

// pauseAfter is how long the integrator waits, after a round that took d, before it may start the
// next: pauseFactor times d, at least a quarter of the interval and at most the interval. On a
// store with one writer (the embedded one), a round's writes hold back the sequencer's batches;
// under load a round takes long (a full entry bundle, the tiles, witnesses' round trips), and the
// rounds keep to one an interval, as a fixed pause gave; under a light load a round is short, and
// an entry is integrated, and its checkpoint published, about as soon as the next round can
// start. Every round's checkpoint is signed and, with witnesses, cosigned: the factor bounds
// their share of the time too.
func (l *Log) pauseAfter(d time.Duration) time.Duration {
	return min(l.interval, max(l.interval/4, pauseFactor*d))
}

func (l *Log) integrateOnce(ctx context.Context) {
	if !l.Leading() {
		// Another instance integrates: follow what it publishes.
		l.wasLeading = false
		if err := l.refresh(ctx); err != nil {
			l.logger.WarnContext(ctx, "following the ledger", slog.String("error", err.Error()))
		}
		return
	}
	if !l.wasLeading {
		l.reloadKeys()                      // the previous holder may have rotated the log key
		if err := l.load(ctx); err != nil { // take over from what the previous holder stored
			l.logger.ErrorContext(ctx, "taking over the ledger", slog.String("error", err.Error()))
			return
		}
		l.wasLeading = true
	}
	err := l.integrate(ctx)
	if err != nil {
		l.logger.ErrorContext(ctx, "ledger integration failed", slog.String("error", err.Error()), slog.Uint64("size", l.state.Size))
		// Start again from what storage holds. The failed round may have left the in-memory tree
		// and bundles ahead of the state (and its changes taken): until a reload succeeds, the next
		// round must reload first rather than integrate on top of them.
		if rerr := l.load(ctx); rerr != nil {
			l.wasLeading = false
			l.logger.ErrorContext(ctx, "ledger reload failed", slog.String("error", rerr.Error()))
		}
	} else if len(l.witnesses) > 0 {
		if err = l.cosign(ctx); err != nil {
			l.logger.ErrorContext(ctx, "checkpoint not published", slog.String("error", err.Error()))
		}
	}
	if m := l.mirroring; err == nil && m != nil && len(m.peers) > 0 && m.running.CompareAndSwap(false, true) {
		go func() { // a slow mirror does not hold integration back
			defer m.running.Store(false)
			l.mirrorRound(ctx)
		}()
	}
	l.mu.Lock()
	l.intErr = err
	l.mu.Unlock()
}

// integrate folds every sequenced batch after the integrated tree into it, stores the changed
// tiles and a signed checkpoint, then advances the tree state.
func (l *Log) integrate(ctx context.Context) error {
	old := l.state
	t := l.tree
	limit := l.eraLimit(old.Size)
	for n := 0; t.size() < limit; n++ {
		if n >= 4096 { // at most ~1M entries a round, if this instance can sign where it stops
			if _, err := l.checkpointSigner(t.size()); err == nil {
				break
			}
		}
		next := t.size()
		l.mu.Lock()
		b, ok := l.fresh[next]
		delete(l.fresh, next)
		l.mu.Unlock()
		if !ok {
			var err error
			b, err = l.batchStore.ReadBatch(ctx, next)
			if errors.Is(err, ErrNotFound) {
				break
			}
			if err != nil {
				return fmt.Errorf("reading batch %d: %w", next, err)
			}
			if b.First != next {
				return fmt.Errorf("batch stored under %d claims to start at %d", next, b.First)
			}
		}
		for _, leaf := range b.Leaves {
			h := LeafHash(leaf)
			l.bundles.add(t.size(), leaf)
			if err := t.append(h[:]); err != nil {
				return fmt.Errorf("integrating entry %d: %w", t.size(), err)
			}
		}
	}
	if t.size() == old.Size {
		return nil
	}
	if err := l.bundleStore.WriteBundles(ctx, l.bundles.changed()); err != nil {
		return fmt.Errorf("writing entry bundles for size %d: %w", t.size(), err)
	}
	if err := l.tileStore.WriteTiles(ctx, t.changed()); err != nil {
		return fmt.Errorf("writing tiles for size %d: %w", t.size(), err)
	}
	root, err := t.root()
	if err != nil {
		return err
	}
	cp, err := l.checkpointAt(t.size(), root)
	if err != nil {
		return err
	}
	if err := l.stateStore.AddCheckpoint(ctx, cp.Size, cp.Note); err != nil {
		return fmt.Errorf("storing checkpoint %d: %w", cp.Size, err)
	}
	next := TreeState{Size: cp.Size, Root: root[:], Checkpoint: cp.Note}
	if err := l.stateStore.SwapTreeState(ctx, old, next); err != nil {
		return fmt.Errorf("advancing tree state %d → %d: %w", old.Size, next.Size, err)
	}
	l.state = next
	l.publishIntegrated(cp)
	return nil
}

// refresh reloads the tree from storage when another instance advanced it.
func (l *Log) refresh(ctx context.Context) error {
	st, err := l.stateStore.ReadTreeState(ctx)
	if err != nil {
		return err
	}
	if st.Size == l.state.Size && bytes.Equal(st.Checkpoint, l.state.Checkpoint) {
		if len(l.witnesses) == 0 {
			return nil
		}
		if pub := l.Latest(); pub.Note != nil && pub.Size == st.Size {
			return nil
		}
	}
	return l.load(ctx)
}

// WaitCaughtUp waits until every entry stored when it is called is integrated into a signed
// checkpoint (tools that read entries right after opening the log use it).
func (l *Log) WaitCaughtUp(ctx context.Context) error {
	end, err := l.lastBatchEnd(ctx, l.Integrated().Size)
	if err != nil {
		return err
	}
	for {
		l.kickIntegrator()
		l.mu.Lock()
		size, ch := l.integrated.Size, l.changed
		l.mu.Unlock()
		if size >= end {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("ledger: integrating up to %d: %w", end, ctx.Err())
		}
	}
}
