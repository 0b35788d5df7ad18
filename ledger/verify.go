package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// CorruptionError reports the first entry at which what storage holds disagrees with itself or
// with a signed checkpoint: an entry altered, deleted, reordered, or not canonical.
type CorruptionError struct {
	Index  uint64
	Reason string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("ledger: entry %d: %s", e.Index, e.Reason)
}

// Report summarises a successful verification.
type Report struct {
	From        uint64 // the first entry checked
	Entries     uint64 // the index after the last entry checked
	TreeSize    uint64 // size of the latest checkpoint
	Checkpoints int    // checkpoints whose root was recomputed and matched
	Root        tlog.Hash
}

// Verify recomputes the whole tree from the stored batches and checks, entry by entry, that
// every entry is canonical, that the batches leave no gap, that every stored hash tile and entry
// bundle holds what is recomputed from the entries, and that every stored checkpoint verifies under
// v and has the recomputed root of its size (which also proves consecutive checkpoints consistent).
// It returns a *CorruptionError naming the first bad index, or another error if storage could not
// be read.
func Verify(ctx context.Context, s Storage, v note.Verifier, opts ...VerifyOption) (Report, error) {
	return VerifyFrom(ctx, s, v, 0, opts...)
}

// VerifyOption configures Verify and VerifyFrom.
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	progress func(done, total uint64)
	keys     *Keys
}

// WithKeys has Verify check the stored checkpoints under the log key's history k (a log whose key
// was rotated) rather than under the one key it is given.
func WithKeys(k Keys) VerifyOption {
	return func(c *verifyConfig) { c.keys = &k }
}

// WithProgress has Verify report how far it got to fn: once before the first batch and after
// every batch it checks. done is the index after the last entry checked (the start for the
// first call), total the number of entries verification reaches: the size of the latest
// checkpoint, raised to done when more entries are stored. done never decreases and never
// exceeds total; when verification succeeds, the last call has done == total. fn is called on
// the verifying goroutine and should return quickly (a printer throttles itself).
func WithProgress(fn func(done, total uint64)) VerifyOption {
	return func(c *verifyConfig) { c.progress = fn }
}

// VerifyFrom is Verify for the entries after the largest checkpoint not above from: the tree up to
// that checkpoint is rebuilt from its stored tiles (checked against the checkpoint's root), and
// everything after it is checked as Verify does. Start-up uses it to check the recent entries
// before serving.
func VerifyFrom(ctx context.Context, s Storage, v note.Verifier, from uint64, opts ...VerifyOption) (Report, error) {
	var cfg verifyConfig
	for _, o := range opts {
		o(&cfg)
	}
	keys := SingleKey(v)
	if cfg.keys != nil {
		keys = *cfg.keys
	}
	var rep Report
	st, err := s.ReadTreeState(ctx)
	if err != nil {
		return rep, fmt.Errorf("reading tree state: %w", err)
	}
	type signed struct {
		size uint64
		root tlog.Hash
	}
	var cps []signed
	err = s.Checkpoints(ctx, func(size uint64, text []byte) error {
		cp, err := keys.ParseCheckpoint(text)
		if err != nil {
			return fmt.Errorf("checkpoint stored for size %d: %w", size, err)
		}
		if cp.Size != size {
			return fmt.Errorf("checkpoint stored for size %d is for size %d", size, cp.Size)
		}
		cps = append(cps, signed{cp.Size, cp.Root})
		return nil
	})
	if err != nil {
		return rep, err
	}
	if st.Size > 0 {
		cp, err := keys.ParseCheckpoint(st.Checkpoint)
		if err != nil {
			return rep, fmt.Errorf("latest checkpoint: %w", err)
		}
		if cp.Size != st.Size || !bytes.Equal(cp.Root[:], st.Root) {
			return rep, fmt.Errorf("tree state (size %d) disagrees with its checkpoint (size %d)", st.Size, cp.Size)
		}
		cps = append(cps, signed{cp.Size, cp.Root})
	}
	sort.Slice(cps, func(i, j int) bool { return cps[i].size < cps[j].size })
	var want uint64 // every checkpointed entry must be present
	if len(cps) > 0 {
		want = cps[len(cps)-1].size
		rep.TreeSize = want
	}

	// Start at the largest checkpoint not above from.
	var start uint64
	ci := 0
	for i, c := range cps {
		if c.size <= from {
			start, ci = c.size, i
		}
	}
	rep.From = start
	t, err := loadTree(ctx, s, start)
	if err != nil {
		return rep, fmt.Errorf("loading the tree of size %d: %w", start, err)
	}
	bundles, err := loadBundler(ctx, s, start)
	if err != nil {
		return rep, fmt.Errorf("loading the tree of size %d: %w", start, err)
	}
	handovers, err := keys.handovers()
	if err != nil {
		return rep, err
	}
	partial := map[tileKey][]byte{}
	var lastBundle *BundleData
	checkRoots := func() error {
		for ci < len(cps) && cps[ci].size == t.size() {
			root, err := t.root()
			if err != nil {
				return err
			}
			if root != cps[ci].root {
				first := uint64(0)
				if ci > 0 {
					first = cps[ci-1].size
				}
				// Name the entry if a hash tile tells which one changed.
				for _, td := range t.edge() {
					if err := compareTile(ctx, s, td, t.size()); err != nil {
						return err
					}
				}
				return &CorruptionError{Index: first, Reason: fmt.Sprintf(
					"the entries up to %d hash to %s, but the checkpoint of size %d says %s (the change is at or after %d)",
					t.size(), root, cps[ci].size, cps[ci].root, first)}
			}
			rep.Root = root
			rep.Checkpoints++
			ci++
		}
		return nil
	}
	if err := checkRoots(); err != nil { // the checkpoint at the start
		return rep, err
	}
	next := start
	progress := func() {
		if cfg.progress != nil {
			cfg.progress(next, max(want, next))
		}
	}
	progress()
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		b, err := s.ReadBatch(ctx, next)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return rep, fmt.Errorf("reading batch %d: %w", next, err)
		}
		if b.First != next || len(b.Leaves) == 0 {
			return rep, &CorruptionError{Index: next, Reason: fmt.Sprintf("the batch stored there claims to start at %d with %d entries", b.First, len(b.Leaves))}
		}
		for i, leaf := range b.Leaves {
			index := next + uint64(i)
			if _, err := ParseEntry(leaf); err != nil {
				return rep, &CorruptionError{Index: index, Reason: err.Error()}
			}
			if check, ok := handovers[index]; ok {
				if err := check(leaf); err != nil {
					return rep, &CorruptionError{Index: index, Reason: err.Error()}
				}
			}
			h := LeafHash(leaf)
			bundles.add(index, leaf)
			if err := t.append(h[:]); err != nil {
				return rep, fmt.Errorf("hashing entry %d: %w", index, err)
			}
			if err := checkRoots(); err != nil {
				return rep, err
			}
		}
		next = b.End()
		rep.Entries = next
		progress()
		for _, bd := range bundles.changed() {
			if bd.Count == tileWidth {
				if err := compareBundle(ctx, s, bd, want); err != nil {
					return rep, err
				}
			} else {
				lastBundle = &bd
			}
		}
		for _, td := range t.changed() {
			k := tileKey{td.Level, td.N}
			if len(td.Hashes) < tileWidth*tlog.HashSize {
				partial[k] = td.Hashes
				continue
			}
			delete(partial, k)
			if err := compareTile(ctx, s, td, want); err != nil {
				return rep, err
			}
		}
	}
	if next < want {
		return rep, &CorruptionError{Index: next, Reason: fmt.Sprintf("missing: no stored batch holds it, but a checkpoint covers %d entries", want)}
	}
	if lastBundle != nil {
		if err := compareBundle(ctx, s, *lastBundle, want); err != nil {
			return rep, err
		}
	}
	for k, data := range partial {
		if err := compareTile(ctx, s, TileData{Level: k.level, N: k.n, Hashes: data}, want); err != nil {
			return rep, err
		}
	}
	if ci < len(cps) {
		return rep, &CorruptionError{Index: next, Reason: fmt.Sprintf("a checkpoint of size %d exists but the entries end at %d", cps[ci].size, next)}
	}
	return rep, nil
}

// compareTile checks a recomputed tile against the stored one, within the checkpointed tree.
func compareTile(ctx context.Context, s TileStorage, td TileData, treeSize uint64) error {
	span := uint64(1) << (TileHeight * td.Level) // entries under one hash of this tile
	start := td.N * tileWidth                    // index of the tile's first hash on its level
	// Only hashes of subtrees the checkpointed tree completes must be stored.
	count := uint64(len(td.Hashes) / tlog.HashSize)
	if covered := treeSize / span; covered < start+count {
		if covered <= start {
			return nil
		}
		count = covered - start
	}
	stored, err := s.ReadTile(ctx, td.Level, td.N)
	if errors.Is(err, ErrNotFound) {
		return &CorruptionError{Index: start * span, Reason: fmt.Sprintf("hash tile %d/%d is missing", td.Level, td.N)}
	}
	if err != nil {
		return fmt.Errorf("reading tile %d/%d: %w", td.Level, td.N, err)
	}
	for i := uint64(0); i < count; i++ {
		lo, hi := i*tlog.HashSize, (i+1)*tlog.HashSize
		if uint64(len(stored)) < hi {
			return &CorruptionError{Index: (start + i) * span, Reason: fmt.Sprintf("hash tile %d/%d is too short", td.Level, td.N)}
		}
		if !bytes.Equal(stored[lo:hi], td.Hashes[lo:hi]) {
			first := (start + i) * span
			what := "the entry's hash differs from the one stored in the hash tile (the entry or the tile was altered, or entries were reordered)"
			if td.Level > 0 {
				what = fmt.Sprintf("the hash of entries %d–%d differs from hash tile %d/%d", first, first+span-1, td.Level, td.N)
			}
			return &CorruptionError{Index: first, Reason: what}
		}
	}
	return nil
}

// compareBundle checks a recomputed entry bundle against the stored one, within the checkpointed tree.
func compareBundle(ctx context.Context, s BundleStorage, bd BundleData, treeSize uint64) error {
	start := bd.N * tileWidth
	if treeSize <= start {
		return nil
	}
	count := bd.Count
	if c := treeSize - start; c < uint64(count) {
		count = int(c)
	}
	stored, err := s.ReadBundle(ctx, bd.N)
	if errors.Is(err, ErrNotFound) {
		return &CorruptionError{Index: start, Reason: fmt.Sprintf("entry bundle %d is missing", bd.N)}
	}
	if err != nil {
		return fmt.Errorf("reading entry bundle %d: %w", bd.N, err)
	}
	want, _ := ParseBundle(bd.Data)
	got, err := ParseBundle(stored)
	if err != nil {
		return &CorruptionError{Index: start, Reason: fmt.Sprintf("entry bundle %d: %v", bd.N, err)}
	}
	for i := 0; i < count; i++ {
		if i >= len(got) {
			return &CorruptionError{Index: start + uint64(i), Reason: fmt.Sprintf("entry bundle %d ends before it", bd.N)}
		}
		if !bytes.Equal(got[i], want[i]) {
			return &CorruptionError{Index: start + uint64(i), Reason: fmt.Sprintf("entry bundle %d holds another entry than the batch", bd.N)}
		}
	}
	return nil
}
