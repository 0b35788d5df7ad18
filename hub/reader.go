package hub

import (
	"errors"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/internal/usecase"

	"github.com/govhub/govhub/policy"
)

// ReaderConfig holds what releasing citizen data needs; all are required.
type ReaderConfig struct {
	Records RecordReader
	Lister  Lister
	// Keys holds the citizens' wrapped data keys, which Master unwraps.
	Keys   KeyReader
	Master MasterKeys
	// Index is the private subject index every access entry is indexed in.
	Index  SubjectIndex
	Ledger Appender
	Policy *policy.Engine
	// IndexKey (32 bytes) keys citizen pseudonyms in the private subject index and request digests.
	IndexKey []byte
	// IndexKeys, if set, is the rotating index key ring (subject.Ring, indexkeys.go) used instead
	// of IndexKey.
	IndexKeys *subject.Ring
	// Officials names the official behind each request on its entries.
	Officials *usecase.Officials
	// Integrity checks every record read (integrity.go); shared with the Updater.
	Integrity *Integrity
	// DataKeyCache bounds the cache of unwrapped data keys (recordcache.go), in citizens; 0: none.
	DataKeyCache int
	// Sealer keeps the details of sealed reads (sealed.go); nil: reads under a sealed purpose
	// fail closed.
	Sealer *Sealer
}

// Reader releases citizen data under policy, logging before release. It is safe for concurrent
// use.
type Reader struct {
	core
	records RecordReader
	lister  Lister
	keys    keyring
	policy  *policy.Engine
	integ   *Integrity
	sealer  *Sealer
}

// NewReader checks cfg and returns a Reader.
func NewReader(cfg ReaderConfig, opts ...Option) (*Reader, error) {
	if cfg.Records == nil || cfg.Lister == nil || cfg.Keys == nil || cfg.Master == nil || cfg.Policy == nil || cfg.Integrity == nil {
		return nil, errors.New("hub: NewReader needs records, a lister, data keys, a master key, a policy engine and record integrity")
	}
	c, err := newCore(cfg.Ledger, cfg.Index, cfg.IndexKeys, cfg.IndexKey, cfg.Officials, opts)
	if err != nil {
		return nil, err
	}
	return &Reader{core: c, records: cfg.Records, lister: cfg.Lister, keys: keyring{keys: cfg.Keys, master: cfg.Master, cache: newDataKeyCache(cfg.DataKeyCache)},
		policy: cfg.Policy, integ: cfg.Integrity, sealer: cfg.Sealer}, nil
}

// Policy returns the policy snapshot in force.
func (r *Reader) Policy() *policy.Snapshot { return r.policy.Snapshot() }
