package storetest

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/store"
)

// testSealedAccesses: sealed accesses stored by the digest of their sealed line, given their
// entry's index once, unsealed once by compare-and-swap, and listed whole.
func testSealedAccesses(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	created := time.Date(2026, 12, 1, 8, 0, 0, 5_000_000, time.UTC)
	a := store.SealedAccess{ID: strings.Repeat("ab", 32), UnsealOn: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC),
		Box: []byte("box"), Oversight: []byte("age"), Created: created}
	b := a
	b.ID, b.Box = strings.Repeat("cd", 32), []byte("other box")
	for _, x := range []store.SealedAccess{a, b} {
		if err := s.AddSealedAccess(ctx, x); err != nil {
			t.Fatalf("AddSealedAccess(%s) = %v", x.ID[:4], err)
		}
	}
	if err := s.AddSealedAccess(ctx, a); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddSealedAccess(existing) = %v, want ErrConflict", err)
	}
	if got, err := s.SealedAccess(ctx, a.ID); err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("SealedAccess = %+v, %v, want %+v", got, err, a)
	}
	if _, err := s.SealedAccess(ctx, strings.Repeat("00", 32)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SealedAccess(missing) = %v, want ErrNotFound", err)
	}
	if err := s.IndexSealedAccess(ctx, a.ID, 0); err != nil {
		t.Fatalf("IndexSealedAccess(0) = %v", err)
	}
	if err := s.IndexSealedAccess(ctx, a.ID, 0); err != nil {
		t.Errorf("IndexSealedAccess(same index again) = %v, want nil", err)
	}
	if err := s.IndexSealedAccess(ctx, a.ID, 7); !errors.Is(err, store.ErrConflict) {
		t.Errorf("IndexSealedAccess(another index) = %v, want ErrConflict", err)
	}
	if err := s.IndexSealedAccess(ctx, strings.Repeat("00", 32), 7); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("IndexSealedAccess(missing) = %v, want ErrNotFound", err)
	}
	// Two unseals at once: one wins, the other is a conflict.
	at := created.Add(time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = s.UnsealAccess(ctx, a.ID, uint64(40+i), at) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won < 0:
			won = i
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("UnsealAccess #%d = %v, want one nil and one ErrConflict", i, err)
		}
	}
	if won < 0 {
		t.Fatalf("UnsealAccess: nobody won (%v)", errs)
	}
	want := a
	want.Index, want.Indexed, want.UnsealIndex, want.Unsealed, want.UnsealedAt = 0, true, uint64(40+won), true, at
	if got, err := s.SealedAccess(ctx, a.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("SealedAccess after unsealing = %+v, %v, want %+v", got, err, want)
	}
	all, err := s.SealedAccesses(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("SealedAccesses = %d, %v, want 2", len(all), err)
	}
	for _, x := range all {
		if x.ID == b.ID && !reflect.DeepEqual(x, b) {
			t.Errorf("SealedAccesses holds %+v, want %+v", x, b)
		}
	}

	// An erasure of its citizen replaces the box, removes the oversight copy, and keeps the rest;
	// erasing it again changes nothing.
	if err := s.EraseSealedAccess(ctx, a.ID, []byte("stub")); err != nil {
		t.Fatalf("EraseSealedAccess = %v", err)
	}
	if err := s.EraseSealedAccess(ctx, a.ID, []byte("second stub")); err != nil {
		t.Errorf("EraseSealedAccess(again) = %v, want nil", err)
	}
	erased := want
	erased.Box, erased.Oversight, erased.Erased = []byte("stub"), nil, true
	if got, err := s.SealedAccess(ctx, a.ID); err != nil || !reflect.DeepEqual(got, erased) {
		t.Errorf("SealedAccess after erasing = %+v, %v, want %+v", got, err, erased)
	}
	if err := s.EraseSealedAccess(ctx, strings.Repeat("00", 32), []byte("stub")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EraseSealedAccess(missing) = %v, want ErrNotFound", err)
	}
	if err := s.EraseSealedAccess(ctx, b.ID, nil); err == nil {
		t.Error("EraseSealedAccess(no box) = nil, want an error")
	}
	if got, err := s.SealedAccess(ctx, b.ID); err != nil || !reflect.DeepEqual(got, b) {
		t.Errorf("SealedAccess of the other after erasing one = %+v, %v, want %+v", got, err, b)
	}
}

// testUnsealProposals: one early-unseal proposal per sealed access, decided once.
func testUnsealProposals(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	p := store.UnsealProposal{Index: 12, Reason: "案件已结 the case is closed", ProposedBy: "o1", Proposed: at, ProposalEntry: 13, Status: store.UnsealPending}
	if err := s.AddUnsealProposal(ctx, p); err != nil {
		t.Fatalf("AddUnsealProposal = %v", err)
	}
	if err := s.AddUnsealProposal(ctx, p); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddUnsealProposal(again) = %v, want ErrConflict", err)
	}
	if got, err := s.UnsealProposal(ctx, 12); err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("UnsealProposal = %+v, %v, want %+v", got, err, p)
	}
	if _, err := s.UnsealProposal(ctx, 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UnsealProposal(missing) = %v, want ErrNotFound", err)
	}
	d := p
	d.Status, d.DecidedBy, d.Decided, d.DecisionEntry, d.UnsealEntry = store.UnsealApproved, "o2", at.Add(time.Hour), 14, 15
	if err := s.DecideUnsealProposal(ctx, d); err != nil {
		t.Fatalf("DecideUnsealProposal = %v", err)
	}
	r := p
	r.Status, r.DecidedBy = store.UnsealRejected, "o3"
	if err := s.DecideUnsealProposal(ctx, r); !errors.Is(err, store.ErrConflict) {
		t.Errorf("DecideUnsealProposal(decided) = %v, want ErrConflict", err)
	}
	all, err := s.UnsealProposals(ctx)
	if err != nil || len(all) != 1 || !reflect.DeepEqual(all[0], d) {
		t.Errorf("UnsealProposals = %+v, %v, want [%+v]", all, err, d)
	}
}
