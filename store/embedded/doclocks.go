package embedded

import (
	"hash/fnv"
	"slices"
	"sync"
)

// DocumentLocks serialises writers of one document within a process: keys (a collection and a
// document's _id) hash onto a fixed set of mutexes. A holder takes one key with Lock, or several
// with LockAll, which takes their mutexes in one order; nobody takes a second while holding one,
// so no two holders wait for each other. The zero value is ready to use.
type DocumentLocks struct {
	stripes [64]sync.Mutex
}

func (l *DocumentLocks) stripe(key string) int { return int(keyHash(key) % uint32(len(l.stripes))) }

// keyHash is the hash of a document key by which DocumentLocks and WriteCounts spread documents
// (FNV-1a, 32 bits).
func keyHash(key string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return h.Sum32()
}

// Lock takes key's lock and returns the function that releases it.
func (l *DocumentLocks) Lock(key string) (unlock func()) {
	m := &l.stripes[l.stripe(key)]
	m.Lock()
	return m.Unlock
}

// LockAll takes the locks of every key, in the order of their mutexes, and returns the function
// that releases them.
func (l *DocumentLocks) LockAll(keys ...string) (unlock func()) {
	idx := make([]int, len(keys))
	for i, k := range keys {
		idx[i] = l.stripe(k)
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		l.stripes[i].Lock()
	}
	return func() {
		for _, i := range idx {
			l.stripes[i].Unlock()
		}
	}
}
