package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
)

// TestTokenLimits: the hub's tokens carry its audience and a bounded lifetime; a token for another
// audience, or for longer than the maximum, is refused by the hub; govhub token will not issue one.
func TestTokenLimits(t *testing.T) {
	h := startHub(t, 1)
	me := `{ me { subject } }`
	ask := func(tok string) int {
		t.Helper()
		return h.post(http.Header{"Authorization": {"Bearer " + tok}}, `{"query":"`+me+`"}`).Code
	}
	auditor := auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1"}
	if code := ask(h.token(auditor)); code != http.StatusOK {
		t.Fatalf("the hub's own token = %d, want 200", code)
	}

	other, err := auth.NewIssuer(h.app.keys.issuer, tokenIssuer, auth.WithIssuerAudience("payroll"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := other.Issue(auditor, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if code := ask(tok); code != http.StatusUnauthorized {
		t.Errorf("a token for another audience, signed by the hub's key = %d, want 401", code)
	}

	long, err := auth.NewIssuer(h.app.keys.issuer, tokenIssuer, auth.WithIssuerMaxLifetime(876000*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err = long.Issue(auditor, 876000*time.Hour); err != nil {
		t.Fatal(err)
	}
	if code := ask(tok); code != http.StatusUnauthorized {
		t.Errorf("a 100-year token signed by the hub's key = %d, want 401", code)
	}

	var out, errOut bytes.Buffer
	err = run(t.Context(), []string{"token", "--data-dir", h.dir, "--kind", "auditor", "--subject", "a-1", "--ttl", "876000h"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "maximum token lifetime 24h0m0s") || out.Len() > 0 {
		t.Errorf("govhub token --ttl 876000h = %v, printed %q; want a refusal naming the maximum", err, out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"token", "--data-dir", h.dir, "--kind", "auditor", "--subject", "a-1", "--ttl", "48h", "--max-token-ttl", "48h", "--token-audience", "payroll"}, &out, &errOut); err != nil {
		t.Fatalf("govhub token with a 48h maximum: %v %s", err, errOut.String())
	}
	p, err := func() (auth.Principal, error) {
		v, err := auth.NewVerifier(h.app.issuer.Public(), tokenIssuer, auth.WithAudience("payroll"), auth.WithMaxLifetime(48*time.Hour))
		if err != nil {
			return auth.Principal{}, err
		}
		return v.Verify(strings.TrimSpace(out.String()))
	}()
	if err != nil || p.Subject != "a-1" {
		t.Errorf("govhub token --token-audience payroll --max-token-ttl 48h printed a token that verifies as %+v, %v", p, err)
	}
	if code := ask(strings.TrimSpace(out.String())); code != http.StatusUnauthorized {
		t.Errorf("that token at the hub (audience govhub, maximum 24h) = %d, want 401", code)
	}
}
