package main

// Index key rotation without downtime (hub/indexkeys.go says what it means for each use of the
// key).
//
// The index key (keys/index.key) keys the record MACs (through the integrity key), request and
// question digests, access-log cursors, erasure digests and receipts, and the citizens'
// pseudonyms. A rotation records the rotation entry on the ledger first (record line
// RotationDigest("index", subject.KeyID(new key))), then appends the key being replaced to
// keys/index.previous.json (secret, like the key files: mode 0600), then replaces
// keys/index.key, then makes the new key current in the hub's ring: from then on everything is
// written under it, and everything written under an earlier key is still checked and found under
// that key. The record heads and records are then MAC'd again under the new key in the
// background (progress in the log and GET /admin/keys); when that has finished the hub writes
// keys/index.remaced with the current key's id, so that a restart does not scan again, and a
// restart before that resumes it.
//
// The rotation also re-keys the citizens' pseudonyms (rekey.go): the new key becomes the pseudonym
// key the store's meta document indexPseudonymMeta names, and their data moves to it. A hub
// refuses to start if its key files lack a pseudonym key the document names: an
// index.previous.json lost or not restored would otherwise hide citizens' access logs. No key is
// dropped from index.previous.json (cursors, tombstones and receipts made under it still check).
//
// Hubs sharing a database and a copy of the key files read them again every fileKeysRecheck, and
// at once (at most once a second) when they meet a MAC or cursor under none of the keys they hold.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/store"
)

const (
	previousIndexKeysFile = "index.previous.json"
	indexRemacMarker      = "index.remaced"
	// indexPseudonymMeta is the meta document naming the pseudonym key the store is written with.
	indexPseudonymMeta = "index-key/pseudonym"
)

// previousIndexKey is an index key rotated out (secret: the file is a key file).
type previousIndexKey struct {
	Key       []byte    `json:"key"` // 32 bytes, standard base64 in the file
	RetiredAt time.Time `json:"retiredAt"`
}

// readPreviousIndexKeys reads the index keys rotated out, newest first.
func readPreviousIndexKeys(dir string) ([][]byte, error) {
	var all []previousIndexKey
	if err := readPreviousFile(dir, previousIndexKeysFile, &all); err != nil {
		return nil, err
	}
	ks := make([][]byte, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		if len(all[i].Key) != subject.KeySize {
			return nil, fmt.Errorf("%s: key %d is %d bytes, want %d", previousIndexKeysFile, i, len(all[i].Key), subject.KeySize)
		}
		ks = append(ks, all[i].Key)
	}
	return ks, nil
}

// indexRingOf returns the ring of the index key current and those of dir/index.previous.json,
// which reads the files again when asked to (subject.Ring.Refresh).
func indexRingOf(dir string, current []byte) (*subject.Ring, error) {
	prev, err := readPreviousIndexKeys(dir)
	if err != nil {
		return nil, err
	}
	// A rotation interrupted between its two file writes leaves the current key listed as
	// previous too (and a second try lists it twice): not an error.
	var uniq [][]byte
	for _, k := range prev {
		if !bytes.Equal(k, current) && !slices.ContainsFunc(uniq, func(u []byte) bool { return bytes.Equal(u, k) }) {
			uniq = append(uniq, k)
		}
	}
	r, err := subject.NewRing(current, uniq...)
	if err != nil {
		return nil, fmt.Errorf("the index keys in %s: %w", dir, err)
	}
	r.SetReload(func() error { _, err := reloadIndexKeys(dir, r); return err })
	return r, nil
}

// readIndexRing reads a data directory's index keys (for the offline tools: ledger verify, erasure
// replay).
func readIndexRing(dataDir string) (*subject.Ring, error) {
	cur, err := readIndexKey(dataDir)
	if err != nil {
		return nil, err
	}
	return indexRingOf(filepath.Join(dataDir, "keys"), cur)
}

// reloadIndexKeys takes up the index keys of dir into r (another instance rotated), reporting
// whether they changed.
func reloadIndexKeys(dir string, r *subject.Ring) (bool, error) {
	cur, err := keys.ReadSymmetric(filepath.Join(dir, "index.key"))
	if err != nil {
		return false, err
	}
	prev, err := readPreviousIndexKeys(dir)
	if err != nil {
		return false, err
	}
	return r.Update(cur, prev...)
}

// checkPseudonymKey refuses to serve a store whose citizens' pseudonyms were made under another
// pseudonym key than the ring's (see the file comment), and records the key on a new store.
func (a *app) checkPseudonymKey(ctx context.Context) error {
	return checkPseudonymKeyOf(ctx, a.storage.store, a.keys.indexRing, a.cfg.path("keys"), true)
}

// metaStore keeps small documents of hub state (the store's meta collection).
type metaStore interface {
	Meta(ctx context.Context, key string, v any) error
	PutMeta(ctx context.Context, key string, v any) error
}

// pseudonymMeta is the meta document indexPseudonymMeta: the index key the store's citizens are
// named under (subject.KeyID), and the keys they were named under before whose data may not have
// moved yet (rekey.go).
type pseudonymMeta struct {
	ID     string   `bson:"id"`
	Former []string `bson:"former,omitempty"`
}

// checkPseudonymKeyOf takes up into ring the pseudonym keys st's citizens are named under (keys
// from dir), refusing if ring lacks one; record: name ring's on a store that names none yet. The
// offline tools check without recording (a store that names none predates the check, or is new).
func checkPseudonymKeyOf(ctx context.Context, st metaStore, ring *subject.Ring, dir string, record bool) error {
	cur, _ := ring.PseudonymKeys()
	var doc pseudonymMeta
	switch err := st.Meta(ctx, indexPseudonymMeta, &doc); {
	case errors.Is(err, store.ErrNotFound):
		if !record {
			return nil
		}
		doc.ID = subject.KeyID(cur)
		return st.PutMeta(ctx, indexPseudonymMeta, doc)
	case err != nil:
		return fmt.Errorf("reading the pseudonym key's id: %w", err)
	}
	if err := ring.SetPseudonymKeys(doc.ID, doc.Former); err != nil {
		return fmt.Errorf("the store's citizens are named under index key %s (formerly %s), but the index keys of %s lack one: "+
			"keys/index.key or keys/%s is missing or not this store's (restore them with the other key files: govhub keys restore): %w",
			short(doc.ID), shortAll(doc.Former), dir, previousIndexKeysFile, err)
	}
	return nil
}

func shortAll(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = short(id)
	}
	return strings.Join(out, ", ")
}

func short(id string) string { return id[:min(len(id), 16)] }

// indexKeyRotation is the index key rotation's state in a serving hub.
type indexKeyRotation struct {
	mu sync.Mutex // one rotation at a time

	state    sync.Mutex
	running  bool
	progress hub.RemacProgress
	err      string
}

func (r *indexKeyRotation) snapshot() (running bool, p hub.RemacProgress, errText string) {
	r.state.Lock()
	defer r.state.Unlock()
	return r.running, r.progress, r.err
}

// rotateIndexKey replaces the index key: the rotation entry first, then the old key recorded as
// previous, then the new key file, then the ring's current key; then the re-MAC starts.
func (a *app) rotateIndexKey(ctx context.Context, p auth.Principal) (hub.Rotation, error) {
	r := &a.indexRotation
	r.mu.Lock()
	defer r.mu.Unlock()
	dir := a.cfg.path("keys")
	old, err := keys.ReadSymmetric(filepath.Join(dir, "index.key"))
	if err != nil {
		return hub.Rotation{}, err
	}
	key := make([]byte, subject.KeySize)
	if _, err := rand.Read(key); err != nil {
		return hub.Rotation{}, err
	}
	id := subject.KeyID(key)
	index, err := a.rotation.LogRotation(ctx, p, "index", id)
	if err != nil {
		return hub.Rotation{}, err
	}
	if err := appendPreviousFile(dir, previousIndexKeysFile, previousIndexKey{Key: old, RetiredAt: time.Now().UTC()}); err != nil {
		return hub.Rotation{}, fmt.Errorf("recording the previous index key (rotation entry %d names a key that never took effect; rotate again): %w", index, err)
	}
	if err := keys.Replace(filepath.Join(dir, "index.key"), []byte(base64.StdEncoding.EncodeToString(key)+"\n")); err != nil {
		return hub.Rotation{}, fmt.Errorf("storing the new index key (rotation entry %d names a key that never took effect; rotate again): %w", index, err)
	}
	if _, err := reloadIndexKeys(dir, a.keys.indexRing); err != nil {
		return hub.Rotation{}, fmt.Errorf("taking up the new index key: %w", err)
	}
	if a.pseudonyms != nil {
		if err := a.rekeyPseudonyms(ctx, a.life, id); err != nil {
			return hub.Rotation{}, fmt.Errorf("the index key is rotated (entry %d), but the citizens' pseudonyms stay under the former key; rotate again: %w", index, err)
		}
	}
	return hub.Rotation{Key: "index", KeyID: id, Index: index}, nil
}

// remacInBackground MACs every record head and record again under the current index key, unless
// it runs already, or a finished re-MAC left the marker naming the current key, or the key was
// never rotated.
func (a *app) remacInBackground(ctx context.Context, force bool) {
	ring := a.keys.indexRing
	cur := subject.KeyID(ring.Current())
	marker := a.cfg.path("keys", indexRemacMarker)
	if !force {
		if len(ring.Keys()) == 1 {
			return
		}
		if b, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == cur {
			return
		}
	}
	r := &a.indexRotation
	r.state.Lock()
	if r.running {
		r.state.Unlock()
		return
	}
	r.running, r.progress, r.err = true, hub.RemacProgress{}, ""
	r.state.Unlock()
	go func() {
		start := time.Now()
		a.cfg.Logger.InfoContext(ctx, "MACing the records again under the current index key", slog.String("key", short(cur)))
		p, err := a.integrity.RemacRecords(ctx, a.storage.store, func(p hub.RemacProgress) {
			r.state.Lock()
			r.progress = p
			r.state.Unlock()
			a.cfg.Logger.DebugContext(ctx, "re-MAC progress", slog.Int("seen", p.Seen), slog.Int("remaced", p.Remaced))
		})
		r.state.Lock()
		r.running, r.progress = false, p
		if err != nil {
			r.err = err.Error()
		}
		r.state.Unlock()
		if err != nil {
			a.cfg.Logger.ErrorContext(ctx, "MACing the records again stopped; it resumes at the next start", slog.String("error", err.Error()))
			return
		}
		if p.Refused > 0 {
			a.cfg.Logger.ErrorContext(ctx, "records whose MAC matches under no index key were left as they are (reads refuse them)", slog.Int("refused", p.Refused))
		}
		a.cfg.Logger.InfoContext(ctx, "records MAC'd again under the current index key", slog.Int("seen", p.Seen), slog.Int("remaced", p.Remaced),
			slog.Int("changed_meanwhile", p.Gone), slog.Duration("took", time.Since(start).Round(time.Millisecond)))
		switch {
		case subject.KeyID(ring.Current()) != cur:
			// Rotated again meanwhile: what was MAC'd under the key before goes again.
			a.remacInBackground(ctx, true)
		case p.Refused == 0:
			if werr := os.WriteFile(marker, []byte(cur+"\n"), 0o600); werr != nil {
				a.cfg.Logger.WarnContext(ctx, "writing the re-MAC marker", slog.String("error", werr.Error()))
			}
		}
	}()
}
