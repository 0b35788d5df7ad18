package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Defaults for the log's options.
const (
	DefaultMaxBatch            = 256
	DefaultQueueSize           = 8192
	DefaultIntegrationInterval = 100 * time.Millisecond
)

var (
	// ErrClosed: the log is shutting down and takes no more entries.
	ErrClosed = errors.New("ledger: log is closed")
	// ErrQueueFull: more entries are waiting than the queue holds; retry shortly.
	ErrQueueFull = errors.New("ledger: append queue is full, retry later")
	// ErrCorrupt: a verification found the stored log altered; the log takes no more entries.
	ErrCorrupt = errors.New("ledger: the stored log does not verify; appends are refused")
)

// Config holds what a log needs.
type Config struct {
	Storage  Storage
	Signer   note.Signer   // the log key; its name is the log's origin
	Verifier note.Verifier // the same key's verifier, to check what storage returns
}

// Option changes a default of New.
type Option func(*Log)

// WithMaxBatch sets how many entries one batch document holds at most.
func WithMaxBatch(n int) Option { return func(l *Log) { l.maxBatch = n } }

// WithQueueSize sets how many appends may wait for the sequencer before Append fails fast.
func WithQueueSize(n int) Option { return func(l *Log) { l.queueSize = n } }

// WithIntegrationInterval sets the shortest time between two integration rounds (each round
// writes tiles, the tree state and one signed checkpoint).
func WithIntegrationInterval(d time.Duration) Option { return func(l *Log) { l.interval = d } }

// WithLogger sets where background failures are reported (integration errors, mostly).
func WithLogger(lg *slog.Logger) Option { return func(l *Log) { l.logger = lg } }

// Log is the append-only ledger. One sequencer goroutine batches appends into batch documents
// (a batch is written as soon as the previous write finished, up to the maximum batch size, so a
// lone append costs one database write and batches grow under load); Append returns once the batch
// holding its entry is durable. One integrator goroutine folds sequenced batches into the hash
// tiles, advances the tree state by compare-and-swap, and signs a checkpoint.
//
// A Log is safe for concurrent use. It runs until its lifetime context ends or Shutdown is called.
type Log struct {
	store     Storage
	signer    note.Signer
	verifier  note.Verifier
	logger    *slog.Logger
	maxBatch  int
	queueSize int
	interval  time.Duration

	intake   sync.RWMutex // guards closed and sending on queue
	closed   bool
	queue    chan *appendReq
	seqDone  chan struct{}
	stopInt  chan struct{}
	intDone  chan struct{}
	kick     chan struct{}
	next     uint64 // sequencer goroutine only: index of the next entry
	stopOnce sync.Once

	mu         sync.Mutex
	fresh      map[uint64]Batch // sequenced, not yet integrated, by first index
	integrated Checkpoint       // the latest checkpoint the log signed
	published  Checkpoint       // the latest checkpoint cosigned by a quorum of witnesses (= integrated without witnesses)
	changed    chan struct{}    // closed and replaced whenever either changes
	intErr     error
	failed     error // set by Fail: the log refuses appends

	tiles *tileCache

	witnesses []*witnessPeer
	quorum    int

	// several instances (lease.go)
	instance      string
	leaseTTL      time.Duration
	term          uint64 // lease goroutine only
	leading       bool   // mu
	leaseUntil    time.Time
	stopLease     chan struct{}
	leaseStopOnce sync.Once
	leaseDone     chan struct{}
	pullDone      chan struct{}
	fwd           forwards

	// integrator goroutine only
	wasLeading bool
	state      TreeState
	tree       *tree
	bundles    *bundler
}

type appendReq struct {
	data   []byte
	done   chan appendResult
	queued bool // forwarded by another instance: still in the queue, never forwarded again
}

type appendResult struct {
	index uint64
	err   error
}

// New opens the log kept in cfg.Storage. Before it returns it checks that the stored tiles hash to
// the root of the latest stored checkpoint, and that this checkpoint verifies under the log key;
// a log that fails this check is not served. Background work runs until ctx ends or Shutdown.
func New(ctx context.Context, cfg Config, opts ...Option) (*Log, error) {
	if cfg.Storage == nil || cfg.Signer == nil || cfg.Verifier == nil {
		return nil, errors.New("ledger: New needs storage, signer and verifier")
	}
	if cfg.Signer.Name() != cfg.Verifier.Name() || cfg.Signer.KeyHash() != cfg.Verifier.KeyHash() {
		return nil, errors.New("ledger: signer and verifier are not the same key")
	}
	l := &Log{
		store:     cfg.Storage,
		signer:    cfg.Signer,
		verifier:  cfg.Verifier,
		logger:    slog.New(slog.DiscardHandler),
		maxBatch:  DefaultMaxBatch,
		queueSize: DefaultQueueSize,
		interval:  DefaultIntegrationInterval,
		seqDone:   make(chan struct{}),
		stopInt:   make(chan struct{}),
		intDone:   make(chan struct{}),
		kick:      make(chan struct{}, 1),
		fresh:     map[uint64]Batch{},
		changed:   make(chan struct{}),
		tiles:     newTileCache(4096),
		leaseTTL:  DefaultLeaseTTL,
		stopLease: make(chan struct{}),
		leaseDone: make(chan struct{}),
		pullDone:  make(chan struct{}),
	}
	l.fwd.wait = map[tlog.Hash][]chan uint64{}
	for _, o := range opts {
		o(l)
	}
	if l.maxBatch < 1 || l.queueSize < 1 {
		return nil, errors.New("ledger: batch and queue sizes must be positive")
	}
	l.queue = make(chan *appendReq, l.queueSize)
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	// The sequencer continues after the last stored batch, integrated or not.
	next, err := l.lastBatchEnd(ctx, l.state.Size)
	if err != nil {
		return nil, err
	}
	l.next = next
	if l.instance == "" {
		l.instance = randomName()
	}
	l.leaseOnce(ctx) // a lone instance leads from the start
	go l.leaseLoop(ctx)
	go l.sequence(ctx)
	go l.integrateLoop(ctx)
	go l.pullQueue(ctx)
	l.kickIntegrator()
	return l, nil
}

// load reads the tree state, checks its checkpoint, and rebuilds the tree's right edge from tiles.
func (l *Log) load(ctx context.Context) error {
	st, err := l.store.ReadTreeState(ctx)
	if err != nil {
		return fmt.Errorf("ledger: reading tree state: %w", err)
	}
	t, err := loadTree(ctx, l.store, st.Size)
	if err != nil {
		return fmt.Errorf("ledger: stored tree of size %d: %w", st.Size, err)
	}
	root, err := t.root()
	if err != nil {
		return fmt.Errorf("ledger: stored tree of size %d: %w", st.Size, err)
	}
	var cp Checkpoint
	if st.Size > 0 || len(st.Checkpoint) > 0 {
		if cp, err = ParseCheckpoint(st.Checkpoint, l.verifier); err != nil {
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
		// An empty log still gets a signed checkpoint, so that there is always a latest one.
		if cp, err = SignCheckpoint(l.signer, 0, root); err != nil {
			return err
		}
	}
	b, err := loadBundler(ctx, l.store, st.Size)
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
		text, err := l.store.LatestCosigned(ctx)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return fmt.Errorf("ledger: reading the latest cosigned checkpoint: %w", err)
		default:
			cc, err := ParseCheckpoint(text, l.verifier)
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
	return l.TreeRoot(ctx, n)
}

// lastBatchEnd walks the batches from first (a batch boundary) to the end of the last one.
func (l *Log) lastBatchEnd(ctx context.Context, first uint64) (uint64, error) {
	for {
		b, err := l.store.ReadBatch(ctx, first)
		if errors.Is(err, ErrNotFound) {
			return first, nil
		}
		if err != nil {
			return 0, fmt.Errorf("ledger: reading batch %d: %w", first, err)
		}
		if b.First != first || len(b.Leaves) == 0 {
			return 0, fmt.Errorf("ledger: batch stored under %d claims to start at %d with %d entries", first, b.First, len(b.Leaves))
		}
		first = b.End()
	}
}

// Origin is the log's name, the first line of its checkpoints.
func (l *Log) Origin() string { return l.signer.Name() }

// Verifier is the note verifier of the log key.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Append sequences e and returns once the batch holding it is durable. The receipt carries its index
// and leaf hash, signed by the log key. An error means the entry must be treated as not logged
// (though it may still appear in the log, if the error came after the write).
func (l *Log) Append(ctx context.Context, e Entry) (Receipt, error) {
	data, err := FormatEntry(e)
	if err != nil {
		return Receipt{}, err
	}
	if err := l.Failed(); err != nil {
		return Receipt{}, err
	}
	l.intake.RLock()
	closed := l.closed
	l.intake.RUnlock()
	if closed {
		return Receipt{}, ErrClosed
	}
	if !l.Leading() {
		index, err := l.forward(ctx, data)
		if err != nil {
			return Receipt{}, err
		}
		return signReceipt(l.signer, index, LeafHash(data))
	}
	req := &appendReq{data: data, done: make(chan appendResult, 1)}
	if !l.submit(req) {
		return Receipt{}, ErrQueueFull
	}
	select {
	case res := <-req.done:
		if res.err != nil {
			return Receipt{}, res.err
		}
		return signReceipt(l.signer, res.index, LeafHash(data))
	case <-ctx.Done():
		return Receipt{}, fmt.Errorf("ledger: waiting for the append: %w", ctx.Err())
	}
}

// submit queues a request for the sequencer, or reports that the queue is full or closed.
func (l *Log) submit(req *appendReq) bool {
	l.intake.RLock()
	defer l.intake.RUnlock()
	if l.closed {
		return false
	}
	select {
	case l.queue <- req:
		return true
	default:
		return false
	}
}

func (l *Log) sequence(ctx context.Context) {
	defer close(l.seqDone)
	batch := make([]*appendReq, 0, l.maxBatch)
	for req := range l.queue {
		batch = append(batch[:0], req)
	drain:
		for len(batch) < l.maxBatch {
			select {
			case r, ok := <-l.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		l.writeBatch(ctx, batch)
	}
}

// writeBatch stores one batch at the next index and answers its appends. Without the lease, it
// hands them over to the holder instead.
func (l *Log) writeBatch(ctx context.Context, reqs []*appendReq) {
	if !l.Leading() {
		l.handOver(ctx, reqs)
		return
	}
	for attempt := 0; ; attempt++ {
		leaves := make([][]byte, len(reqs))
		for i, r := range reqs {
			leaves[i] = r.data
		}
		b := Batch{First: l.next, Leaves: leaves}
		err := l.store.AddBatch(ctx, b)
		if errors.Is(err, ErrDuplicate) && attempt < 8 {
			if stored, rerr := l.store.ReadBatch(ctx, b.First); rerr == nil && slices.EqualFunc(stored.Leaves, leaves, bytes.Equal) {
				err = nil // our own write, whose acknowledgement was lost (a driver retry)
			} else if !l.Leading() {
				// Another instance took the lease and wrote there: it sequences these entries.
				l.handOver(ctx, reqs)
				return
			} else {
				// The index is taken: this instance's next index was stale (it just took the lease),
				// or a previous holder's late write landed there. Move past what is stored, and try
				// again there with what that holder did not write.
				next, rest, serr := l.skipStored(ctx, l.next, reqs)
				if serr != nil {
					for _, r := range rest {
						r.done <- appendResult{err: serr}
					}
					return
				}
				l.next, reqs = next, rest
				if len(reqs) == 0 {
					return
				}
				continue
			}
		}
		if err != nil {
			for _, r := range reqs {
				r.done <- appendResult{err: fmt.Errorf("ledger: storing batch at %d: %w", b.First, err)}
			}
			return
		}
		l.next = b.End()
		l.mu.Lock()
		if len(l.fresh) < 1024 {
			l.fresh[b.First] = b
		}
		l.mu.Unlock()
		for i, r := range reqs {
			r.done <- appendResult{index: b.First + uint64(i)}
		}
		l.kickIntegrator()
		return
	}
}

// skipStored walks the batches stored from first (a batch boundary) to the end. Entries taken
// from the queue that it finds there were sequenced by the previous holder, whose write raced
// with this one's reading of the queue: they are answered with the index found, not written again.
// It returns the end of the stored batches and the requests still to write.
func (l *Log) skipStored(ctx context.Context, first uint64, reqs []*appendReq) (uint64, []*appendReq, error) {
	queued := map[tlog.Hash]int{}
	for i, r := range reqs {
		if r.queued {
			queued[LeafHash(r.data)] = i
		}
	}
	answered := make([]bool, len(reqs))
	rest := func() []*appendReq {
		out := reqs[:0:0]
		for i, r := range reqs {
			if !answered[i] {
				out = append(out, r)
			}
		}
		return out
	}
	for {
		b, err := l.store.ReadBatch(ctx, first)
		if errors.Is(err, ErrNotFound) {
			return first, rest(), nil
		}
		if err != nil {
			return 0, rest(), fmt.Errorf("ledger: reading batch %d: %w", first, err)
		}
		if b.First != first || len(b.Leaves) == 0 {
			return 0, rest(), fmt.Errorf("ledger: batch stored under %d claims to start at %d with %d entries", first, b.First, len(b.Leaves))
		}
		for k, leaf := range b.Leaves {
			if i, ok := queued[LeafHash(leaf)]; ok && !answered[i] {
				reqs[i].done <- appendResult{index: b.First + uint64(k)}
				answered[i] = true
			}
		}
		first = b.End()
	}
}

// handOver answers appends this instance may not sequence (it does not hold the lease): its own
// are forwarded to the holder through the queue; those it took from the queue are refused with
// ErrNotLeader, for they are still queued and the holder sequences them (forwarding them again
// would queue a second copy, and both could be sequenced).
func (l *Log) handOver(ctx context.Context, reqs []*appendReq) {
	for _, r := range reqs {
		if r.queued {
			r.done <- appendResult{err: ErrNotLeader}
			continue
		}
		go func() {
			index, err := l.forward(ctx, r.data)
			r.done <- appendResult{index: index, err: err}
		}()
	}
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
		l.integrateOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-l.stopInt:
			l.integrateOnce(ctx)
			return
		case <-time.After(l.interval):
		}
	}
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
	l.mu.Lock()
	l.intErr = err
	l.mu.Unlock()
}

// integrate folds every sequenced batch after the integrated tree into it, stores the changed
// tiles and a signed checkpoint, then advances the tree state.
func (l *Log) integrate(ctx context.Context) error {
	old := l.state
	t := l.tree
	for n := 0; n < 4096; n++ { // at most ~1M entries a round
		next := t.size()
		l.mu.Lock()
		b, ok := l.fresh[next]
		delete(l.fresh, next)
		l.mu.Unlock()
		if !ok {
			var err error
			b, err = l.store.ReadBatch(ctx, next)
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
	if err := l.store.WriteBundles(ctx, l.bundles.changed()); err != nil {
		return fmt.Errorf("writing entry bundles for size %d: %w", t.size(), err)
	}
	if err := l.store.WriteTiles(ctx, t.changed()); err != nil {
		return fmt.Errorf("writing tiles for size %d: %w", t.size(), err)
	}
	root, err := t.root()
	if err != nil {
		return err
	}
	cp, err := SignCheckpoint(l.signer, t.size(), root)
	if err != nil {
		return err
	}
	if err := l.store.AddCheckpoint(ctx, cp.Size, cp.Note); err != nil {
		return fmt.Errorf("storing checkpoint %d: %w", cp.Size, err)
	}
	next := TreeState{Size: cp.Size, Root: root[:], Checkpoint: cp.Note}
	if err := l.store.SwapTreeState(ctx, old, next); err != nil {
		return fmt.Errorf("advancing tree state %d → %d: %w", old.Size, next.Size, err)
	}
	l.state = next
	l.publishIntegrated(cp)
	return nil
}

// publishIntegrated records the latest checkpoint the log signed; without witnesses it is also
// the published one.
func (l *Log) publishIntegrated(cp Checkpoint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.integrated = cp
	if len(l.witnesses) == 0 {
		l.published = cp
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// publishCosigned records a checkpoint cosigned by a quorum of witnesses.
func (l *Log) publishCosigned(cp Checkpoint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cp.Size >= l.published.Size {
		l.published = cp
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// Latest returns the latest published checkpoint: signed by the log and, when the log has
// witnesses, cosigned by a quorum of them. Its Note is nil when no checkpoint was cosigned yet.
func (l *Log) Latest() Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.published
}

// Integrated returns the latest checkpoint the log signed (which may still await cosignatures).
func (l *Log) Integrated() Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.integrated
}

// WaitCheckpoint waits until a published checkpoint covers at least size entries and returns it.
func (l *Log) WaitCheckpoint(ctx context.Context, size uint64) (Checkpoint, error) {
	for {
		l.mu.Lock()
		cp, ch, ierr := l.published, l.changed, l.intErr
		l.mu.Unlock()
		if cp.Size >= size {
			return cp, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if ierr != nil {
				return cp, fmt.Errorf("ledger: no checkpoint covers %d (last integration error: %v): %w", size, ierr, ctx.Err())
			}
			return cp, fmt.Errorf("ledger: no checkpoint covers %d: %w", size, ctx.Err())
		}
	}
}

// Fail makes the log refuse every further append (with ErrCorrupt wrapping cause): what follows a
// failed verification. Readers keep what was already published.
func (l *Log) Fail(cause error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil {
		l.failed = fmt.Errorf("%w: %v", ErrCorrupt, cause)
	}
}

// Failed returns the error set by Fail, if any.
func (l *Log) Failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
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

// Shutdown stops taking entries, writes those already queued, integrates them, and returns when
// done or when ctx ends.
func (l *Log) Shutdown(ctx context.Context) error {
	l.intake.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.intake.Unlock()
	select {
	case <-l.seqDone:
	case <-ctx.Done():
		return fmt.Errorf("ledger: waiting for the sequencer: %w", ctx.Err())
	}
	// Integrate what is left while still holding the lease, then hand the lease over.
	l.stopOnce.Do(func() { close(l.stopInt) })
	for _, done := range []chan struct{}{l.intDone, l.pullDone} {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("ledger: waiting for the integrator: %w", ctx.Err())
		}
	}
	l.leaseStopOnce.Do(func() { close(l.stopLease) })
	select {
	case <-l.leaseDone:
	case <-ctx.Done():
		return fmt.Errorf("ledger: handing over the lease: %w", ctx.Err())
	}
	return nil
}

// refresh reloads the tree from storage when another instance advanced it.
func (l *Log) refresh(ctx context.Context) error {
	st, err := l.store.ReadTreeState(ctx)
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

// Sign signs a receipt for the entry with the given leaf hash at index (for an entry whose index was
// found again after its append's answer was lost). It does not check that the entry is there.
func (l *Log) Sign(index uint64, leafHash [32]byte) (Receipt, error) {
	return signReceipt(l.signer, index, leafHash)
}

// FindLeaf looks for the entry with the given leaf hash among the sequenced entries from index
// from on, which must be a batch boundary (the size of any checkpoint is one). It reports the
// entry's index and whether it was found.
func (l *Log) FindLeaf(ctx context.Context, from uint64, leafHash [32]byte) (uint64, bool, error) {
	for {
		b, err := l.store.ReadBatch(ctx, from)
		if errors.Is(err, ErrNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("ledger: reading batch %d: %w", from, err)
		}
		for i, leaf := range b.Leaves {
			if LeafHash(leaf) == leafHash {
				return b.First + uint64(i), true, nil
			}
		}
		from = b.End()
	}
}
