package main

// Re-keying the citizens' pseudonyms after an index key rotation (hub/pseudonyms.go says how a
// citizen's data moves).
//
// The store's meta document indexPseudonymMeta names the index key the citizens are named under
// and the former ones whose data may not have moved yet. An index key rotation makes the new key
// the pseudonym key: it writes the document (the new key's id; the key before it, and any former
// key not finished, as former), takes it up, and starts the background move. Every instance
// sharing the store reads the document again every fileKeysRecheck (and its key files when the
// document names a key they lack); an instance that cannot take it up (its key files are a copy
// without the new key) fails every request that names a citizen until it can, rather than name
// one under the wrong key. The background move goes through every registered citizen, waits
// pseudonymGrace (by then every instance has taken up the new key), goes through them all again
// (what an instance appended under a former pseudonym before it learnt of the new key), and then
// drops the finished former keys from the document: nothing is under them any more. A hub that
// stops before that resumes the move when it starts. Progress is in GET /admin/keys.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/store"
)

// pseudonymGrace is how long the background move waits before its final round: every instance
// sharing the store has read the pseudonym key document again by then (fileKeysRecheck).
var pseudonymGrace = 3 * fileKeysRecheck

// rekeyState is the background move of the pseudonyms in a serving hub.
type rekeyState struct {
	mu       sync.Mutex
	running  bool
	progress hub.PseudonymProgress
	err      string
}

func (r *rekeyState) snapshot() (running bool, p hub.PseudonymProgress, errText string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running, r.progress, r.err
}

// readPseudonymMeta reads the pseudonym key document (store.ErrNotFound: none).
func (a *app) readPseudonymMeta(ctx context.Context) (pseudonymMeta, error) {
	var doc pseudonymMeta
	err := a.storage.store.Meta(ctx, indexPseudonymMeta, &doc)
	return doc, err
}

// rekeyPseudonyms makes the index key id (just rotated in) the pseudonym key and starts moving the
// citizens' data to it.
func (a *app) rekeyPseudonyms(ctx, life context.Context, id string) error {
	doc, err := a.readPseudonymMeta(ctx)
	if err != nil {
		return fmt.Errorf("reading the pseudonym key document: %w", err)
	}
	if doc.ID == id {
		return nil
	}
	next := pseudonymMeta{ID: id, Former: []string{doc.ID}}
	for _, f := range doc.Former {
		if f != id && !slices.Contains(next.Former, f) {
			next.Former = append(next.Former, f)
		}
	}
	if err := a.storage.store.PutMeta(ctx, indexPseudonymMeta, next); err != nil {
		return fmt.Errorf("writing the pseudonym key document: %w", err)
	}
	if err := a.keys.indexRing.SetPseudonymKeys(next.ID, next.Former); err != nil {
		return err
	}
	a.rekeyInBackground(life)
	return nil
}

// followPseudonymKeys takes up the pseudonym key document every fileKeysRecheck until ctx ends.
func (a *app) followPseudonymKeys(ctx context.Context) {
	t := time.NewTicker(fileKeysRecheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := a.takeUpPseudonymKeys(ctx)
		if err != nil && ctx.Err() == nil {
			a.cfg.Logger.ErrorContext(ctx, "taking up the store's pseudonym keys; requests that name a citizen fail until it succeeds", slog.String("error", err.Error()))
		}
	}
}

// takeUpPseudonymKeys reads the pseudonym key document into the ring (reading the key files again
// when it names a key the ring lacks). On failure every request that names a citizen fails.
func (a *app) takeUpPseudonymKeys(ctx context.Context) error {
	doc, err := a.readPseudonymMeta(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err // a store error: the requests meet it too
	}
	ring := a.keys.indexRing
	if err = ring.SetPseudonymKeys(doc.ID, doc.Former); err != nil {
		if _, rerr := reloadIndexKeys(a.cfg.path("keys"), ring); rerr != nil {
			err = rerr
		} else {
			err = ring.SetPseudonymKeys(doc.ID, doc.Former)
		}
	}
	if err != nil {
		err = fmt.Errorf("the store names index key %s as the pseudonym key, and this hub's key files lack it (share the key directory): %w", short(doc.ID), err)
	}
	a.pseudonyms.Fail(err)
	return err
}

// rekeyInBackground moves the citizens' data from the former pseudonym keys, unless there are none
// or the move runs already.
func (a *app) rekeyInBackground(ctx context.Context) {
	ring := a.keys.indexRing
	if ring == nil {
		return
	}
	if _, former := ring.PseudonymKeys(); len(former) == 0 {
		return
	}
	r := &a.rekey
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return
	}
	r.running, r.progress, r.err = true, hub.PseudonymProgress{}, ""
	r.mu.Unlock()
	go func() {
		start := time.Now()
		a.cfg.Logger.InfoContext(ctx, "moving the citizens' access logs to their pseudonyms under the current index key")
		wait := func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pseudonymGrace):
				return nil
			}
		}
		moved, err := a.pseudonyms.MoveAll(ctx, wait, func(p hub.PseudonymProgress) {
			r.mu.Lock()
			r.progress = p
			r.mu.Unlock()
			a.cfg.Logger.DebugContext(ctx, "pseudonym move progress", slog.Bool("final", p.Final), slog.Int("citizens", p.Citizens))
		})
		if err == nil {
			err = a.dropFormerPseudonymKeys(ctx, moved)
		}
		r.mu.Lock()
		r.running = false
		if err != nil {
			r.err = err.Error()
		}
		p := r.progress
		r.mu.Unlock()
		if err != nil {
			if ctx.Err() == nil {
				a.cfg.Logger.ErrorContext(ctx, "moving the citizens' access logs stopped; it resumes at the next start", slog.String("error", err.Error()))
			}
			return
		}
		a.cfg.Logger.InfoContext(ctx, "citizens' access logs moved to their pseudonyms under the current index key",
			slog.Int("citizens", p.Citizens), slog.Duration("took", time.Since(start).Round(time.Millisecond)))
		if _, former := ring.PseudonymKeys(); len(former) > 0 {
			a.rekeyInBackground(ctx) // rotated again meanwhile
		}
	}()
}

// dropFormerPseudonymKeys removes the keys moved from the former keys of the pseudonym key
// document, and takes the document up.
func (a *app) dropFormerPseudonymKeys(ctx context.Context, moved [][]byte) error {
	doc, err := a.readPseudonymMeta(ctx)
	if err != nil {
		return fmt.Errorf("reading the pseudonym key document: %w", err)
	}
	gone := make([]string, len(moved))
	for i, k := range moved {
		gone[i] = subject.KeyID(k)
	}
	doc.Former = slices.DeleteFunc(doc.Former, func(id string) bool { return slices.Contains(gone, id) })
	if err := a.storage.store.PutMeta(ctx, indexPseudonymMeta, doc); err != nil {
		return fmt.Errorf("writing the pseudonym key document: %w", err)
	}
	return a.keys.indexRing.SetPseudonymKeys(doc.ID, doc.Former)
}
