package hub

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// AuditStore is what the record audit reads: every record once, in one pass, and one private index
// reference per record, by key. Its methods must be safe for concurrent use.
type AuditStore interface {
	// EachRecordConcurrently calls fn with every record, numbered in the order the store reads
	// them, from up to workers goroutines at once, and returns the first error.
	EachRecordConcurrently(ctx context.Context, workers int, fn func(seq int, r store.Record) error) error
	SubjectRef(ctx context.Context, pseudonym string, index uint64) (store.SubjectRef, error)
	// CountRecords estimates the number of records, for reporting progress only.
	CountRecords(ctx context.Context) (uint64, error)
}

// AuditLedger is what the record audit reads of the ledger (a *ledger.Reader): every integrated
// entry once, in order, and single entries by index. Its methods must be safe for concurrent use.
type AuditLedger interface {
	EachEntry(ctx context.Context, fn func(index, size uint64, entry []byte) error) error
	Entry(ctx context.Context, index uint64) ([]byte, error)
}

// AuditProblem is one record that does not match the ledger.
type AuditProblem struct {
	Citizen, Dataset string
	Version          uint64
	Reason           string
	// Erased: the record belongs to a citizen an erasure entry on the ledger erased (it should not
	// be there: a restore that did not replay the erasure), not a record changed behind the hub's
	// back.
	Erased bool
}

func (p AuditProblem) String() string {
	return fmt.Sprintf("%s record of %s at version %d: %s", p.Dataset, p.Citizen, p.Version, p.Reason)
}

// AuditReport is the outcome of AuditRecords.
type AuditReport struct {
	Records  int
	Problems []AuditProblem
	// Newer counts the records written after the audited checkpoint (WithNewerSkipped), which
	// Records does not count.
	Newer int
	// Erased counts the erasure entries on the ledger: citizens whose records are gone lawfully
	// (no record of theirs is expected, and one found is a problem marked Erased).
	Erased int
}

// AuditStage names what AuditRecords is doing when it reports progress.
type AuditStage int

const (
	// AuditReadingEntries: reading every integrated entry once; done and total count entries.
	AuditReadingEntries AuditStage = iota
	// AuditCheckingRecords: checking the records; done and total count records.
	AuditCheckingRecords
)

// AuditOption configures AuditRecords.
type AuditOption func(*auditConfig)

type auditConfig struct {
	progress func(stage AuditStage, done, total uint64)
	workers  int
	// skipNewer: records at or beyond the audited checkpoint are counted, not checked.
	skipNewer bool
	// keys: the index key ring (WithIndexKeys); nil: the index key alone.
	keys *subject.Ring
}

// WithIndexKeys has AuditRecords use the index key ring instead of the index key alone (after an
// index key rotation, indexkeys.go): an erasure digest under any of its keys names an erased
// citizen, and pseudonyms are under its pseudonym key.
func WithIndexKeys(keys *subject.Ring) AuditOption {
	return func(c *auditConfig) { c.keys = keys }
}

// WithNewerSkipped has AuditRecords count, in AuditReport.Newer, the records whose version is at or
// beyond the size of the checkpoint it reads, instead of reporting them as problems: for an audit
// beside a running hub, which writes records after the stored checkpoint. Without it such a record
// is a problem (it names an entry the ledger does not hold).
func WithNewerSkipped() AuditOption {
	return func(c *auditConfig) { c.skipNewer = true }
}

// WithAuditProgress has AuditRecords report how far it got to fn, stage by stage
// (AuditReadingEntries, then AuditCheckingRecords). Within a stage done never decreases and never
// exceeds total (the records' total is the store's estimate, raised to done when more records
// are found), and when the stage completes the last call has done == total. The calls are made
// one at a time, on the goroutine that called AuditRecords; fn should return quickly (a printer
// throttles itself).
func WithAuditProgress(fn func(stage AuditStage, done, total uint64)) AuditOption {
	return func(c *auditConfig) { c.progress = fn }
}

// auditWorkers is how many records are checked at once: each waits on one private index read.
const auditWorkers = 4

// auditProgressEvery is how often AuditRecords reports progress while it checks records.
const auditProgressEvery = 100 * time.Millisecond

// AuditRecords checks every stored record against the update entry that wrote it (ARCHITECTURE §1.2: the
// record store matches the ledger): the entry at the record's version must be an allowed update of
// that dataset, about this citizen (its subject commitment opens with the salt in the private index),
// whose record digest is the record's, and which carries the commitment of every sensitive value the
// record holds at that version. Entries must be integrated (ledger.Log.WaitCaughtUp). indexKey is
// the hub's index key (Config.IndexKey), which names citizens in the private index; after an index
// key rotation pass the ring with WithIndexKeys instead (indexkeys.go).
//
// It reads the ledger and the records once each, in one streaming pass: first every integrated
// entry (keeping, for each allowed update entry, only what records are checked against), then
// every record, with one private index reference read by key per record. The problems are
// reported in the order the store gives the records. Memory grows with the number of update
// entries (about 160 bytes each for the demo datasets) and of entries (4 bytes each), not with
// the records.
func AuditRecords(ctx context.Context, lg AuditLedger, st AuditStore, indexKey []byte, opts ...AuditOption) (AuditReport, error) {
	cfg := auditConfig{workers: auditWorkers}
	for _, o := range opts {
		o(&cfg)
	}
	progress := func(stage AuditStage, done, total uint64) {
		if cfg.progress != nil {
			cfg.progress(stage, done, max(done, total))
		}
	}

	keys, err := indexRing(cfg.keys, indexKey)
	if err != nil {
		return AuditReport{}, err
	}
	idx, err := readUpdates(ctx, lg, progress)
	if err != nil {
		return AuditReport{}, err
	}

	total, err := st.CountRecords(ctx)
	if err != nil {
		return AuditReport{}, fmt.Errorf("counting records: %w", err)
	}
	var (
		mu       sync.Mutex
		problems []seqProblem
		checked  atomic.Uint64
		newer    atomic.Uint64
		done     = make(chan error, 1)
	)
	progress(AuditCheckingRecords, 0, total)
	go func() {
		done <- st.EachRecordConcurrently(ctx, cfg.workers, func(seq int, rec store.Record) error {
			if cfg.skipNewer && rec.Version >= idx.size {
				newer.Add(1)
				return nil
			}
			ps := checkRecord(ctx, lg, st, keys, idx, rec)
			if len(ps) > 0 {
				mu.Lock()
				for _, p := range ps {
					problems = append(problems, seqProblem{seq, p})
				}
				mu.Unlock()
			}
			checked.Add(1)
			return nil
		})
	}()
	tick := time.NewTicker(auditProgressEvery)
	defer tick.Stop()
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			progress(AuditCheckingRecords, checked.Load(), total)
		}
	}
	rep := AuditReport{Records: int(checked.Load()), Newer: int(newer.Load()), Erased: len(idx.erased)}
	if err != nil {
		return rep, err
	}
	progress(AuditCheckingRecords, uint64(rep.Records), uint64(rep.Records))
	sort.Slice(problems, func(i, j int) bool { return problems[i].seq < problems[j].seq })
	for _, p := range problems {
		rep.Problems = append(rep.Problems, p.AuditProblem)
	}
	return rep, nil
}

type seqProblem struct {
	seq int
	AuditProblem
}

// auditEntry is what a record is checked against of the allowed update entry that wrote it.
type auditEntry struct {
	Dataset   string
	Record    []byte
	Subjects  [][]byte
	Committed map[string]string // field name → commitment (lowercase hex), the last one named
}

// checkRecord returns the problems of one record: the checks of AuditRecords.
func checkRecord(ctx context.Context, lg AuditLedger, st AuditStore, keys *subject.Ring, idx *updateIndex, rec store.Record) []AuditProblem {
	var out []AuditProblem
	problem := func(format string, args ...any) {
		out = append(out, AuditProblem{Citizen: rec.Citizen, Dataset: rec.Dataset, Version: rec.Version,
			Reason: fmt.Sprintf(format, args...)})
	}
	for _, k := range keys.Keys() {
		at, erased := idx.erased[string(ErasureDigest(k, rec.Citizen))]
		if !erased {
			continue
		}
		out = append(out, AuditProblem{Citizen: rec.Citizen, Dataset: rec.Dataset, Version: rec.Version, Erased: true,
			Reason: fmt.Sprintf("erased at entry %d, yet still stored (replay the erasures: govhub backup restore and ledger restore do)", at)})
		return out
	}
	e, ok := idx.lookup(rec.Version)
	if !ok || e.Dataset != rec.Dataset {
		// Not an allowed update of this dataset within the checkpoint: read the entry itself to
		// say what it is.
		raw, err := lg.Entry(ctx, rec.Version)
		if err != nil {
			problem("no readable entry at that index: %v", err)
			return out
		}
		pe, err := ledger.ParseEntry(raw)
		if err != nil {
			problem("entry: %v", err)
			return out
		}
		if pe.Kind != ledger.KindUpdate || pe.Outcome != ledger.OutcomeAllowed || pe.Dataset != rec.Dataset {
			problem("the entry is %s %s of %q, not an allowed update of %s", pe.Outcome, pe.Kind, pe.Dataset, rec.Dataset)
			return out
		}
		e = newAuditEntry(pe)
	}
	if !bytes.Equal(e.Record, recordDigest(rec)) {
		problem("the record's digest differs from the entry's")
	}
	// The subject salt: kept with the record (store.Record.SubjectSalt) since records carry it,
	// else from the private index; either way it must open the entry's commitment to the citizen.
	if salt := rec.SubjectSalt; len(salt) > 0 {
		if !containsBytes(e.Subjects, subject.Commit(salt, rec.Citizen)) {
			problem("the entry is not about this citizen")
		}
	} else if ref, err := findSubjectRef(ctx, st, keys, rec.Citizen, rec.Version); err != nil {
		problem("the private index has no reference to the entry: %v", err)
	} else if !containsBytes(e.Subjects, subject.Commit(ref.Salt, rec.Citizen)) {
		problem("the entry is not about this citizen")
	}
	ds, ok := dataset.Lookup(rec.Dataset)
	if !ok {
		problem("no dataset %q in the catalog", rec.Dataset)
		return out
	}
	for i, item := range rec.Items {
		for name, sf := range item.Sealed {
			if sf.Version != rec.Version {
				continue // an older value, committed by an earlier entry
			}
			key := rec.Dataset + "." + sealKey(ds, name, i)
			if e.Committed[key] != hex.EncodeToString(sf.Commitment) {
				problem("the entry does not carry the commitment of %s", key)
			}
		}
	}
	return out
}

func newAuditEntry(e ledger.Entry) auditEntry {
	committed := make(map[string]string, len(e.Fields))
	for _, f := range e.Fields {
		committed[f.Name] = f.Commitment
	}
	return auditEntry{Dataset: e.Dataset, Record: e.Record, Subjects: e.Subjects, Committed: committed}
}

// updateIndex keeps, for every allowed update entry within a checkpoint, its auditEntry, packed:
// at[i] is 1 + the offset in data of entry i's, or 0 for an entry that is not an allowed update.
// Names (datasets and fields) are interned. A packed entry is
//
//	uvarint dataset name · bytes record digest · uvarint n · n × bytes subject ·
//	uvarint m · m × (uvarint field name · bytes commitment)
//
// where bytes is a uvarint length and that many bytes, and a commitment is the hex-decoded field
// commitment. Only commitments in lowercase hex are kept: any other spelling never equals the hex
// of a record's commitment, so leaving it out (it reads as "") gives the same verdicts.
type updateIndex struct {
	size  uint64 // the size of the checkpoint the index covers
	at    []uint32
	data  []byte
	names []string
	ids   map[string]uint64
	// erased maps the record digest of every allowed erasure entry (ErasureDigest) to its index.
	erased map[string]uint64
}

// readUpdates reads every integrated entry once and indexes the allowed updates.
func readUpdates(ctx context.Context, lg AuditLedger, progress func(AuditStage, uint64, uint64)) (*updateIndex, error) {
	idx := &updateIndex{ids: map[string]uint64{}, erased: map[string]uint64{}}
	var size uint64
	progress(AuditReadingEntries, 0, 0)
	err := lg.EachEntry(ctx, func(i, n uint64, raw []byte) error {
		if idx.at == nil {
			size = n
			idx.at = make([]uint32, n)
		}
		if i%256 == 255 {
			progress(AuditReadingEntries, i+1, size)
		}
		e, err := ledger.ParseEntry(raw)
		if err == nil && e.Kind == ledger.KindErasure && e.Outcome == ledger.OutcomeAllowed && len(e.Record) == 32 {
			idx.erased[string(e.Record)] = i
		}
		if err != nil || e.Kind != ledger.KindUpdate || e.Outcome != ledger.OutcomeAllowed {
			return nil // checkRecord reads it again and says what is wrong with it
		}
		if len(idx.data) >= math.MaxUint32-1 {
			return errors.New("hub: too many update entries to audit at once")
		}
		idx.at[i] = uint32(len(idx.data)) + 1
		idx.add(e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the ledger's entries: %w", err)
	}
	progress(AuditReadingEntries, size, size)
	idx.size = size
	return idx, nil
}

func (x *updateIndex) name(s string) uint64 {
	id, ok := x.ids[s]
	if !ok {
		id = uint64(len(x.names))
		x.names = append(x.names, s)
		x.ids[s] = id
	}
	return id
}

func (x *updateIndex) add(e ledger.Entry) {
	putBytes := func(b []byte) {
		x.data = binary.AppendUvarint(x.data, uint64(len(b)))
		x.data = append(x.data, b...)
	}
	x.data = binary.AppendUvarint(x.data, x.name(e.Dataset))
	putBytes(e.Record)
	x.data = binary.AppendUvarint(x.data, uint64(len(e.Subjects)))
	for _, s := range e.Subjects {
		putBytes(s)
	}
	last := make(map[string]string, len(e.Fields))
	var order []string
	for _, f := range e.Fields {
		if _, ok := last[f.Name]; !ok {
			order = append(order, f.Name)
		}
		last[f.Name] = f.Commitment
	}
	type field struct {
		name uint64
		c    []byte
	}
	var kept []field
	for _, name := range order {
		c, err := hex.DecodeString(last[name])
		if err != nil || len(c) == 0 || hex.EncodeToString(c) != last[name] {
			continue
		}
		kept = append(kept, field{x.name(name), c})
	}
	x.data = binary.AppendUvarint(x.data, uint64(len(kept)))
	for _, f := range kept {
		x.data = binary.AppendUvarint(x.data, f.name)
		putBytes(f.c)
	}
}

// lookup returns the indexed allowed update entry at index i, if there is one.
func (x *updateIndex) lookup(i uint64) (auditEntry, bool) {
	if i >= uint64(len(x.at)) || x.at[i] == 0 {
		return auditEntry{}, false
	}
	d := x.data[x.at[i]-1:]
	uv := func() uint64 {
		v, n := binary.Uvarint(d)
		d = d[n:]
		return v
	}
	bs := func() []byte {
		n := uv()
		b := d[:n:n]
		d = d[n:]
		return b
	}
	var e auditEntry
	e.Dataset = x.names[uv()]
	if r := bs(); len(r) > 0 {
		e.Record = r
	}
	for range uv() {
		e.Subjects = append(e.Subjects, bs())
	}
	m := uv()
	e.Committed = make(map[string]string, m)
	for range m {
		name := x.names[uv()]
		e.Committed[name] = hex.EncodeToString(bs())
	}
	return e, true
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}
