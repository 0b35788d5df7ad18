package seal

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
)

// # Master key rotation
//
// A [Ring] holds the hub's master keys: the current one, which wraps every new data key, and the
// retired ones, which only unwrap. Rotating the master key adds a key and makes it current;
// existing data keys are then re-wrapped under it in the background (by the hub), while every
// key still unwraps meanwhile.
//
// A master key is named by its id, the first 8 bytes of SHA-256("govhub/seal/master-id/v1" ‖
// key). A data key wrapped by a ring is in format version 2, which names the master key:
//
//	version (1 byte, 0x02) || master key id (8 bytes) || nonce (12 bytes) || ciphertext || tag (16 bytes)
//
// 69 bytes in all, under the associated data
//
//	lp("govhub/seal/v2/dek") || lp(citizen) || master key id (8 bytes)
//
// so that neither the citizen nor the id can be changed. Version-1 wraps ([MasterKey.Wrap], made
// before rotation existed, by the first master key) stay readable: a ring tries each of its keys,
// the current one first. testdata/vectors.json holds a version-2 wrap with its key and id.

// KeyIDSize is the size of a master key id.
const KeyIDSize = 8

// VersionRing is the first byte of a data key wrapped by a [Ring].
const VersionRing byte = 0x02

// WrappedRingSize is the size in bytes of a data key wrapped by a [Ring].
const WrappedRingSize = 1 + KeyIDSize + nonceSize + KeySize + tagSize

const (
	idLabel       = "govhub/seal/master-id/v1"
	wrapRingLabel = "govhub/seal/v2/dek"
)

// KeyID returns the id of the master key with the given bytes.
func KeyID(key []byte) [KeyIDSize]byte {
	h := sha256.New()
	h.Write([]byte(idLabel))
	h.Write(key)
	return [KeyIDSize]byte(h.Sum(nil))
}

// Ring is a set of master keys, one of them current. It is safe for concurrent use; [Ring.Rotate]
// may run while others wrap and unwrap.
type Ring struct {
	mu      sync.RWMutex
	current ringKey
	keys    []ringKey // every key, the current one included, in the order added
}

type ringKey struct {
	id  [KeyIDSize]byte
	key *MasterKey
}

// NewRing returns a ring of the given 32-byte keys, the last one current. It keeps no reference
// to the slices.
func NewRing(keys ...[]byte) (*Ring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("seal: a ring needs a master key")
	}
	r := &Ring{}
	for _, k := range keys {
		if err := r.Rotate(k); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Rotate adds key and makes it current (a key already in the ring becomes current again).
func (r *Ring) Rotate(key []byte) error {
	mk, err := NewMasterKey(key)
	if err != nil {
		return err
	}
	rk := ringKey{id: KeyID(key), key: mk}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.keys {
		if k.id == rk.id {
			r.current = k
			return nil
		}
	}
	r.keys = append(r.keys, rk)
	r.current = rk
	return nil
}

// Current returns the id of the current key, in hex.
func (r *Ring) Current() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return hex.EncodeToString(r.current.id[:])
}

// Has reports whether the ring holds the key with the given id (hex).
func (r *Ring) Has(id string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if hex.EncodeToString(k.id[:]) == id {
			return true
		}
	}
	return false
}

// Wrap encrypts dk under the current key for citizen, in format version 2.
func (r *Ring) Wrap(citizen string, dk *DataKey) ([]byte, error) {
	if citizen == "" {
		return nil, fmt.Errorf("wrapping data key: no citizen: %w", ErrInvalidAD)
	}
	r.mu.RLock()
	cur := r.current
	r.mu.RUnlock()
	out := make([]byte, 1+KeyIDSize+nonceSize, WrappedRingSize)
	out[0] = VersionRing
	copy(out[1:], cur.id[:])
	return sealInto(cur.key.aead, out, ringAD(citizen, cur.id), dk.key[:]), nil
}

// Unwrap decrypts a data key wrapped for citizen by a ring holding one of r's keys (version 2),
// or by [MasterKey.Wrap] under one of r's keys (version 1). Any failure wraps [ErrOpen]; a
// version-2 wrap under a key the ring does not hold also wraps [ErrUnknownKey].
func (r *Ring) Unwrap(citizen string, wrapped []byte) (*DataKey, error) {
	if citizen == "" || len(wrapped) == 0 {
		return nil, fmt.Errorf("unwrapping data key: %w", ErrOpen)
	}
	r.mu.RLock()
	cur, keys := r.current, r.keys
	r.mu.RUnlock()
	if wrapped[0] == Version {
		// Version 1: made before rotation existed; try the keys, the current one first.
		if dk, err := cur.key.Unwrap(citizen, wrapped); err == nil {
			return dk, nil
		}
		for i := len(keys) - 1; i >= 0; i-- {
			if keys[i].id == cur.id {
				continue
			}
			if dk, err := keys[i].key.Unwrap(citizen, wrapped); err == nil {
				return dk, nil
			}
		}
		return nil, fmt.Errorf("unwrapping data key: %w", ErrOpen)
	}
	if wrapped[0] != VersionRing || len(wrapped) != WrappedRingSize {
		return nil, fmt.Errorf("unwrapping data key: %w", ErrOpen)
	}
	id := [KeyIDSize]byte(wrapped[1 : 1+KeyIDSize])
	var mk *MasterKey
	for _, k := range keys {
		if k.id == id {
			mk = k.key
		}
	}
	if mk == nil {
		return nil, fmt.Errorf("unwrapping data key: %w: %w %x", ErrOpen, ErrUnknownKey, id)
	}
	body := wrapped[1+KeyIDSize:]
	k, err := mk.aead.Open(nil, body[:nonceSize], body[nonceSize:], ringAD(citizen, id))
	if err != nil {
		return nil, fmt.Errorf("unwrapping data key: %w", ErrOpen)
	}
	dk, err := newDataKey([KeySize]byte(k))
	clear(k)
	return dk, err
}

// WrappedUnder returns the id (hex) of the master key a version-2 wrap names, or "" for a
// version-1 wrap (made by the first master key, before rotation) and for anything else.
func WrappedUnder(wrapped []byte) string {
	if len(wrapped) != WrappedRingSize || wrapped[0] != VersionRing {
		return ""
	}
	return hex.EncodeToString(wrapped[1 : 1+KeyIDSize])
}

// ErrUnknownKey means a wrap names a master key the ring does not hold (yet: another instance
// may have rotated; see [Ring.Rotate]).
var ErrUnknownKey = fmt.Errorf("seal: unknown master key")

// String hides the keys from loggers.
func (*Ring) String() string { return "seal.Ring(REDACTED)" }

func ringAD(citizen string, id [KeyIDSize]byte) []byte {
	b := make([]byte, 0, 8+len(wrapRingLabel)+len(citizen)+KeyIDSize)
	b = appendLP(appendLP(b, wrapRingLabel), citizen)
	return append(b, id[:]...)
}
