package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
)

// scrape GETs /metrics from remote with the token (none if ""), returning status and body.
func (h *testHub) scrape(token, remote string) (int, string) {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodGet, metricsPath, nil)
	req.RemoteAddr = remote
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// postJSON posts a GraphQL query with headers and decodes the response.
func (h *testHub) postJSON(header http.Header, q string) (*httptest.ResponseRecorder, result) {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q})
	rec := h.post(header, string(body))
	var res result
	if err := json.Unmarshal(rec.Body.Bytes(), &struct {
		Data       *map[string]any
		Errors     *[]gqlError
		Extensions *map[string]any
	}{&res.Data, &res.Errors, &res.Extensions}); err != nil {
		h.t.Fatalf("decoding %s: %v", rec.Body, err)
	}
	return rec, res
}

const metricsPointRead = `{ citizen(id: "%s", purpose: "home-purchase-eligibility") { identity { name hukouCity } tax { annualIncome { value commitment { point } } } } }`

// A read carries a request id of the hub's own in the response header and on the ledger entry of
// its receipt; a caller's X-Request-Id never reaches the ledger (it is public and permanent, and
// the caller could put a citizen's id in it).
func TestRequestID(t *testing.T) {
	h := startHub(t, 3)
	c := h.gen.Citizen(1)
	q := strings.Replace(metricsPointRead, "%s", c.ID, 1)
	auth := "Bearer " + h.token(housingClerk)
	seen := map[string]bool{}
	for _, in := range []string{"", c.ID, "req-42.A_b", strings.Repeat("a", 65), "bad id"} {
		hdr := http.Header{"Authorization": {auth}}
		if in != "" {
			hdr.Set(requestIDHeader, in)
		}
		rec, res := h.postJSON(hdr, q)
		if len(res.Errors) > 0 {
			t.Fatalf("read: %+v", res.Errors)
		}
		id := rec.Header().Get(requestIDHeader)
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) || seen[id] {
			t.Errorf("X-Request-Id with %q sent = %q, want 16 fresh hex digits", in, id)
		}
		seen[id] = true
		e, raw := h.receiptEntry(res)
		if e.RequestID != id {
			t.Errorf("receipt entry request-id = %q, want %q", e.RequestID, id)
		}
		if in != "" && strings.Contains(string(raw), in) {
			t.Errorf("the caller's X-Request-Id %q is on the ledger:\n%s", in, raw)
		}
	}
	// An update's entry carries it too.
	body, _ := json.Marshal(map[string]any{"query": updateTax, "variables": map[string]any{"id": c.ID, "income": 123456}})
	rec := h.post(http.Header{"Authorization": {"Bearer " + h.token(taxClerk)}, requestIDHeader: {"update-1"}}, string(body))
	var upd struct {
		Data struct {
			UpdateTax struct{ Receipt struct{ Index int } }
		}
	}
	id := rec.Header().Get(requestIDHeader)
	if err := json.Unmarshal(rec.Body.Bytes(), &upd); err != nil || len(id) != 16 {
		t.Fatalf("update = %d %s (X-Request-Id %q)", rec.Code, rec.Body, id)
	}
	if all, _ := h.entries(); all[upd.Data.UpdateTax.Receipt.Index].RequestID != id {
		t.Errorf("update entry request-id = %q, want %q", all[upd.Data.UpdateTax.Receipt.Index].RequestID, id)
	}
	// Other routes get an id too.
	rec = httptest.NewRecorder()
	h.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Header().Get(requestIDHeader) == "" {
		t.Errorf("/healthz has no X-Request-Id")
	}
}

// /metrics: operator tokens only (and loopback without a token when configured), and what it
// counts after a read and a refused query, with no citizen id in it.
func TestMetrics(t *testing.T) {
	h := startHub(t, 3)
	c := h.gen.Citizen(1)
	clerk := http.Header{"Authorization": {"Bearer " + h.token(housingClerk)}}
	if _, res := h.postJSON(clerk, strings.Replace(metricsPointRead, "%s", c.ID, 1)); len(res.Errors) > 0 {
		t.Fatalf("read: %+v", res.Errors)
	}
	if _, res := h.postJSON(clerk, `{ noSuchField }`); len(res.Errors) == 0 {
		t.Fatalf("an unknown field was answered")
	}
	if rec := h.post(nil, `{"query":"{ me { kind } }"}`); rec.Code != http.StatusUnauthorized { // no token
		t.Fatalf("a query without a token = %d", rec.Code)
	}

	const remote, far = "127.0.0.1:40000", "192.0.2.7:40000"
	if code, _ := h.scrape("", remote); code != http.StatusUnauthorized {
		t.Errorf("/metrics without a token = %d, want 401", code)
	}
	if code, _ := h.scrape(h.token(housingClerk), remote); code != http.StatusForbidden {
		t.Errorf("/metrics with a department token = %d, want 403", code)
	}
	code, body := h.scrape(h.token(operator), far)
	if code != http.StatusOK {
		t.Fatalf("/metrics with an operator token = %d %q", code, body)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^govhub_graphql_request_duration_seconds_count\{operation="citizen",outcome="ok"\} 1$`),
		regexp.MustCompile(`(?m)^govhub_graphql_request_duration_seconds_count\{operation="other",outcome="GRAPHQL_VALIDATION_FAILED"\} 1$`),
		regexp.MustCompile(`(?m)^govhub_graphql_request_duration_seconds_count\{operation="other",outcome="http_401"\} 1$`),
		regexp.MustCompile(`(?m)^govhub_policy_decisions_total\{level="reveal"\} [1-9]`),
		regexp.MustCompile(`(?m)^govhub_policy_decisions_total\{level="commit"\} [0-9]`),
		regexp.MustCompile(`(?m)^govhub_policy_decisions_total\{level="deny"\} [0-9]`),
		regexp.MustCompile(`(?m)^govhub_ledger_append_duration_seconds_count\{outcome="ok"\} [1-9]`),
		regexp.MustCompile(`(?m)^govhub_ledger_integrated_entries [1-9]`),
		regexp.MustCompile(`(?m)^govhub_ledger_published_entries [1-9]`),
		regexp.MustCompile(`(?m)^govhub_ledger_witness_lag_entries 0$`),
		regexp.MustCompile(`(?m)^govhub_ledger_checkpoint_age_seconds [0-9]`),
		regexp.MustCompile(`(?m)^govhub_record_integrity_refusals_total 0$`),
		regexp.MustCompile(`(?m)^govhub_policy_version 1$`),
		regexp.MustCompile(`(?m)^go_goroutines [0-9]`),
		// The read's access-log append went through the embedded store's write gate.
		regexp.MustCompile(`(?m)^govhub_store_write_gate_writes_total\{collection="subject_log"\} [1-9]`),
		regexp.MustCompile(`(?m)^govhub_store_write_gate_held_seconds_total\{collection="subject_log"\} [0-9.e-]*[1-9]`),
		regexp.MustCompile(`(?m)^govhub_store_write_gate_waited_seconds_total\{collection="ledger_batches"\} [0-9]`),
		// The read's commands: its citizen's document, and the ledger's batch.
		regexp.MustCompile(`(?m)^govhub_store_commands_total\{collection="record_heads",command="find"\} [1-9]`),
		regexp.MustCompile(`(?m)^govhub_store_commands_total\{collection="ledger_batches",command="insert"\} [1-9]`),
		regexp.MustCompile(`(?m)^govhub_store_command_seconds_total\{collection="record_heads",command="find"\} [0-9.e-]*[1-9]`),
	} {
		if !want.MatchString(body) {
			t.Errorf("/metrics has no line matching %s", want)
		}
	}
	if strings.Contains(body, c.ID) {
		t.Errorf("/metrics names citizen %s", c.ID)
	}

	// With --metrics-loopback, loopback callers need no token; others still do.
	h.app.cfg.MetricsLoopback = true
	h.handler = h.app.handler()
	if code, _ := h.scrape("", remote); code != http.StatusOK {
		t.Errorf("/metrics from loopback without a token = %d, want 200", code)
	}
	if code, _ := h.scrape("", "[::1]:40000"); code != http.StatusOK {
		t.Errorf("/metrics from ::1 without a token = %d, want 200", code)
	}
	if code, _ := h.scrape("", far); code != http.StatusUnauthorized {
		t.Errorf("/metrics from %s without a token = %d, want 401", far, code)
	}
}

// /readyz names every reason the hub is not ready.
func TestReadyzReasons(t *testing.T) {
	h := startHub(t, 2)
	if code, body := h.readyz(); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("/readyz = %d %q, want 200 ready", code, body)
	}
	check := func(want ...string) {
		t.Helper()
		code, body := h.readyz()
		if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready\n") {
			t.Errorf("/readyz = %d %q, want 503 not ready", code, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("/readyz = %q, want a line with %q", body, w)
			}
		}
	}
	// Entries wait to be published and the checkpoint has not changed for too long.
	m := h.app.metrics
	if err := h.app.log.WaitCaughtUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.log.WaitCheckpoint(t.Context(), h.app.log.Integrated().Size); err != nil {
		t.Fatal(err)
	}
	// The checkpoint watcher may still note the last publication after we set the clock back, so
	// set it again until the hub has settled (a few tries at most).
	for try := 0; ; try++ {
		m.appended.Store(h.app.log.Latest().Size + 3)
		m.changed.Store(time.Now().Add(-m.staleAfter - time.Minute).UnixNano())
		if code, body := h.readyz(); (code == http.StatusServiceUnavailable && strings.Contains(body, "3 appended entries")) || try == 20 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	check("published checkpoint stale", "3 appended entries not yet published")
	// Once they are published, it is ready again, however old the checkpoint.
	m.appended.Store(h.app.log.Latest().Size)
	if code, body := h.readyz(); code != http.StatusOK {
		t.Errorf("/readyz with nothing waiting = %d %q, want 200", code, body)
	}
	// The records' database is gone.
	if err := h.app.storage.client.Disconnect(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("database unreachable (records)")
	// The ledger failed its verification.
	h.app.log.Fail(errors.New("test: the stored ledger was altered"))
	check("database unreachable (records)", "ledger failed")
	if _, err := h.app.log.Append(t.Context(), ledger.Entry{}); err == nil {
		t.Errorf("a failed ledger took an append")
	}
}

// Log lines written with a request's context name its id.
func TestRequestIDLogs(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(requestIDLogs{slog.NewTextHandler(&buf, nil)}).With(slog.String("component", "test"))
	logger.InfoContext(usecase.WithRequestID(t.Context(), "abc-1"), "with")
	logger.InfoContext(t.Context(), "without")
	logger.InfoContext(context.WithValue(usecase.WithRequestID(t.Context(), "abc-2"), clientRequestIDKey{}, "theirs-7"), "theirs")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "request_id=abc-1") || strings.Contains(lines[0], "client_request_id") ||
		strings.Contains(lines[1], "request_id") || !strings.Contains(lines[2], "request_id=abc-2 client_request_id=theirs-7") {
		t.Errorf("log = %q, want request_id=abc-1 on the first line, none on the second, and the caller's id beside ours on the third", buf.String())
	}
}

func TestOperationName(t *testing.T) {
	m := &hubMetrics{rootFields: schemaRootFields()}
	for _, tc := range []struct{ query, op, want string }{
		{`{ citizen(id: "C000001", purpose: "p") { id } }`, "", "citizen"},
		{`query Q { citizen(id: "C000001", purpose: "p") { id } __typename }`, "", "citizen"},
		{`{ me { kind } purposes { code } me2: me { kind } }`, "", "me+purposes"},
		{`{ me { kind } purposes { code } ledgerCheckpoint { size } }`, "", "other"},
		{`mutation { updateTax(citizenId: "C1", purpose: "p", input: {}) { version } }`, "", "updateTax"},
		{`mutation { citizen(id: "C1", purpose: "p") { id } }`, "", "other"},
		{`{ __schema { types { name } } }`, "", "introspection"},
		{`{ __schema { types { name } } me { kind } }`, "", "other"},
		{`{ noSuchField }`, "", "other"},
		{`{ ... on Query { me { kind } } }`, "", "other"},
		{`query A { me { kind } } query B { purposes { code } }`, "B", "purposes"},
		{`query A { me { kind } } query B { purposes { code } }`, "", "other"},
		{`{ me { kind `, "", "other"},
		{`C000001`, "", "other"},
	} {
		if got := m.opName(tc.query, tc.op); got != tc.want {
			t.Errorf("opName(%q, %q) = %q, want %q", tc.query, tc.op, got, tc.want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"data":{"me":{"kind":"operator"}}}`, ""},
		{`{"errors":[{"message":"no","extensions":{"code":"FORBIDDEN"}}],"data":null}`, "FORBIDDEN"},
		{`{"errors":[{"message":"say \"code\":\"X\"","path":["a"],"extensions":{"code":"INTEGRITY"}}]}`, "INTEGRITY"},
		{`{"errors":[{"message":"no code"}],"data":null}`, "error"},
		{`{"errors":[{"message":"m","extensions":{"code":"C000001 secret"}}]}`, "error"},
		{`unauthorized`, ""},
	} {
		if got := errorCode([]byte(tc.body)); got != tc.want {
			t.Errorf("errorCode(%s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// BenchmarkMetricsMiddleware: what the request id and the GraphQL metrics add to one request, on a
// stub handler (the point read's query text, a small response).
func BenchmarkMetricsMiddleware(b *testing.B) {
	m := &hubMetrics{rootFields: schemaRootFields(), requests: newMetrics(&app{}).requests}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"data":{"citizen":{"identity":{"name":"x"}}},"extensions":{"ledger":{"index":1}}}`)
	})
	h := withRequestID(m.graphql(next))
	body, _ := json.Marshal(map[string]any{"query": exampleQuery, "variables": map[string]any{"id": "C000001"}})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkMetricsBaseline: the same request on the stub handler alone.
func BenchmarkMetricsBaseline(b *testing.B) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"data":{"citizen":{"identity":{"name":"x"}}},"extensions":{"ledger":{"index":1}}}`)
	})
	body, _ := json.Marshal(map[string]any{"query": exampleQuery, "variables": map[string]any{"id": "C000001"}})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		next.ServeHTTP(httptest.NewRecorder(), req)
	}
}
