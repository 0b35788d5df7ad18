package graph

import (
	"context"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
)

// TestUntilTokenExpires: a websocket connection's context ends when the token that opened it
// expires (gqlgen closes the connection when that context is done).
func TestUntilTokenExpires(t *testing.T) {
	exp := time.Now().Add(100 * time.Millisecond)
	ctx := auth.NewContext(t.Context(), auth.Principal{Kind: auth.KindAuditor, Subject: "a1", Expires: exp})
	got, _, err := untilTokenExpires(ctx, nil)
	if err != nil {
		t.Fatalf("untilTokenExpires(valid token) = %v", err)
	}
	if d, ok := got.Deadline(); !ok || !d.Equal(exp) {
		t.Errorf("connection deadline = %v, %v; want the token's expiry %v", d, ok, exp)
	}
	select {
	case <-got.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection's context outlived the token")
	}

	expired := auth.NewContext(t.Context(), auth.Principal{Kind: auth.KindAuditor, Subject: "a1", Expires: time.Now().Add(-time.Second)})
	if _, _, err := untilTokenExpires(expired, nil); err == nil {
		t.Errorf("untilTokenExpires(expired token) = nil error, want a refusal")
	}

	// No principal, or one without an expiry (built in-process): nothing to bound.
	for _, c := range []context.Context{t.Context(), auth.NewContext(t.Context(), auth.Principal{Kind: auth.KindAuditor, Subject: "a1"})} {
		got, _, err := untilTokenExpires(c, nil)
		if _, ok := got.Deadline(); err != nil || ok {
			t.Errorf("untilTokenExpires(no expiry) = deadline %v, %v; want none", ok, err)
		}
	}
}
