package hub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strings"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// Migrating a record store written before record integrity (no record MACs, no record heads).
//
// It is run once, by the operator's explicit choice (the hub refuses such a store otherwise), with
// no other hub instance running. It can only bless what the ledger vouches for: every record must
// be the one its update entry wrote (the entry at its version is an allowed update of that dataset
// about this citizen, with the record's digest, as AuditRecords checks) and must not be superseded (no later update entry names its
// version as its base: under the old meaning of the base line, a later version of the same record
// exists, so this one was rolled back). Then it gets its MAC, and each citizen a head listing
// their records, whose head index is the highest of their versions. A record that fails is
// reported and left without a MAC (it stays refused); the migration is resumable (records that
// already have a valid MAC are checked the same way again; heads already stored must match).
//
// What it cannot see: a record deleted, or a whole citizen removed, before the migration (nothing
// in the store says it existed; the record audit of govhub ledger verify reads records, not
// entries).

// MigrationStore is what the migration reads and writes besides the record heads.
type MigrationStore interface {
	AuditStore
	// EachRecord calls fn for every stored record, one at a time, stopping at fn's error.
	EachRecord(ctx context.Context, fn func(store.Record) error) error
	SetRecordMAC(ctx context.Context, citizen, dataset string, version uint64, mac []byte) error
}

// MigrationReport says what MigrateIntegrity did.
type MigrationReport struct {
	Records, Citizens int
	Problems          []AuditProblem
}

// MigrateIntegrity gives every record of a store written before record integrity its MAC and
// every citizen their record head, after checking each record against the ledger (see above). The
// Integrity must have caught up with the ledger (entries must be integrated). It fails, listing
// the records it could not vouch for, if there are any.
func (u *Updater) MigrateIntegrity(ctx context.Context, src EntrySource, st MigrationStore) (MigrationReport, error) {
	var rep MigrationReport
	in := u.integ
	if !in.Ready() {
		return rep, errors.New("record integrity has not caught up with the ledger")
	}
	lg := &bundleCache{src: src, bundles: map[uint64][][]byte{}}
	heads := map[string]*store.Head{}
	err := st.EachRecord(ctx, func(rec store.Record) error {
		rep.Records++
		problem := func(format string, args ...any) {
			rep.Problems = append(rep.Problems, AuditProblem{Citizen: rec.Citizen, Dataset: rec.Dataset, Version: rec.Version,
				Reason: fmt.Sprintf(format, args...)})
		}
		if reason := in.vouch(ctx, lg, st, u.indexKeys, rec); reason != "" {
			problem("%s", reason)
			return nil
		}
		if !hmac.Equal(rec.MAC, in.recordMAC(rec.Citizen, rec.Dataset, rec)) {
			if err := st.SetRecordMAC(ctx, rec.Citizen, rec.Dataset, rec.Version, in.recordMAC(rec.Citizen, rec.Dataset, rec)); err != nil {
				return fmt.Errorf("writing the MAC of the %s record of %s: %w", rec.Dataset, rec.Citizen, err)
			}
		}
		h := heads[rec.Citizen]
		if h == nil {
			h = &store.Head{Citizen: rec.Citizen, Versions: map[string]uint64{}}
			heads[rec.Citizen] = h
		}
		h.Versions[rec.Dataset] = rec.Version
		h.Head = max(h.Head, rec.Version)
		return nil
	})
	if err != nil {
		return rep, err
	}
	var fresh []store.Head
	for citizen, h := range heads {
		rep.Citizens++
		h.MAC = in.headMAC(citizen, *h)
		cur, err := in.heads.RecordHead(ctx, citizen)
		switch {
		case isNotFound(err):
			fresh = append(fresh, *h)
		case err != nil:
			return rep, fmt.Errorf("reading the record head of %s: %w", citizen, err)
		case !hmac.Equal(cur.MAC, h.MAC) || cur.Head != h.Head:
			rep.Problems = append(rep.Problems, AuditProblem{Citizen: citizen, Reason: "a record head is stored that does not match the records"})
		}
		if len(fresh) >= 1000 {
			if err := in.heads.InsertRecordHeads(ctx, fresh); err != nil {
				return rep, fmt.Errorf("storing record heads: %w", err)
			}
			fresh = fresh[:0]
		}
	}
	if err := in.heads.InsertRecordHeads(ctx, fresh); err != nil {
		return rep, fmt.Errorf("storing record heads: %w", err)
	}
	if len(rep.Problems) > 0 {
		lines := make([]string, len(rep.Problems))
		for i, p := range rep.Problems {
			lines[i] = p.String()
		}
		return rep, fmt.Errorf("%w: %d records could not be vouched for by the ledger:\n%s", ErrIntegrity, len(rep.Problems), strings.Join(lines, "\n"))
	}
	return rep, nil
}

// vouch checks one record against the ledger for the migration: "" if the ledger vouches for it,
// or why not.
func (in *Integrity) vouch(ctx context.Context, lg *bundleCache, st AuditStore, keys *subject.Ring, rec store.Record) string {
	if in.isSuperseded(rec.Version) {
		return "a later update of this record is on the ledger (rolled back)"
	}
	raw, err := lg.entry(ctx, rec.Version)
	if err != nil {
		return fmt.Sprintf("no readable entry at its version: %v", err)
	}
	e, err := ledger.ParseEntry(raw)
	if err != nil {
		return fmt.Sprintf("entry: %v", err)
	}
	if e.Kind != ledger.KindUpdate || e.Outcome != ledger.OutcomeAllowed || e.Dataset != rec.Dataset {
		return fmt.Sprintf("the entry is %s %s of %q, not an allowed update of %s", e.Outcome, e.Kind, e.Dataset, rec.Dataset)
	}
	if !bytes.Equal(e.Record, recordDigest(rec)) {
		return "the record's digest differs from the entry's"
	}
	ref, err := findSubjectRef(ctx, st, keys, rec.Citizen, rec.Version)
	if err != nil {
		return fmt.Sprintf("the private index has no reference to the entry: %v", err)
	}
	if !containsBytes(e.Subjects, subject.Commit(ref.Salt, rec.Citizen)) {
		return "the entry is not about this citizen"
	}
	return ""
}

// bundleCache reads entries a whole entry bundle (256 entries) at a time and keeps the latest
// bundles: records are stored roughly in the order they were written, so the migration reads
// each bundle about once.
type bundleCache struct {
	src     EntrySource
	bundles map[uint64][][]byte
}

func (c *bundleCache) entry(ctx context.Context, index uint64) ([]byte, error) {
	n := index / 256
	if b, ok := c.bundles[n]; ok && index%256 < uint64(len(b)) {
		return b[index%256], nil
	}
	cp, err := c.src.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if index >= cp.Size {
		return nil, fmt.Errorf("entry %d is beyond the latest checkpoint (%d)", index, cp.Size)
	}
	indexes := make([]uint64, 0, 256)
	for i := n * 256; i < min(cp.Size, (n+1)*256); i++ {
		indexes = append(indexes, i)
	}
	raws, err := c.src.SequencedEntries(ctx, indexes)
	if err != nil {
		return nil, err
	}
	if len(c.bundles) >= 64 {
		clear(c.bundles)
	}
	c.bundles[n] = raws
	return raws[index%256], nil
}
