package mongostore

import (
	"context"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

// CountRecords returns about how many records are stored, without reading them: for showing
// progress, not for checking. MongoDB answers from its collection metadata. FerretDB answers
// estimatedDocumentCount by reading every record, so on the embedded store the estimate comes from
// collStats, which counts the cells of SQLite's table pages instead of decoding the documents.
func (s *Store) CountRecords(ctx context.Context) (uint64, error) {
	if s.embedded == nil {
		n, err := s.records.EstimatedDocumentCount(ctx)
		if err != nil {
			return 0, mapErr(err)
		}
		return uint64(max(n, 0)), nil
	}
	var stats struct {
		Count int64 `bson:"count"`
	}
	err := s.db.RunCommand(ctx, bson.D{{Key: "collStats", Value: s.records.Name()}}).Decode(&stats)
	if err != nil {
		return 0, mapErr(err)
	}
	return uint64(max(stats.Count, 0)), nil
}

// recordBatch is how many records one cursor batch of EachRecordConcurrently holds.
const recordBatch = 512

// EachRecordConcurrently reads every stored record once, in one pass, like EachRecord, but calls
// fn from workers goroutines at once: one goroutine only drains the cursor, so the database
// prepares the next batch while the workers decode the records and call fn. seq numbers the
// records in the order the cursor returns them, from 0. It stops at the first error, which it
// returns; fn must be safe for concurrent use.
func (s *Store) EachRecordConcurrently(ctx context.Context, workers int, fn func(seq int, r store.Record) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type raw struct {
		seq int
		doc bson.Raw
	}
	var (
		docs  = make(chan raw, 2*recordBatch)
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
				var rd recordDoc
				if err := bson.Unmarshal(d.doc, &rd); err != nil {
					fail(err)
					continue
				}
				r, err := fromRecordDoc(rd)
				if err == nil {
					err = fn(d.seq, r)
				}
				if err != nil {
					fail(err)
				}
			}
		}()
	}
	err := func() error {
		cur, err := s.records.Find(ctx, bson.D{}, options.Find().SetBatchSize(recordBatch))
		if err != nil {
			return mapErr(err)
		}
		defer cur.Close(ctx)
		for seq := 0; cur.Next(ctx); seq++ {
			select {
			case docs <- raw{seq, bson.Raw(append([]byte(nil), cur.Current...))}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return cur.Err()
	}()
	close(docs)
	wg.Wait()
	if first != nil {
		return first
	}
	return err
}
