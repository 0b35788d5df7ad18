package mongostore

// Each citizen's access log, addressable by string _id alone (the embedded store serves nothing else
// from an index):
//
//	subject_log        {_id: "<pseudonym>/<seq>", index: int64, salt: bin, time: date,
//	                    page: {pos: int64, path: [bin, …]},   (page only for a list page's path)
//	                    entry: bin}                           (the entry's bytes, when the appender had them)
//	subject_log_heads  {_id: "<pseudonym>", seq: int64}
//
// seq is the citizen's own sequence 1, 2, 3, … in decimal without padding ("p/1", "p/2", … "p/10").
// Log documents are insert-only, and a duplicate _id insert is a compare-and-swap on every store, so
// two appenders never share a seq: the loser tries the next one. The sequence is dense: a seq is
// inserted only when the one before exists (it is the head, which only ever names an inserted
// document, or an _id the insert found taken), so seq 1 … end all exist.
//
// The head is a hint. It is advanced after the insert, best effort, and never past an inserted
// document; on MongoDB atomically and never backwards ($max), on FerretDB under the process's
// document lock, and by a batch without it, so it may lag. Readers and appenders therefore start at
// the head and probe forward (seqChain.probeFrom) to the end; a reader that found the head
// headEvery or more behind (appenders keep it closer, so only after a lost advance or a crash)
// writes the end it found back to the head. On the store this process owns (the embedded one),
// the head is written only when the process forgets the citizen's end (lazyHeads).

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

	"github.com/govhub/govhub/store"
)

const (
	// maxAppendTries bounds the sequence numbers one append tries past its starting guess.
	maxAppendTries = 64
	// maxLogEntry bounds the entry bytes a log document keeps (ledger.MaxEntrySize).
	maxLogEntry = 1<<16 - 1
	// readParallelism bounds the concurrent _id lookups of one log read or batch append.
	readParallelism = 8
	// migrationChunk is the number of documents one migration insert carries.
	migrationChunk = 1000
	// migrationMarker is the meta document written once the subject log migration has run, and
	// migrationProgress the one recording the last pseudonym it finished while it runs.
	migrationMarker   = "subject_log_migration"
	migrationProgress = "subject_log_migration_progress"
)

type logDoc struct {
	ID    string     `bson:"_id"`
	Index int64      `bson:"index"`
	Salt  []byte     `bson:"salt"`
	Time  *time.Time `bson:"time,omitempty"`
	Page  *pageDoc   `bson:"page,omitempty"`
	Entry []byte     `bson:"entry,omitempty"`
}

type pageDoc struct {
	Pos  int64    `bson:"pos"`
	Path [][]byte `bson:"path"`
}

// logChain is the chain of the citizens' access logs, keyed by pseudonym.
func (s *Store) logChain() seqChain {
	return seqChain{s: s, items: s.subjectLog, heads: s.logHeads, what: func(string) string { return "an access log" }, repairFrom: headEvery}
}

func toLogDoc(r store.LogRef, seq uint64) logDoc {
	d := logDoc{ID: seqID(r.Pseudonym, seq), Index: int64(r.Index), Salt: r.Salt, Entry: r.Entry}
	if !r.Time.IsZero() {
		t := r.Time.UTC().Truncate(time.Millisecond)
		d.Time = &t
	}
	if r.Page != nil {
		d.Page = &pageDoc{Pos: int64(r.Page.Position), Path: r.Page.Hashes}
	}
	return d
}

func fromLogDoc(pseudonym string, seq uint64, d logDoc) store.LogRef {
	r := store.LogRef{Pseudonym: pseudonym, Seq: seq, Index: uint64(d.Index), Salt: d.Salt, Entry: d.Entry}
	if d.Time != nil {
		r.Time = d.Time.UTC()
	}
	if d.Page != nil {
		r.Page = &store.PagePath{Position: int(d.Page.Pos), Hashes: d.Page.Path}
	}
	return r
}

func checkLogRef(r store.LogRef) error {
	if r.Pseudonym == "" {
		return errors.New("store: log reference without a pseudonym")
	}
	if len(r.Entry) > maxLogEntry {
		return fmt.Errorf("store: log reference with an entry of %d bytes (at most %d)", len(r.Entry), maxLogEntry)
	}
	if p := r.Page; p != nil {
		if p.Position < 0 || len(p.Hashes) > store.MaxPagePath {
			return fmt.Errorf("store: page path at position %d with %d hashes (at most %d)", p.Position, len(p.Hashes), store.MaxPagePath)
		}
		for _, h := range p.Hashes {
			if len(h) != 32 {
				return fmt.Errorf("store: page path hash of %d bytes, want 32", len(h))
			}
		}
	}
	return nil
}

// AppendSubjectLog appends ref to its citizen's access log and returns the seq it got (ref.Seq is
// ignored). It also stores the reference in the subject index (SubjectRef), so it replaces
// AddSubjectRefs for an access. Both are durable when it returns nil; on an error the log document
// may have been stored without its reference, never the reference without its log document.
//
// An append retried after an error may log the same (pseudonym, index) twice, under two seqs:
// SubjectLog drops the older copy from a page that holds both. Appending the same pseudonym from
// several goroutines or hub instances at once is safe: each gets its own seq and none is lost; it
// fails with store.ErrConflict only after maxAppendTries taken seqs in a row. Safe for concurrent use.
//
// On FerretDB (the embedded store) concurrent appends are written together, one insert of their log
// documents, each followed by its subject reference, for all of them (group commit, logbatch.go).
// A subject reference is stored only after its log document (keys.go).
func (s *Store) AppendSubjectLog(ctx context.Context, ref store.LogRef) (uint64, error) {
	if err := checkLogRef(ref); err != nil {
		return 0, err
	}
	if s.serialised() {
		seqs, err := s.appendLogsGrouped(ctx, []store.LogRef{ref}) // the group commit, logbatch.go
		if err != nil {
			return 0, err
		}
		return seqs[0], nil
	}
	seq, err := s.appendLog(ctx, ref)
	if err != nil {
		return 0, err
	}
	if err := s.addRefsBeside(ctx, []store.LogRef{ref}); err != nil { // after its log document (keys.go)
		return 0, err
	}
	return seq, nil
}

// maxGroupedRefs is the most references an AppendSubjectLogs on FerretDB sends through the group
// commit (logbatch.go): a few entries appended together for a citizen and their spouse, or one
// page's entry for each citizen on it (a list page: at most 100). Larger batches (an import) are
// inserted by appendLogs. A page went by appendLogs before, which finds every citizen's end by
// probing their log from its head hint; through the group commit the ends this process knows
// (seqCache) need no read: list pages went from 7 to 33 a second at 100,000 citizens
// (docs/BENCHMARKS.md).
const maxGroupedRefs = 128

// appendLogsGrouped is AppendSubjectLog, and AppendSubjectLogs of a few references, on FerretDB:
// each citizen's references, in refs' order, are one append of the next group commit, so one
// group's insert stores them all. The ends this process does not know are found first
// (logEndsOf).
func (s *Store) appendLogsGrouped(ctx context.Context, refs []store.LogRef) ([]uint64, error) {
	var as []*logAppend
	byCitizen := map[string]*logAppend{}
	hints := map[string]uint64{} // by citizen, the head hint read, or the seq before the append's
	var unknown []string
	for _, r := range refs {
		if a := byCitizen[r.Pseudonym]; a != nil {
			a.refs = append(a.refs, r)
			continue
		}
		end, known := s.lastSeqs.get(r.Pseudonym)
		if !known {
			unknown = append(unknown, r.Pseudonym)
		}
		hints[r.Pseudonym] = end
		a := &logAppend{refs: []store.LogRef{r}, head: end}
		byCitizen[r.Pseudonym] = a
		as = append(as, a)
	}
	if len(unknown) > 0 {
		ends, err := s.logEndsOf(ctx, unknown)
		if err != nil {
			return nil, err
		}
		for _, p := range unknown {
			hints[p], byCitizen[p].head = ends[p].head, ends[p].end
			s.lastSeqs.putEnd(p, ends[p].end, ends[p].head)
		}
	}
	errs := s.logGroups.doAll(ctx, as) // every one waited for: none is left writing behind an answer
	got := map[string][]uint64{}
	var firstErr error
	for i, a := range as {
		var seqs []uint64
		err := errs[i]
		if err == nil {
			seqs, err = s.retryLost(ctx, a)
		}
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		got[a.pseudonym()] = seqs
		s.advanceAfter(ctx, a.pseudonym(), seqs[len(seqs)-1], hints[a.pseudonym()])
	}
	if firstErr != nil {
		return nil, firstErr
	}
	out := make([]uint64, len(refs))
	for i, r := range refs {
		out[i] = got[r.Pseudonym][0]
		got[r.Pseudonym] = got[r.Pseudonym][1:]
	}
	return out, nil
}

// appendLog inserts ref after the latest seq this process knows for its citizen (or, not knowing
// one, the head hint) and advances the head in the background: the head is a hint that readers
// and writers probe past, so only the log document's insert is on the request's path.
func (s *Store) appendLog(ctx context.Context, ref store.LogRef) (uint64, error) {
	head, known := s.lastSeqs.get(ref.Pseudonym)
	if !known {
		var err error
		if head, err = s.logChain().head(ctx, ref.Pseudonym); err != nil {
			return 0, err
		}
	}
	seq, err := s.insertLog(ctx, ref, head+1)
	if err != nil {
		return 0, err
	}
	hint := head // the head hint read
	if known {
		hint = seq - 1 // as though read: the seq before (an append that knew the end)
		s.lastSeqs.put(ref.Pseudonym, seq)
	} else {
		s.lastSeqs.putEnd(ref.Pseudonym, seq, head)
	}
	s.advanceAfter(ctx, ref.Pseudonym, seq, hint)
	return seq, nil
}

// advanceAfter advances the citizen's head hint to seq in the background after an append that got
// seq, when the seqs (hint, seq] cross a multiple of headEvery. hint is the head hint the appender
// read, or, when it knew the citizen's latest seq, the seq before its append's first. So every
// append leaves the head at most headEvery-1 behind the end it wrote: an appender that knew the end
// moves the head every headEvery seqs, and one that read the head moves it only when it is that far
// behind, not at every first append of a citizen, each of which would cost a write of its own.
//
// On a store whose heads this process keeps lazily (lazyHeads) it writes nothing: the seqCache
// holds the head the appender read, if it read one, for when the citizen is forgotten
// (headOnEviction).
func (s *Store) advanceAfter(ctx context.Context, pseudonym string, seq, hint uint64) {
	if s.lazyHeads() {
		return
	}
	if seq/headEvery != hint/headEvery {
		go s.advanceInBackground(ctx, pseudonym, seq)
	}
}

// advanceInBackground advances the citizen's head hint to seq, best effort, within headTimeout, if
// their log document seq is still there (not erased meanwhile: seqChain.advanceIfStored).
func (s *Store) advanceInBackground(ctx context.Context, pseudonym string, seq uint64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), headTimeout)
	defer cancel()
	_ = s.logChain().advanceIfStored(ctx, pseudonym, seq) // a hint: readers probe past a lagging head
}

// lazyHeads reports whether this process keeps the access logs' head hints lazily: on a store it
// owns (the embedded one, where it also saves the ends it knows when it stops: logends.go), an
// append writes no head hint while the process remembers the citizen's end (seqCache), since
// every append and read of the log in this process starts from that end. A head that lags the end
// by headEvery or more is written when the cache forgets the citizen to make room
// (headOnEviction), so that the head of a log this process does not remember lags by less than
// headEvery, as on a shared store. After a crash (no saved ends) a head may lag by more, by the
// appends of the process that crashed: readers find the end from it in a few lookups (probeFrom),
// and write it back (seqChain.end). On the embedded store each head write was its own
// transaction on the store's one writer: about one read in eight, 9 to 21 % of that writer's time
// under a read load (docs/BENCHMARKS.md).
func (s *Store) lazyHeads() bool { return s.ownsLogEnds() }

// headOnEviction is called when the seqCache forgets a citizen to make room: it writes their end
// to their head hint, in the background, if the head (as last read or written; 0: not known)
// lags it by headEvery or more.
func (s *Store) headOnEviction(pseudonym string, e cachedEnd) {
	if e.seq >= e.head+headEvery {
		go s.advanceInBackground(context.Background(), pseudonym, e.seq)
	}
}

// headEvery is how often, in a citizen's seqs, an append that knew the citizen's latest seq
// advances the head hint: between two advances readers probe at most headEvery-1 documents past
// it (SubjectLogEnd writes the end it found back when the head is further behind, after an advance
// was lost), and a writer that restarted tries at most as many taken seqs. Each advance is a write
// on the database's one writer.
const headEvery = 8

// headTimeout bounds a background advance of a head hint.
const headTimeout = 10 * time.Second

// seqCache remembers the latest log seq this process wrote or saw per citizen, so that an append
// need not find the end first. A stale value (another instance appended since) costs one
// duplicate insert and a head read. It holds the seqCacheSize citizens used last: a hub serving
// more citizens forgets those it has not appended for longest, and finds their ends again when it
// next appends for them. The group commit (logbatch.go) assigns seqs from it.
//
// With each end it keeps the head hint as this process last read or wrote it (0: not known), so
// that a store whose heads this process keeps lazily (lazyHeads) knows, when it forgets a citizen,
// whether the stored head lags the end by headEvery or more: evicted is then called, outside the
// cache's lock, for each citizen forgotten to make room (not for one forgotten by forget).
type seqCache struct {
	mu      sync.Mutex
	seqs    *simplelru.LRU[string, cachedEnd] // nil until the first put
	size    int                               // the most citizens it holds; 0: seqCacheSize
	evicted func(pseudonym string, e cachedEnd)
}

// cachedEnd is what a seqCache knows of a citizen's log: its latest seq, and its head hint as
// last read or written (0: not known).
type cachedEnd struct{ seq, head uint64 }

// seqCacheSize is the most citizens a seqCache remembers, at about 200 bytes each (26 MB full:
// BenchmarkSeqCacheMemory).
const seqCacheSize = 1 << 17

func (c *seqCache) get(pseudonym string) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seqs == nil {
		return 0, false
	}
	e, ok := c.seqs.Get(pseudonym)
	return e.seq, ok
}

// put records seq as the citizen's latest seq if it is later than the one known, keeping the head
// hint known.
func (c *seqCache) put(pseudonym string, seq uint64) { c.putEnd(pseudonym, seq, 0) }

// putEnd is put, and records head (if not 0) as the citizen's head hint as stored now.
func (c *seqCache) putEnd(pseudonym string, seq, head uint64) {
	var gone string // the citizen forgotten to make room, if any
	var goneEnd cachedEnd
	c.mu.Lock()
	size := cmp.Or(c.size, seqCacheSize)
	if c.seqs == nil {
		c.seqs, _ = simplelru.NewLRU[string, cachedEnd](size, nil) // fails only for a size < 1
	}
	cur, ok := c.seqs.Peek(pseudonym)
	if !ok && c.seqs.Len() >= size {
		gone, goneEnd, _ = c.seqs.RemoveOldest()
	}
	c.seqs.Add(pseudonym, cachedEnd{max(cur.seq, seq), max(cur.head, head)})
	c.mu.Unlock()
	if gone != "" && c.evicted != nil {
		c.evicted(gone, goneEnd)
	}
}

// forget drops what the cache knows of pseudonym (its log was deleted: an erasure).
func (c *seqCache) forget(pseudonym string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seqs != nil {
		c.seqs.Remove(pseudonym)
	}
}

// insertLog inserts ref at the first free seq from from on (seqChain.insertNext).
func (s *Store) insertLog(ctx context.Context, ref store.LogRef, from uint64) (uint64, error) {
	seq, err := s.logChain().insertNext(ctx, ref.Pseudonym, from, func(seq uint64) any { return toLogDoc(ref, seq) })
	if err != nil {
		return 0, fmt.Errorf("appending ledger index %d to an access log: %w", ref.Index, err)
	}
	return seq, nil
}

// advanceHeads is seqChain.advance for many citizens: one unordered bulk write on MongoDB. On
// FerretDB (embedded or not), where a bulk update of many documents was measured to stall and each
// update costs a read and a rewrite, the citizens that had no head (before[p] == 0: a new log) get
// theirs in one unordered insert, and the others, and any whose head another appender created
// meanwhile, by seqChain.advance, a few at a time.
func (s *Store) advanceHeads(ctx context.Context, heads, before map[string]uint64) error {
	if len(heads) == 0 {
		return nil
	}
	if s.serialised() {
		var fresh []string
		update := map[string]uint64{}
		for p, seq := range heads {
			if before[p] == 0 {
				fresh = append(fresh, p)
			} else {
				update[p] = seq
			}
		}
		if len(fresh) > 0 {
			slices.Sort(fresh)
			docs := make([]any, len(fresh))
			for i, p := range fresh {
				docs[i] = headDoc{ID: p, Seq: int64(heads[p])}
			}
			_, err := s.logHeads.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
			if err != nil {
				var bwe mongo.BulkWriteException
				if !onlyDuplicates(err) || !errors.As(err, &bwe) {
					return mapErr(err)
				}
				for _, we := range bwe.WriteErrors { // created meanwhile: never move it back
					if we.Index >= 0 && we.Index < len(fresh) {
						update[fresh[we.Index]] = heads[fresh[we.Index]]
					}
				}
			}
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(readParallelism)
		for p, seq := range update {
			g.Go(func() error { return s.logChain().advance(gctx, p, seq) })
		}
		return g.Wait()
	}
	models := make([]mongo.WriteModel, 0, len(heads))
	for p, seq := range heads {
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: p}}).
			SetUpdate(bson.D{{Key: "$max", Value: bson.D{{Key: "seq", Value: int64(seq)}}}}).SetUpsert(true))
	}
	_, err := s.logHeads.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	return mapErr(err)
}

// SubjectLogEnd returns the latest seq of the citizen's access log, 0 when they have none: the head
// hint, then a few _id lookups past it (seqChain.probeFrom; one when the head is current). On a
// store whose heads this process keeps lazily it starts from the end it remembers instead, if it
// does: one lookup. A subscription polls it to learn of new accesses, whichever hub instance
// logged them. Safe for concurrent use.
func (s *Store) SubjectLogEnd(ctx context.Context, pseudonym string) (uint64, error) {
	c := s.logChain()
	if known, ok := s.lastSeqs.get(pseudonym); ok && s.lazyHeads() {
		end, err := c.probeFrom(ctx, pseudonym, known)
		if err == nil {
			s.lastSeqs.put(pseudonym, end)
		}
		return end, err
	}
	head, end, err := c.endAndHead(ctx, pseudonym)
	if err != nil {
		return 0, err
	}
	if end > 0 {
		// What this process knows of the citizen's log: its next append starts after it, not at a
		// seq another instance has taken since the last one (which would be retried after the
		// append's last seq, out of the order of its references).
		s.lastSeqs.putEnd(pseudonym, end, head)
	}
	return end, nil
}

// SubjectLog reads one page of the citizen's access log, newest first: the n entries before seq
// before (before 0: the newest), n at most store.MaxLogPage (a larger n reads that many; n < 1 is an
// error). Each entry is one _id lookup, run a few at a time; the page also reports the log's end
// and the before of the next page (store.LogPage). A page drops the older copies of a ledger index
// appended twice, so it may hold fewer than n entries while Next is not 0. A citizen with no log
// gets an empty page. Safe for concurrent use.
func (s *Store) SubjectLog(ctx context.Context, pseudonym string, before uint64, n int) (store.LogPage, error) {
	if n < 1 {
		return store.LogPage{}, fmt.Errorf("store: reading %d access log entries", n)
	}
	n = min(n, store.MaxLogPage)
	end, err := s.SubjectLogEnd(ctx, pseudonym)
	if err != nil {
		return store.LogPage{}, err
	}
	page := store.LogPage{End: end}
	top := end
	if before != 0 && before-1 < end {
		top = before - 1
	}
	if top == 0 {
		return page, nil
	}
	lo := uint64(1)
	if top > uint64(n) {
		lo = top - uint64(n) + 1
		page.Next = lo
	}
	docs, err := s.readLog(ctx, pseudonym, lo, top)
	if err != nil {
		return store.LogPage{}, err
	}
	seen := make(map[int64]bool, len(docs))
	for i := len(docs) - 1; i >= 0; i-- {
		d := docs[i]
		if d == nil || seen[d.Index] {
			continue // a gap cannot happen (the log is dense), and a copy is dropped
		}
		seen[d.Index] = true
		page.Refs = append(page.Refs, fromLogDoc(pseudonym, lo+uint64(i), *d))
	}
	return page, nil
}

// readLog reads the citizen's log documents lo … hi; a missing one is nil.
func (s *Store) readLog(ctx context.Context, pseudonym string, lo, hi uint64) ([]*logDoc, error) {
	ids := make([]string, hi-lo+1)
	for i := range ids {
		ids[i] = seqID(pseudonym, lo+uint64(i))
	}
	return s.findLogDocs(ctx, ids)
}

// findLogDocs reads log documents by _id, a few lookups at a time; a missing one is nil.
func (s *Store) findLogDocs(ctx context.Context, ids []string) ([]*logDoc, error) {
	docs := make([]*logDoc, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readParallelism)
	for i, id := range ids {
		g.Go(func() error {
			var d logDoc
			err := s.subjectLog.FindOne(gctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
			switch {
			case errors.Is(err, mongo.ErrNoDocuments):
				return nil
			case err != nil:
				return fmt.Errorf("reading an access log: %w", mapErr(err))
			}
			docs[i] = &d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return docs, nil
}

// AppendSubjectLogs appends many references at once (a list page, one per citizen on it; an import,
// several per citizen) and returns the seq each got, in refs' order. Like AppendSubjectLog it also
// stores them in the subject index, and on an error any of them may have been stored. It reads the
// heads (one _id lookup per citizen, a few at a time, on the embedded store; one query on MongoDB),
// gives each citizen's references the seqs after its head in refs' order, and inserts them in
// ordered inserts of at most bulkChunk documents: an ordered insert stops at its first failure, so a
// seq is inserted only after the one before it, and the logs stay dense whatever fails. A reference
// whose seq was taken (another appender, a lagging head) is appended alone after its citizen's end,
// and the insert goes on with the ones after it. The heads are advanced at the end: the citizens
// without a head get theirs in one insert, the others by one update each. Safe for concurrent use.
//
// On FerretDB (the embedded store) up to maxGroupedRefs references (the entries of a step or two
// for a citizen and their spouse, a list page's entry for each citizen on it) go instead through
// the group commit of AppendSubjectLog (logbatch.go), each citizen's at consecutive seqs in refs'
// order: one insert of log documents and one of subject references, shared with the appends
// running at the same time.
func (s *Store) AppendSubjectLogs(ctx context.Context, refs []store.LogRef) ([]uint64, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	for _, r := range refs {
		if err := checkLogRef(r); err != nil {
			return nil, err
		}
	}
	if s.serialised() && len(refs) <= maxGroupedRefs {
		return s.appendLogsGrouped(ctx, refs)
	}
	seqs, err := s.appendLogs(ctx, refs)
	if err != nil {
		return nil, err
	}
	for lo := 0; lo < len(refs); lo += bulkChunk { // after their log documents (keys.go)
		if err := s.addRefsBeside(ctx, refs[lo:min(len(refs), lo+bulkChunk)]); err != nil {
			return nil, err
		}
	}
	return seqs, nil
}

// maxLogInsertBytes bounds the entry bytes of one ordered insert of appendLogs, well under the
// wire protocol's 48 MB message (the driver would split a larger one into several).
const maxLogInsertBytes = 8 << 20

func (s *Store) appendLogs(ctx context.Context, refs []store.LogRef) ([]uint64, error) {
	var pseudonyms []string
	seen := map[string]bool{}
	for _, r := range refs {
		if !seen[r.Pseudonym] {
			seen[r.Pseudonym] = true
			pseudonyms = append(pseudonyms, r.Pseudonym)
		}
	}
	heads, err := s.logHeadsOf(ctx, pseudonyms)
	if err != nil {
		return nil, err
	}
	ends := make(map[string]uint64, len(heads)) // each citizen's latest seq inserted (or its head)
	for p, h := range heads {
		ends[p] = h
	}
	seqs := make([]uint64, len(refs))
	for from := 0; from < len(refs); {
		// The next chunk: seqs after each citizen's end, in refs' order.
		to, size := from, 0
		next := map[string]uint64{}
		var docs []any
		for to < len(refs) && len(docs) < bulkChunk && (len(docs) == 0 || size+len(refs[to].Entry) <= maxLogInsertBytes) {
			r := refs[to]
			seq, ok := next[r.Pseudonym]
			if !ok {
				seq = ends[r.Pseudonym]
			}
			seq++
			next[r.Pseudonym] = seq
			seqs[to] = seq
			docs = append(docs, toLogDoc(r, seq))
			size += len(r.Entry)
			to++
		}
		_, err := s.subjectLog.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
		stop := to // refs[from:stop] are inserted
		if err != nil {
			var bwe mongo.BulkWriteException
			if !onlyDuplicates(err) || !errors.As(err, &bwe) || bwe.WriteErrors[0].Index < 0 || bwe.WriteErrors[0].Index >= len(docs) {
				return nil, fmt.Errorf("appending %d references to access logs: %w", len(docs), mapErr(err))
			}
			stop = from + bwe.WriteErrors[0].Index
		}
		for i := from; i < stop; i++ {
			ends[refs[i].Pseudonym] = seqs[i]
		}
		if stop == to {
			from = to
			continue
		}
		// refs[stop]'s seq was taken: alone after its citizen's end, then on with the rest.
		r := refs[stop]
		if seqs[stop], err = s.insertLog(ctx, r, ends[r.Pseudonym]+1); err != nil {
			return nil, err
		}
		ends[r.Pseudonym] = seqs[stop]
		from = stop + 1
	}
	// As single appends do (advanceAfter): a head is moved when the log crossed a multiple of
	// headEvery since it, so readers probe fewer than headEvery documents past it; a new log gets
	// its head at once (one insert for all of them).
	moved := map[string]uint64{}
	for p, end := range ends {
		if h := heads[p]; end > h && (h == 0 || end/headEvery > h/headEvery) {
			moved[p] = end
		}
	}
	_ = s.advanceHeads(ctx, moved, heads) // hints: readers probe past a lagging head
	// What this process now knows of each log's end, as appends through the group commit keep
	// it: the demo's import of many citizens goes this way.
	for p, end := range ends {
		if end > 0 {
			s.lastSeqs.putEnd(p, end, cmp.Or(moved[p], heads[p]))
		}
	}
	return seqs, nil
}

// logEnd is a citizen's access-log head hint and latest seq.
type logEnd struct{ head, end uint64 }

// logEndsOf finds the head hints and latest seqs of several citizens' access logs
// (seqChain.probeEnd), a few citizens at a time.
func (s *Store) logEndsOf(ctx context.Context, pseudonyms []string) (map[string]logEnd, error) {
	return forEach(ctx, pseudonyms, func(ctx context.Context, p string) (logEnd, error) {
		head, end, err := s.logChain().probeEnd(ctx, p, 0)
		return logEnd{head, end}, err
	})
}

// forEach runs f for each of keys, readParallelism at a time (one key: in the caller's goroutine,
// as on a point read's path), and returns their values by key, or the first error.
func forEach[V any](ctx context.Context, keys []string, f func(context.Context, string) (V, error)) (map[string]V, error) {
	out := make(map[string]V, len(keys))
	if len(keys) == 1 {
		v, err := f(ctx, keys[0])
		if err != nil {
			return nil, err
		}
		out[keys[0]] = v
		return out, nil
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readParallelism)
	for _, k := range keys {
		g.Go(func() error {
			v, err := f(gctx, k)
			if err != nil {
				return err
			}
			mu.Lock()
			out[k] = v
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// logHeadsOf reads the head hints of several citizens (0 for none): one $in query on MongoDB, a few
// concurrent _id lookups at a time on FerretDB, where $in is a full scan.
func (s *Store) logHeadsOf(ctx context.Context, pseudonyms []string) (map[string]uint64, error) {
	heads := make(map[string]uint64, len(pseudonyms))
	if !s.serialised() {
		cur, err := s.logHeads.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: pseudonyms}}}})
		if err != nil {
			return nil, fmt.Errorf("reading access log heads: %w", mapErr(err))
		}
		var docs []headDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("reading access log heads: %w", mapErr(err))
		}
		for _, d := range docs {
			heads[d.ID] = uint64(d.Seq)
		}
		return heads, nil
	}
	return forEach(ctx, pseudonyms, s.logChain().head)
}

// MigrateSubjectLog gives the subject references stored before the access log existed their log
// documents, once: when the meta document "subject_log_migration" is absent, it scans the subjects
// collection (a full scan, holding about 100 bytes per reference in memory), writes each
// pseudonym's references as seqs 1, 2, … in ledger-index order with their heads, and writes the
// marker. It returns how many log documents it inserted (0 once the marker is there). Run it at
// start-up, before serving.
//
// It works through the pseudonyms in order, about migrationChunk documents at a time, and records
// after each chunk how far it got (meta "subject_log_migration_progress"), so a migration that
// crashed resumes there. The seqs are deterministic, so a chunk written already, by a crashed run or
// a migration running at the same time on another instance, is found and left as it is: the
// migration is idempotent. (On the embedded store one process owns the data, and its migrations run
// one at a time.) Where a citizen's log already holds another reference at one of those seqs (an
// instance already serving appended to it), the whole of that log is read and only the references
// missing from it are appended, at its end, so nothing is lost; that log may then be out of ledger
// order and show one reference twice (a page shows it once).
//
// Caveat for several instances: a hub that predates the access log writes subject references
// without log documents, and those it writes after the migration are never migrated. Stop such
// instances before the first new one starts, or delete the marker and run the migration again
// (which is safe).
func (s *Store) MigrateSubjectLog(ctx context.Context) (int, error) {
	if s.locks != nil {
		defer s.locks.LockUpkeep()()
	}
	var marker struct {
		Migrated int64 `bson:"migrated"`
	}
	switch err := s.Meta(ctx, migrationMarker, &marker); {
	case err == nil:
		return 0, nil
	case !errors.Is(err, store.ErrNotFound):
		return 0, fmt.Errorf("reading the subject log migration marker: %w", err)
	}
	var progress struct {
		Done string `bson:"done"`
	}
	if err := s.Meta(ctx, migrationProgress, &progress); err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("reading the subject log migration progress: %w", err)
	}

	byPseudonym := map[string][]oldRef{}
	cur, err := s.subjects.Find(ctx, bson.D{})
	if err != nil {
		return 0, fmt.Errorf("migrating the subject log: scanning subjects: %w", mapErr(err))
	}
	for cur.Next(ctx) {
		var d struct {
			ID    string `bson:"_id"`
			Index int64  `bson:"index"`
			Salt  []byte `bson:"salt"`
		}
		if err := cur.Decode(&d); err != nil {
			_ = cur.Close(ctx)
			return 0, fmt.Errorf("migrating the subject log: decoding a subject reference: %w", err)
		}
		cut := strings.LastIndexByte(d.ID, '/')
		if cut <= 0 || progress.Done != "" && d.ID[:cut] <= progress.Done {
			continue
		}
		p := d.ID[:cut]
		byPseudonym[p] = append(byPseudonym[p], oldRef{d.Index, d.Salt})
	}
	err = cur.Err()
	_ = cur.Close(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrating the subject log: scanning subjects: %w", mapErr(err))
	}
	pseudonyms := make([]string, 0, len(byPseudonym))
	for p, refs := range byPseudonym {
		slices.SortFunc(refs, func(a, b oldRef) int { return cmp.Compare(a.index, b.index) })
		pseudonyms = append(pseudonyms, p)
	}
	slices.Sort(pseudonyms)

	migrated := 0
	var chunk []string
	size := 0
	for i, p := range pseudonyms {
		chunk = append(chunk, p)
		size += len(byPseudonym[p])
		if size < migrationChunk && i < len(pseudonyms)-1 {
			continue
		}
		n, err := s.migrateChunk(ctx, chunk, byPseudonym)
		migrated += n
		if err != nil {
			return migrated, fmt.Errorf("migrating the subject log: %w", err)
		}
		if err := s.PutMeta(ctx, migrationProgress, bson.D{{Key: "done", Value: p}}); err != nil {
			return migrated, fmt.Errorf("migrating the subject log: recording progress: %w", err)
		}
		chunk, size = chunk[:0], 0
	}
	if _, err := s.meta.DeleteOne(ctx, bson.D{{Key: "_id", Value: migrationProgress}}); err != nil {
		return migrated, fmt.Errorf("migrating the subject log: clearing progress: %w", mapErr(err))
	}
	if err := s.PutMeta(ctx, migrationMarker, bson.D{{Key: "migrated", Value: int64(migrated)}, {Key: "done", Value: time.Now().UTC()}}); err != nil {
		return migrated, fmt.Errorf("migrating the subject log: writing the marker: %w", err)
	}
	return migrated, nil
}

// migrateChunk writes the log documents and heads of some pseudonyms' old references and returns
// how many documents it inserted.
func (s *Store) migrateChunk(ctx context.Context, pseudonyms []string, byPseudonym map[string][]oldRef) (int, error) {
	var docs []logDoc
	for _, p := range pseudonyms {
		for i, r := range byPseudonym[p] {
			docs = append(docs, toLogDoc(store.LogRef{Pseudonym: p, Index: uint64(r.index), Salt: r.salt}, uint64(i+1)))
		}
	}
	conflicted := map[string]bool{}
	pseudonymOf := func(d logDoc) string { return d.ID[:strings.LastIndexByte(d.ID, '/')] }
	// A chunk written before (by a crashed or a concurrent run) is looked up rather than inserted
	// again: FerretDB answers a bulk insert that meets a duplicate with one transaction per document.
	todo, written := docs, false
	if ok, err := s.docExists(ctx, s.subjectLog, docs[0].ID); err != nil {
		return 0, err
	} else if ok {
		written = true
		ids := make([]string, len(docs))
		for i, d := range docs {
			ids[i] = d.ID
		}
		there, err := s.findLogDocs(ctx, ids)
		if err != nil {
			return 0, err
		}
		todo = nil
		for i, d := range docs {
			switch {
			case there[i] == nil:
				todo = append(todo, d)
			case there[i].Index != d.Index:
				conflicted[pseudonymOf(d)] = true
			}
		}
	}
	inserted := 0
	if len(todo) > 0 {
		batch := make([]any, len(todo))
		for i := range todo {
			batch[i] = todo[i]
		}
		inserted = len(todo)
		_, err := s.subjectLog.InsertMany(ctx, batch, options.InsertMany().SetOrdered(false))
		if err != nil {
			var bwe mongo.BulkWriteException
			if !onlyDuplicates(err) || !errors.As(err, &bwe) {
				return 0, fmt.Errorf("inserting %d log documents: %w", len(batch), mapErr(err))
			}
			inserted -= len(bwe.WriteErrors)
			ids := make([]string, len(bwe.WriteErrors))
			for i, we := range bwe.WriteErrors {
				ids[i] = todo[we.Index].ID
			}
			there, err := s.findLogDocs(ctx, ids)
			if err != nil {
				return inserted, err
			}
			for i, we := range bwe.WriteErrors {
				if there[i] == nil || there[i].Index != todo[we.Index].Index {
					conflicted[pseudonymOf(todo[we.Index])] = true
				}
			}
		}
	}
	// Every seq up to a head is now stored, by this migration or by another writer.
	heads := map[string]uint64{}
	var headDocs []any
	for _, p := range pseudonyms {
		if !conflicted[p] {
			heads[p] = uint64(len(byPseudonym[p]))
			headDocs = append(headDocs, headDoc{ID: p, Seq: int64(heads[p])})
		}
	}
	if written {
		_ = s.advanceHeads(ctx, heads, heads) // hints (heads that may exist: updated)
	} else if len(headDocs) > 0 {
		_, err := s.logHeads.InsertMany(ctx, headDocs, options.InsertMany().SetOrdered(false))
		var bwe mongo.BulkWriteException
		if err != nil && onlyDuplicates(err) && errors.As(err, &bwe) {
			for _, we := range bwe.WriteErrors {
				d := headDocs[we.Index].(headDoc)
				_ = s.logChain().advance(ctx, d.ID, uint64(d.Seq)) // a hint
			}
		}
	}
	for _, p := range pseudonyms {
		if conflicted[p] {
			n, err := s.completeLog(ctx, p, byPseudonym[p])
			inserted += n
			if err != nil {
				return inserted, err
			}
		}
	}
	return inserted, nil
}

// docExists reports whether collection c holds the document id.
func (s *Store) docExists(ctx context.Context, c collection, id string) (bool, error) {
	err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, mapErr(err)
	}
	return true, nil
}

// oldRef is a subject reference as the migration reads it.
type oldRef struct {
	index int64
	salt  []byte
}

// completeLog appends to the citizen's log those of refs whose ledger index it lacks.
func (s *Store) completeLog(ctx context.Context, pseudonym string, refs []oldRef) (int, error) {
	end, err := s.SubjectLogEnd(ctx, pseudonym)
	if err != nil {
		return 0, err
	}
	have := map[int64]bool{}
	if end > 0 {
		docs, err := s.readLog(ctx, pseudonym, 1, end)
		if err != nil {
			return 0, err
		}
		for _, d := range docs {
			if d != nil {
				have[d.Index] = true
			}
		}
	}
	n := 0
	for _, r := range refs {
		if have[r.index] {
			continue
		}
		if _, err := s.appendLog(ctx, store.LogRef{Pseudonym: pseudonym, Index: uint64(r.index), Salt: r.salt}); err != nil {
			return n, fmt.Errorf("migrating the subject log: %w", err)
		}
		n++
	}
	return n, nil
}

// bulkChunk is the number of documents one BulkLoadSubjectLogs insert carries.
const bulkChunk = 1000

// BulkLoadSubjectLogs writes refs into a store whose access logs and subject index do not yet hold
// their citizens: each reference as its citizen's log document ref.Seq (which must be set, the
// citizen's seqs 1 … n dense) and as its subject index reference, and each citizen's head at the
// largest seq given, in the layout AppendSubjectLogs writes, by ordered inserts of bulkChunk
// documents (the three collections concurrently). It does not look for existing documents: a
// duplicate _id fails it. For seeding large logs (benchmarks, imports into an empty store), where
// appending through AppendSubjectLogs would be slow. Safe for concurrent use with other seeding of
// other citizens.
func (s *Store) BulkLoadSubjectLogs(ctx context.Context, refs []store.LogRef) error {
	heads := map[string]uint64{}
	var order []string
	for _, r := range refs {
		if err := checkLogRef(r); err != nil {
			return err
		}
		if r.Seq == 0 {
			return fmt.Errorf("store: bulk load of %s without a seq", r.Pseudonym)
		}
		if _, ok := heads[r.Pseudonym]; !ok {
			order = append(order, r.Pseudonym)
		}
		heads[r.Pseudonym] = max(heads[r.Pseudonym], r.Seq)
	}
	insert := func(c collection, n int, doc func(i int) any) error {
		batch := make([]any, 0, bulkChunk)
		for i := range n {
			batch = append(batch, doc(i))
			if len(batch) == bulkChunk || i == n-1 {
				if _, err := c.InsertMany(ctx, batch); err != nil {
					return fmt.Errorf("bulk loading %s: %w", c.Name(), mapErr(err))
				}
				batch = batch[:0]
			}
		}
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := insert(s.subjectLog, len(refs), func(i int) any { return toLogDoc(refs[i], refs[i].Seq) }); err != nil {
			return err
		}
		// The references beside the log documents, once those are stored (keys.go).
		return insert(s.subjectLog, len(refs), func(i int) any { return subjectDoc(subjectRefOf(refs[i])) })
	})
	g.Go(func() error {
		return insert(s.logHeads, len(order), func(i int) any {
			return headDoc{ID: order[i], Seq: int64(heads[order[i]])}
		})
	})
	return g.Wait()
}
