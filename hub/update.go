package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// UpdateRequest changes one citizen's record in one dataset.
type UpdateRequest struct {
	Citizen string
	Dataset string
	Purpose string
	// Items holds, for a plain dataset, exactly one item with the fields to set (fields left out
	// keep their values); for a list dataset, the whole new list. Values follow package dataset.
	Items []map[string]any
	// Request is the request as received; only its keyed digest goes on the ledger.
	Request []byte
}

// FieldCommitment is the commitment to one value an update wrote.
type FieldCommitment struct {
	Field      string // "dataset.field", or "dataset.field#i" for an item of a list dataset
	Commitment Commitment
}

// UpdateResult is the outcome of an update.
type UpdateResult struct {
	// Version is the record's new version: the ledger index of the update entry.
	Version       uint64
	Commitments   []FieldCommitment
	Receipt       ledger.Receipt
	PolicyVersion uint64
}

// Update validates and applies an update by a principal allowed to write the dataset for the
// purpose. The order is: validate (an invalid value writes nothing at all), store the pending update,
// append the update entry (field names and commitments, never values), write the record with version
// = the entry's index, drop the pending update. A refused update is logged as denied. An update for
// a citizen not yet registered is refused, except an identity update, which registers the citizen.
// An update whose record another instance changed while it waited for the ledger is not applied
// and returns ErrConflict (see writeRecord).
func (u *Updater) Update(ctx context.Context, p auth.Principal, req UpdateRequest) (*UpdateResult, error) {
	snap := u.policy.Snapshot()
	ds, ok := dataset.Lookup(req.Dataset)
	if !ok {
		return nil, fmt.Errorf("%w: no dataset %q", ErrInvalid, req.Dataset)
	}
	if err := dataset.CheckCitizenID(req.Citizen); err != nil {
		return nil, fmt.Errorf("%w: citizenId: %v", ErrInvalid, err)
	}
	dept, role, official, err := u.actor(ctx, p)
	if err != nil {
		return nil, err
	}
	salt, subj, err := u.subject(req.Citizen)
	if err != nil {
		return nil, err
	}
	entry := ledger.Entry{
		Kind: ledger.KindUpdate, Time: u.now(), Department: dept, Role: role, Official: official, Purpose: req.Purpose,
		Policy: snap.Version(), Request: u.requestDigest(req.Request), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed,
		Dataset: ds.Name, Subjects: [][]byte{subj},
	}
	refuse := func(reason string, cause error) (*UpdateResult, error) {
		entry.Outcome, entry.Reason = ledger.OutcomeDenied, reason
		entry.Fields = nil
		for _, name := range fieldNames(ds, req.Items) {
			entry.Fields = append(entry.Fields, ledger.Field{Name: name, Level: policy.Deny.String()})
		}
		if _, err := u.appendFor(ctx, entry, req.Citizen, salt); err != nil {
			return nil, err
		}
		return nil, cause
	}
	if _, ok := snap.Purpose(req.Purpose); !ok {
		entry.Purpose = "" // not a registered code: may be anything, stays off the ledger
		return refuse("unknown-purpose", ErrUnknownPurpose)
	}
	sub := policy.Subject{Department: p.Department, Role: p.Role}
	if p.Kind == auth.KindDepartment {
		if err := snap.Prepare(ctx, sub, []string{ds.Name}); err != nil {
			return nil, fmt.Errorf("%w: loading the policy: %v", ErrUnavailable, err)
		}
	}
	if p.Kind != auth.KindDepartment || !snap.Allowed(sub, policy.ActionWrite, ds.Name, req.Purpose) {
		return refuse("forbidden", fmt.Errorf("%w: %s/%s may not write %s for %s", ErrForbidden, dept, role, ds.Name, req.Purpose))
	}
	if err := validate(ds, req.Items); err != nil {
		return nil, err
	}

	defer u.lockCitizen(req.Citizen)()
	exists, err := u.records.CitizenExists(ctx, req.Citizen)
	if err != nil {
		return nil, fmt.Errorf("looking up citizen: %w", err)
	}
	if !exists && ds.Name != "identity" {
		return refuse("no-such-citizen", ErrNotFound)
	}
	// The record the update builds on, checked like any read: a value changed behind the hub's
	// back must not be carried into a new, authentic version.
	loaded, err := u.integ.loadFresh(ctx, u.records, req.Citizen, []string{ds.Name})
	if errors.Is(err, ErrIntegrity) {
		return refuse("integrity", err)
	}
	if err != nil {
		return nil, err
	}
	cur, hadBase := loaded.records[ds.Name]
	dk, err := u.dataKeyOrNew(ctx, req.Citizen)
	if err != nil {
		return nil, err
	}
	var base *store.Record
	if hadBase {
		base = &cur
		if err := u.validateMerged(dk, req.Citizen, ds, cur, req.Items); err != nil {
			return nil, err
		}
	}
	rec, fields, err := u.buildRecord(dk, req.Citizen, ds, base, req.Items)
	if err != nil {
		return nil, err
	}
	rec, r, err := u.apply(ctx, dk, entry, fields, rec, salt, cur, hadBase, loaded)
	if err != nil {
		return nil, err
	}
	res := &UpdateResult{Version: r.Index, Receipt: r, PolicyVersion: snap.Version()}
	for i, item := range rec.Items {
		for _, name := range sortedKeys(item.Sealed) {
			sf := item.Sealed[name]
			if sf.Version != r.Index {
				continue // kept from an earlier version
			}
			// A commitment buildRecord just computed: only its form is checked, not that it is a
			// point of G1 again (commit.CommitmentFromAuthenticated).
			c, err := commit.CommitmentFromAuthenticated(sf.Commitment)
			if err != nil {
				return nil, err
			}
			res.Commitments = append(res.Commitments, FieldCommitment{
				Field:      ds.Name + "." + sealKey(ds, name, i),
				Commitment: Commitment{Scheme: schemeName(sf), Point: c.String(), Version: sf.Version},
			})
		}
	}
	return res, nil
}

// apply makes a built update durable: its entry (with the field lines and the record's digest) on
// the ledger, then the citizen's head and the record, by way of a pending update that recovery
// finishes if this does not. cur is the record it builds on (hadBase false for none), loaded the
// citizen's checked records and head. It returns the record as written and the entry's receipt.
func (u *Updater) apply(ctx context.Context, dk *seal.DataKey, entry ledger.Entry, fields []ledger.Field, rec store.Record, salt []byte, cur store.Record, hadBase bool, loaded checked) (store.Record, ledger.Receipt, error) {
	entry.Fields = fields
	entry.Record = recordDigest(rec)
	rec.SubjectSalt = salt
	// The base line names the citizen's previous head (their latest update of any dataset), so
	// that their updates form one chain on the ledger (integrity.go).
	if loaded.hadHead {
		entry.Base = loaded.head.Head
	}
	leaf, err := ledger.FormatEntry(entry)
	if err != nil {
		return store.Record{}, ledger.Receipt{}, fmt.Errorf("hub: building the ledger entry: %w", err)
	}
	pend := store.Pending{
		ID: usecase.RandomID(u.rand), Record: rec, Base: cur.Version, HadBase: hadBase, LeafHash: leafHashOf(leaf),
		After: u.log.Latest().Size, SubjectSalt: salt, Created: u.now(), HeadBase: loaded.head.Head, HadHead: loaded.hadHead,
	}
	if err := u.pending.AddPending(ctx, pend); err != nil {
		return store.Record{}, ledger.Receipt{}, fmt.Errorf("storing the pending update: %w", err)
	}
	// Wait for the append whatever happens to the caller: once queued, the entry may land, and
	// then its record must be written.
	r, err := u.appendEntry(context.WithoutCancel(ctx), entry)
	index, signed := r.Index, err == nil
	if err != nil {
		// The append failed, or its acknowledgement was lost: settle which, from the ledger itself.
		var found bool
		var ferr error
		index, found, ferr = u.leaves.FindLeaf(context.WithoutCancel(ctx), pend.After, [32]byte(pend.LeafHash))
		switch {
		case ferr != nil:
			return store.Record{}, ledger.Receipt{}, fmt.Errorf("%w: the update may or may not be on the ledger; recovery will settle it at the next start: %v", ErrUnavailable, err)
		case !found:
			if derr := u.pending.DeletePending(context.WithoutCancel(ctx), pend.ID); derr != nil {
				return store.Record{}, ledger.Receipt{}, errors.Join(err, derr)
			}
			return store.Record{}, ledger.Receipt{}, err
		}
	}
	// The update is on the ledger: the head it names as its base is superseded from now on.
	if pend.HadHead {
		defer u.integ.noteWriting(pend.HeadBase)() // applied (or given up) when apply returns
	}
	defer u.integ.noteApplying(index)() // a read that meets the new head before its record waits
	// From here on the record must come to match the ledger. If this fails,
	// the pending update stays and Recover applies it.
	rec, err = u.finishUpdate(context.WithoutCancel(ctx), dk, pend, index, leaf, &loaded)
	if err == nil || errors.Is(err, ErrConflict) {
		u.dropLater(pend.ID)
	}
	if errors.Is(err, ErrConflict) {
		return store.Record{}, ledger.Receipt{}, err // overtaken: not applied, and never will be
	}
	if err != nil {
		return store.Record{}, ledger.Receipt{}, fmt.Errorf("%w: the update is on the ledger at %d but its record is not written yet: %v", ErrUnavailable, index, err)
	}
	if !signed {
		if r, err = u.log.Sign(index, [32]byte(pend.LeafHash)); err != nil {
			return store.Record{}, ledger.Receipt{}, fmt.Errorf("signing the receipt of update %d (applied): %w", index, err)
		}
	}
	return rec, r, nil
}

// finishUpdate writes the head and the record of a pending update whose entry is at index,
// registers the citizen for an identity record and indexes the entry for the citizen (raw: its
// bytes, or nil); the caller then drops the pending update (nil error or ErrConflict). It is
// idempotent, so recovery can run it again: in recovery (loaded nil) an entry already in the
// citizen's access log is not indexed a second time. An update overtaken by another (see
// writeHead) is indexed without being applied, and reported as ErrConflict. loaded is the
// citizen's head and records as the update read and checked them before its entry was appended.
func (u *Updater) finishUpdate(ctx context.Context, dk *seal.DataKey, p store.Pending, index uint64, raw []byte, loaded *checked) (store.Record, error) {
	if len(p.Record.SubjectSalt) == 0 { // pending since before records kept it
		p.Record.SubjectSalt = p.SubjectSalt
	}
	rec, err := sealAt(dk, p.Record, index)
	if err != nil {
		return rec, err
	}
	rec = u.integ.sealRecord(rec)
	written, werr := u.writeTogether(ctx, p, index, rec, loaded)
	if !written && werr == nil {
		werr = u.writeHead(ctx, p, index)
		if werr == nil {
			werr = u.writeRecord(ctx, rec, p)
		}
	}
	if werr != nil && !errors.Is(werr, ErrConflict) {
		return rec, werr
	}
	if werr == nil && rec.Dataset == "identity" {
		if err := u.records.AddCitizens(ctx, []string{rec.Citizen}, u.now()); err != nil {
			return rec, fmt.Errorf("registering the citizen: %w", err)
		}
	}
	indexed := false
	if loaded == nil {
		var err error
		if indexed, err = u.indexed(ctx, rec.Citizen, index); err != nil {
			return rec, err
		}
	}
	if !indexed {
		if err := u.indexSubject(ctx, rec.Citizen, index, p.SubjectSalt, raw); err != nil {
			return rec, err
		}
	}
	return rec, werr
}

// indexed reports whether entry index is in the citizen's access log already: recovery finishes
// updates whose live finish may have indexed them before the process stopped (the pending update
// is dropped after the response, dropLater).
func (u *Updater) indexed(ctx context.Context, citizen string, index uint64) (bool, error) {
	name, err := u.pseudonym(ctx, citizen)
	if err != nil {
		return false, fmt.Errorf("indexing entry %d: %w", index, err)
	}
	_, err = u.index.SubjectRef(ctx, name, index)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("%w: looking up entry %d in the access log: %v", ErrUnavailable, index, err)
	}
}

// dropTimeout bounds the background delete of finished pending updates: well under the margin
// (a minute) within which instances sharing a database leave each other's pending updates alone.
const dropTimeout = 20 * time.Second

// dropDelay is how long a finished pending update waits for others to share its delete, and
// maxDropGroup how many waiting start their delete at once, without waiting for the rest of it
// (a store's one delete command, mongostore's maxPendingGroup). Each delete is a write of its own (a
// transaction and a sync behind the embedded store's one writer, and there a scan of the pending
// updates, since FerretDB looks up only a single _id by index): one a fifth of a second, rather
// than one for every few updates finishing together, leaves the writer to the updates themselves.
// A finished update left undeleted by a crash costs the next start one idempotent finish.
const (
	dropDelay    = 200 * time.Millisecond
	maxDropGroup = 256
)

// dropLater deletes the pending update id, whose update is finished (applied, or overtaken), after
// the response, together with the others finished within dropDelay: one durable write fewer on
// an update's path, and few in the background. Until it is deleted, recovery would finish it
// again, which changes nothing (finishUpdate is idempotent) but counts it: a process that stops
// before the delete (Settle deletes what waits at a graceful stop) has it finished and dropped at
// its next start.
func (u *Updater) dropLater(id string) {
	// Never Add while Settle waits (an update still answering when a stop outlasts its grace): a
	// WaitGroup's Add from zero must not run beside its Wait.
	u.dropMu.Lock()
	defer u.dropMu.Unlock()
	u.queueMu.Lock()
	defer u.queueMu.Unlock()
	u.dropIDs = append(u.dropIDs, id)
	switch {
	case len(u.dropIDs) >= maxDropGroup:
		ids := u.dropIDs
		u.dropIDs = nil
		u.dropping.Add(1)
		go func() {
			defer u.dropping.Done()
			u.deleteFinished(ids)
		}()
	case !u.dropDue:
		u.dropDue = true
		u.dropping.Add(1)
		u.dropTimer = time.AfterFunc(dropDelay, func() {
			defer u.dropping.Done()
			u.deleteFinished(u.takeDrops())
		})
	}
}

// takeDrops takes the ids waiting for their delete, ending the scheduled one's turn.
func (u *Updater) takeDrops() []string {
	u.queueMu.Lock()
	defer u.queueMu.Unlock()
	ids := u.dropIDs
	u.dropIDs, u.dropDue = nil, false
	return ids
}

// deleteFinished deletes the finished pending updates ids in one delete; those it cannot are left
// for the next start's recovery.
func (u *Updater) deleteFinished(ids []string) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
	defer cancel()
	_ = u.pending.DeletePending(ctx, ids...)
}

// Settle deletes the finished pending updates still waiting for their delete (dropLater) and waits
// for those being deleted: a hub that stops gracefully calls it once it serves no more updates. An
// update that finishes meanwhile waits for Settle before it answers.
func (u *Updater) Settle() {
	u.dropMu.Lock()
	defer u.dropMu.Unlock()
	u.queueMu.Lock()
	if u.dropDue && u.dropTimer.Stop() {
		u.dropping.Done() // the scheduled delete will not run: this one does its work
	}
	ids := u.dropIDs
	u.dropIDs, u.dropDue = nil, false
	u.queueMu.Unlock()
	u.deleteFinished(ids)
	u.dropping.Wait()
}

// writeTogether writes the head and the record of a pending update whose entry is at index in one
// write, when both are still as the update found them (the common case): the head at its base,
// valid, and the record at its base. Otherwise (written false, no error) nothing is written, and
// writeHead and writeRecord, one after the other, settle the case as they always did: a second
// attempt, recovery after a crash, an update overtaken, a head that fails its check.
//
// loaded, if not nil, is the head the update read and checked before its entry was appended; the
// store's compare-and-swap on the head's index then stands for reading it again, since a head's
// index only grows: a head still at HeadBase is the one loaded (or the same one with its MAC
// renewed, which the new head's MAC replaces). Recovery passes nil and the head is read.
func (u *Updater) writeTogether(ctx context.Context, p store.Pending, index uint64, rec store.Record, loaded *checked) (bool, error) {
	citizen := p.Record.Citizen
	var cur store.Head
	var had bool
	if loaded != nil {
		cur, had = loaded.head, loaded.hadHead
	} else {
		var err error
		cur, err = u.integ.heads.RecordHead(ctx, citizen)
		had = err == nil
		if err != nil && !isNotFound(err) || had && !u.integ.headValid(citizen, cur) {
			return false, nil
		}
	}
	if had != p.HadHead || had && cur.Head != p.HeadBase {
		return false, nil
	}
	var prev *store.Head
	if had {
		prev = &cur
	}
	w := store.HeadAndRecord{Head: u.integ.newHead(citizen, prev, p.Record.Dataset, index), HeadBase: p.HeadBase, HadHead: p.HadHead,
		Record: rec, Base: p.Base, HadBase: p.HadBase}
	switch err := u.records.PutHeadAndRecord(ctx, w); {
	case errors.Is(err, store.ErrConflict):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("writing the record head and the %s record: %w", rec.Dataset, err)
	}
	return true, nil
}

// writeHead moves the citizen's record head from the head the update's entry names as its base to
// the entry (compare-and-swap on the head index; a first update creates the head). This is what
// serialises the updates of one citizen across instances: if the head moved on meanwhile (another
// instance's update built on the same head and written first), nothing is written and the update
// is overtaken: ErrConflict, never acknowledged; its entry stays on the ledger as an update that did
// not apply. A head already at index counts as written (a second attempt, or recovery).
func (u *Updater) writeHead(ctx context.Context, p store.Pending, index uint64) error {
	ds := p.Record.Dataset
	cur, err := u.integ.heads.RecordHead(ctx, p.Record.Citizen)
	had := err == nil
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("reading the record head: %w", err)
	}
	switch {
	case had && cur.Head == index:
		return nil
	case had && !u.integ.headValid(p.Record.Citizen, cur):
		err := &integrityError{citizen: p.Record.Citizen, reason: "its MAC does not match"}
		u.integ.alert(ctx, err)
		return err
	case had != p.HadHead || had && cur.Head != p.HeadBase:
		return fmt.Errorf("%w: the citizen's records changed while update %d waited for the ledger; the update was not applied, send it again",
			ErrConflict, index)
	}
	var prev *store.Head
	if had {
		prev = &cur
	}
	err = u.integ.heads.PutRecordHead(ctx, u.integ.newHead(p.Record.Citizen, prev, ds, index), p.HeadBase, p.HadHead)
	if errors.Is(err, store.ErrConflict) {
		if again, rerr := u.integ.heads.RecordHead(ctx, p.Record.Citizen); rerr == nil && again.Head == index {
			return nil
		}
		return fmt.Errorf("%w: the citizen's records changed while update %d waited for the ledger; the update was not applied, send it again",
			ErrConflict, index)
	}
	if err != nil {
		return fmt.Errorf("writing the record head: %w", err)
	}
	return nil
}

// writeRecord writes the record of a pending update over the version it was built on, and only
// over that one (compare-and-swap on the version; a creation only where there is no record), once
// the head names it. A record already at rec's version counts as written (a second attempt, or
// recovery after a crash). Any other record there was not written by the hub: the head moved, so
// no other update can have written it.
func (u *Updater) writeRecord(ctx context.Context, rec store.Record, p store.Pending) error {
	var err error
	if p.HadBase {
		err = u.records.ReplaceRecord(ctx, rec, p.Base)
	} else {
		err = u.records.CreateRecord(ctx, rec)
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("writing the %s record: %w", rec.Dataset, err)
	}
	cur, rerr := u.records.Record(ctx, rec.Citizen, rec.Dataset)
	switch {
	case rerr == nil && cur.Version == rec.Version:
		return nil
	case rerr != nil && !isNotFound(rerr):
		return fmt.Errorf("writing the %s record: %w", rec.Dataset, errors.Join(err, rerr))
	}
	ierr := &integrityError{citizen: rec.Citizen, dataset: rec.Dataset,
		reason: fmt.Sprintf("update %d moved the head but the record is not at the version it was built on", rec.Version)}
	u.integ.alert(ctx, ierr)
	return ierr
}

// sealAt gives a record built under store.PendingVersion its version: the ledger index of its
// update entry, under which its new sensitive values are sealed again.
func sealAt(dk *seal.DataKey, pending store.Record, index uint64) (store.Record, error) {
	rec := pending
	ds, ok := dataset.Lookup(rec.Dataset)
	if !ok {
		return rec, fmt.Errorf("record names dataset %q", rec.Dataset)
	}
	rec.Items = make([]store.Item, len(pending.Items))
	for i, item := range pending.Items {
		out := store.Item{Plain: item.Plain, Sealed: make(map[string]store.SealedField, len(item.Sealed))}
		for name, sf := range item.Sealed {
			if sf.Version == store.PendingVersion {
				var err error
				if sf, err = reseal(dk, rec.Citizen, ds, name, i, sf, index); err != nil {
					return rec, err
				}
			}
			out.Sealed[name] = sf
		}
		rec.Items[i] = out
	}
	rec.Version = index
	return rec, nil
}

// validateMerged checks the rules across fields on the record a plain-dataset update produces: the
// stored values (sensitive ones unsealed) with the update's values over them.
func (u *Updater) validateMerged(dk *seal.DataKey, citizen string, ds *dataset.Dataset, cur store.Record, items []map[string]any) error {
	if ds.List || len(cur.Items) == 0 {
		return nil
	}
	merged := maps.Clone(cur.Items[0].Plain)
	if merged == nil {
		merged = map[string]any{}
	}
	for name, sf := range cur.Items[0].Sealed {
		f, ok := ds.Field(name)
		if !ok {
			continue
		}
		v, err := openValue(dk, citizen, ds, f, 0, sf)
		if err != nil {
			return err
		}
		merged[name] = v
	}
	maps.Copy(merged, items[0])
	if err := ds.ValidateItem(merged); err != nil {
		return fmt.Errorf("%w: with the values already stored: %w", ErrInvalid, err)
	}
	return nil
}

// validate checks the items of an update against the dataset. A list dataset takes any number of
// items, none clearing it.
func validate(ds *dataset.Dataset, items []map[string]any) error {
	if ds.List && len(items) == 0 {
		return nil
	}
	if !ds.List && len(items) != 1 {
		return fmt.Errorf("%w: %s takes exactly one item", ErrInvalid, ds.Name)
	}
	var err error
	if ds.List {
		err = ds.ValidateRecord(items)
	} else {
		if len(items[0]) == 0 {
			return fmt.Errorf("%w: %s: nothing to update", ErrInvalid, ds.Name)
		}
		err = ds.ValidateItem(items[0])
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// buildRecord makes the new record: the update's items over the current record (for a plain
// dataset), new sensitive values committed and sealed under store.PendingVersion. It returns the
// entry's field lines: each field set, with the commitment for sensitive ones.
func (u *Updater) buildRecord(dk *seal.DataKey, citizen string, ds *dataset.Dataset, base *store.Record, items []map[string]any) (store.Record, []ledger.Field, error) {
	salt := make([]byte, 32)
	if _, err := io.ReadFull(u.rand, salt); err != nil {
		return store.Record{}, nil, err
	}
	rec := store.Record{Citizen: citizen, Dataset: ds.Name, Salt: salt, Updated: u.now()}
	var fields []ledger.Field
	for i, in := range items {
		item := store.Item{Plain: map[string]any{}, Sealed: map[string]store.SealedField{}}
		if !ds.List && base != nil && len(base.Items) > 0 {
			item.Plain = maps.Clone(base.Items[0].Plain)
			item.Sealed = maps.Clone(base.Items[0].Sealed)
		}
		for _, name := range sortedKeys(in) {
			f, _ := ds.Field(name)
			v := in[name]
			lf := ledger.Field{Name: ds.Name + "." + sealKey(ds, name, i), Level: "set"}
			if f.Sensitive {
				r, err := commit.NewBlinding(u.rand)
				if err != nil {
					return store.Record{}, nil, err
				}
				sf, err := sealValue(dk, citizen, ds, f, i, v, r, store.PendingVersion, writeScheme(f.Kind, u.hashedDates))
				if err != nil {
					return store.Record{}, nil, err
				}
				item.Sealed[name] = sf
				lf.Commitment = hex.EncodeToString(sf.Commitment)
			} else {
				item.Plain[name] = v
			}
			fields = append(fields, lf)
		}
		rec.Items = append(rec.Items, item)
	}
	if ds.List && len(items) == 0 {
		fields = append(fields, ledger.Field{Name: ds.Name, Level: "cleared"})
	}
	return rec, fields, nil
}

// recordDigest is SHA-256("govhub/record/v1" ‖ salt ‖ content), where content is the JSON array of
// the record's items, each an object from field name to its plain value, or for a sensitive field to
// {"commitment": "<hex>"} (with "scheme": "<name>" added when the commitment's scheme is recorded,
// as for dates committed as day numbers, so that the ledger vouches for the mapping too; records
// without one digest as they always did); encoding/json writes object keys sorted, so the encoding
// is canonical.
// The salt stays in the record, off the ledger: the digest hides low-entropy records.
func recordDigest(rec store.Record) []byte {
	content := make([]map[string]any, len(rec.Items))
	for i, item := range rec.Items {
		m := make(map[string]any, len(item.Plain)+len(item.Sealed))
		for k, v := range item.Plain {
			m[k] = v
		}
		for k, sf := range item.Sealed {
			c := map[string]string{"commitment": hex.EncodeToString(sf.Commitment)}
			if sf.Scheme != "" {
				c["scheme"] = sf.Scheme
			}
			m[k] = c
		}
		content[i] = m
	}
	b, err := json.Marshal(content)
	if err != nil {
		panic(fmt.Sprintf("hub: encoding record content: %v", err)) // only dataset values reach here
	}
	s := sha256.New()
	s.Write([]byte("govhub/record/v1"))
	s.Write(rec.Salt)
	s.Write(b)
	return s.Sum(nil)
}

// fieldNames lists the "dataset.field" names an update touches, for refusal entries.
func fieldNames(ds *dataset.Dataset, items []map[string]any) []string {
	seen := map[string]bool{}
	for _, in := range items {
		for k := range in {
			if _, ok := ds.Field(k); ok {
				seen[ds.Name+"."+k] = true
			}
		}
	}
	if len(seen) == 0 {
		return []string{ds.Name + ".*"}
	}
	return sortedKeys(seen)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func leafHashOf(leaf []byte) []byte {
	h := ledger.LeafHash(leaf)
	return h[:]
}
