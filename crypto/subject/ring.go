package subject

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrPseudonymKey: a key set would change the oldest index key, which the ring keeps for as long
// as it lives (the first pseudonym key: key files that lack it are not the store's); refused.
var ErrPseudonymKey = errors.New("subject: the key set does not keep the oldest index key")

// KeyID names an index key without revealing it: 64 lower-case hex digits of
//
//	SHA-256("govhub/index-key/v1\n" ‖ key)
//
// It is what the key's rotation entry names.
func KeyID(key []byte) string {
	h := sha256.Sum256(append([]byte("govhub/index-key/v1\n"), key...))
	return hex.EncodeToString(h[:])
}

// Ring is a hub's index keys: the current key, which keys everything written from now on, and
// the keys it replaced, newest first, which still check and find what was written under them.
// One of them is the pseudonym key ([Ring.PseudonymKeys]): it names citizens in the private index
// and their access logs. It is the oldest key until [Ring.SetPseudonymKeys] names another (the
// pseudonyms were re-keyed: see the package doc). A Ring is safe for concurrent use; its key set
// changes only by [Ring.Rotate], [Ring.Update] and [Ring.SetPseudonymKeys], and readers see
// either the old set or the new one, never a mix.
type Ring struct {
	keys atomic.Pointer[ringKeys]

	mu         sync.Mutex // Refresh
	reload     func() error
	lastReload time.Time
}

type ringKeys struct {
	all [][]byte // current first, then the previous keys, newest first
	gen uint64
	// pseudonym is the key citizens' pseudonyms are under (nil: the oldest key, all's last);
	// former are the keys they were under before, whose data may not have moved yet.
	pseudonym []byte
	former    [][]byte
}

// pseudonymKey is the key pseudonyms are under.
func (k *ringKeys) pseudonymKey() []byte {
	if k.pseudonym != nil {
		return k.pseudonym
	}
	return k.all[len(k.all)-1]
}

// NewRing returns the ring of current and the keys it replaced (previous, newest first). Every
// key must have KeySize bytes and appear once.
func NewRing(current []byte, previous ...[]byte) (*Ring, error) {
	all, err := ringOf(current, previous)
	if err != nil {
		return nil, err
	}
	r := &Ring{}
	r.keys.Store(&ringKeys{all: all, gen: 1})
	return r, nil
}

// FixedRing is the ring of one key (tests, and callers holding a single index key). It panics if
// key is not KeySize bytes: a programmer error.
func FixedRing(key []byte) *Ring {
	r, err := NewRing(key)
	if err != nil {
		panic(err)
	}
	return r
}

func ringOf(current []byte, previous [][]byte) ([][]byte, error) {
	all := make([][]byte, 0, 1+len(previous))
	for i, k := range append([][]byte{current}, previous...) {
		if len(k) != KeySize {
			return nil, fmt.Errorf("subject: index key %d has %d bytes, want %d", i, len(k), KeySize)
		}
		for _, seen := range all {
			if bytes.Equal(seen, k) {
				return nil, fmt.Errorf("subject: index key %d is listed twice", i)
			}
		}
		all = append(all, bytes.Clone(k))
	}
	return all, nil
}

// Current returns the current key. The caller must not change it.
func (r *Ring) Current() []byte { return r.keys.Load().all[0] }

// Keys returns every key, the current first, then the previous ones newest first (the last is the
// pseudonym key). The caller must not change the slice or the keys.
func (r *Ring) Keys() [][]byte { return r.keys.Load().all }

// PseudonymKeys returns the key citizens' pseudonyms are under (the pseudonym key: the oldest key,
// unless [Ring.SetPseudonymKeys] named another) and the keys they were under before whose data may
// not have moved yet, newest first. The caller must not change them.
func (r *Ring) PseudonymKeys() (current []byte, former [][]byte) {
	k := r.keys.Load()
	return k.pseudonymKey(), k.former
}

// Pseudonym is [Pseudonym] under the pseudonym key.
func (r *Ring) Pseudonym(citizenID string) string {
	return Pseudonym(r.keys.Load().pseudonymKey(), citizenID)
}

// SetPseudonymKeys names the pseudonym key and the former pseudonym keys (by [KeyID]), as the
// store records them (a re-keying of the pseudonyms: the package doc). Every key named must be
// held; the ring is unchanged otherwise.
func (r *Ring) SetPseudonymKeys(current string, former []string) error {
	for {
		cur := r.keys.Load()
		byID := func(id string) ([]byte, error) {
			for _, k := range cur.all {
				if KeyID(k) == id {
					return k, nil
				}
			}
			return nil, fmt.Errorf("subject: no index key %.16s is held (a pseudonym key)", id)
		}
		next := &ringKeys{all: cur.all, gen: cur.gen + 1}
		var err error
		if next.pseudonym, err = byID(current); err != nil {
			return err
		}
		for _, id := range former {
			k, err := byID(id)
			if err != nil {
				return err
			}
			if !bytes.Equal(k, next.pseudonym) && !containsKey(next.former, k) {
				next.former = append(next.former, k)
			}
		}
		if bytes.Equal(next.pseudonym, cur.pseudonymKey()) && sameKeys(next.former, cur.former) {
			return nil
		}
		if r.keys.CompareAndSwap(cur, next) {
			return nil
		}
	}
}

// RequestDigest is [RequestDigest] under the current key.
func (r *Ring) RequestDigest(request []byte) []byte { return RequestDigest(r.Current(), request) }

// Generation counts the key sets the ring has held (1 for the first): callers caching what they
// derive from the keys compare it.
func (r *Ring) Generation() uint64 { return r.keys.Load().gen }

// Rotate makes key current; the key it replaces joins the previous keys.
func (r *Ring) Rotate(key []byte) error {
	cur := r.keys.Load()
	all, err := ringOf(key, cur.all)
	if err != nil {
		return err
	}
	if !r.keys.CompareAndSwap(cur, &ringKeys{all: all, gen: cur.gen + 1, pseudonym: cur.pseudonym, former: cur.former}) {
		return errors.New("subject: the ring changed during a rotation; rotate again")
	}
	return nil
}

// Update takes up a key set read again from the key files (another instance rotated): current
// becomes current, and every key the ring held stays held (a file read halfway through a rotation
// never drops one). The oldest key must stay the oldest: ErrPseudonymKey otherwise, and the ring
// is unchanged. It reports whether the key set changed.
func (r *Ring) Update(current []byte, previous ...[]byte) (bool, error) {
	// A file read between the two writes of a rotation lists the current key among the previous
	// ones: drop repeats rather than refuse.
	var prev [][]byte
	for _, k := range previous {
		if !bytes.Equal(k, current) && !containsKey(prev, k) {
			prev = append(prev, k)
		}
	}
	for {
		cur := r.keys.Load()
		next, err := ringOf(current, prev)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(next[len(next)-1], cur.all[len(cur.all)-1]) {
			return false, ErrPseudonymKey
		}
		// Keep every key held, in the order held, before the pseudonym key.
		pk := next[len(next)-1]
		next = next[:len(next)-1]
		for _, k := range cur.all[:len(cur.all)-1] {
			if !containsKey(next, k) && !bytes.Equal(k, pk) {
				next = append(next, k)
			}
		}
		next = append(next, pk)
		if sameKeys(next, cur.all) {
			return false, nil
		}
		if r.keys.CompareAndSwap(cur, &ringKeys{all: next, gen: cur.gen + 1, pseudonym: cur.pseudonym, former: cur.former}) {
			return true, nil
		}
	}
}

func containsKey(ks [][]byte, k []byte) bool {
	for _, x := range ks {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

func sameKeys(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// SetReload sets how Refresh reads the key set again (typically: the key files, then Update).
func (r *Ring) SetReload(fn func() error) {
	r.mu.Lock()
	r.reload = fn
	r.mu.Unlock()
}

// refreshEvery bounds how often Refresh reads the key set again.
const refreshEvery = time.Second

// Refresh reads the key set again with the function SetReload set, at most once a second, and
// reports whether the ring's keys changed meanwhile (by this call or another): what a caller
// does when a MAC or digest matches under none of the keys held, before it decides. Without a
// reload function it reports false.
func (r *Ring) Refresh(seen uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Generation() != seen {
		return true
	}
	if r.reload == nil || time.Since(r.lastReload) < refreshEvery {
		return false
	}
	r.lastReload = time.Now()
	if err := r.reload(); err != nil {
		return false
	}
	return r.Generation() != seen
}

// Find calls match with each key, the current first, and returns the first key it accepts; if
// none does, it refreshes the ring once (Refresh) and tries the keys it did not try yet. ok is
// false when no key matched.
func (r *Ring) Find(match func(key []byte) bool) (key []byte, ok bool) {
	gen := r.Generation()
	tried := r.Keys()
	for _, k := range tried {
		if match(k) {
			return k, true
		}
	}
	if !r.Refresh(gen) {
		return nil, false
	}
	for _, k := range r.Keys() {
		if !containsKey(tried, k) && match(k) {
			return k, true
		}
	}
	return nil, false
}
