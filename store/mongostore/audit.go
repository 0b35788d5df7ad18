package mongostore

import (
	"context"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

// CountRecords returns about how many records are stored, without reading them: for showing
// progress, not for checking. It multiplies the number of citizens' documents by the number of
// records in the first few (plus, while records are being moved, the records collection's count).
// MongoDB answers counts from its collection metadata. FerretDB answers estimatedDocumentCount by
// reading every document, so on the embedded store the counts come from collStats, which counts the
// cells of SQLite's table pages instead of decoding the documents.
func (s *Store) CountRecords(ctx context.Context) (uint64, error) {
	citizens, err := s.estimateCount(ctx, s.recordHeads)
	if err != nil {
		return 0, err
	}
	cur, err := s.recordHeads.Find(ctx, bson.D{}, options.Find().SetLimit(64).SetProjection(packedFields("rv")))
	if err != nil {
		return 0, mapErr(err)
	}
	var sample []citizenDoc
	if err := cur.All(ctx, &sample); err != nil {
		return 0, mapErr(err)
	}
	var n uint64
	if len(sample) > 0 {
		var recs int
		for _, d := range sample {
			recs += len(d.RV)
		}
		n = citizens * uint64(recs) / uint64(len(sample))
	}
	if s.legacy.Load() {
		old, err := s.estimateCount(ctx, s.records)
		if err != nil {
			return 0, err
		}
		n += old
	}
	return n, nil
}

// estimateCount returns about how many documents c holds.
func (s *Store) estimateCount(ctx context.Context, c collection) (uint64, error) {
	if s.embedded == nil {
		n, err := c.EstimatedDocumentCount(ctx)
		if err != nil {
			return 0, mapErr(err)
		}
		return uint64(max(n, 0)), nil
	}
	var stats struct {
		Count int64 `bson:"count"`
	}
	err := s.db.RunCommand(ctx, bson.D{{Key: "collStats", Value: c.Name()}}).Decode(&stats)
	if err != nil {
		return 0, mapErr(err)
	}
	return uint64(max(stats.Count, 0)), nil
}

// recordBatch is how many records one cursor batch of EachRecordConcurrently holds.
const recordBatch = 512

// EachRecordConcurrently reads every stored record once, in one pass, like EachRecord, but calls
// fn from workers goroutines at once: one goroutine only reads the citizens' documents, so the
// database prepares the next batch while the workers decode the records and call fn. seq numbers
// the records in the order they are read, from 0. It stops at the first error, which it returns;
// fn must be safe for concurrent use.
func (s *Store) EachRecordConcurrently(ctx context.Context, workers int, fn func(seq int, r store.Record) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		seq int
		doc recordDoc
	}
	var (
		docs  = make(chan job, 2*recordBatch)
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() { first = err; cancel() })
	}
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range docs {
				if ctx.Err() != nil {
					continue
				}
				r, err := fromRecordDoc(d.doc)
				if err == nil {
					err = fn(d.seq, r)
				}
				if err != nil {
					fail(err)
				}
			}
		}()
	}
	seq := 0
	err := s.eachRecordDoc(ctx, func(d recordDoc) error {
		select {
		case docs <- job{seq, d}:
			seq++
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(docs)
	wg.Wait()
	if first != nil {
		return first
	}
	return err
}
