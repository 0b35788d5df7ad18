package hub

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// core is what every capability that writes entries about citizens shares: appending entries,
// and naming subjects in them and in the private subject index.
type core struct {
	ledger   Appender
	index    SubjectIndex
	indexKey []byte
	now      func() time.Time
	rand     io.Reader
}

func newCore(lg Appender, index SubjectIndex, indexKey []byte, opts []Option) (core, error) {
	if lg == nil || index == nil {
		return core{}, errors.New("hub: a ledger and a subject index are required")
	}
	if len(indexKey) != 32 {
		return core{}, fmt.Errorf("hub: index key has %d bytes, want 32", len(indexKey))
	}
	c := core{ledger: lg, index: index, indexKey: indexKey, now: time.Now, rand: rand.Reader}
	for _, o := range opts {
		o(&c)
	}
	return c, nil
}

// pseudonym names a citizen in the private subject index: the first 16 bytes, hex, of
// HMAC-SHA-256(IndexKey, "govhub/pseudonym/v1" ‖ 0x00 ‖ citizenID).
func (c *core) pseudonym(citizen string) string { return pseudonymOf(c.indexKey, citizen) }

func pseudonymOf(key []byte, citizen string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("govhub/pseudonym/v1\x00"))
	m.Write([]byte(citizen))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// requestDigest is HMAC-SHA-256(IndexKey, "govhub/request/v1" ‖ 0x00 ‖ request): the hub can show a
// request matches its entry, while nobody without the key can test guesses of its contents
// (a plain hash of a request naming a citizen and a value would give both away).
func (c *core) requestDigest(req []byte) []byte {
	m := hmac.New(sha256.New, c.indexKey)
	m.Write([]byte("govhub/request/v1\x00"))
	m.Write(req)
	return m.Sum(nil)
}

// SubjectCommitment is the salted commitment to a citizen that entries carry:
// SHA-256("govhub/subject/v1" ‖ salt ‖ citizenID).
func SubjectCommitment(salt []byte, citizen string) []byte {
	s := sha256.New()
	s.Write([]byte("govhub/subject/v1"))
	s.Write(salt)
	s.Write([]byte(citizen))
	return s.Sum(nil)
}

// subject makes a fresh salt and the commitment for one citizen in one entry.
func (c *core) subject(citizen string) (salt, commitment []byte, err error) {
	salt = make([]byte, 32)
	if _, err := io.ReadFull(c.rand, salt); err != nil {
		return nil, nil, fmt.Errorf("drawing a subject salt: %w", err)
	}
	return salt, SubjectCommitment(salt, citizen), nil
}

// appendEntry appends e, mapping ledger failures to ErrBusy or ErrUnavailable.
func (c *core) appendEntry(ctx context.Context, e ledger.Entry) (ledger.Receipt, error) {
	return usecase.Append(ctx, c.ledger, e)
}

// indexSubject records, in the private subject index, that entry index concerns citizen.
func (c *core) indexSubject(ctx context.Context, citizen string, index uint64, salt []byte) error {
	err := c.index.AddSubjectRefs(ctx, []store.SubjectRef{{Pseudonym: c.pseudonym(citizen), Index: index, Salt: salt}})
	if err != nil {
		return fmt.Errorf("%w: indexing entry %d: %v", ErrUnavailable, index, err)
	}
	return nil
}

// logAttempt appends an entry for a request that releases nothing, and indexes it for the citizen.
func (c *core) logAttempt(ctx context.Context, e ledger.Entry, citizen string, salt []byte) (ledger.Receipt, error) {
	r, err := c.appendEntry(ctx, e)
	if err != nil {
		return r, err
	}
	return r, c.indexSubject(ctx, citizen, r.Index, salt)
}
