package main

// The log key and its rotations (the protocol is package ledger's, keys.go). In the data
// directory's keys/:
//
//	log.key             the first log key, under the origin --log-origin (the trust anchor that
//	                    `govhub ledger pubkey` prints and verifiers are given)
//	log-N.key           the Nth log key (N ≥ 2), under the origin "<first origin>/N"
//	log.history.json    the key history (ledger.Keys.Document(), also served at GET /log-keys),
//	                    written when the key rotates; absent while there is only log.key
//
// A rotation writes log-N.key first, then (once the old origin's final checkpoint is published)
// log.history.json, by rename, so that an instance reading the files sees either the old history
// or the new one with its key. Hubs sharing the key files read them again when their log meets an
// origin it does not know (ledger.Config.Reload).

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
)

const logHistoryFile = "log.history.json"

// logKeys is a data directory's log keys.
type logKeys struct {
	keys.NoteKey // log.key, the first key: the trust anchor (its Signer signs only before a rotation)
	dir          string
	current      keys.NoteKey // the newest key, which signs
	history      ledger.Keys
}

// logKeyFile is the file of the nth log key (n from 1).
func logKeyFile(n int) string {
	if n <= 1 {
		return "log.key"
	}
	return "log-" + strconv.Itoa(n) + ".key"
}

// logOriginN is the origin of the nth log key.
func logOriginN(first string, n int) string {
	if n <= 1 {
		return first
	}
	return first + "/" + strconv.Itoa(n)
}

// readLogKeys reads the log keys of the key directory dir whose first key is first.
func readLogKeys(dir string, first keys.NoteKey) (logKeys, error) {
	lk := logKeys{NoteKey: first, dir: dir, current: first}
	doc, err := os.ReadFile(filepath.Join(dir, logHistoryFile))
	if errors.Is(err, fs.ErrNotExist) {
		lk.history, err = ledger.NewKeys([]ledger.Era{{Key: first.VerifierKey}})
		return lk, err
	}
	if err != nil {
		return lk, err
	}
	// The hub's own files, but checked all the same: a history that does not follow from log.key
	// is refused rather than trusted.
	if lk.history, err = ledger.ParseKeys(doc, first.Verifier, nil, 0); err != nil {
		return lk, fmt.Errorf("%s: %w", filepath.Join(dir, logHistoryFile), err)
	}
	n := len(lk.history.Eras())
	if n > 1 {
		if lk.current, err = keys.ReadNote(filepath.Join(dir, logKeyFile(n))); err != nil {
			return lk, fmt.Errorf("the log key history has %d keys: %w", n, err)
		}
		if cur := lk.history.Current(); cur.Name() != lk.current.Verifier.Name() || cur.KeyHash() != lk.current.Verifier.KeyHash() {
			return lk, fmt.Errorf("%s is not the newest key of %s", logKeyFile(n), logHistoryFile)
		}
	}
	return lk, nil
}

// config is the ledger configuration of these keys, reading them again on the ledger's demand.
//
// The log asks for them again often on an instance that does not sequence (before each receipt it
// signs for an entry another instance sequenced), so they are read again only when the history file
// changed: a rotation replaces it (by rename) before anything of the new key's era is sequenced, so
// a receipt's index known to be in that era is read after the new file is in place.
func (lk logKeys) config(s ledger.Storage) ledger.Config {
	var (
		mu   sync.Mutex
		seen os.FileInfo // the history file as last read; nil: absent
		last = lk
	)
	return ledger.Config{Storage: s, Signer: lk.current.Signer, Verifier: lk.current.Verifier, Keys: lk.history,
		Reload: func() (ledger.Keys, note.Signer, error) {
			mu.Lock()
			defer mu.Unlock()
			fi, err := os.Stat(filepath.Join(lk.dir, logHistoryFile))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return ledger.Keys{}, nil, err
			}
			unchanged := fi == nil && seen == nil ||
				fi != nil && seen != nil && os.SameFile(fi, seen) && fi.ModTime().Equal(seen.ModTime()) && fi.Size() == seen.Size()
			if !unchanged {
				again, err := readLogKeys(lk.dir, lk.NoteKey)
				if err != nil {
					return ledger.Keys{}, nil, err
				}
				last, seen = again, fi
			}
			return last.history, last.current.Signer, nil
		}}
}

// logSigner returns the current log key's signer, for what the hub signs with the log key besides
// receipts and checkpoints (erasure receipts). After a rotation, by this instance or another
// sharing the key files, it reads the key files again.
func (a *app) logSigner() note.Signer {
	a.logKeyMu.Lock()
	defer a.logKeyMu.Unlock()
	if a.logNow.dir == "" {
		a.logNow = a.keys.log
	}
	if n := len(a.log.Reader().Keys().Eras()); n != len(a.logNow.history.Eras()) {
		if again, err := readLogKeys(a.logNow.dir, a.logNow.NoteKey); err == nil {
			a.logNow = again
		}
	}
	return a.logNow.current.Signer
}

// rotateLogKey rotates the log key (the protocol is package ledger's): the next key file
// log-N.key is made (or the one prepared is taken), the log appends the rotation entry, waits for
// the old origin's final checkpoint, and calls back to store the new history, which is written
// (log.history.json, by rename) before the log switches. With prepare, only the next key file is
// made and its verifier key returned: a hub with witnesses needs that, for they must know the new
// origin before the hub publishes under it (add the key to each, then rotate; mirrors learn it
// from the history, GET /log-keys).
func (a *app) rotateLogKey(ctx context.Context, p auth.Principal, prepare bool) (hub.Rotation, error) {
	a.logRotateMu.Lock()
	defer a.logRotateMu.Unlock()
	if p.Kind != auth.KindOperator {
		return hub.Rotation{}, fmt.Errorf("%w: only operators rotate keys", hub.ErrForbidden)
	}
	cur := a.log.Reader().Keys()
	n := len(cur.Eras()) + 1
	path := a.cfg.path("keys", logKeyFile(n))
	_, statErr := os.Stat(path)
	prepared := statErr == nil
	next, _, err := keys.Note(path, logOriginN(a.keys.log.Verifier.Name(), n))
	if err != nil {
		return hub.Rotation{}, err
	}
	if prepare {
		return hub.Rotation{Key: "log", KeyID: next.VerifierKey}, nil
	}
	if !prepared && a.witnessQuorum > 0 {
		return hub.Rotation{}, fmt.Errorf("this hub's checkpoints need witnesses, which must know the new log key before the hub publishes under it: "+
			"prepare it (govhub keys rotate --key log --prepare prints it; keys/%s now holds it), add it to every witness (--log-key), then rotate again", logKeyFile(n))
	}
	e, err := a.rotation.LogKeyEntry(ctx, p, next.VerifierKey)
	if err != nil {
		return hub.Rotation{}, err
	}
	persist := func(era ledger.Era) error {
		h, err := ledger.NewKeys(append(cur.Eras(), era))
		if err != nil {
			return err
		}
		return keys.Replace(a.cfg.path("keys", logHistoryFile), h.Document())
	}
	r, era, err := a.log.RotateKey(ctx, e, next.Signer, next.VerifierKey, persist)
	if err != nil {
		return hub.Rotation{}, err
	}
	return hub.Rotation{Key: "log", KeyID: next.VerifierKey, Index: r.Index, Start: era.Start}, nil
}
