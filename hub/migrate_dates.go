package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// Migrating dates to day numbers (ARCHITECTURE §6, crypto/commit's scheme v2).
//
// Dates written before scheme v2 are committed as hashes, about which nothing can be proven.
// MigrateDates re-commits every such sensitive date as its day number, each record through one
// ordinary update entry: kind update, actor <owning department>/migrate-dates, the dataset's
// administration purpose (as imports are written), a field line "set" with the new commitment for
// each date re-committed, the record's new digest, and the citizen's previous head as its base. The
// date itself is unchanged; its blinding is fresh (reusing it would publish the difference of the
// two scalars, from which the date could be found by trying every day). Other fields keep their
// seals and versions, as in any partial update. Like every update, the entry is durable before the
// record changes (a pending update that recovery finishes covers a crash between the two), and
// the record is checked against its MAC and the citizen's head before it is built on: a record
// changed behind the hub's back is reported and left alone.
//
// It is idempotent and resumable: a record whose dates are all under v2 is skipped, so running it
// again after an interruption finishes the rest, and running it on a migrated store writes
// nothing. It is safe beside serving instances sharing the database: each record is re-read under
// the citizen's lock and rebuilt from what it holds then, and an update that races it on another
// instance makes it retry (the record head's compare-and-swap, integrity.go); any new date is
// written under v2 anyway. It scans the records once to find the ones to migrate, keeping only
// their keys, then migrates them one by one by _id.

// ErrNotMigrated refuses a proof about a date still committed as a hash. It is an ErrUnavailable:
// the question was fine, the store is not ready to answer it (never answered "does not hold").
var ErrNotMigrated = fmt.Errorf("%w: the date is committed as a hash (before commitment scheme v2) and cannot be proven about until the operator runs govhub migrate dates", ErrUnavailable)

// DateMigrationRole is the role date-migration entries are written under, in each dataset's
// owning department.
const DateMigrationRole = "migrate-dates"

// WithHashedDates makes an Updater commit new dates as hashes (scheme v1), as hubs did before
// dates were committed as day numbers. It exists to build the stores MigrateDates migrates, in
// tests and drills; a serving hub never uses it.
func WithHashedDates() Option { return func(c *core) { c.hashedDates = true } }

// DateMigrationStore lists the stored records (one pass, one record at a time).
type DateMigrationStore interface {
	// EachRecord calls fn for every stored record, one at a time, stopping at fn's error.
	EachRecord(ctx context.Context, fn func(store.Record) error) error
}

// DateMigrationReport says what MigrateDates did.
type DateMigrationReport struct {
	// Records is how many records hold a sensitive date; Pending how many of them held one still
	// committed as a hash when the scan found them.
	Records, Pending int
	// Migrated is how many records were re-committed (one update entry each); the others of Pending
	// had been migrated meanwhile, or are in Problems.
	Migrated int
	// Problems lists the records that could not be migrated (failing their integrity checks).
	Problems []AuditProblem
}

// dateMigrationRetries bounds the attempts at one record that concurrent updates overtake.
const dateMigrationRetries = 5

// MigrateDates re-commits every sensitive date still committed as a hash (see above). progress, if
// not nil, is called after each record with how many of the pending ones are done. It fails on the
// first error that is not about one record (storage, the ledger), and reports, with an error,
// records it could not vouch for; running it again resumes.
func (u *Updater) MigrateDates(ctx context.Context, st DateMigrationStore, progress func(done, pending int)) (DateMigrationReport, error) {
	var rep DateMigrationReport
	if !u.integ.Ready() {
		return rep, fmt.Errorf("%w: record integrity has not caught up with the ledger", ErrUnavailable)
	}
	type key struct{ citizen, dataset string }
	var todo []key
	err := st.EachRecord(ctx, func(rec store.Record) error {
		ds, ok := dataset.Lookup(rec.Dataset)
		if !ok || !hasSensitiveDate(ds) {
			return nil
		}
		rep.Records++
		if hashedDates(ds, rec) {
			todo = append(todo, key{rec.Citizen, rec.Dataset})
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("listing the records: %w", err)
	}
	rep.Pending = len(todo)
	for i, k := range todo {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var migrated bool
		for attempt := 1; ; attempt++ {
			migrated, err = u.migrateDatesOf(ctx, k.citizen, k.dataset)
			if !errors.Is(err, ErrConflict) || attempt == dateMigrationRetries {
				break
			}
		}
		var ierr *integrityError
		switch {
		case errors.As(err, &ierr) || errors.Is(err, ErrIntegrity):
			rep.Problems = append(rep.Problems, AuditProblem{Citizen: k.citizen, Dataset: k.dataset, Reason: err.Error()})
		case err != nil:
			return rep, fmt.Errorf("migrating the dates of the %s record of %s: %w", k.dataset, k.citizen, err)
		case migrated:
			rep.Migrated++
		}
		if progress != nil {
			progress(i+1, len(todo))
		}
	}
	if len(rep.Problems) > 0 {
		return rep, fmt.Errorf("%w: %d records failed their integrity checks and keep their hashed dates", ErrIntegrity, len(rep.Problems))
	}
	return rep, nil
}

// hasSensitiveDate reports whether ds has a sensitive date field.
func hasSensitiveDate(ds *dataset.Dataset) bool {
	for _, f := range ds.Fields {
		if f.Sensitive && f.Kind == dataset.Date {
			return true
		}
	}
	return false
}

// hashedDates reports whether rec holds a sensitive date committed under another scheme than v2.
func hashedDates(ds *dataset.Dataset, rec store.Record) bool {
	for _, item := range rec.Items {
		for name, sf := range item.Sealed {
			if f, ok := ds.Field(name); ok && f.Kind == dataset.Date && sf.Scheme != commit.SchemeV2 {
				return true
			}
		}
	}
	return false
}

// migrateDatesOf re-commits the hashed dates of one record, through one update entry, and reports
// whether it did (false: nothing left to do).
func (u *Updater) migrateDatesOf(ctx context.Context, citizen, dsName string) (bool, error) {
	ds, ok := dataset.Lookup(dsName)
	if !ok {
		return false, fmt.Errorf("no dataset %q", dsName)
	}
	defer u.lockCitizen(citizen)()
	loaded, err := u.integ.loadFresh(ctx, u.records, citizen, []string{ds.Name})
	if err != nil {
		return false, err
	}
	cur, ok := loaded.records[ds.Name]
	if !ok || !hashedDates(ds, cur) {
		return false, nil // gone, or migrated meanwhile
	}
	dk, err := u.keyring.dataKey(ctx, citizen)
	if err != nil {
		return false, err
	}
	// The values to write again: for a plain dataset the hashed dates alone (the rest is kept);
	// for a list dataset, whose update replaces the whole list, every item in full.
	var items []map[string]any
	for i, item := range cur.Items {
		in := map[string]any{}
		if ds.List {
			for name, v := range item.Plain {
				in[name] = v
			}
		}
		for name, sf := range item.Sealed {
			f, ok := ds.Field(name)
			if !ok {
				return false, fmt.Errorf("the %s record of %s seals %q, which the catalog does not name", ds.Name, citizen, name)
			}
			if !ds.List && (f.Kind != dataset.Date || sf.Scheme == commit.SchemeV2) {
				continue
			}
			v, err := openValue(dk, citizen, ds, f, i, sf)
			if err != nil {
				return false, err
			}
			in[name] = v
		}
		items = append(items, in)
	}
	base := &cur
	if ds.List {
		base = nil
	}
	rec, fields, err := u.buildRecord(dk, citizen, ds, base, items)
	if err != nil {
		return false, err
	}
	salt, subj, err := u.subject(citizen)
	if err != nil {
		return false, err
	}
	entry := ledger.Entry{
		Kind: ledger.KindUpdate, Time: u.now(), Department: ds.Owner, Role: DateMigrationRole, Purpose: ds.AdminPurpose,
		Policy: u.policy.Snapshot().Version(), Outcome: ledger.OutcomeAllowed, Dataset: ds.Name, Subjects: [][]byte{subj},
	}
	if _, _, err := u.apply(ctx, dk, entry, fields, rec, salt, cur, true, loaded); err != nil {
		return false, err
	}
	return true, nil
}
