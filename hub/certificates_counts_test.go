package hub

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/storetest"
)

// TestVerificationCounter counts concurrently in memory, shows counts not yet stored, adds them to
// the real store on Flush, and keeps what a failed flush could not add for the next one.
func TestVerificationCounter(t *testing.T) {
	env := storetest.Embedded(t)
	ctx := t.Context()
	c := store.Certificate{ID: "c-0123456789abcdef0123456789abcdef", Type: "t", Pseudonym: "p", Credential: []byte(`{}`), Issued: time.Now().UTC().Truncate(time.Millisecond)}
	if err := env.Store.AddCertificate(ctx, c); err != nil {
		t.Fatal(err)
	}
	stored := func() int64 {
		t.Helper()
		got, err := env.Store.Certificate(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Verifications
	}
	v := NewVerificationCounter(env.Store)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { v.Count(c.ID) })
	}
	wg.Wait()
	if got := v.Pending(c.ID); len(got) != 50 {
		t.Errorf("Pending holds %d times, want 50", len(got))
	}
	if got := stored(); got != 0 {
		t.Errorf("stored before a flush: %d, want 0", got)
	}
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, p := stored(), v.Pending(c.ID); got != 50 || len(p) != 0 {
		t.Errorf("after a flush: stored %d, pending %d; want 50, 0", got, len(p))
	}
	if got, err := env.Store.Certificate(ctx, c.ID); err != nil || len(got.VerifiedAt) != 50 || time.Since(got.VerifiedAt[49]) > time.Minute {
		t.Errorf("after a flush: the stored times are %v, %v; want the 50 just counted", got.VerifiedAt, err)
	}

	// A flush the store refuses (its context is over) keeps the counts.
	if n := v.Count(c.ID); n != 1 {
		t.Errorf("Count after a flush = %d, want 1", n)
	}
	dead, cancel := context.WithCancel(ctx)
	cancel()
	if err := v.Flush(dead); err == nil {
		t.Fatal("Flush with a cancelled context succeeded")
	}
	if got, p := stored(), v.Pending(c.ID); got != 50 || len(p) != 1 {
		t.Errorf("after a failed flush: stored %d, pending %d; want 50, 1", got, len(p))
	}
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stored(); got != 51 {
		t.Errorf("after the next flush: stored %d, want 51", got)
	}

	// Run adds counts within about a second.
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { v.Run(run, func(err error) { t.Error(err) }); close(done) }()
	v.Count(c.ID)
	deadline := time.Now().Add(5 * CountFlushInterval)
	for stored() != 52 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	<-done
	if got := stored(); got != 52 {
		t.Errorf("Run did not add the count within %v: stored %d", 5*CountFlushInterval, got)
	}
}
