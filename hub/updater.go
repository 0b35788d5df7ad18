package hub

import (
	"context"
	"errors"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/internal/usecase"
	"hash/fnv"
	"sync"
	"time"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// UpdateLedger is the ledger as updating uses it: appending, and settling whether an update's
// entry landed when its acknowledgement was lost (Latest, FindLeaf), then signing its receipt.
type UpdateLedger interface {
	Appender
	Latest() ledger.Checkpoint
	Sign(index uint64, leafHash [32]byte) (ledger.Receipt, error)
}

// LeafFinder finds where an entry landed by its leaf hash (a ledger.Reader): how an update whose
// acknowledgement was lost learns its index.
type LeafFinder interface {
	// FindLeaf reports the index of the first entry at or after from whose leaf hash is leafHash.
	FindLeaf(ctx context.Context, from uint64, leafHash [32]byte) (uint64, bool, error)
}

// UpdaterConfig holds what changing records needs; all are required.
type UpdaterConfig struct {
	Records RecordStore
	// Keys holds the citizens' wrapped data keys, which Master wraps and unwraps.
	Keys    KeyStore
	Master  MasterKeys
	Pending PendingStore
	// Index is the private subject index every update entry is indexed in.
	Index  SubjectIndex
	Ledger UpdateLedger
	// Leaves finds entries by leaf hash (the log's reader).
	Leaves LeafFinder
	Policy *policy.Engine
	// IndexKey (32 bytes) keys citizen pseudonyms in the private subject index and request digests.
	IndexKey []byte
	// IndexKeys, if set, is the rotating index key ring (subject.Ring, indexkeys.go) used instead
	// of IndexKey.
	IndexKeys *subject.Ring
	// Officials names the official behind each request on its entries.
	Officials *usecase.Officials
	// Integrity authenticates every record written and checks every record read (integrity.go);
	// its Heads are the citizens' record heads.
	Integrity *Integrity
}

// Updater changes records, each change on the ledger before it is written. It is safe for
// concurrent use; within one process it serialises the writers of one citizen's records, and across
// processes their record head does (integrity.go).
type Updater struct {
	core
	records RecordStore
	keys    KeyStore
	keyring keyring
	pending PendingStore
	log     UpdateLedger
	leaves  LeafFinder
	policy  *policy.Engine
	integ   *Integrity
	locks   [256]sync.Mutex // one writer per citizen at a time in this process
	// dropping counts the background deletes of finished pending updates, scheduled or running
	// (dropLater); dropMu keeps its Add apart from Settle's Wait. queueMu guards the ids waiting
	// for their delete (dropIDs) and the one scheduled delete (dropTimer, while dropDue is set).
	dropping  sync.WaitGroup
	dropMu    sync.Mutex
	queueMu   sync.Mutex
	dropIDs   []string
	dropDue   bool
	dropTimer *time.Timer
}

// NewUpdater checks cfg and returns an Updater.
func NewUpdater(cfg UpdaterConfig, opts ...Option) (*Updater, error) {
	if cfg.Records == nil || cfg.Keys == nil || cfg.Master == nil || cfg.Pending == nil || cfg.Ledger == nil || cfg.Leaves == nil || cfg.Policy == nil || cfg.Integrity == nil {
		return nil, errors.New("hub: NewUpdater needs records, data keys, a master key, pending updates, a ledger, its leaf finder, a policy engine and record integrity")
	}
	c, err := newCore(cfg.Ledger, cfg.Index, cfg.IndexKeys, cfg.IndexKey, cfg.Officials, opts)
	if err != nil {
		return nil, err
	}
	return &Updater{core: c, records: cfg.Records, keys: cfg.Keys, keyring: keyring{keys: cfg.Keys, master: cfg.Master},
		pending: cfg.Pending, log: cfg.Ledger, leaves: cfg.Leaves, policy: cfg.Policy, integ: cfg.Integrity}, nil
}

// lockCitizen serialises the writers of one citizen's records within this process: they all move
// the citizen's record head.
func (u *Updater) lockCitizen(citizen string) func() {
	f := fnv.New32a()
	f.Write([]byte(citizen))
	m := &u.locks[f.Sum32()%uint32(len(u.locks))]
	m.Lock()
	return m.Unlock
}
