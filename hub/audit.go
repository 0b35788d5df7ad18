package hub

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// AuditStore is what the record audit reads.
type AuditStore interface {
	EachRecord(ctx context.Context, fn func(store.Record) error) error
	SubjectRef(ctx context.Context, pseudonym string, index uint64) (store.SubjectRef, error)
}

// AuditProblem is one record that does not match the ledger.
type AuditProblem struct {
	Citizen, Dataset string
	Version          uint64
	Reason           string
}

func (p AuditProblem) String() string {
	return fmt.Sprintf("%s record of %s at version %d: %s", p.Dataset, p.Citizen, p.Version, p.Reason)
}

// AuditReport is the outcome of AuditRecords.
type AuditReport struct {
	Records  int
	Problems []AuditProblem
}

// AuditRecords checks every stored record against the update entry that wrote it (ARCHITECTURE §1.2: the
// record store matches the ledger): the entry at the record's version must be an allowed update of
// that dataset, about this citizen (its subject commitment opens with the salt in the private index),
// whose record digest is the record's, and which carries the commitment of every sensitive value the
// record holds at that version. Entries must be integrated (ledger.Log.WaitCaughtUp). indexKey is
// the hub's index key (Config.IndexKey), which names citizens in the private index.
func AuditRecords(ctx context.Context, lg LedgerReader, st AuditStore, indexKey []byte) (AuditReport, error) {
	var rep AuditReport
	err := st.EachRecord(ctx, func(rec store.Record) error {
		rep.Records++
		problem := func(format string, args ...any) {
			rep.Problems = append(rep.Problems, AuditProblem{Citizen: rec.Citizen, Dataset: rec.Dataset, Version: rec.Version,
				Reason: fmt.Sprintf(format, args...)})
		}
		raw, err := lg.Entry(ctx, rec.Version)
		if err != nil {
			problem("no readable entry at that index: %v", err)
			return nil
		}
		e, err := ledger.ParseEntry(raw)
		if err != nil {
			problem("entry: %v", err)
			return nil
		}
		if e.Kind != ledger.KindUpdate || e.Outcome != ledger.OutcomeAllowed || e.Dataset != rec.Dataset {
			problem("the entry is %s %s of %q, not an allowed update of %s", e.Outcome, e.Kind, e.Dataset, rec.Dataset)
			return nil
		}
		if !bytes.Equal(e.Record, recordDigest(rec)) {
			problem("the record's digest differs from the entry's")
		}
		ref, err := st.SubjectRef(ctx, subject.Pseudonym(indexKey, rec.Citizen), rec.Version)
		if err != nil {
			problem("the private index has no reference to the entry: %v", err)
		} else if !containsBytes(e.Subjects, subject.Commit(ref.Salt, rec.Citizen)) {
			problem("the entry is not about this citizen")
		}
		ds, ok := dataset.Lookup(rec.Dataset)
		if !ok {
			problem("no dataset %q in the catalog", rec.Dataset)
			return nil
		}
		committed := map[string]string{}
		for _, f := range e.Fields {
			committed[f.Name] = f.Commitment
		}
		for i, item := range rec.Items {
			for name, sf := range item.Sealed {
				if sf.Version != rec.Version {
					continue // an older value, committed by an earlier entry
				}
				key := rec.Dataset + "." + sealKey(ds, name, i)
				if committed[key] != hex.EncodeToString(sf.Commitment) {
					problem("the entry does not carry the commitment of %s", key)
				}
			}
		}
		return nil
	})
	return rep, err
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}
