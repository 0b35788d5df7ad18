package mirror

// Following the log across a rotation of its key (ledger/keys.go). The mirror is configured with
// the log's first key only. When it meets a checkpoint whose origin it does not know, it reads the
// log's key history (GET <log>/log-keys), accepts it only if ledger.ParseKeys verifies every
// handover from the trusted first key with the trusted witnesses' quorum, and only if it extends
// the history the mirror holds and its final checkpoints agree with the copy; it stores the history
// (MetaStorage, under keysMeta) before it advances to any checkpoint of the new origin, so that a
// restart needs nothing from the log to check its own stored checkpoint.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// ErrKeys: the log's key history does not verify from the trusted first key, or does not extend
// the one the mirror holds. The mirror does not follow the log past its known origins.
var ErrKeys = errors.New("mirror: the log key history does not verify")

// MetaStorage keeps small documents by key (store/mongostore implements it): the mirror keeps the
// log key history it verified there.
type MetaStorage interface {
	// Meta reads the document stored under key into v (a pointer to a struct), or returns
	// store.ErrNotFound.
	Meta(ctx context.Context, key string, v any) error
	// PutMeta stores v under key, replacing what was there; the write is durable when it returns.
	PutMeta(ctx context.Context, key string, v any) error
}

// keysMeta is the key of the stored history document.
const keysMeta = "mirror_log_keys"

// keysDoc is the stored history: ledger.Keys.Document, as the log published it.
type keysDoc struct {
	Doc string `bson:"doc"`
}

// originOf is a checkpoint's origin, its first line.
func originOf(text []byte) string {
	origin, _, _ := bytes.Cut(text, []byte("\n"))
	return string(origin)
}

// originHash is the lowercase hex SHA-256 of an origin: the path prefix it is served under.
func originHash(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return hex.EncodeToString(h[:])
}

// knows reports whether origin is the origin of one of k's keys.
func knows(k ledger.Keys, origin string) bool {
	for _, e := range k.Eras() {
		if e.Verifier.Name() == origin {
			return true
		}
	}
	return false
}

// fetchKeys reads the key history from src (GET log-keys) and verifies it from the trusted first
// key, with quorum of the witnesses on every final checkpoint.
func fetchKeys(ctx context.Context, src *source, first note.Verifier, ws []note.Verifier, quorum int) (ledger.Keys, error) {
	doc, err := src.get(ctx, "log-keys", false)
	if err != nil {
		return ledger.Keys{}, fmt.Errorf("reading the log key history: %w", err)
	}
	k, err := ledger.ParseKeys(doc, first, ws, quorum)
	if err != nil {
		return ledger.Keys{}, fmt.Errorf("%w from %s: %v", ErrKeys, first.Name(), err)
	}
	return k, nil
}

// eraRoots are the roots the tree must have at the start of every era after the first: those of
// the previous eras' final checkpoints, by size.
func eraRoots(k ledger.Keys) (map[uint64]tlog.Hash, error) {
	out := map[uint64]tlog.Hash{}
	for _, e := range k.Eras()[1:] {
		cp, err := k.ParseCheckpoint(e.Final)
		if err != nil {
			return nil, fmt.Errorf("%w: the final checkpoint before %s: %v", ErrKeys, e.Verifier.Name(), err)
		}
		out[cp.Size] = cp.Root
	}
	return out, nil
}

// Keys is the log key history the mirror follows the log under: the first key alone until the log
// rotated its key.
func (m *Mirror) Keys() ledger.Keys {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys
}

// setKeys makes k the history the mirror verifies and serves under.
func (m *Mirror) setKeys(k ledger.Keys) {
	hashes := map[string]bool{}
	for _, e := range k.Eras() {
		hashes[originHash(e.Verifier.Name())] = true
	}
	reader := ledger.NewReaderKeys(m.cfg.Store, k)
	roots, _ := eraRoots(k) // verified by ParseKeys already
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys, m.prefixes, m.reader, m.roots = k, hashes, reader, roots
}

// loadKeys reads the stored history, verifying it as one fetched from the log.
func (m *Mirror) loadKeys(ctx context.Context) error {
	var d keysDoc
	err := m.cfg.Store.Meta(ctx, keysMeta, &d)
	if errors.Is(err, store.ErrNotFound) {
		k := ledger.SingleKey(m.cfg.Log)
		if m.cfg.LogKey != "" {
			if k, err = ledger.NewKeys([]ledger.Era{{Key: m.cfg.LogKey, Verifier: m.cfg.Log}}); err != nil {
				return fmt.Errorf("mirror: Config.LogKey: %w", err)
			}
			if v := k.Current(); v.Name() != m.cfg.Log.Name() || v.KeyHash() != m.cfg.Log.KeyHash() {
				return errors.New("mirror: Config.LogKey is not the key of Config.Log")
			}
		}
		m.setKeys(k)
		return nil
	}
	if err != nil {
		return fmt.Errorf("mirror: reading the stored log key history: %w", err)
	}
	k, err := ledger.ParseKeys([]byte(d.Doc), m.cfg.Log, m.cfg.Witnesses, m.cfg.Quorum)
	if err != nil {
		return fmt.Errorf("%w: the stored history, from %s: %v (--log-key, --witness and --quorum must not change)", ErrKeys, m.cfg.Log.Name(), err)
	}
	m.setKeys(k)
	return nil
}

// keysInterval is the least time between two reads of the log's key history: a checkpoint of an
// unknown origin (which anyone may post to the cosign endpoint) costs the log one request at most
// this often.
const keysInterval = time.Second

// learnKeys reads the log's key history, checks it, stores it and follows it (see the file
// comment). It reports whether the history grew.
func (m *Mirror) learnKeys(ctx context.Context) (bool, error) {
	m.learning.Lock()
	defer m.learning.Unlock()
	if since := time.Since(m.learntAt); since < keysInterval {
		if m.learnErr == nil {
			return false, nil // read a moment ago, and nothing new
		}
		return false, fmt.Errorf("the log's key history, read %s ago: %w", since.Round(time.Millisecond), m.learnErr)
	}
	m.learntAt = time.Now()
	k, err := m.fetchAndCheck(ctx)
	m.learnErr = err
	if err != nil || len(k.Eras()) == len(m.Keys().Eras()) {
		return false, err
	}
	if err := m.cfg.Store.PutMeta(ctx, keysMeta, keysDoc{Doc: string(k.Document())}); err != nil {
		m.learnErr = fmt.Errorf("mirror: storing the log key history: %w", err)
		return false, m.learnErr
	}
	m.setKeys(k)
	m.logger.InfoContext(ctx, "mirror follows a rotated log key", slog.String("origin", k.Current().Name()),
		slog.Uint64("start", k.Eras()[len(k.Eras())-1].Start), slog.Int("keys", len(k.Eras())))
	return true, nil
}

// fetchAndCheck reads the log's key history and checks it against the one held and the copy.
func (m *Mirror) fetchAndCheck(ctx context.Context) (ledger.Keys, error) {
	k, err := fetchKeys(ctx, m.src, m.cfg.Log, m.cfg.Witnesses, m.cfg.Quorum)
	if err != nil {
		return k, err
	}
	old := m.Keys()
	if !k.Extends(old) {
		return k, fmt.Errorf("%w: the log's history (%d keys) does not extend the one the mirror holds (%d keys, newest %s)",
			ErrKeys, len(k.Eras()), len(old.Eras()), old.Current().Name())
	}
	// Each new final checkpoint the copy covers must be a tree of the copy.
	m.adv.Lock()
	defer m.adv.Unlock()
	for _, e := range k.Eras()[len(old.Eras()):] {
		cp, err := k.ParseCheckpoint(e.Final)
		if err != nil {
			return k, fmt.Errorf("%w: %v", ErrKeys, err)
		}
		if m.forked == nil && cp.Size <= m.st.size {
			if err := m.consistent(ctx, cp); err != nil {
				if errors.Is(err, ErrFork) {
					m.fork(ctx, cp, err)
				}
				return k, err
			}
		}
	}
	return k, nil
}
