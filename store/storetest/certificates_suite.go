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
			times := make([]time.Time, i%3)
			for j := range times {
				times[j] = issued.Add(time.Duration(i) * time.Second)
			}
			if err := s.AddVerifications(ctx, c.ID, times); err != nil {
				t.Errorf("AddVerifications = %v", err)
			}
		})
	}
	wg.Wait()
	got, err := s.Certificate(ctx, c.ID)
	if err != nil || got.Verifications != 19 || len(got.VerifiedAt) != 19 { // 7·0 + 7·1 + 6·2
		t.Errorf("after %d concurrent additions: count %d, %d times, %v; want 19", n, got.Verifications, len(got.VerifiedAt), err)
	}
	// The latest store.MaxVerifiedAt times are kept, oldest first.
	var many []time.Time
	for i := range store.MaxVerifiedAt + 5 {
		many = append(many, issued.Truncate(time.Second).Add(time.Hour+time.Duration(i)*time.Second))
	}
	if err := s.AddVerifications(ctx, c.ID, many); err != nil {
		t.Fatal(err)
	}
	got, err = s.Certificate(ctx, c.ID)
	if err != nil || got.Verifications != 19+int64(len(many)) || len(got.VerifiedAt) != store.MaxVerifiedAt ||
		!got.VerifiedAt[0].Equal(many[5]) || !got.VerifiedAt[store.MaxVerifiedAt-1].Equal(many[len(many)-1]) {
		t.Errorf("after %d more: count %d, times %v, %v", len(many), got.Verifications, got.VerifiedAt, err)
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
	got, err = s.Certificate(ctx, c.ID)
	rv.Verifications, rv.VerifiedAt, rv.LinkDisabled = got.Verifications, got.VerifiedAt, true
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
	if got, err := s.Certificate(ctx, c.ID); err != nil || len(got.Credential) != 0 || got.Pseudonym != "" || !got.Revoked || !got.LinkDisabled ||
		len(got.VerifiedAt) != 0 {
		t.Errorf("after the erasure, the certificate = %+v, %v; want no credential, no pseudonym, no verification times, revoked and unlinked", got, err)
	}
	if got, err := s.Application(ctx, "b-1"); err != nil || !reflect.DeepEqual(got, b1) {
		t.Errorf("another citizen's application after the erasure = %+v, %v", got, err)
	}
}

// A department's review queue lists the applications waiting for its review, oldest first; those
// that left review are passed over for good, one not yet waiting holds its place, another
// department's are not listed.
func testReviewQueue(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	created := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	save := func(id, dept, status string) store.Application {
		t.Helper()
		a := store.Application{ID: id, Type: "identity-proof", Citizen: "C" + id, Pseudonym: "p-" + id, Department: dept,
			Status: status, Steps: []store.ApplicationStep{{Name: status, Time: created, Index: 1}}, Created: created}
		if err := s.SaveApplication(ctx, a); err != nil {
			t.Fatalf("SaveApplication(%s) = %v", id, err)
		}
		return a
	}
	queue := func(dept, id string) {
		t.Helper()
		if err := s.QueueForReview(ctx, dept, id); err != nil {
			t.Fatalf("QueueForReview(%s) = %v", id, err)
		}
	}
	ids := func(dept string, limit int) string {
		t.Helper()
		list, err := s.ReviewQueue(ctx, dept, limit)
		if err != nil {
			t.Fatalf("ReviewQueue(%s) = %v", dept, err)
		}
		var out []string
		for _, a := range list {
			out = append(out, a.ID)
		}
		return strings.Join(out, ",")
	}
	if got := ids("housing", 10); got != "" {
		t.Errorf("an empty queue lists %q", got)
	}
	save("r1", "housing", store.ApplicationIssued)
	r2 := save("r2", "housing", store.ApplicationReview)
	save("r3", "housing", store.ApplicationDecided) // queued, not yet saved as waiting
	save("r4", "housing", store.ApplicationReview)
	save("r5", "housing", store.ApplicationRefused)
	save("x1", "tax", store.ApplicationReview)
	for _, id := range []string{"r1", "r2", "r3", "r4", "r5"} {
		queue("housing", id)
	}
	queue("tax", "x1")
	if got := ids("housing", 10); got != "r2,r4" {
		t.Errorf("ReviewQueue(housing) = %q, want r2,r4", got)
	}
	if got := ids("housing", 1); got != "r2" {
		t.Errorf("ReviewQueue(housing, 1) = %q, want r2", got)
	}
	if got := ids("tax", 10); got != "x1" {
		t.Errorf("ReviewQueue(tax) = %q, want x1", got)
	}
	r2.Status = store.ApplicationIssued
	if err := s.SaveApplication(ctx, r2); err != nil {
		t.Fatal(err)
	}
	save("r3", "housing", store.ApplicationReview)
	if got := ids("housing", 10); got != "r3,r4" {
		t.Errorf("after r2 was issued and r3 waits: ReviewQueue(housing) = %q, want r3,r4", got)
	}
	queue("housing", "r6") // erased before it was listed: no application
	save("r7", "housing", store.ApplicationReview)
	queue("housing", "r7")
	if got := ids("housing", 10); got != "r3,r4,r7" {
		t.Errorf("ReviewQueue(housing) = %q, want r3,r4,r7", got)
	}
}
