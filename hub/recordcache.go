package hub

import (
	"bytes"
	"maps"

	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/store"
)

// Caches of what a read needs from the store, correct with any number of hub instances on one store.
//
// Records (off by default: --record-cache): the record cache keeps, per citizen, the records last
// read and checked (integrity.go) together with the record head they were checked against, for at
// most a TTL (DefaultRecordCacheTTL). A read always reads the citizen's head
// from the store (one find by _id); only when that head is the cached one (same head index, same
// versions, same MAC) are the cached records used, else they are read again. Every update, on any
// instance, moves the head before it is acknowledged (update.go: entry, head, record), so a read
// that begins after an acknowledged update sees the new head and never the old records. What
// differs from an uncached read: the records themselves are not read again while their head is
// unchanged, so a record changed or deleted in the database behind the hub's back is not noticed
// until its citizen drops out of the cache, but the copy released is the one checked against the
// head, never the altered one; and a record the head does not list is not looked for (it is never
// released either way). The head is checked on every read (MAC, not superseded). So with the cache
// a record changed behind the hub's back is still never served (the copy served is the one
// checked), but it is refused and reported only once its citizen's entry expires, within the TTL,
// rather than at the next read: that is why the cache is an operator's choice and off by default
// (ARCHITECTURE §1.8). Updates never use it: the record an update builds on is always read and
// checked, so a changed record is refused at its next update.
//
// Data keys: a citizen's data key is created once and never replaced (AddDataKey refuses a second
// one), so an unwrapped key is cached by citizen without asking the store again.
//
// Entries are never changed once cached: a read that adds datasets to a citizen's entry replaces it.

// cachedCitizen is one citizen's checked records at one head; records holds only datasets the head
// lists.
type cachedCitizen struct {
	head    store.Head
	records map[string]store.Record
}

// DefaultRecordCacheTTL is how long a citizen's checked records are served from the record cache
// before they are read and checked again.
const DefaultRecordCacheTTL = 10 * time.Second

// recordCache is a bounded LRU of cachedCitizen by citizen id, each entry expiring after a TTL;
// nil caches nothing.
type recordCache struct {
	lru *expirable.LRU[string, *cachedCitizen]
}

// newRecordCache returns a cache of at most n citizens for ttl (0: DefaultRecordCacheTTL), nil for
// n < 1.
func newRecordCache(n int, ttl time.Duration) *recordCache {
	if n < 1 {
		return nil
	}
	if ttl <= 0 {
		ttl = DefaultRecordCacheTTL
	}
	return &recordCache{lru: expirable.NewLRU[string, *cachedCitizen](n, nil, ttl)}
}

// get returns the citizen's cached entry, if any.
func (c *recordCache) get(citizen string) (*cachedCitizen, bool) {
	if c == nil {
		return nil, false
	}
	return c.lru.Get(citizen)
}

// serves returns the cached records of datasets when e was checked at head h and holds every
// dataset of datasets that h lists.
func (e *cachedCitizen) serves(h store.Head, datasets []string) (map[string]store.Record, bool) {
	if e == nil || !sameHead(e.head, h) {
		return nil, false
	}
	out := make(map[string]store.Record, len(datasets))
	for _, ds := range datasets {
		if _, listed := h.Versions[ds]; !listed {
			continue
		}
		rec, ok := e.records[ds]
		if !ok {
			return nil, false
		}
		out[ds] = rec
	}
	return out, true
}

// sameHead reports whether a and b are the same stored head.
func sameHead(a, b store.Head) bool {
	return a.Head == b.Head && bytes.Equal(a.MAC, b.MAC) && maps.Equal(a.Versions, b.Versions)
}

// put remembers records checked at head h (the datasets h lists), merged with what is cached at
// the same head.
func (c *recordCache) put(citizen string, h store.Head, records map[string]store.Record) {
	if c == nil {
		return
	}
	e := &cachedCitizen{head: h, records: make(map[string]store.Record, len(h.Versions))}
	if old, ok := c.lru.Peek(citizen); ok && sameHead(old.head, h) { // its TTL starts again: both were checked now
		maps.Copy(e.records, old.records)
	}
	for ds, rec := range records {
		if _, listed := h.Versions[ds]; listed {
			e.records[ds] = rec
		}
	}
	c.lru.Add(citizen, e)
}

// dataKeyCache is a bounded LRU of unwrapped data keys by citizen; nil caches nothing.
type dataKeyCache struct {
	lru *lru.Cache[string, *seal.DataKey]
}

func newDataKeyCache(n int) *dataKeyCache {
	if n < 1 {
		return nil
	}
	c, err := lru.New[string, *seal.DataKey](n)
	if err != nil {
		return nil
	}
	return &dataKeyCache{lru: c}
}
