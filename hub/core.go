package hub

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// core is what every capability that writes entries about citizens shares: appending entries,
// and naming subjects in them and in the private subject index.
type core struct {
	ledger Appender
	index  SubjectIndex
	// keys is the index key ring (indexkeys.go): pseudonyms under its pseudonym key, request
	// digests under its current key.
	indexKeys *subject.Ring
	// officials names the official behind each request on its entries.
	officials *usecase.Officials
	now       func() time.Time
	rand      io.Reader
	// metrics counts decisions (metrics.go).
	metrics Metrics
	// hashedDates: new dates are committed as hashes, as before scheme v2 (WithHashedDates).
	hashedDates bool
	// names are the citizens' pseudonyms (pseudonyms.go; WithPseudonyms).
	names *Pseudonyms
}

func newCore(lg Appender, index SubjectIndex, ring *subject.Ring, indexKey []byte, officials *usecase.Officials, opts []Option) (core, error) {
	if lg == nil || index == nil || officials == nil {
		return core{}, errors.New("hub: a ledger, a subject index and the officials are required")
	}
	keys, err := indexRing(ring, indexKey)
	if err != nil {
		return core{}, err
	}
	c := core{ledger: lg, index: index, indexKeys: keys, officials: officials, now: time.Now, rand: rand.Reader, metrics: noMetrics{}}
	for _, o := range opts {
		o(&c)
	}
	if c.names == nil {
		c.names = NewPseudonyms(keys, nil)
	}
	return c, nil
}

// actor names p in an entry: department and role (usecase.Actor), and the official line naming
// the person to their department (recorded in the officials directory first; an error means the
// request must fail).
func (c *core) actor(ctx context.Context, p auth.Principal) (department, role string, official []byte, err error) {
	department, role = usecase.Actor(p)
	official, err = c.officials.Line(ctx, p)
	return department, role, official, err
}

// requestID is the id of the request ctx serves (usecase.WithRequestID), for the request-id line
// of its entries ("" without one).
func requestID(ctx context.Context) string { return usecase.RequestID(ctx) }

// pseudonym names a citizen in the private subject index (subject.Pseudonym under the ring's
// pseudonym key), once what was under their former pseudonyms has moved to it (pseudonyms.go).
func (c *core) pseudonym(ctx context.Context, citizen string) (string, error) {
	return c.names.of(ctx, citizen)
}

// requestDigest is the keyed digest of a request (subject.RequestDigest under the current index
// key).
func (c *core) requestDigest(req []byte) []byte { return c.indexKeys.RequestDigest(req) }

// subject makes a fresh salt and the commitment (subject.Commit) for one citizen in one entry.
func (c *core) subject(citizen string) (salt, commitment []byte, err error) {
	if salt, err = subject.NewSalt(c.rand); err != nil {
		return nil, nil, err
	}
	return salt, subject.Commit(salt, citizen), nil
}

// appendEntry appends e, mapping ledger failures to ErrBusy or ErrUnavailable.
func (c *core) appendEntry(ctx context.Context, e ledger.Entry) (ledger.Receipt, error) {
	return usecase.Append(ctx, c.ledger, e)
}

// indexSubject records, in the private subject index and the citizen's access log, that entry
// index concerns citizen (durable when it returns nil: the response may go out). raw is the entry's
// bytes, kept in the log so that reading it back needs no entry bundle (nil: not kept).
func (c *core) indexSubject(ctx context.Context, citizen string, index uint64, salt, raw []byte) error {
	name, err := c.pseudonym(ctx, citizen)
	if err != nil {
		return fmt.Errorf("indexing entry %d: %w", index, err)
	}
	_, err = c.index.AppendSubjectLog(ctx, store.LogRef{Pseudonym: name, Index: index, Salt: salt, Time: c.now(), Entry: raw})
	if err != nil {
		return fmt.Errorf("%w: indexing entry %d: %v", ErrUnavailable, index, err)
	}
	return nil
}

// entryBytes is the canonical encoding of e, appended with receipt r, or nil if it is not the
// entry r acknowledges (it then stays out of the access log, which reads the ledger instead).
func entryBytes(e ledger.Entry, r ledger.Receipt) []byte {
	raw, err := ledger.FormatEntry(e)
	if err != nil || ledger.LeafHash(raw) != r.LeafHash {
		return nil
	}
	return raw
}

// appendFor appends e and indexes it for citizen (the entry names them under salt): every entry
// about one citizen goes through it, so that it shows in their access log.
func (c *core) appendFor(ctx context.Context, e ledger.Entry, citizen string, salt []byte) (ledger.Receipt, error) {
	r, err := c.appendEntry(ctx, e)
	if err != nil {
		return r, err
	}
	return r, c.indexSubject(ctx, citizen, r.Index, salt, entryBytes(e, r))
}

// groupAppender is a ledger that appends several entries together (ledger.AppendAll): the
// ledger the hub is wired with (cmd/govhub's, which times its appends) says so by this method.
type groupAppender interface {
	AppendAll(ctx context.Context, es []ledger.Entry) ([]ledger.Receipt, error)
}

// appendAll appends es in order: together, at consecutive indices in one ledger write, where the
// ledger can (ledger.AppendAll; only the instance that sequences can), else one by one. On an
// error, the receipts of the entries appended before it come with it (none, when appended
// together). Failures map as appendEntry's.
func (c *core) appendAll(ctx context.Context, es []ledger.Entry) ([]ledger.Receipt, error) {
	var rs []ledger.Receipt
	err := ledger.ErrNotGrouped
	switch lg := c.ledger.(type) {
	case groupAppender:
		rs, err = lg.AppendAll(ctx, es)
	case *ledger.Log:
		rs, err = ledger.AppendAll(ctx, lg, es)
	}
	if !errors.Is(err, ledger.ErrNotGrouped) {
		if err != nil {
			return nil, usecase.AppendError(err)
		}
		return rs, nil
	}
	rs = rs[:0] // nothing appended: one by one
	for _, e := range es {
		r, err := c.appendEntry(ctx, e)
		if err != nil {
			return rs, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// subjectRef names one citizen of one entry, under the salt of their commitment in it.
type subjectRef struct {
	citizen string
	salt    []byte
}

// indexSubjects is indexSubject for several entries at once (each named entry es[i], appended with
// receipt rs[i], concerns the citizens of subjects[i]): one store call for all their references.
func (c *core) indexSubjects(ctx context.Context, es []ledger.Entry, rs []ledger.Receipt, subjects [][]subjectRef) error {
	var refs []store.LogRef
	for i, r := range rs {
		raw := entryBytes(es[i], r)
		for _, s := range subjects[i] {
			name, err := c.pseudonym(ctx, s.citizen)
			if err != nil {
				return fmt.Errorf("indexing entry %d: %w", r.Index, err)
			}
			refs = append(refs, store.LogRef{Pseudonym: name, Index: r.Index, Salt: s.salt, Time: c.now(), Entry: raw})
		}
	}
	if len(refs) == 0 {
		return nil
	}
	if _, err := c.index.AppendSubjectLogs(ctx, refs); err != nil {
		return fmt.Errorf("%w: indexing entries %d to %d: %v", ErrUnavailable, rs[0].Index, rs[len(rs)-1].Index, err)
	}
	return nil
}

// pendingEntry is an entry made but not yet appended, with the citizens it names (each under the
// salt of their commitment in it), and for a step of a certificate application the step's name
// ("" for any other entry).
type pendingEntry struct {
	entry    ledger.Entry
	subjects []subjectRef
	status   string
}

// appendIndexed appends ps in order (appendAll) and indexes each for the citizens it names, all in
// one store call: appendFor for entries with nothing released between them. Entries appended
// before a failure are indexed all the same, and their receipts come with the error.
func (c *core) appendIndexed(ctx context.Context, ps []pendingEntry) ([]ledger.Receipt, error) {
	es := make([]ledger.Entry, len(ps))
	subjects := make([][]subjectRef, len(ps))
	for i, p := range ps {
		es[i], subjects[i] = p.entry, p.subjects
	}
	rs, err := c.appendAll(ctx, es)
	if ierr := c.indexSubjects(ctx, es, rs, subjects[:len(rs)]); err == nil {
		err = ierr
	}
	return rs, err
}
