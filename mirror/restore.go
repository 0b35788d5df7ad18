package mirror

// Restoring a hub's ledger from its mirrors (govhub ledger restore). Copy reads a mirror's copy
// through its tlog-tiles API as any client would: its checkpoint, which must carry the log's
// signature (and the witness quorum, when witnesses are given), and every entry bundle from the
// start, whose leaves must rebuild exactly the checkpoint's root (and, if the caller trusts an
// earlier checkpoint, that checkpoint's root at its size: the copy extends what the caller holds).
// A checkpoint of an origin the log's first key does not name (the log key was rotated) is
// verified under the mirror's log key history (GET log-keys), which ledger.ParseKeys must accept
// from the first key and the witnesses; the leaves must then also give, at each later key's
// start, the root of the previous key's final checkpoint. Nothing from a mirror is handed to the
// caller before the whole tree is verified.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger"
)

// CopyConfig says what a restore trusts.
type CopyConfig struct {
	// Log is the log's first verifier key (the history's first, when the key was rotated);
	// Witnesses and Quorum as in Config.
	Log       note.Verifier
	Witnesses []note.Verifier
	Quorum    int
	// Trusted, when its Note is not nil, is a checkpoint the caller already holds: the copy must
	// be consistent with it (the same root at its size) and at least as large.
	Trusted ledger.Checkpoint
	// Token returns the bearer token for entry bundles (the mirror's consortium readers).
	Token      func() (string, error)
	HTTPClient *http.Client
	// Progress, if not nil, is called after each bundle with the entries read and the total.
	Progress func(done, total uint64)
}

// Snapshot is a mirror's copy, verified by Copy.
type Snapshot struct {
	Checkpoint ledger.Checkpoint
	Entries    [][]byte    // every entry, in order
	Keys       ledger.Keys // the log key history the checkpoint verified under
}

// Copy reads and verifies the whole copy of the mirror at url (its tlog-tiles prefix, e.g.
// http://mirror/<origin hash>) and returns its checkpoint, every entry, in order, and the log key
// history. It holds the entries in memory (about 600 bytes each: some 600 MB for a million), which
// a restore can afford; streaming them to the store as they verify would need the root checked
// before any is kept.
func Copy(ctx context.Context, url string, cfg CopyConfig) (Snapshot, error) {
	cp, entries, keys, err := copyAll(ctx, url, cfg)
	return Snapshot{Checkpoint: cp, Entries: entries, Keys: keys}, err
}

func copyAll(ctx context.Context, url string, cfg CopyConfig) (ledger.Checkpoint, [][]byte, ledger.Keys, error) {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	src := &source{base: strings.TrimRight(url, "/"), client: hc, token: cfg.Token}
	text, err := src.checkpoint(ctx)
	if err != nil {
		return ledger.Checkpoint{}, nil, ledger.Keys{}, err
	}
	keys := ledger.SingleKey(cfg.Log)
	if origin := originOf(text); !knows(keys, origin) {
		if keys, err = fetchKeys(ctx, src, cfg.Log, cfg.Witnesses, cfg.Quorum); err != nil {
			return ledger.Checkpoint{}, nil, keys, fmt.Errorf("%w: a checkpoint of origin %q: %w", ErrSignature, origin, err)
		}
	}
	cp, entries, err := copyUnder(ctx, src, text, keys, cfg)
	return cp, entries, keys, err
}

// copyUnder verifies the checkpoint text under keys and reads every entry it covers.
func copyUnder(ctx context.Context, src *source, text []byte, keys ledger.Keys, cfg CopyConfig) (ledger.Checkpoint, [][]byte, error) {
	cp, err := keys.ParseCheckpoint(text)
	if err != nil {
		return cp, nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if cfg.Quorum > 0 {
		if err := keys.CheckCosignatures(text, cfg.Witnesses, cfg.Quorum); err != nil {
			return cp, nil, fmt.Errorf("%w: checkpoint of size %d: %v", ErrQuorum, cp.Size, err)
		}
	}
	roots, err := eraRoots(keys)
	if err != nil {
		return cp, nil, err
	}
	trusted := cfg.Trusted
	if trusted.Note != nil && cp.Size < trusted.Size {
		return cp, nil, fmt.Errorf("%w: the mirror's checkpoint has size %d, the trusted one %d", ErrBehind, cp.Size, trusted.Size)
	}
	tb, err := ledger.LoadTreeBuilder(ctx, noTiles{}, 0)
	if err != nil {
		return cp, nil, err
	}
	var entries [][]byte
	for n := uint64(0); n*256 < cp.Size; n++ {
		w := int(min(256, cp.Size-n*256))
		data, err := src.bundle(ctx, n, w)
		if err != nil {
			return cp, nil, err
		}
		leaves, err := ledger.ParseBundle(data)
		if err != nil || len(leaves) != w {
			return cp, nil, fmt.Errorf("%w: entry bundle %d: %d entries, %v (want %d)", ErrContents, n, len(leaves), err, w)
		}
		for _, leaf := range leaves {
			if err := tb.Append(ledger.LeafHash(leaf)); err != nil {
				return cp, nil, err
			}
			if trusted.Note != nil && tb.Size() == trusted.Size {
				if root, err := tb.Root(); err != nil || root != trusted.Root {
					return cp, nil, fmt.Errorf("%w: the mirror's first %d entries do not give the trusted checkpoint's root", ErrFork, trusted.Size)
				}
			}
			if want, ok := roots[tb.Size()]; ok {
				if root, err := tb.Root(); err != nil || root != want {
					return cp, nil, fmt.Errorf("%w: the mirror's first %d entries do not give the root of the final checkpoint of the log key that signed them", ErrFork, tb.Size())
				}
			}
		}
		tb.Tiles() // not kept (only the root matters): let the builder forget completed tiles
		entries = append(entries, leaves...)
		if cfg.Progress != nil {
			cfg.Progress(uint64(len(entries)), cp.Size)
		}
	}
	root, err := tb.Root()
	if err != nil {
		return cp, nil, err
	}
	if cp.Size > 0 && root != cp.Root {
		return cp, nil, fmt.Errorf("%w: the mirror's entries do not give its checkpoint's root", ErrContents)
	}
	return cp, entries, nil
}

// noTiles is an empty TileStorage: the tree builder of Copy starts from nothing and keeps nothing.
type noTiles struct{}

func (noTiles) WriteTiles(context.Context, []ledger.TileData) error { return nil }

func (noTiles) ReadTile(context.Context, uint, uint64) ([]byte, error) {
	return nil, ledger.ErrNotFound
}
