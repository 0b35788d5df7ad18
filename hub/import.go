package hub

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// ImportRole is the role import entries are written under, in each dataset's owning department.
const ImportRole = "import"

// NewCitizen is a citizen to import with their records, by dataset (package dataset's values).
type NewCitizen struct {
	ID      string
	Records map[string][]map[string]any
}

// Import loads new citizens in bulk (demo data, a migration). Every record goes on the ledger as
// an update entry, like any update, under the owning department's "import" role and the dataset's
// administration purpose; records are written after their entries, with version = entry index.
// The work runs in parallel and the ledger batches the entries. Unlike Update, Import keeps no
// pending updates: a crash in the middle leaves entries without records, so it is for loading an
// empty hub, not for live data. Citizens that already exist (they have a data key) are refused
// (store.ErrConflict) before any of their entries is appended, and the first error stops the
// citizens not yet started; nothing of a failed call is stored besides the entries already
// appended. Each citizen's entries form their chain of updates (each names the one before as its
// base) and they get their record head before their records (integrity.go); a read of a citizen
// while they are being imported may meet the head without the records and is then refused as an
// integrity alert: import before serving.
func (u *Updater) Import(ctx context.Context, citizens []NewCitizen) error {
	snap := u.policy.Snapshot()
	var (
		mu      sync.Mutex
		records []store.Record
		heads   []store.Head
		keys    = map[string][]byte{}
		ids     []string
		refs    []store.LogRef
		first   error
	)
	work := make(chan NewCitizen)
	var wg sync.WaitGroup
	for range 16 * runtime.GOMAXPROCS(0) { // appends wait on the ledger: many in flight fill its batches
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				mu.Lock()
				failed := first != nil
				mu.Unlock()
				if failed {
					continue
				}
				recs, head, wrapped, cr, err := u.importOne(ctx, snap.Version(), c)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("importing %s: %w", c.ID, err)
				}
				if err == nil {
					records = append(records, recs...)
					if head != nil {
						heads = append(heads, *head)
					}
					keys[c.ID] = wrapped
					ids = append(ids, c.ID)
					refs = append(refs, cr...)
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range citizens {
		work <- c
	}
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	sort.Strings(ids)
	if err := u.keys.AddDataKeys(ctx, keys); err != nil {
		return fmt.Errorf("storing data keys: %w", err)
	}
	if err := u.integ.heads.InsertRecordHeads(ctx, heads); err != nil {
		return fmt.Errorf("storing record heads: %w", err)
	}
	if err := u.records.InsertRecords(ctx, records); err != nil {
		return fmt.Errorf("storing records: %w", err)
	}
	// Into the citizens' access logs, each citizen's references in ledger order.
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].Index < refs[j].Index })
	if _, err := u.index.AppendSubjectLogs(ctx, refs); err != nil {
		return fmt.Errorf("indexing entries: %w", err)
	}
	// Citizens last: until then a read that finds no record reports no such citizen.
	if err := u.records.AddCitizens(ctx, ids, u.now()); err != nil {
		return fmt.Errorf("registering citizens: %w", err)
	}
	return nil
}

func (u *Updater) importOne(ctx context.Context, policyVersion uint64, c NewCitizen) ([]store.Record, *store.Head, []byte, []store.LogRef, error) {
	if err := dataset.CheckCitizenID(c.ID); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// A citizen with a data key exists: refuse before any entry claims records that would then
	// never be written (and before AddDataKeys stores the batch's other keys and fails).
	switch _, err := u.keys.DataKey(ctx, c.ID); {
	case err == nil:
		return nil, nil, nil, nil, fmt.Errorf("%w: %s exists already", store.ErrConflict, c.ID)
	case !isNotFound(err):
		return nil, nil, nil, nil, fmt.Errorf("looking for the data key of %s: %w", c.ID, err)
	}
	dk, err := seal.NewDataKey(u.rand)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	wrapped, err := u.keyring.master.Wrap(c.ID, dk)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var recs []store.Record
	var refs []store.LogRef
	var head *store.Head // the citizen's record head as the entries so far leave it
	for _, name := range sortedKeys(c.Records) {
		ds, ok := dataset.Lookup(name)
		if !ok {
			return nil, nil, nil, nil, fmt.Errorf("%w: no dataset %q", ErrInvalid, name)
		}
		items := c.Records[name]
		if err := validate(ds, items); err != nil {
			return nil, nil, nil, nil, err
		}
		rec, fields, err := u.buildRecord(dk, c.ID, ds, nil, items)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		salt, subj, err := u.subject(c.ID)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		entry := ledger.Entry{
			Kind: ledger.KindUpdate, Time: u.now(), Department: ds.Owner, Role: ImportRole, Purpose: ds.AdminPurpose,
			Policy: policyVersion, Outcome: ledger.OutcomeAllowed, Dataset: ds.Name, Record: recordDigest(rec),
			Subjects: [][]byte{subj}, Fields: fields,
		}
		if head != nil {
			entry.Base = head.Head // one chain per citizen on the ledger (integrity.go)
		}
		r, err := u.appendEntry(ctx, entry)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if head != nil {
			u.integ.note(head.Head)
		}
		rec.SubjectSalt = salt
		if rec, err = sealAt(dk, rec, r.Index); err != nil {
			return nil, nil, nil, nil, err
		}
		next := u.integ.newHead(c.ID, head, ds.Name, r.Index)
		head = &next
		recs = append(recs, u.integ.sealRecord(rec))
		name, err := u.pseudonym(ctx, c.ID)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		refs = append(refs, store.LogRef{Pseudonym: name, Index: r.Index, Salt: salt, Time: u.now(), Entry: entryBytes(entry, r)})
	}
	return recs, head, wrapped, refs, nil
}
