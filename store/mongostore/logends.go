package mongostore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Access-log ends across a restart. The seqCache (subjectlog.go) is what spares an append the reads
// that find its citizen's log end: on the embedded store about three finds a citizen the first time
// (the head hint, then past it), three fifths of a cold logged read's commands. A hub that
// restarted would find every end again. So a hub that stops gracefully writes the ends it knows to
// the meta document "log_ends", with the ledger's size at that moment (SaveLogEnds), and at its
// next start reads that document and deletes it before serving (LoadLogEnds). The ends are used
// only if the ledger still has that size: every access-log append follows the append of its
// entry, so an unchanged ledger means that nothing was added to any log since. A process that
// appends without loading them (a command run while no hub runs) grows the ledger first, and the
// next start finds them stale and drops them. The size compared is the integrated one: a batch
// such a process stored but did not integrate before dying is not counted, and its logs' ends are
// then kept while behind, which costs their next appends a taken seq each (below), never a lost or
// misplaced reference.
//
// An end is never trusted for correctness, only for speed, as within one process: an append at a
// seq already taken is refused by the unique _id and finds the log's end by reads
// (seqChain.insertNext). Only a store this process owns, the embedded one, saves and loads them:
// instances sharing a MongoDB append to the same logs.
//
// The document: {_id: "log_ends", ledger: <size>, n: <citizens>, z: zstd(packed)}, where packed is,
// for each citizen from least to most recently used, uvarint(len(pseudonym)) ‖ pseudonym ‖
// uvarint(seq). Example: the pseudonyms "ab" at seq 3 and "c" at seq 300 pack to
// 02 61 62 03 01 63 ac 02. The document holds what subject_log_heads does (a seq by pseudonym),
// no citizen id.

// metaLogEnds is the meta key of the saved access-log ends.
const metaLogEnds = "log_ends"

// maxLogEndsBytes bounds the saved document's compressed data, well under MongoDB's 16 MiB limit
// on a document (a full seqCache of 131,072 citizens packs to about 9 MB before compression).
const maxLogEndsBytes = 12 << 20

// ownsLogEnds reports whether this store saves and loads access-log ends: an embedded store it
// may write.
func (s *Store) ownsLogEnds() bool { return s.embedded != nil && !s.readOnly }

// SaveLogEnds writes the access-log ends this process knows to the meta document "log_ends", with
// ledgerSize, the ledger's size once nothing more will be appended, and returns how many it saved.
// It writes nothing (0, nil) on a store this process does not own.
func (s *Store) SaveLogEnds(ctx context.Context, ledgerSize uint64) (int, error) {
	if !s.ownsLogEnds() {
		return 0, nil
	}
	packed, n := s.lastSeqs.pack()
	if n == 0 {
		return 0, nil
	}
	z := compress(packed)
	if len(z) > maxLogEndsBytes {
		return 0, fmt.Errorf("saving the access-log ends: %d bytes compressed, over %d", len(z), maxLogEndsBytes)
	}
	doc := bson.D{{Key: "_id", Value: metaLogEnds}, {Key: "ledger", Value: int64(ledgerSize)}, {Key: "n", Value: int64(n)}, {Key: "z", Value: z}}
	if _, err := s.meta.ReplaceOne(ctx, bson.D{{Key: "_id", Value: metaLogEnds}}, doc, options.Replace().SetUpsert(true)); err != nil {
		return 0, fmt.Errorf("saving the access-log ends: %w", mapErr(err))
	}
	return n, nil
}

// LoadLogEnds reads the access-log ends a previous process saved, deletes them, and remembers them
// if the ledger's size is still the one they were saved with; it returns how many it took (0
// without a saved document, when they are stale, or on a store this process does not own). They
// are deleted before use, so that a process that stops without saving leaves none behind.
func (s *Store) LoadLogEnds(ctx context.Context, ledgerSize uint64) (int, error) {
	if !s.ownsLogEnds() {
		return 0, nil
	}
	var d struct {
		Ledger int64  `bson:"ledger"`
		N      int64  `bson:"n"`
		Z      []byte `bson:"z"`
	}
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: metaLogEnds}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the saved access-log ends: %w", mapErr(err))
	}
	if _, err := s.meta.DeleteOne(ctx, bson.D{{Key: "_id", Value: metaLogEnds}}); err != nil {
		return 0, fmt.Errorf("deleting the saved access-log ends: %w", mapErr(err))
	}
	if d.Ledger < 0 || uint64(d.Ledger) != ledgerSize {
		return 0, nil
	}
	packed, err := decompress(d.Z)
	if err != nil {
		return 0, fmt.Errorf("the saved access-log ends: %w", err)
	}
	ends, err := unpackLogEnds(packed)
	if err != nil {
		return 0, fmt.Errorf("the saved access-log ends: %w", err)
	}
	if int64(len(ends)) != d.N {
		return 0, fmt.Errorf("the saved access-log ends: %d citizens, the document says %d", len(ends), d.N)
	}
	for _, e := range ends {
		s.lastSeqs.put(e.pseudonym, e.seq)
	}
	return len(ends), nil
}

// logEndOf is one citizen's access-log end.
type logEndOf struct {
	pseudonym string
	seq       uint64
}

// pack writes the cache's ends, least recently used first (the order put keeps when loading), in
// the saved form (see above), and returns it with their number.
func (c *seqCache) pack() ([]byte, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seqs == nil {
		return nil, 0
	}
	var out []byte
	n := 0
	for _, p := range c.seqs.Keys() { // oldest first
		e, ok := c.seqs.Peek(p)
		if !ok {
			continue
		}
		out = appendLogEnd(out, p, e.seq)
		n++
	}
	return out, n
}

func appendLogEnd(out []byte, pseudonym string, seq uint64) []byte {
	out = binary.AppendUvarint(out, uint64(len(pseudonym)))
	out = append(out, pseudonym...)
	return binary.AppendUvarint(out, seq)
}

// unpackLogEnds splits what pack wrote.
func unpackLogEnds(packed []byte) ([]logEndOf, error) {
	var out []logEndOf
	for len(packed) > 0 {
		n, k := binary.Uvarint(packed)
		if k <= 0 || n == 0 || n > uint64(len(packed)-k) {
			return nil, errors.New("truncated pseudonym")
		}
		p := string(packed[k : k+int(n)])
		packed = packed[k+int(n):]
		seq, k := binary.Uvarint(packed)
		if k <= 0 || seq == 0 {
			return nil, fmt.Errorf("bad seq after pseudonym %q", p)
		}
		packed = packed[k:]
		out = append(out, logEndOf{p, seq})
	}
	return out, nil
}
