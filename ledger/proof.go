package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	// ErrNotIntegrated: the entry or tree size asked for is beyond the latest checkpoint.
	ErrNotIntegrated = errors.New("ledger: not yet covered by a checkpoint")
	// ErrInvalidProof: a proof does not verify.
	ErrInvalidProof = errors.New("ledger: invalid proof")
)

// tileCache keeps tiles read from storage. Any tile of a given width is immutable (a partial tile
// is a prefix of the full one), so entries never go stale; the cache only bounds its size.
type tileCache struct {
	mu    sync.Mutex
	max   int
	tiles map[tlog.Tile][]byte
	order []tlog.Tile
}

func newTileCache(max int) *tileCache { return &tileCache{max: max, tiles: map[tlog.Tile][]byte{}} }

func (c *tileCache) get(t tlog.Tile) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.tiles[t]
	return d, ok
}

func (c *tileCache) put(t tlog.Tile, d []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.tiles[t]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.tiles, c.order[0])
		c.order = c.order[1:]
	}
	c.tiles[t] = d
	c.order = append(c.order, t)
}

// tileReader serves tlog's TileHashReader from storage through the cache.
type tileReader struct {
	ctx   context.Context
	ts    TileStorage
	cache *tileCache
}

func (r tileReader) Height() int { return TileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if d, ok := r.cache.get(t); ok {
			out[i] = d
			continue
		}
		d, err := r.ts.ReadTile(r.ctx, uint(t.L), uint64(t.N))
		if err != nil {
			return nil, fmt.Errorf("reading tile %d/%d: %w", t.L, t.N, err)
		}
		if len(d) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %d/%d holds %d hashes, want %d", t.L, t.N, len(d)/tlog.HashSize, t.W)
		}
		out[i] = d[:t.W*tlog.HashSize]
	}
	return out, nil
}

// SaveTiles is called by tlog once tiles are authenticated against the tree root: only then are
// they cached.
func (r tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, t := range tiles {
		r.cache.put(t, bytes.Clone(data[i]))
	}
}

// hashReader reads stored hashes of the latest integrated tree, authenticated against its root.
func (l *Log) hashReader(ctx context.Context) (tlog.HashReader, Checkpoint) {
	cp := l.Integrated()
	tree := tlog.Tree{N: int64(cp.Size), Hash: cp.Root}
	return tlog.TileHashReader(tree, tileReader{ctx: ctx, ts: l.tileStore, cache: l.tiles}), cp
}

// ProveInclusion returns the RFC 6962 inclusion proof of entry index in the tree of size treeSize
// (which no checkpoint may be smaller than: ErrNotIntegrated).
func (l *Log) ProveInclusion(ctx context.Context, index, treeSize uint64) ([]tlog.Hash, error) {
	r, cp := l.hashReader(ctx)
	if treeSize > cp.Size {
		return nil, fmt.Errorf("%w: tree size %d, latest checkpoint %d", ErrNotIntegrated, treeSize, cp.Size)
	}
	if index >= treeSize {
		return nil, fmt.Errorf("ledger: entry %d is not in a tree of size %d", index, treeSize)
	}
	p, err := tlog.ProveRecord(int64(treeSize), int64(index), r)
	if err != nil {
		return nil, fmt.Errorf("ledger: proving entry %d in tree %d: %w", index, treeSize, err)
	}
	return p, nil
}

// ProveConsistency returns the RFC 6962 consistency proof from the tree of size from to the tree of
// size to.
func (l *Log) ProveConsistency(ctx context.Context, from, to uint64) ([]tlog.Hash, error) {
	r, cp := l.hashReader(ctx)
	if to > cp.Size {
		return nil, fmt.Errorf("%w: tree size %d, latest checkpoint %d", ErrNotIntegrated, to, cp.Size)
	}
	if from > to {
		return nil, fmt.Errorf("ledger: no consistency proof from %d down to %d", from, to)
	}
	if from == 0 || from == to {
		return nil, nil
	}
	p, err := tlog.ProveTree(int64(to), int64(from), r)
	if err != nil {
		return nil, fmt.Errorf("ledger: proving %d consistent with %d: %w", from, to, err)
	}
	return p, nil
}

// TreeRoot returns the root hash of the tree of size n (no larger than the latest checkpoint).
func (l *Log) TreeRoot(ctx context.Context, n uint64) (tlog.Hash, error) {
	r, cp := l.hashReader(ctx)
	if n > cp.Size {
		return tlog.Hash{}, fmt.Errorf("%w: tree size %d, latest checkpoint %d", ErrNotIntegrated, n, cp.Size)
	}
	return tlog.TreeHash(int64(n), r)
}

// Entry returns the canonical bytes of an integrated entry, read from its entry bundle.
func (l *Log) Entry(ctx context.Context, index uint64) ([]byte, error) {
	if cp := l.Integrated(); index >= cp.Size {
		return nil, fmt.Errorf("%w: entry %d, latest checkpoint %d", ErrNotIntegrated, index, cp.Size)
	}
	data, err := l.bundleStore.ReadBundle(ctx, index/tileWidth)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading the bundle of entry %d: %w", index, err)
	}
	entries, err := ParseBundle(data)
	if err != nil {
		return nil, err
	}
	i := int(index % tileWidth)
	if i >= len(entries) {
		return nil, fmt.Errorf("ledger: the bundle of entry %d is too short", index)
	}
	return entries[i], nil
}

// CheckInclusion verifies that leafHash is entry index of the tree the checkpoint signs.
func CheckInclusion(proof []tlog.Hash, cp Checkpoint, index uint64, leafHash tlog.Hash) error {
	if index >= cp.Size {
		return fmt.Errorf("%w: entry %d is not in a tree of size %d", ErrInvalidProof, index, cp.Size)
	}
	if err := tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(index), leafHash); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidProof, err)
	}
	return nil
}

// CheckConsistency verifies that the tree of checkpoint old is a prefix of the tree of checkpoint new.
func CheckConsistency(proof []tlog.Hash, old, new Checkpoint) error {
	if old.Size > new.Size {
		return fmt.Errorf("%w: size %d after %d", ErrInvalidProof, new.Size, old.Size)
	}
	if old.Size == new.Size {
		if old.Root != new.Root || len(proof) != 0 {
			return fmt.Errorf("%w: two roots for size %d", ErrInvalidProof, old.Size)
		}
		return nil
	}
	if old.Size == 0 {
		return nil
	}
	if err := tlog.CheckTree(proof, int64(new.Size), new.Root, int64(old.Size), old.Root); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidProof, err)
	}
	return nil
}

// ProofHeader is the first line of a C2SP tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// Proof is a C2SP tlog-proof: an entry's index, its inclusion proof, and the (cosigned) checkpoint
// it is proved against, with optional extra data. In GovHub receipts the extra data is the entry's
// canonical bytes, from which the verifier recomputes the leaf hash. The encoding is
//
//	c2sp.org/tlog-proof@v1
//	extra <base64>            (optional)
//	index <decimal>
//	<base64 hash>             (zero or more: the inclusion proof, leaf's sibling first)
//	<empty line>
//	<the checkpoint, verbatim, signatures included>
type Proof struct {
	Extra      []byte
	Index      uint64
	Hashes     []tlog.Hash
	Checkpoint []byte
}

// Marshal encodes p.
func (p Proof) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	if len(p.Extra) > 0 {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Extra) + "\n")
	}
	b.WriteString("index " + strconv.FormatUint(p.Index, 10) + "\n")
	for _, h := range p.Hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseProof decodes a tlog-proof. It checks the syntax only; CheckProof checks the contents.
func ParseProof(data []byte) (Proof, error) {
	var p Proof
	bad := func(format string, args ...any) (Proof, error) {
		return Proof{}, fmt.Errorf("%w: tlog-proof: %s", ErrInvalidProof, fmt.Sprintf(format, args...))
	}
	head, cp, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return bad("no empty line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != ProofHeader {
		return bad("first line is not %q", ProofHeader)
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil || len(extra) == 0 {
			return bad("malformed extra line")
		}
		p.Extra = extra
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return bad("no index line")
	}
	s := strings.TrimPrefix(lines[0], "index ")
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return bad("index %q is not a canonical decimal", s)
	}
	p.Index = n
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return bad("malformed proof hash %q", l)
		}
		p.Hashes = append(p.Hashes, tlog.Hash(h))
	}
	if len(p.Hashes) > 64 {
		return bad("%d proof hashes", len(p.Hashes))
	}
	p.Checkpoint = cp
	return p, nil
}

// Witness is a witness a verifier trusts: the verifier of its cosignature key.
type Witness = note.Verifier

// CheckProof verifies a tlog-proof offline: the checkpoint is signed by the log key, at least
// quorum of the given witnesses cosigned it, and the inclusion proof binds leafHash at p.Index to
// its root. It returns the checkpoint.
func CheckProof(p Proof, leafHash tlog.Hash, log note.Verifier, witnesses []Witness, quorum int) (Checkpoint, error) {
	cp, err := ParseCheckpoint(p.Checkpoint, log)
	if err != nil {
		return cp, err
	}
	if quorum > 0 {
		if err := CheckCosignatures(p.Checkpoint, log, witnesses, quorum); err != nil {
			return cp, err
		}
	}
	return cp, CheckInclusion(p.Hashes, cp, p.Index, leafHash)
}

// CheckCosignatures verifies that at least quorum of the witnesses cosigned the checkpoint.
func CheckCosignatures(checkpoint []byte, log note.Verifier, witnesses []Witness, quorum int) error {
	vs := append([]note.Verifier{log}, witnesses...)
	n, err := note.Open(checkpoint, note.VerifierList(vs...))
	if err != nil {
		return fmt.Errorf("%w: checkpoint: %v", ErrInvalidSignature, err)
	}
	seen := map[string]bool{}
	for _, s := range n.Sigs {
		for _, w := range witnesses {
			if s.Name == w.Name() && s.Hash == w.KeyHash() {
				seen[s.Name+"/"+strconv.FormatUint(uint64(s.Hash), 16)] = true
			}
		}
	}
	if len(seen) < quorum {
		return fmt.Errorf("%w: %d of the trusted witnesses cosigned the checkpoint, the quorum is %d", ErrInvalidSignature, len(seen), quorum)
	}
	return nil
}
