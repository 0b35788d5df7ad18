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
