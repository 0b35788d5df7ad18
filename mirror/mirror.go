package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/ledger"
)

// Errors the mirror reports when it refuses a checkpoint or its contents. Test them with errors.Is.
var (
	// ErrSignature: the checkpoint does not verify under the log's key.
	ErrSignature = errors.New("mirror: the checkpoint's log signature does not verify")
	// ErrQuorum: fewer than the quorum of trusted witnesses cosigned the checkpoint.
	ErrQuorum = errors.New("mirror: the checkpoint lacks the witness quorum")
	// ErrFork: the log signed a checkpoint inconsistent with one the mirror stored. The mirror
	// stops advancing for good (until an operator looks into it and restarts it).
	ErrFork = errors.New("mirror: FORK: the log signed a checkpoint inconsistent with the mirror's copy")
	// ErrBehind: the log served a checkpoint older than the mirror's, consistent with it. The
	// mirror does not roll back; it reports this and waits for the log to catch up.
	ErrBehind = errors.New("mirror: the log is behind the mirror")
	// ErrContents: a hash tile or entry bundle the log served does not match its checkpoint.
	ErrContents = errors.New("mirror: the log served contents that do not match its checkpoint")
)

// Storage is what the mirror keeps its copy in: the hub's own ledger storage (store/mongostore
// implements it), used with the same documents the hub's log writes: hash tiles, entry bundles,
// the tree state (whose checkpoint is the mirror checkpoint, with the mirror's cosignature) and
// every checkpoint it advanced to. Every write must be durable when it returns.
type Storage interface {
	ledger.ReaderStorage
	ledger.TileStorage
	ledger.BundleStorage
	ledger.StateStorage
	MetaStorage
}

// Config configures a Mirror.
type Config struct {
	// LogURL is the log's tlog-tiles URL prefix (the hub's base URL).
	LogURL string
	// Token returns the bearer token sent with entry bundle requests (nil or "": none).
	Token func() (string, error)
	// Log is the log's first verifier key: the mirror learns later ones from the log's key
	// history, verified from this one (keys.go).
	Log note.Verifier
	// LogKey is Log in note format, for the history the mirror serves at log-keys before the log
	// rotated its key (empty: log-keys is not found until then).
	LogKey string
	// Witnesses are the trusted witnesses' verifier keys (C2SP cosignature/v1); Quorum of them
	// must have cosigned a checkpoint before the mirror advances to it (0: the log's signature
	// alone suffices).
	Witnesses []note.Verifier
	Quorum    int
	// Signer is the mirror's own cosignature/v1 signer (transparency-dev/formats/note).
	Signer note.Signer
	// Store holds the copy.
	Store Storage
	// Interval is how often the mirror polls the log's checkpoint (0: 2s).
	Interval time.Duration
	// HTTPClient fetches from the log (nil: a client with a 30s timeout).
	HTTPClient *http.Client
	// EvidenceDir, when set, receives the checkpoint text of a fork the mirror found
	// (fork-<size>.checkpoint), for an operator to show to others.
	EvidenceDir string
	// BundleAccess decides who may read entry bundles from the mirror: nil serves them to
	// everyone (as the spec expects); otherwise a non-nil error refuses the request, and its
	// status is 401 when the error is ErrNoToken, 403 otherwise.
	BundleAccess func(r *http.Request) error
	Logger       *slog.Logger
}

// ErrNoToken is what a BundleAccess returns for a request without credentials (401).
var ErrNoToken = errors.New("a bearer token is required")

// state is the mirror checkpoint: the tree the mirror stored in full, and its signed note (the
// log's signature, the witnesses' cosignatures and the mirror's own).
type state struct {
	size uint64
	root tlog.Hash
	note []byte
}

// Mirror follows one log and serves its copy. Create it with New; Run follows the log; Handler
// serves the copy and the cosigning endpoint.
type Mirror struct {
	cfg        Config
	src        *source
	originHash string
	logger     *slog.Logger

	adv      sync.Mutex // one advance (or cosign check) at a time; held to write st, and for forked
	mu       sync.Mutex // guards st for readers outside adv, and the key history's fields below
	st       state
	forked   error
	learning sync.Mutex // one read of the log's key history at a time; guards learntAt, learnErr
	learntAt time.Time  // when it was last read
	learnErr error      // and what came of it

	keys     ledger.Keys          // the log key history
	prefixes map[string]bool      // the origin hashes of its keys: the copy is served under each
	reader   *ledger.Reader       // the copy, read under keys
	roots    map[uint64]tlog.Hash // the tree's root at each era's start (the previous final checkpoint's)
}

// New opens the mirror's copy: the stored log key history must verify from the log's first key
// (Config.Log), the stored mirror checkpoint under that history, and it must match the stored tree
// state.
func New(ctx context.Context, cfg Config) (*Mirror, error) {
	if cfg.Log == nil || cfg.Signer == nil || cfg.Store == nil || cfg.LogURL == "" {
		return nil, errors.New("mirror: Config needs LogURL, Log, Signer and Store")
	}
	if cfg.Quorum > len(cfg.Witnesses) {
		return nil, fmt.Errorf("mirror: a quorum of %d with %d witnesses", cfg.Quorum, len(cfg.Witnesses))
	}
	if cfg.Interval == 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Mirror{cfg: cfg, originHash: originHash(cfg.Log.Name()), logger: cfg.Logger,
		src: &source{base: strings.TrimRight(cfg.LogURL, "/"), client: cfg.HTTPClient, token: cfg.Token}}
	if err := m.loadKeys(ctx); err != nil {
		return nil, err
	}
	st, err := cfg.Store.ReadTreeState(ctx)
	if err != nil {
		return nil, fmt.Errorf("mirror: reading the stored state: %w", err)
	}
	if st.Size > 0 || len(st.Checkpoint) > 0 {
		cp, err := m.Keys().ParseCheckpoint(st.Checkpoint)
		if err != nil {
			return nil, fmt.Errorf("mirror: the stored mirror checkpoint: %w (is this another log's mirror? --log-key must not change)", err)
		}
		if cp.Size != st.Size || !bytes.Equal(cp.Root[:], st.Root) {
			return nil, fmt.Errorf("mirror: the stored mirror checkpoint (size %d) does not match the stored tree state (size %d)", cp.Size, st.Size)
		}
		// The stored tiles along the right edge must hash to the root (ledger.New checks the same).
		if _, err := tlog.TreeHash(int64(cp.Size), tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, storedTiles{ctx, cfg.Store})); err != nil {
			return nil, fmt.Errorf("mirror: the stored copy's hash tiles do not hash to the root of its checkpoint of size %d: %w", cp.Size, err)
		}
		m.st = state{size: cp.Size, root: cp.Root, note: st.Checkpoint}
	}
	return m, nil
}

// OriginHash is the hex SHA-256 of the log's first origin (Config.Log's name): the copy is served
// under /<OriginHash>/, and under the hash of every later origin of the log's key history.
func (m *Mirror) OriginHash() string { return m.originHash }

// Size is the size of the mirror checkpoint.
func (m *Mirror) Size() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.size
}

// Checkpoint returns the mirror checkpoint's note (nil before the first advance).
func (m *Mirror) Checkpoint() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.st.note)
}

// Run follows the log until ctx ends: it polls the log's checkpoint every Interval and advances
// to it. Refusals are logged at error level and retried (a log serving bad contents may recover);
// a fork stops it with ErrFork.
func (m *Mirror) Run(ctx context.Context) error {
	m.logger.InfoContext(ctx, "mirror following the log", slog.String("log", m.cfg.Log.Name()), slog.String("url", m.src.base),
		slog.Uint64("size", m.Size()), slog.Int("witnesses", len(m.cfg.Witnesses)), slog.Int("quorum", m.cfg.Quorum))
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	var lastErr string
	for {
		err := m.Sync(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrFork):
			m.logger.ErrorContext(ctx, "mirror stopped advancing: the log forked", slog.String("error", err.Error()))
			return err
		case err != nil:
			if err.Error() != lastErr { // once per distinct error, not once per poll
				level := slog.LevelError
				if errors.Is(err, ErrBehind) {
					level = slog.LevelWarn
				}
				m.logger.Log(ctx, level, "mirror did not advance", slog.String("error", err.Error()))
			}
			lastErr = err.Error()
		default:
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sync fetches the log's checkpoint and advances to it.
func (m *Mirror) Sync(ctx context.Context) error {
	text, err := m.src.checkpoint(ctx)
	if err != nil {
		return err
	}
	_, err = m.Advance(ctx, text)
	return err
}

// Advance verifies a checkpoint (the log's signature, the witness quorum, consistency with the
// mirror checkpoint), fetches and verifies every entry and hash tile it adds, stores them durably,
// and only then makes it the mirror checkpoint, cosigned. It returns the mirror checkpoint's size
// afterwards. A checkpoint of the mirror's size is checked for consistency and otherwise ignored;
// a smaller one too, and reported as ErrBehind (the mirror never rolls back).
func (m *Mirror) Advance(ctx context.Context, text []byte) (uint64, error) {
	cp, err := m.verify(ctx, text)
	if err != nil {
		return m.Size(), err
	}
	m.adv.Lock()
	defer m.adv.Unlock()
	if m.forked != nil {
		return m.st.size, m.forked
	}
	if err := m.consistent(ctx, cp); err != nil {
		if errors.Is(err, ErrFork) {
			m.fork(ctx, cp, err)
		}
		return m.st.size, err
	}
	if cp.Size < m.st.size {
		return m.st.size, fmt.Errorf("%w: the log's checkpoint has size %d, the mirror's %d (consistent; was the log restored from a backup?)",
			ErrBehind, cp.Size, m.st.size)
	}
	if cp.Size == m.st.size {
		return m.st.size, nil
	}
	start, from := time.Now(), m.st.size
	var n, bytes uint64
	if n, bytes, err = m.copy(ctx, cp); err != nil {
		if errors.Is(err, ErrFork) {
			m.fork(ctx, cp, err)
		}
		return m.st.size, err
	}
	if err := m.commit(ctx, cp); err != nil {
		return m.st.size, err
	}
	took := time.Since(start)
	m.logger.InfoContext(ctx, "mirror advanced", slog.Uint64("size", cp.Size), slog.Uint64("from", from), slog.Uint64("entries", n),
		slog.Uint64("bytes", bytes), slog.Duration("took", took.Round(time.Millisecond)),
		slog.String("entries_per_s", fmt.Sprintf("%.0f", float64(n)/max(took.Seconds(), 1e-6))))
	return cp.Size, nil
}

// verify checks the log's signature, under the key of the checkpoint's origin and size in the
// log key history, and the witness quorum. A checkpoint of an origin the mirror does not know
// makes it read the log's key history first (keys.go).
func (m *Mirror) verify(ctx context.Context, text []byte) (ledger.Checkpoint, error) {
	keys := m.Keys()
	if origin := originOf(text); !knows(keys, origin) {
		if _, err := m.learnKeys(ctx); err != nil {
			return ledger.Checkpoint{}, fmt.Errorf("%w: a checkpoint of origin %q, not a key of the history the mirror holds: %w", ErrSignature, origin, err)
		}
		keys = m.Keys()
	}
	cp, err := keys.ParseCheckpoint(text)
	if err != nil {
		return cp, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if m.cfg.Quorum > 0 {
		if err := keys.CheckCosignatures(text, m.cfg.Witnesses, m.cfg.Quorum); err != nil {
			return cp, fmt.Errorf("%w: checkpoint of size %d: %v", ErrQuorum, cp.Size, err)
		}
	}
	return cp, nil
}

// consistent checks cp against the mirror checkpoint: within the copy, against the stored tiles;
// beyond it, the log's tiles (authenticated against cp's root) must give the mirror checkpoint's
// root at its size.
func (m *Mirror) consistent(ctx context.Context, cp ledger.Checkpoint) error {
	if m.st.size == 0 {
		return nil
	}
	if cp.Size == m.st.size && cp.Root == m.st.root {
		return nil // the usual poll: nothing new
	}
	if cp.Size <= m.st.size {
		h, err := tlog.TreeHash(int64(cp.Size), tlog.TileHashReader(tlog.Tree{N: int64(m.st.size), Hash: m.st.root}, storedTiles{ctx, m.cfg.Store}))
		if err != nil {
			return fmt.Errorf("mirror: the stored copy: %w", err)
		}
		if h != cp.Root {
			return fmt.Errorf("%w: the log's checkpoint of size %d has root %s, the copy's tree of that size has %s",
				ErrFork, cp.Size, cp.Root, h)
		}
		return nil
	}
	tr := newTileReader(ctx, m.src)
	h, err := tlog.TreeHash(int64(m.st.size), tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, tr))
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		if ferr := tr.failed(); ferr != nil {
			return fmt.Errorf("mirror: fetching hash tiles: %w", ferr)
		}
		return fmt.Errorf("%w: the hash tiles served do not authenticate against the checkpoint of size %d: %v", ErrContents, cp.Size, err)
	}
	if h != m.st.root {
		return fmt.Errorf("%w: the log's checkpoint of size %d puts root %s at size %d; the mirror stored %s",
			ErrFork, cp.Size, h, m.st.size, m.st.root)
	}
	return nil
}

// fork records a fork: it stops the mirror and keeps the evidence.
func (m *Mirror) fork(ctx context.Context, cp ledger.Checkpoint, err error) {
	m.forked = err
	attrs := []any{slog.String("error", err.Error()), slog.Uint64("mirror_size", m.st.size), slog.Uint64("log_size", cp.Size)}
	if m.cfg.EvidenceDir != "" {
		file := filepath.Join(m.cfg.EvidenceDir, fmt.Sprintf("fork-%d.checkpoint", cp.Size))
		if werr := os.WriteFile(file, cp.Note, 0o600); werr == nil {
			attrs = append(attrs, slog.String("evidence", file), slog.String("mirror_checkpoint", "GET /"+m.originHash+"/checkpoint"))
		}
	}
	m.logger.ErrorContext(ctx, "FORK: the log signed two inconsistent checkpoints; the mirror stops advancing", attrs...)
}

// fetchAhead is how many entry bundles the mirror fetches ahead of the one it verifies.
const fetchAhead = 8

// bundlesPerWrite is how many entry bundles the mirror verifies before writing them and their tiles.
const bundlesPerWrite = 64

// copy fetches the entries from the mirror checkpoint's size to cp's, checks each entry's leaf
// hash against the log's level-0 tiles authenticated against cp's root, recomputes the hash tiles
// from the leaves, and stores bundles and tiles. It returns the number of entries and their bytes.
func (m *Mirror) copy(ctx context.Context, cp ledger.Checkpoint) (uint64, uint64, error) {
	old := m.st.size
	tb, err := ledger.LoadTreeBuilder(ctx, m.cfg.Store, old)
	if err != nil {
		return 0, 0, fmt.Errorf("mirror: loading the stored tree of size %d: %w", old, err)
	}
	tr := newTileReader(ctx, m.src)
	hashes := tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: cp.Root}, tr)
	m.mu.Lock()
	roots := m.roots
	m.mu.Unlock()
	var bundles []ledger.BundleData
	var fetching, storing time.Duration
	flush := func() error {
		defer func(t time.Time) { storing += time.Since(t) }(time.Now())
		if err := m.cfg.Store.WriteBundles(ctx, bundles); err != nil {
			return fmt.Errorf("mirror: storing entry bundles: %w", err)
		}
		if err := m.cfg.Store.WriteTiles(ctx, tb.Tiles()); err != nil {
			return fmt.Errorf("mirror: storing hash tiles: %w", err)
		}
		bundles = bundles[:0]
		return nil
	}
	var count, size uint64
	defer func() {
		m.logger.DebugContext(ctx, "mirror copy timings", slog.Duration("waiting_for_bundles", fetching), slog.Duration("storing", storing))
	}()
	progress := time.Now()
	// Fetch up to fetchAhead bundles ahead of the one being verified, in order.
	type fetched struct {
		data []byte
		err  error
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan chan fetched, fetchAhead)
	go func() {
		defer close(queue)
		for n := old / 256; n*256 < cp.Size; n++ {
			ch := make(chan fetched, 1)
			select {
			case queue <- ch:
			case <-fctx.Done():
				return
			}
			go func() {
				d, err := m.src.bundle(fctx, n, int(min(256, cp.Size-n*256)))
				ch <- fetched{d, err}
			}()
		}
	}()
	for n := old / 256; n*256 < cp.Size; n++ {
		first := n * 256
		w := int(min(256, cp.Size-first))
		t0 := time.Now()
		ch, ok := <-queue
		if !ok { // the producer stopped: ctx ended
			return count, size, ctx.Err()
		}
		f := <-ch
		data, err := f.data, f.err
		fetching += time.Since(t0)
		if err != nil {
			return count, size, err
		}
		entries, err := ledger.ParseBundle(data)
		if err != nil || len(entries) != w {
			return count, size, fmt.Errorf("%w: entry bundle %d holds %d entries, want %d (%v)", ErrContents, n, len(entries), w, err)
		}
		if first < old { // the partial bundle the copy has: the log's must extend it
			stored, err := m.cfg.Store.ReadBundle(ctx, n)
			if err == nil {
				stored, err = ledger.BundlePrefix(stored, int(old-first))
			}
			if err != nil {
				return count, size, fmt.Errorf("mirror: reading the stored entry bundle %d: %w", n, err)
			}
			if !bytes.HasPrefix(data, stored) {
				return count, size, fmt.Errorf("%w: entry bundle %d does not extend the stored one", ErrContents, n)
			}
		}
		from := max(first, old)
		idx := make([]int64, 0, w)
		for i := from; i < first+uint64(w); i++ {
			idx = append(idx, tlog.StoredHashIndex(0, int64(i)))
		}
		want, err := hashes.ReadHashes(idx)
		if err != nil {
			if ctx.Err() != nil {
				return count, size, ctx.Err()
			}
			if ferr := tr.failed(); ferr != nil {
				return count, size, fmt.Errorf("mirror: fetching hash tiles: %w", ferr)
			}
			return count, size, fmt.Errorf("%w: the hash tiles served for entry bundle %d do not authenticate against the checkpoint of size %d: %v", ErrContents, n, cp.Size, err)
		}
		for j, e := range entries[from-first:] {
			lh := ledger.LeafHash(e)
			if lh != want[j] {
				return count, size, fmt.Errorf("%w: entry %d in entry bundle %d does not hash to the leaf the checkpoint of size %d commits to",
					ErrContents, from+uint64(j), n, cp.Size)
			}
			if err := tb.Append(lh); err != nil {
				return count, size, fmt.Errorf("mirror: %w", err)
			}
			if want, ok := roots[tb.Size()]; ok { // the end of an era: its final checkpoint's tree
				if root, err := tb.Root(); err != nil || root != want {
					return count, size, fmt.Errorf("%w: the entries up to %d do not give the root of the final checkpoint of the log key that signed them",
						ErrFork, tb.Size())
				}
			}
			size += uint64(len(e))
		}
		count += first + uint64(w) - from
		bundles = append(bundles, ledger.BundleData{N: n, Count: w, Data: data})
		if len(bundles) == bundlesPerWrite {
			if err := flush(); err != nil {
				return count, size, err
			}
			if time.Since(progress) > 5*time.Second {
				progress = time.Now()
				m.logger.InfoContext(ctx, "mirror copying", slog.Uint64("done", first+uint64(w)), slog.Uint64("target", cp.Size))
			}
		}
	}
	root, err := tb.Root()
	if err != nil {
		return count, size, fmt.Errorf("mirror: %w", err)
	}
	if root != cp.Root {
		return count, size, fmt.Errorf("%w: the entries hash to root %s, the checkpoint of size %d says %s", ErrContents, root, cp.Size, cp.Root)
	}
	return count, size, flush()
}

// commit makes cp, stored in full, the mirror checkpoint: the log's note is stored, then cosigned
// and stored as the tree state. A crash between the two leaves the previous mirror checkpoint.
func (m *Mirror) commit(ctx context.Context, cp ledger.Checkpoint) error {
	if err := m.cfg.Store.AddCheckpoint(ctx, cp.Size, cp.Note); err != nil && !errors.Is(err, ledger.ErrConflict) {
		return fmt.Errorf("mirror: storing the checkpoint of size %d: %w", cp.Size, err)
	}
	sig, err := m.cosign(cp.Note)
	if err != nil {
		return err
	}
	full := append(bytes.Clone(cp.Note), sig...)
	old := ledger.TreeState{Size: m.st.size, Root: m.st.root[:], Checkpoint: m.st.note}
	if m.st.size == 0 && m.st.note == nil {
		old = ledger.TreeState{}
	}
	next := ledger.TreeState{Size: cp.Size, Root: bytes.Clone(cp.Root[:]), Checkpoint: full}
	if err := m.cfg.Store.SwapTreeState(ctx, old, next); err != nil {
		return fmt.Errorf("mirror: storing the mirror checkpoint of size %d: %w (is another mirror process writing the same store?)", cp.Size, err)
	}
	if err := m.cfg.Store.AddCosigned(ctx, cp.Size, full); err != nil {
		m.logger.WarnContext(ctx, "mirror: recording the cosigned checkpoint", slog.String("error", err.Error()))
	}
	m.mu.Lock()
	m.st = state{size: cp.Size, root: cp.Root, note: full}
	m.mu.Unlock()
	return nil
}

// cosign returns the mirror's cosignature line on the checkpoint whose note is text.
func (m *Mirror) cosign(text []byte) ([]byte, error) {
	n, err := note.Open(text, m.Keys().Verifiers())
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: n.Text}, m.cfg.Signer)
	if err != nil {
		return nil, fmt.Errorf("mirror: cosigning: %w", err)
	}
	return signed[len(n.Text)+1:], nil // the signature line, after the blank line
}

// CosignStored returns the mirror's cosignature line on a checkpoint of the log that the mirror
// has stored in full (its size at most the mirror checkpoint's, its root that of the copy's tree
// of that size), advancing to it first when it is larger (which fetches from the log). The
// checkpoint must carry the log's signature and the witness quorum.
func (m *Mirror) CosignStored(ctx context.Context, text []byte) ([]byte, error) {
	cp, err := m.verify(ctx, text)
	if err != nil {
		return nil, err
	}
	if cp.Size > m.Size() {
		if _, err := m.Advance(ctx, text); err != nil {
			return nil, err
		}
	}
	m.adv.Lock()
	defer m.adv.Unlock()
	if m.forked != nil {
		return nil, m.forked
	}
	if cp.Size == 0 || cp.Size > m.st.size {
		return nil, fmt.Errorf("mirror: the checkpoint of size %d is not stored (the mirror is at %d)", cp.Size, m.st.size)
	}
	if err := m.consistent(ctx, cp); err != nil {
		if errors.Is(err, ErrFork) {
			m.fork(ctx, cp, err)
		}
		return nil, err
	}
	return m.cosign(text)
}
