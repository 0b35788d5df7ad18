package mongostore

// The embedded store's index of citizen ids, in memory. On FerretDB a page of citizens in id order
// ({_id: {$gt: after}} sorted by _id) is a full scan and a sort of the citizens collection (7 s a
// page at 100,000 citizens): FerretDB pushes down only _id equality (ARCHITECTURE §7). The embedded
// database has one writer, this process, and every citizen is registered through AddCitizens, so
// the process can keep the sorted ids itself: read once (one scan, on the first list), then kept
// current by AddCitizens of any Store on the same embedded server and database. MongoDB, and a
// FerretDB reached by URI, answer the query themselves.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store/embedded"
)

type citizenIndex struct {
	mu      sync.Mutex
	loaded  bool
	loading chan struct{} // closed when the load under way ends; nil when none is
	err     error         // the last load's error
	ids     []string      // sorted, once loaded
	pending []string      // registered while a load is under way
}

// citizenIndexLoadTimeout bounds the scan that loads the index.
const citizenIndexLoadTimeout = 5 * time.Minute

type citizenIndexKey struct {
	srv *embedded.Server
	db  string
}

var (
	citizenIndexesMu sync.Mutex
	citizenIndexes   = map[citizenIndexKey]*citizenIndex{}
)

// citizenIdx returns the in-memory citizen index of this store's embedded database, nil when the
// store is not the embedded one's writer.
func (s *Store) citizenIdx() *citizenIndex {
	if s.embedded == nil || s.readOnly {
		return nil
	}
	citizenIndexesMu.Lock()
	defer citizenIndexesMu.Unlock()
	k := citizenIndexKey{s.embedded, s.db.Name()}
	x, ok := citizenIndexes[k]
	if !ok {
		x = &citizenIndex{}
		citizenIndexes[k] = x
	}
	return x
}

// page returns up to limit ids after after. The first call loads the index: one scan of the
// citizens collection, made apart from the caller's context (a request that gives up does not
// waste it), which every caller waits for, each as long as its context allows.
func (x *citizenIndex) page(ctx context.Context, s *Store, after string, limit int) ([]string, error) {
	for {
		x.mu.Lock()
		if x.loaded {
			i := sort.SearchStrings(x.ids, after)
			if i < len(x.ids) && x.ids[i] == after {
				i++
			}
			out := slices.Clone(x.ids[i:min(i+limit, len(x.ids))])
			x.mu.Unlock()
			return out, nil
		}
		wait := x.loading
		if wait == nil {
			wait = make(chan struct{})
			x.loading = wait
			go x.load(context.WithoutCancel(ctx), s, wait)
		} else if x.err != nil {
			err := x.err
			x.err = nil
			x.mu.Unlock()
			return nil, err
		}
		x.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("reading the citizen ids: %w", ctx.Err())
		}
	}
}

// load reads every citizen id, then closes done.
func (x *citizenIndex) load(ctx context.Context, s *Store, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, citizenIndexLoadTimeout)
	defer cancel()
	ids, err := func() ([]string, error) {
		cur, err := s.citizens.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(4096))
		if err != nil {
			return nil, fmt.Errorf("reading the citizen ids: %w", mapErr(err))
		}
		defer cur.Close(ctx)
		var ids []string
		for cur.Next(ctx) {
			if id, ok := cur.Current.Lookup("_id").StringValueOK(); ok {
				ids = append(ids, id)
			}
		}
		if err := cur.Err(); err != nil {
			return nil, fmt.Errorf("reading the citizen ids: %w", mapErr(err))
		}
		return ids, nil
	}()
	x.mu.Lock()
	defer x.mu.Unlock()
	x.loading = nil
	if err != nil {
		x.err = err
	} else {
		slices.Sort(ids)
		// Registrations made during the scan were added to x.pending by add.
		x.ids, x.loaded = slices.Compact(append(ids, x.pending...)), true
		slices.Sort(x.ids)
		x.ids = slices.Compact(x.ids)
		x.pending = nil
	}
	close(done)
}

// invalidate makes the next page read the ids again (a registration failed part-way).
func (x *citizenIndex) invalidate() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.loaded, x.ids = false, nil
}

// add puts newly registered ids in (once loaded; before, the first page reads them all).
func (x *citizenIndex) add(ids []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded {
		if x.loading != nil { // the scan may or may not see them: add them when it ends
			x.pending = append(x.pending, ids...)
		}
		return
	}
	x.ids = append(x.ids, ids...)
	slices.Sort(x.ids)
	x.ids = slices.Compact(x.ids)
}
