package storetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/store"
)

// testCertificates: certificates stored by id, revoked once by compare-and-swap, counted exactly
// under concurrent verifications, their link switched; applications saved, replaced and listed
// per citizen newest first.
func testCertificates(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	issued := time.Date(2026, 12, 6, 9, 0, 0, 123_000_000, time.UTC)
	c := store.Certificate{ID: "c-AAAAAAAAAAAAAAAAAAAAAAAAAA", Type: "home-purchase-eligibility", RuleVersion: "home-purchase-eligibility@3",
		Department: "housing", Pseudonym: "p-1", Credential: []byte(`{"id":"x"}`), Issued: issued, IssueIndex: 42}
	if err := s.AddCertificate(ctx, c); err != nil {
		t.Fatalf("AddCertificate = %v", err)
	}
	if err := s.AddCertificate(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddCertificate(existing id) = %v, want ErrConflict", err)
	}
	if got, err := s.Certificate(ctx, c.ID); err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("Certificate = %+v, %v\nwant %+v", got, err, c)
	}
	if _, err := s.Certificate(ctx, "c-nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Certificate(missing) = %v, want ErrNotFound", err)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.AddVerifications(ctx, c.ID, int64(i%3)); err != nil {
				t.Errorf("AddVerifications = %v", err)
			}
		})
	}
	wg.Wait()
	if got, err := s.Certificate(ctx, c.ID); err != nil || got.Verifications != 19 { // 7·0 + 7·1 + 6·2
		t.Errorf("after %d concurrent additions: count %d, %v; want 19", n, got.Verifications, err)
	}
	if err := s.SetCertificateLink(ctx, c.ID, true); err != nil {
		t.Fatal(err)
	}
	rv := c
	rv.Revoked, rv.RevokedAt, rv.RevokeReason, rv.RevokeIndex = true, issued.Add(time.Hour), "issued-in-error", 50
	if err := s.RevokeCertificate(ctx, rv); err != nil {
		t.Fatalf("RevokeCertificate = %v", err)
	}
	if err := s.RevokeCertificate(ctx, rv); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second RevokeCertificate = %v, want ErrConflict", err)
	}
	got, err := s.Certificate(ctx, c.ID)
	rv.Verifications, rv.LinkDisabled = 19, true
	if err != nil || !reflect.DeepEqual(got, rv) {
		t.Errorf("revoked Certificate = %+v, %v\nwant %+v", got, err, rv)
	}

	app := func(id, pseudonym string, i int) store.Application {
		return store.Application{ID: id, Type: "identity-proof", Citizen: "C00000" + pseudonym[len(pseudonym)-1:], Pseudonym: pseudonym, Department: "public-security", ByCitizen: true,
			Status: store.ApplicationReceived, Steps: []store.ApplicationStep{{Name: store.ApplicationReceived, Time: issued, Index: uint64(i)}},
			Created: issued.Add(time.Duration(i) * time.Minute)}
	}
	a1, a2, b1 := app("a-1", "p-1", 1), app("a-2", "p-1", 2), app("b-1", "p-2", 3)
	for _, a := range []store.Application{a1, a2, b1} {
		if err := s.SaveApplication(ctx, a); err != nil {
			t.Fatalf("SaveApplication(%s) = %v", a.ID, err)
		}
	}
	a1.Status, a1.Certificate = store.ApplicationIssued, c.ID
	a1.Steps = append(a1.Steps, store.ApplicationStep{Name: store.ApplicationIssued, Time: issued.Add(time.Second), Index: 9})
	if err := s.SaveApplication(ctx, a1); err != nil {
		t.Fatal(err)
	}
	list, err := s.Applications(ctx, "p-1", 10)
	if err != nil || !reflect.DeepEqual(list, []store.Application{a2, a1}) {
		t.Errorf("Applications(p-1) = %+v, %v\nwant %+v", list, err, []store.Application{a2, a1})
	}
	if list, err := s.Applications(ctx, "p-1", 1); err != nil || len(list) != 1 || list[0].ID != "a-2" {
		t.Errorf("Applications(p-1, 1) = %+v, %v", list, err)
	}
	if list, err := s.Applications(ctx, "p-3", 10); err != nil || len(list) != 0 {
		t.Errorf("Applications(nobody) = %+v, %v", list, err)
	}
	if got, err := s.Application(ctx, "b-1"); err != nil || !reflect.DeepEqual(got, b1) {
		t.Errorf("Application(b-1) = %+v, %v", got, err)
	}

	// A lawful erasure of p-1: its applications go, its certificate keeps only its revocation; p-2's
	// stay. Twice is the same as once.
	for range 2 {
		if err := s.EraseApplications(ctx, "p-1"); err != nil {
			t.Fatalf("EraseApplications = %v", err)
		}
	}
	if list, err := s.Applications(ctx, "p-1", 10); err != nil || len(list) != 0 {
		t.Errorf("after the erasure, Applications(p-1) = %+v, %v", list, err)
	}
	if _, err := s.Application(ctx, "a-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the erasure, Application(a-1) = %v, want ErrNotFound", err)
	}
	if got, err := s.Certificate(ctx, c.ID); err != nil || len(got.Credential) != 0 || got.Pseudonym != "" || !got.Revoked || !got.LinkDisabled {
		t.Errorf("after the erasure, the certificate = %+v, %v; want no credential, no pseudonym, revoked and unlinked", got, err)
	}
	if got, err := s.Application(ctx, "b-1"); err != nil || !reflect.DeepEqual(got, b1) {
		t.Errorf("another citizen's application after the erasure = %+v, %v", got, err)
	}
}
