package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/govhub/govhub/store"
)

// RemacStore is what RemacRecords reads and writes besides the record heads (a store.Store).
// SetRecordMAC is a compare-and-swap on the record's version (store.ErrConflict when it moved).
type RemacStore interface {
	EachRecord(ctx context.Context, fn func(store.Record) error) error
	Record(ctx context.Context, citizen, dataset string) (store.Record, error)
	SetRecordMAC(ctx context.Context, citizen, dataset string, version uint64, mac []byte) error
	EachRecordHead(ctx context.Context, fn func(store.Head) error) error
}

// RemacProgress is how far a re-MAC got. Heads and records are counted together.
type RemacProgress struct {
	Seen    int `json:"seen"`    // heads and records read
	Remaced int `json:"remaced"` // MAC'd again under the current key
	Current int `json:"current"` // already under it
	Gone    int `json:"gone"`    // changed or removed meanwhile (an update, an erasure, another instance)
	// Refused counts heads and records whose MAC matches under no key held: they are left as they
	// are (a read refuses them, with an alert), never MAC'd again.
	Refused int `json:"refused"`
}

// remacProgressEvery is how often RemacRecords reports progress, in heads and records.
const remacProgressEvery = 1000

// RemacRecords MACs every record head and record whose MAC is under an earlier index key again
// under the current one (after an index key rotation, indexkeys.go), so that the earlier keys are
// no longer needed for them. Each is read again and checked first: one whose MAC matches under no
// key held is left alone and counted Refused (re-MACing it would bless a change made behind the
// hub's back). Each write is a compare-and-swap (a head on its head index, a record on its
// version), so an update or erasure meanwhile wins and is counted Gone. progress, if not nil, is
// called every 1,000 and at the end. It is safe to run beside serving, and to run again (what is
// under the current key already is counted Current).
func (in *Integrity) RemacRecords(ctx context.Context, st RemacStore, progress func(RemacProgress)) (RemacProgress, error) {
	var pr RemacProgress
	report := func() {
		if progress != nil && (pr.Seen%remacProgressEvery == 0) {
			progress(pr)
		}
	}
	// Collect first, then rewrite: the scans' cursors are not held open across writes, and only
	// the names of what needs a new MAC are kept.
	var heads []string
	err := st.EachRecordHead(ctx, func(h store.Head) error {
		if _, current := in.headOK(h.Citizen, h); current {
			pr.Seen++
			pr.Current++
			report()
		} else {
			heads = append(heads, h.Citizen)
		}
		return ctx.Err()
	})
	if err != nil {
		return pr, fmt.Errorf("listing record heads: %w", err)
	}
	type recID struct{ citizen, dataset string }
	var recs []recID
	err = st.EachRecord(ctx, func(r store.Record) error {
		if _, current := in.recordOK(r.Citizen, r.Dataset, r); current {
			pr.Seen++
			pr.Current++
			report()
		} else {
			recs = append(recs, recID{r.Citizen, r.Dataset})
		}
		return ctx.Err()
	})
	if err != nil {
		return pr, fmt.Errorf("listing records: %w", err)
	}
	for _, c := range heads {
		pr.Seen++
		if err := in.remacHead(ctx, c, &pr); err != nil {
			return pr, err
		}
		report()
	}
	for _, r := range recs {
		pr.Seen++
		if err := in.remacRecord(ctx, st, r.citizen, r.dataset, &pr); err != nil {
			return pr, err
		}
		report()
	}
	if progress != nil {
		progress(pr)
	}
	return pr, nil
}

func (in *Integrity) remacHead(ctx context.Context, citizen string, pr *RemacProgress) error {
	h, err := in.heads.RecordHead(ctx, citizen)
	if isNotFound(err) {
		pr.Gone++
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading a record head: %w", err)
	}
	switch ok, current := in.headOK(citizen, h); {
	case current:
		pr.Current++
		return nil
	case !ok:
		pr.Refused++
		return nil
	}
	h.MAC = in.headMAC(citizen, h)
	switch err := in.heads.PutRecordHead(ctx, h, h.Head, true); {
	case err == nil:
		pr.Remaced++
	case errors.Is(err, store.ErrConflict):
		pr.Gone++
	default:
		return fmt.Errorf("MACing a record head again: %w", err)
	}
	return nil
}

func (in *Integrity) remacRecord(ctx context.Context, st RemacStore, citizen, dataset string, pr *RemacProgress) error {
	rec, err := st.Record(ctx, citizen, dataset)
	if isNotFound(err) {
		pr.Gone++
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading a record: %w", err)
	}
	switch ok, current := in.recordOK(citizen, dataset, rec); {
	case current:
		pr.Current++
		return nil
	case !ok:
		pr.Refused++
		return nil
	}
	switch err := st.SetRecordMAC(ctx, citizen, dataset, rec.Version, in.recordMAC(citizen, dataset, rec)); {
	case err == nil:
		pr.Remaced++
	case errors.Is(err, store.ErrConflict), isNotFound(err):
		pr.Gone++
	default:
		return fmt.Errorf("MACing a record again: %w", err)
	}
	return nil
}
