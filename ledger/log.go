package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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
	// Keys is the log key's history (keys.go), its newest era Verifier's; empty: the log has only
	// ever had the one key, whose text it then does not know (GET log-keys names no key, and the
	// key cannot be rotated). NewKeys of the one era {Key: vkey} gives it.
	Keys Keys
	// Reload, if set, reads the key history and the newest signer again: the log calls it when it
	// meets a checkpoint of an origin it does not know or signs a receipt of an era it has no
	// signer for (another instance rotated the key), and when it takes over the lease.
	Reload func() (Keys, note.Signer, error)
}

// Option changes a default of New.
type Option func(*Log)

// WithMaxBatch sets how many entries one batch document holds at most.
func WithMaxBatch(n int) Option { return func(l *Log) { l.maxBatch = n } }

// WithQueueSize sets how many appends may wait for the sequencer before Append fails fast.
func WithQueueSize(n int) Option { return func(l *Log) { l.queueSize = n } }

// WithIntegrationInterval sets the longest pause between two integration rounds (each round
// writes tiles, the tree state and one signed checkpoint): after a round the integrator pauses
// twice as long as the round took, at least a quarter of this interval and at most all of it, or
// until three entry bundles' worth of entries (768) wait.
func WithIntegrationInterval(d time.Duration) Option { return func(l *Log) { l.interval = d } }

// WithLogger sets where background failures are reported (integration errors, mostly).
func WithLogger(lg *slog.Logger) Option { return func(l *Log) { l.logger = lg } }

// Log is the append-only ledger. One sequencer goroutine batches appends into batch documents
// (a batch is written as soon as the previous write finished, up to the maximum batch size, so a
// lone append costs one database write and batches grow under load); Append returns once the batch
// holding its entry is durable. One integrator goroutine folds sequenced batches into the hash
// tiles, advances the tree state by compare-and-swap, and signs a checkpoint.
//
// Proofs, entries and the tlog-tiles read API are the read side's: Log.Reader.
//
// A Log is safe for concurrent use. It runs until its lifetime context ends or Shutdown is called.
type Log struct {
	// Storage, by the part that uses it: each part reaches the database only through the
	// sub-interfaces of Storage it needs.
	batchStore  BatchStorage  // sequencing, forwarding, integration
	tileStore   TileStorage   // integration
	bundleStore BundleStorage // integration
	stateStore  StateStorage  // integration, publishing
	leaseStore  LeaseStorage  // the lease
	queueStore  QueueStorage  // forwarding to the lease holder

	ks        atomic.Pointer[keyState] // the key history and signers (keys.go, rotate.go)
	reload    func() (Keys, note.Signer, error)
	reloadMu  sync.Mutex
	logger    *slog.Logger
	maxBatch  int
	queueSize int
	interval  time.Duration

	intake    sync.RWMutex // guards closed and sending on queue
	closed    bool
	queue     chan *appendReq
	seqDone   chan struct{}
	stopInt   chan struct{}
	intDone   chan struct{}
	kick      chan struct{}
	next      uint64        // sequencer goroutine only: index of the next entry
	sequenced atomic.Uint64 // next, as the integrator reads it (setNext)
	linkData  []byte        // sequencer goroutine only: a link entry still to write (rotate.go)
	stopOnce  sync.Once

	mu         sync.Mutex
	fresh      map[uint64]Batch // sequenced, not yet integrated, by first index
	integrated Checkpoint       // the latest checkpoint the log signed
	published  Checkpoint       // the latest checkpoint cosigned by a quorum of witnesses (= integrated without witnesses)
	changed    chan struct{}    // closed and replaced whenever either changes
	intErr     error
	failed     error // set by Fail: the log refuses appends

	reader *Reader // the read side: proofs, entries, tiles (reader.go)

	witnesses []*witnessPeer
	quorum    int
	mirroring *MirrorSet // department mirrors (mirroring.go); nil: none

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
	ks, err := newKeyState(cfg.Keys, cfg.Verifier, cfg.Signer)
	if err != nil {
		return nil, err
	}
	l := &Log{
		batchStore:  cfg.Storage,
		tileStore:   cfg.Storage,
		bundleStore: cfg.Storage,
		stateStore:  cfg.Storage,
		leaseStore:  cfg.Storage,
		queueStore:  cfg.Storage,
		reload:      cfg.Reload,
		logger:      slog.New(slog.DiscardHandler),
		maxBatch:    DefaultMaxBatch,
		queueSize:   DefaultQueueSize,
		interval:    DefaultIntegrationInterval,
		seqDone:     make(chan struct{}),
		stopInt:     make(chan struct{}),
		intDone:     make(chan struct{}),
		kick:        make(chan struct{}, 1),
		fresh:       map[uint64]Batch{},
		changed:     make(chan struct{}),
		leaseTTL:    DefaultLeaseTTL,
		stopLease:   make(chan struct{}),
		leaseDone:   make(chan struct{}),
		pullDone:    make(chan struct{}),
	}
	l.ks.Store(ks)
	l.fwd.wait = map[tlog.Hash][]chan uint64{}
	l.reader = &Reader{store: cfg.Storage, keys: l.keys, reload: l.reloadKeys, tiles: newTileCache(4096),
		heads: func(context.Context) (Checkpoint, Checkpoint, error) { return l.Integrated(), l.Latest(), nil }}
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
	l.setNext(next)
	l.resumeLink()
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

// setNext moves the sequencer on to index n (sequencer goroutine only).
func (l *Log) setNext(n uint64) {
	l.next = n
	l.sequenced.Store(n)
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
