package usecase

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/store"
)

// OfficialDirectory is where the subject behind each official pseudonym is kept, sealed for its
// department (a store.Store). AddOfficial of a pseudonym already stored is not an error.
type OfficialDirectory interface {
	AddOfficial(ctx context.Context, o store.Official) error
}

// OfficialLookup reads the directory; Official fails with store.ErrNotFound for an unknown
// pseudonym.
type OfficialLookup interface {
	Official(ctx context.Context, pseudonym string) (store.Official, error)
}

// Officials names the individual official behind each request on the entries they cause
// (crypto/subject.Official under the hub's officials key), so that an entry identifies a person
// to their own department and to nobody else, and keeps the directory from which that department
// resolves the name. It is safe for concurrent use.
type Officials struct {
	key  atomic.Pointer[[]byte] // the officials key in use (Rotate replaces it)
	dir  OfficialDirectory
	rand io.Reader
	seen sync.Map // pseudonym → struct{}: already in the directory
}

// NewOfficials returns the officials of the hub whose officials key is key (32 bytes), recorded
// in dir.
func NewOfficials(key []byte, dir OfficialDirectory) (*Officials, error) {
	if len(key) != subject.KeySize {
		return nil, fmt.Errorf("usecase: officials key has %d bytes, want %d", len(key), subject.KeySize)
	}
	if dir == nil {
		return nil, errors.New("usecase: officials need a directory")
	}
	o := &Officials{dir: dir, rand: rand.Reader}
	o.key.Store(&key)
	return o, nil
}

// Rotate makes key (32 bytes) the officials key: entries from then on name officials by
// pseudonyms under it. Pseudonyms under the earlier key stay in the directory, sealed under that
// key; a department resolves them with it (ResolveOfficial with each key the hub held).
func (o *Officials) Rotate(key []byte) error {
	if len(key) != subject.KeySize {
		return fmt.Errorf("usecase: officials key has %d bytes, want %d", len(key), subject.KeySize)
	}
	key = append([]byte(nil), key...)
	o.key.Store(&key)
	return nil
}

// Name returns the official line for an entry caused by p: the pseudonym of p's token subject
// within the department the entry names (Actor), or "" for a principal that is not an official
// (a citizen, whose subject is their citizen id and never goes on the ledger, or a token without
// a subject). The first time a pseudonym is seen it is written to the directory before Name
// returns, so an entry never names an official its department cannot resolve; if the directory
// cannot take it, Name fails with ErrUnavailable and the request must fail.
func (o *Officials) Name(ctx context.Context, p auth.Principal) (string, error) {
	if o == nil || p.Kind == auth.KindCitizen || p.Subject == "" {
		return "", nil
	}
	dept, _ := Actor(p)
	key := *o.key.Load()
	name := subject.Official(key, dept, p.Subject)
	if _, ok := o.seen.Load(name); ok {
		return name, nil
	}
	sealed, err := subject.SealOfficial(o.rand, subject.DepartmentKey(key, dept), name, p.Subject)
	if err != nil {
		return "", fmt.Errorf("%w: sealing the official's directory entry: %v", ErrUnavailable, err)
	}
	if err := o.dir.AddOfficial(ctx, store.Official{Pseudonym: name, Department: dept, Sealed: sealed}); err != nil {
		return "", fmt.Errorf("%w: recording the official in the directory: %v", ErrUnavailable, err)
	}
	o.seen.Store(name, struct{}{})
	return name, nil
}

// Line is Name as an entry's official line holds it: the 32 bytes of the pseudonym, or nil.
func (o *Officials) Line(ctx context.Context, p auth.Principal) ([]byte, error) {
	name, err := o.Name(ctx, p)
	if err != nil || name == "" {
		return nil, err
	}
	return hex.DecodeString(name)
}

// ErrUnknownOfficial: the pseudonym is not in the directory, or belongs to another department.
var ErrUnknownOfficial = errors.New("no official of this department has that pseudonym")

// ResolveOfficial returns the token subject behind pseudonym, for department's officers: the
// directory entry must be the department's and must open under its key.
func ResolveOfficial(ctx context.Context, officialsKey []byte, dir OfficialLookup, department, pseudonym string) (string, error) {
	o, err := dir.Official(ctx, pseudonym)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrUnknownOfficial
	}
	if err != nil {
		return "", err
	}
	if o.Department != department {
		return "", ErrUnknownOfficial
	}
	s, err := subject.OpenOfficial(subject.DepartmentKey(officialsKey, department), pseudonym, o.Sealed)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnknownOfficial, err)
	}
	if subject.Official(officialsKey, department, s) != pseudonym {
		return "", ErrUnknownOfficial
	}
	return s, nil
}
