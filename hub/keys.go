package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// MasterKeys wraps and unwraps the citizens' data keys: a *seal.MasterKey, or a *seal.Ring, whose
// current key can be rotated (KeyRotation).
type MasterKeys interface {
	Wrap(citizen string, dk *seal.DataKey) ([]byte, error)
	Unwrap(citizen string, wrapped []byte) (*seal.DataKey, error)
}

// RotatingMasterKeys is a ring of master keys: Rotate adds a key and makes it current (seal.Ring).
type RotatingMasterKeys interface {
	MasterKeys
	Rotate(key []byte) error
	Current() string
}

// DataKeyRewrapper lists the wrapped data keys and replaces one by the same key wrapped again
// (compare-and-swap on the old wrapped bytes: store.ErrConflict when it changed).
type DataKeyRewrapper interface {
	EachDataKey(ctx context.Context, fn func(citizen string, wrapped []byte) error) error
	ReplaceDataKey(ctx context.Context, citizen string, old, wrapped []byte) error
}

// KeyRotationConfig holds what rotating the master key needs. Officials and Policy are optional.
type KeyRotationConfig struct {
	Ledger Appender
	Keys   DataKeyRewrapper
	Master RotatingMasterKeys
	// Persist stores a new master key durably (a key file, kept with the others) before the
	// ring uses it; it fails rather than replace a key.
	Persist func(key []byte) error
	// Officials names the operator on the rotation entry; Policy gives the version in force.
	Officials *usecase.Officials
	Policy    func() uint64
}

// KeyRotation rotates the master sealing key without stopping the hub (ARCHITECTURE §1.2, §1.4):
//
//  1. a new random key is made and a rotation entry naming it (reason "master", record line
//     SHA-256("govhub/rotation/master/v1\n" ‖ the key's id in hex)) is appended to the ledger;
//  2. the key is persisted, then becomes the ring's current key: every data key wrapped from
//     then on is wrapped under it, while every earlier key still unwraps;
//  3. Rewrap wraps every stored data key again under the current key, one compare-and-swap per
//     citizen, so that the old keys can later be retired. Values sealed under the data keys are
//     untouched: a data key's bytes never change, only their wrapping.
//
// A crash after step 1 leaves an entry naming a key that never wrapped anything (rotate again); a
// crash during step 3 leaves some data keys under the old key, which still unwraps; Rewrap picks
// up where it stopped. At most one rotation or re-wrap runs at a time in a process.
type KeyRotation struct {
	cfg  KeyRotationConfig
	now  func() time.Time
	rand io.Reader
	mu   sync.Mutex // one rotation or re-wrap at a time
}

// NewKeyRotation returns the master key rotation over cfg.
func NewKeyRotation(cfg KeyRotationConfig) (*KeyRotation, error) {
	if cfg.Ledger == nil || cfg.Keys == nil || cfg.Master == nil || cfg.Persist == nil {
		return nil, errors.New("hub: NewKeyRotation needs a ledger, the data keys, a master key ring and a way to persist keys")
	}
	return &KeyRotation{cfg: cfg, now: time.Now, rand: rand.Reader}, nil
}

// Rotation is what a rotation did.
type Rotation struct {
	Key   string // which key: "master"
	KeyID string // the new key's id (hex)
	Index uint64 // the rotation entry's ledger index
	Start uint64 // the log key only: the index of the new key's first entry (the link entry)
}

// RotationDigest is the record line of the rotation entry of the key named key whose id is id.
func RotationDigest(key, id string) []byte {
	h := sha256.Sum256([]byte("govhub/rotation/" + key + "/v1\n" + id))
	return h[:]
}

// RotateMaster makes a new master key current (steps 1 and 2 above); the caller then runs
// Rewrap, usually in the background. Only operators rotate keys.
func (k *KeyRotation) RotateMaster(ctx context.Context, p auth.Principal) (Rotation, error) {
	if p.Kind != auth.KindOperator {
		return Rotation{}, fmt.Errorf("%w: only operators rotate keys", ErrForbidden)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	key := make([]byte, seal.KeySize)
	if _, err := io.ReadFull(k.rand, key); err != nil {
		return Rotation{}, fmt.Errorf("making a master key: %w", err)
	}
	defer clear(key)
	idb := seal.KeyID(key)
	id := fmt.Sprintf("%x", idb[:])
	index, err := k.logRotation(ctx, p, "master", id)
	if err != nil {
		return Rotation{}, err
	}
	if err := k.cfg.Persist(key); err != nil {
		return Rotation{}, fmt.Errorf("storing the new master key (rotation entry %d names a key that never took effect; rotate again): %w", index, err)
	}
	if err := k.cfg.Master.Rotate(key); err != nil {
		return Rotation{}, err
	}
	return Rotation{Key: "master", KeyID: id, Index: index}, nil
}

// LogRotation appends the rotation entry of a key that is not the master key (reason key, e.g.
// "token" or "credential"; record line RotationDigest(key, id), id naming the new key, e.g. its
// public key's "kid"): the caller rotates that key only once this returned. Only operators
// rotate keys.
func (k *KeyRotation) LogRotation(ctx context.Context, p auth.Principal, key, id string) (uint64, error) {
	if p.Kind != auth.KindOperator {
		return 0, fmt.Errorf("%w: only operators rotate keys", ErrForbidden)
	}
	if key == "master" {
		return 0, errors.New("hub: the master key rotates with RotateMaster")
	}
	return k.logRotation(ctx, p, key, id)
}

// LogKeyEntry makes, without appending it, the rotation entry of the log key to the verifier key
// vkey (its record line RotationDigest("log", vkey), which is ledger.LogKeyDigest(vkey)): the log
// appends it itself as it rotates (ledger.Log.RotateKey). Only operators rotate keys.
func (k *KeyRotation) LogKeyEntry(ctx context.Context, p auth.Principal, vkey string) (ledger.Entry, error) {
	if p.Kind != auth.KindOperator {
		return ledger.Entry{}, fmt.Errorf("%w: only operators rotate keys", ErrForbidden)
	}
	return k.rotationEntry(ctx, p, ledger.ReasonLogKey, vkey)
}

func (k *KeyRotation) logRotation(ctx context.Context, p auth.Principal, key, id string) (uint64, error) {
	e, err := k.rotationEntry(ctx, p, key, id)
	if err != nil {
		return 0, err
	}
	r, err := usecase.Append(ctx, k.cfg.Ledger, e)
	return r.Index, err
}

// rotationEntry is the rotation entry of key, now named id, by p.
func (k *KeyRotation) rotationEntry(ctx context.Context, p auth.Principal, key, id string) (ledger.Entry, error) {
	dept, role := usecase.Actor(p)
	e := ledger.Entry{Kind: ledger.KindRotation, Time: k.now(), Department: dept, Role: role,
		Outcome: ledger.OutcomeAllowed, Reason: key, Record: RotationDigest(key, id)}
	if k.cfg.Policy != nil {
		e.Policy = k.cfg.Policy()
	}
	if k.cfg.Officials != nil {
		line, err := k.cfg.Officials.Line(ctx, p)
		if err != nil {
			return ledger.Entry{}, err
		}
		e.Official = line
	}
	return e, nil
}

// RewrapProgress is how far a re-wrap got.
type RewrapProgress struct {
	Seen      int // data keys read
	Rewrapped int // wrapped again under the current key
	Current   int // already under it
	Gone      int // changed or removed meanwhile (an erasure, another instance's re-wrap)
}

// Rewrap wraps every stored data key not yet under the current master key again under it
// (step 3 above), calling progress (if not nil) every 1,000 keys and at the end.
func (k *KeyRotation) Rewrap(ctx context.Context, progress func(RewrapProgress)) (RewrapProgress, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var pr RewrapProgress
	cur := k.cfg.Master.Current()
	type job struct {
		citizen string
		wrapped []byte
	}
	// Collect first, then replace: the scan's cursor is not held open across writes.
	var todo []job
	err := k.cfg.Keys.EachDataKey(ctx, func(citizen string, wrapped []byte) error {
		pr.Seen++
		if seal.WrappedUnder(wrapped) == cur {
			pr.Current++
		} else {
			todo = append(todo, job{citizen, wrapped})
		}
		return ctx.Err()
	})
	if err != nil {
		return pr, err
	}
	for i, j := range todo {
		dk, err := k.cfg.Master.Unwrap(j.citizen, j.wrapped)
		if err != nil {
			return pr, fmt.Errorf("re-wrapping the data key of a citizen: %w", err)
		}
		w, err := k.cfg.Master.Wrap(j.citizen, dk)
		if err != nil {
			return pr, err
		}
		switch err := k.cfg.Keys.ReplaceDataKey(ctx, j.citizen, j.wrapped, w); {
		case err == nil:
			pr.Rewrapped++
		case errors.Is(err, store.ErrConflict):
			pr.Gone++
		default:
			return pr, fmt.Errorf("re-wrapping data keys: %w", err)
		}
		if progress != nil && (i+1)%1000 == 0 {
			progress(pr)
		}
	}
	if progress != nil {
		progress(pr)
	}
	return pr, nil
}
