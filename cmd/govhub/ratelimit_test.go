package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/graph"
	"github.com/govhub/govhub/ledger"
)

func TestParseRateLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rateLimit
		bad  bool
	}{
		{in: "50/100", want: rateLimit{50, 100}},
		{in: "20", want: rateLimit{20, 20}},
		{in: "0.5", want: rateLimit{0.5, 1}},
		{in: "2.5/7", want: rateLimit{2.5, 7}},
		{in: "0", want: rateLimit{}},
		{in: "0/5", bad: true},
		{in: "-1", bad: true},
		{in: "NaN", bad: true},
		{in: "0.0001", bad: true},
		{in: "Inf", bad: true},
		{in: "10/0", bad: true},
		{in: "10/x", bad: true},
		{in: "", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseRateLimit(tc.in)
			if tc.bad {
				if err == nil {
					t.Errorf("parseRateLimit(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseRateLimit(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
			}
			if back, err := parseRateLimit(got.String()); err != nil || back != got {
				t.Errorf("parseRateLimit(%q.String() = %q) = %v, %v", tc.in, got.String(), back, err)
			}
		})
	}
}

// parseRateLimit reads any text without panicking, and what it reads formats back to itself.
func FuzzParseRateLimit(f *testing.F) {
	for _, s := range []string{"50/100", "20", "0.5", "0", "1e6/1", "-1", "1/0", "NaN", "2.5/7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseRateLimit(s)
		if err != nil {
			return
		}
		if l.Rate < 0 || (l.Rate > 0 && l.Burst < 1) {
			t.Fatalf("parseRateLimit(%q) = %v: a negative rate or an empty bucket", s, l)
		}
		if back, err := parseRateLimit(l.String()); err != nil || back != l {
			t.Fatalf("parseRateLimit(%q) = %v, formatted %q, read back as %v, %v", s, l, l.String(), back, err)
		}
	})
}

// The flags: serve limits every principal by default, the demo only when asked; departments get
// their own limits.
func TestRateLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		name   string
		demo   bool
		args   []string
		want   rateLimit
		depts  map[string]rateLimit
		failed bool
	}{
		{name: "serve default", want: defaultServeRateLimit},
		{name: "demo default: off", demo: true, want: rateLimit{}},
		{name: "demo asked", demo: true, args: []string{"--rate-limit", "5/10"}, want: rateLimit{5, 10}},
		{name: "serve off", args: []string{"--rate-limit", "0"}, want: rateLimit{}},
		{name: "departments", args: []string{"--rate-limit-department", "housing=1/2", "--rate-limit-department", "tax=0"},
			want: defaultServeRateLimit, depts: map[string]rateLimit{"housing": {1, 2}, "tax": {}}},
		{name: "bad department", args: []string{"--rate-limit-department", "Housing=1"}, failed: true},
		{name: "no department", args: []string{"--rate-limit-department", "1/2"}, failed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			ls := registerRateLimits(fs, tc.demo)
			err := fs.Parse(tc.args)
			if tc.failed {
				if err == nil {
					t.Errorf("%v: parsed as %+v, want an error", tc.args, *ls)
				}
				return
			}
			if err != nil || ls.Default != tc.want || len(ls.Departments) != len(tc.depts) {
				t.Fatalf("%v: %+v, %v, want default %v and departments %v", tc.args, *ls, err, tc.want, tc.depts)
			}
			for d, l := range tc.depts {
				if ls.Departments[d] != l {
					t.Errorf("%v: department %s = %v, want %v", tc.args, d, ls.Departments[d], l)
				}
			}
		})
	}
}

// The bucket: a burst is admitted, the next request is refused with the wait until a token, and is
// admitted after it; one person is one bucket whatever the case of their name, two issuers are two
// people; a department's limit applies to its principals; idle buckets are dropped.
func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(rateLimits{Default: rateLimit{Rate: 2, Burst: 3}, Departments: map[string]rateLimit{"housing": {Rate: 1, Burst: 5}, "tax": {}}}, nil)
	l.now = func() time.Time { return now }
	p := auth.Principal{Kind: auth.KindDepartment, Department: "public-security", Role: "clerk", Subject: "Alice", Issuer: "govhub"}
	for i := range 3 {
		if ok, _, _ := l.admit(p); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	same := p
	same.Subject = "ALICE"
	ok, wait, started := l.admit(same)
	if ok || wait != 500*time.Millisecond || !started {
		t.Errorf("4th request (as ALICE) = %v, wait %v, started %v; want refused, 500ms, first refusal", ok, wait, started)
	}
	if ok, _, started := l.admit(p); ok || started {
		t.Errorf("5th request = %v, started %v; want refused, not the first refusal", ok, started)
	}
	other := p
	other.Issuer = "https://idp.example"
	if ok, _, _ := l.admit(other); !ok {
		t.Errorf("the same name from another issuer refused")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _, _ := l.admit(p); !ok {
		t.Errorf("request after the wait refused")
	}

	housing := auth.Principal{Kind: auth.KindOfficer, Department: "housing", Role: auth.RoleOfficer, Subject: "bob", Issuer: "govhub"}
	for i := range 5 {
		if ok, _, _ := l.admit(housing); !ok {
			t.Fatalf("housing request %d of its burst of 5 refused", i+1)
		}
	}
	if ok, wait, _ := l.admit(housing); ok || wait != time.Second {
		t.Errorf("6th housing request = %v, wait %v; want refused, 1s (housing's rate 1/s)", ok, wait)
	}
	tax := auth.Principal{Kind: auth.KindDepartment, Department: "tax", Role: "clerk", Subject: "t", Issuer: "govhub"}
	for i := range 100 {
		if ok, _, _ := l.admit(tax); !ok {
			t.Fatalf("tax (no limit) request %d refused", i+1)
		}
	}

	if n := l.size(); n != 3 {
		t.Errorf("buckets = %d, want 3 (alice, alice of another issuer, bob; none for unlimited tax)", n)
	}
	now = now.Add(sweepInterval)
	citizen := auth.Principal{Kind: auth.KindCitizen, Subject: "C000001", Issuer: "govhub"}
	l.admit(citizen)
	if n := l.size(); n != 1 {
		t.Errorf("buckets after a minute idle = %d, want 1 (the idle ones, refilled, dropped)", n)
	}
}

// Through the hub: a burst beyond the limit gets 429, Retry-After and RATE_LIMITED without being
// run; another principal is unaffected; a department's own limit applies.
func TestRateLimitHTTP(t *testing.T) {
	h := startHub(t, 3)
	h.app.cfg.RateLimits = rateLimits{Default: rateLimit{Rate: 0.01, Burst: 2}, Departments: map[string]rateLimit{"housing": {Rate: 0.01, Burst: 4}}}
	h.handler = h.app.handler()
	send := func(p auth.Principal, q string) *http.Response {
		body, err := json.Marshal(map[string]string{"query": q})
		if err != nil {
			t.Fatal(err)
		}
		return h.post(http.Header{"Authorization": {"Bearer " + h.token(p)}}, string(body)).Result()
	}
	for i := range 2 {
		if r := send(policeClerk, `{ me { subject } }`); r.StatusCode != http.StatusOK {
			t.Fatalf("request %d of a burst of 2: status %d", i+1, r.StatusCode)
		}
	}
	before, _ := h.entries()
	r := send(policeClerk, `{ citizen(id: "C000001", purpose: "identity-verification") { identity { name } } }`)
	var res struct {
		Data   any
		Errors []gqlError
	}
	if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if r.StatusCode != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 100 {
		t.Errorf("3rd request: status %d, Retry-After %q; want 429 and 1 to 100 seconds", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if res.Data != nil || len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != graph.CodeRateLimited ||
		res.Errors[0].Extensions["retryAfter"] != float64(secs) {
		t.Errorf("3rd request: data %v, errors %+v; want no data and one RATE_LIMITED error with retryAfter %d", res.Data, res.Errors, secs)
	}
	// The first refusal is a denied attempt on the ledger; the next ones, until the principal is
	// admitted again, are not (a flood of requests must not become a flood of entries).
	if r := send(policeClerk, `{ me { subject } }`); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("4th request: status %d, want 429", r.StatusCode)
	}
	time.Sleep(50 * time.Millisecond) // an entry appended would have been sequenced by now
	after, _ := h.entries()
	if len(after) != len(before)+1 || after[len(before)].Reason != "rate-limited" || after[len(before)].Outcome != ledger.OutcomeDenied {
		t.Errorf("rate-limited requests: %d entries after, %d before; want one denied entry, reason rate-limited", len(after), len(before))
	}

	// Another principal of the same department and kind is not affected.
	other := policeClerk
	other.Subject = "p2"
	if r := send(other, `{ me { subject } }`); r.StatusCode != http.StatusOK {
		t.Errorf("another principal: status %d, want 200", r.StatusCode)
	}
	// Housing's own limit: a burst of 4.
	for i := range 4 {
		if r := send(housingClerk, `{ me { subject } }`); r.StatusCode != http.StatusOK {
			t.Fatalf("housing request %d of a burst of 4: status %d", i+1, r.StatusCode)
		}
	}
	if r := send(housingClerk, `{ me { subject } }`); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("5th housing request: status %d, want 429", r.StatusCode)
	}

	// A websocket counts when it starts: authenticated by its connection_init payload, a citizen's
	// third connection within the burst of 2 is refused, saying why.
	tok := h.token(citizenP(h.gen.Citizen(1).ID))
	for i := range 3 {
		ws := client.New(h.handler, client.Path("/graphql")).WebsocketWithPayload(accessAddedSub, map[string]any{"Authorization": "Bearer " + tok})
		if i == 2 {
			var m map[string]any
			// The client quotes the connection_error's payload as a Go byte slice.
			said := strings.Trim(fmt.Sprintf("%#v", []byte("rate limited")), "[]byte{}")
			if err := ws.Next(&m); err == nil || !strings.Contains(err.Error(), "connection_error") || !strings.Contains(err.Error(), said) {
				t.Errorf("3rd websocket: %v, %v; want refused as rate limited", m, err)
			}
		}
		ws.Close()
	}
}
