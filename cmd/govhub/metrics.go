package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/graph"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// Observability: /metrics (Prometheus text, a registry of the hub's own), the reasons /readyz
// gives, and request ids. A label never holds a token, a value, a citizen id or a key: operations
// are named by the schema's root fields, outcomes by error codes, decisions by level.

// metricsPath serves the metrics: to operator tokens, and with --metrics-loopback to requests from
// loopback addresses without a token.
const metricsPath = "/metrics"

// hubMetrics are the hub's collectors, registered on a private registry.
type hubMetrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.HistogramVec // by operation and outcome
	decisions [4]prometheus.Counter    // by policy.Level: deny, commit, prove, reveal
	appends   *prometheus.HistogramVec // by outcome: ok, error
	// rootFields are the schema's root fields by operation type: the only operation names a label
	// may hold.
	rootFields map[ast.Operation]map[string]bool
	opNames    opCache

	// appended is one past the highest index this hub appended; published and changed are the
	// published checkpoint's size and when it last changed (unix nanoseconds).
	appended  atomic.Uint64
	published atomic.Uint64
	changed   atomic.Int64
	// staleAfter: with entries appended but not published, a checkpoint older than this makes the
	// hub not ready.
	staleAfter time.Duration
}

// checkpointStaleFloor is the least staleAfter: one cosigning round may take the witnesses'
// timeout (ledger.DefaultWitnessTimeout), and a slow round is not an outage.
const checkpointStaleFloor = 2 * ledger.DefaultWitnessTimeout

// newMetrics builds the collectors of a. The functions it registers read a's ledger, integrity
// and policy when scraped, so a's parts may be opened after it.
func newMetrics(a *app) *hubMetrics {
	interval := a.cfg.IntegrationInterval
	if interval <= 0 {
		interval = ledger.DefaultIntegrationInterval
	}
	m := &hubMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "govhub_graphql_request_duration_seconds",
			Help:    "GraphQL requests over HTTP by operation (its root fields, or other) and outcome (ok, an error code, or http_<status>).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation", "outcome"}),
		appends: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "govhub_ledger_append_duration_seconds",
			Help:    "Ledger appends by the hub's use cases, until the entry is durable, by outcome (ok or error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"outcome"}),
		rootFields: schemaRootFields(),
		staleAfter: max(10*interval, checkpointStaleFloor),
	}
	m.changed.Store(time.Now().UnixNano())
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govhub_policy_decisions_total",
		Help: "Field decisions by level (one per requested field of a read or a list page).",
	}, []string{"level"})
	for l := policy.Deny; l <= policy.Reveal; l++ {
		m.decisions[l-policy.Deny] = decisions.WithLabelValues(l.String())
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.appends, decisions,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "govhub_record_integrity_refusals_total",
			Help: "Records refused as changed behind the hub's back (integrity alerts) since start.",
		}, func() float64 { return float64(a.integrity.Alerts()) }),
		gauge("govhub_ledger_integrated_entries", "Entries covered by the latest checkpoint the log signed.",
			func() float64 { return float64(a.log.Integrated().Size) }),
		gauge("govhub_ledger_published_entries", "Entries covered by the latest published checkpoint (cosigned by a quorum of witnesses, if any).",
			func() float64 { return float64(a.log.Latest().Size) }),
		gauge("govhub_ledger_witness_lag_entries", "Entries signed by the log but not yet cosigned by a quorum of witnesses.",
			func() float64 {
				in, pub := a.log.Integrated().Size, a.log.Latest().Size
				return float64(in - min(in, pub))
			}),
		gauge("govhub_ledger_checkpoint_age_seconds", "Time since the published checkpoint last changed (since start if it has not).",
			func() float64 { return m.checkpointAge().Seconds() }),
		gauge("govhub_policy_version", "The policy version in force.",
			func() float64 { return float64(a.reader.Policy().Version()) }),
		gauge("govhub_ledger_mirrored_entries", "Entries held by the mirror quorum (0 without --mirror).",
			func() float64 { return float64(a.mirrors.Status().Mirrored) }),
		gauge("govhub_ledger_unmirrored_age_seconds", "How long the oldest acknowledged entry not yet held by the mirror quorum has waited (0: none).",
			func() float64 { return a.mirrors.Status().Oldest.Seconds() }),
		gauge("govhub_ledger_mirror_window_p50_seconds", "Median time from an entry's acknowledgement to the mirror quorum holding it, over the recent batches.",
			func() float64 { return a.mirrors.Status().P50.Seconds() }),
		writeGateCollector{a},
		storeCommandsCollector{a},
		gauge("govhub_ledger_mirror_window_p99_seconds", "99th percentile of the time from an entry's acknowledgement to the mirror quorum holding it, over the recent batches.",
			func() float64 { return a.mirrors.Status().P99.Seconds() }),
	)
	return m
}

// The embedded store's write gate (embedded.Server.WriteGateStats), by collection written. Its
// held time's rate is how busy the store's one writer is (1: always); nothing is reported when the
// hub uses a database it reaches by URI, which has no gate.
var (
	gateWritesDesc = prometheus.NewDesc("govhub_store_write_gate_writes_total",
		"Writes to the embedded store admitted by its write gate (one at a time), by collection.", []string{"collection"}, nil)
	gateWaitedDesc = prometheus.NewDesc("govhub_store_write_gate_waited_seconds_total",
		"Time writes to the embedded store waited for the write gate, by collection.", []string{"collection"}, nil)
	gateHeldDesc = prometheus.NewDesc("govhub_store_write_gate_held_seconds_total",
		"Time writes to the embedded store held the write gate, by collection: its rate summed is how busy the store's one writer is.", []string{"collection"}, nil)
)

// writeGateCollector reports a's embedded store's write gate when scraped.
type writeGateCollector struct{ a *app }

func (writeGateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- gateWritesDesc
	ch <- gateWaitedDesc
	ch <- gateHeldDesc
}

func (c writeGateCollector) Collect(ch chan<- prometheus.Metric) {
	if c.a.storage == nil || c.a.storage.server == nil {
		return
	}
	for _, st := range c.a.storage.server.WriteGateStats() {
		ch <- prometheus.MustNewConstMetric(gateWritesDesc, prometheus.CounterValue, float64(st.Writes), st.Name)
		ch <- prometheus.MustNewConstMetric(gateWaitedDesc, prometheus.CounterValue, st.Waited.Seconds(), st.Name)
		ch <- prometheus.MustNewConstMetric(gateHeldDesc, prometheus.CounterValue, st.Held.Seconds(), st.Name)
	}
}

// storeCommandsCollector reports the commands a's database clients sent (storeCommands).
type storeCommandsCollector struct{ a *app }

func (storeCommandsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storeCommandsDesc
	ch <- storeCommandSecondsDesc
}

func (c storeCommandsCollector) Collect(ch chan<- prometheus.Metric) {
	if c.a.storage != nil && c.a.storage.commands != nil {
		c.a.storage.commands.Collect(ch)
	}
}

// Decided counts field decisions (hub.Metrics).
func (m *hubMetrics) Decided(level policy.Level, n int) {
	if i := int(level - policy.Deny); i >= 0 && i < len(m.decisions) {
		m.decisions[i].Add(float64(n))
	}
}

// handler serves the metrics to operators, and from loopback without a token when loopback is set.
func (m *hubMetrics) handler(verifier auth.TokenVerifier, loopback bool, logger *slog.Logger) http.Handler {
	serve := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)})
	operators := auth.Middleware(verifier, onlyKind(auth.KindOperator, serve))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if loopback && r.Header.Get("Authorization") == "" && fromLoopback(r) {
			serve.ServeHTTP(w, r)
			return
		}
		operators.ServeHTTP(w, r)
	})
}

// fromLoopback reports whether r came from a loopback address.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkpointAge is how long ago the published checkpoint last changed.
func (m *hubMetrics) checkpointAge() time.Duration {
	return time.Since(time.Unix(0, m.changed.Load()))
}

// watchCheckpoint notes when the published checkpoint changes, until ctx ends.
func (m *hubMetrics) watchCheckpoint(ctx context.Context, lg *ledger.Log) {
	for {
		size := lg.Latest().Size
		if m.published.Swap(size) != size {
			m.changed.Store(time.Now().UnixNano())
		}
		if _, err := lg.WaitCheckpoint(ctx, size+1); err != nil {
			return // ctx ended
		}
	}
}

// checkpointStale reports why the published checkpoint is stale ("" if it is not): entries this
// hub appended wait to be published, and it has not changed for longer than staleAfter.
func (m *hubMetrics) checkpointStale(lg *ledger.Log) string {
	waiting := m.appended.Load() - min(m.appended.Load(), lg.Latest().Size)
	age := m.checkpointAge()
	if waiting == 0 || age <= m.staleAfter {
		return ""
	}
	return "published checkpoint stale: unchanged for " + age.Round(time.Second).String() + " with " +
		strconv.FormatUint(waiting, 10) + " appended entries not yet published (integration or witnesses stalled)"
}

// sawAppended notes that this hub appended the entries before index n.
func (m *hubMetrics) sawAppended(n uint64) {
	for {
		old := m.appended.Load()
		if old >= n || m.appended.CompareAndSwap(old, n) {
			return
		}
	}
}

// timedLedger is the ledger as the use cases append to it, with the time each append takes.
type timedLedger struct {
	*ledger.Log
	m *hubMetrics
}

func (l timedLedger) Append(ctx context.Context, e ledger.Entry) (ledger.Receipt, error) {
	start := time.Now()
	r, err := l.Log.Append(ctx, e)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	} else {
		l.m.sawAppended(r.Index + 1)
	}
	l.m.appends.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	return r, err
}

// AppendAll appends es together (ledger.AppendAll), timed as one append: the hub's use cases
// find it on the ledger they are given and use it for entries with nothing released between them.
func (l timedLedger) AppendAll(ctx context.Context, es []ledger.Entry) ([]ledger.Receipt, error) {
	start := time.Now()
	rs, err := ledger.AppendAll(ctx, l.Log, es)
	if errors.Is(err, ledger.ErrNotGrouped) {
		return nil, err // nothing appended: the caller appends one by one, each timed
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	} else if len(rs) > 0 {
		l.m.sawAppended(rs[len(rs)-1].Index + 1)
	}
	l.m.appends.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	return rs, err
}

// graphql counts the GraphQL requests next serves, by operation and outcome, with their latency.
// Websocket and event-stream subscriptions, which last as long as the client wants, are not
// counted. The operation is named from the body as next read it (a copy is kept as it reads): a
// request refused before its body was read (no token) is "other".
func (m *hubMetrics) graphql(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		var body *keptBody
		if r.Method == http.MethodPost && r.Body != nil {
			body = &keptBody{ReadCloser: r.Body}
			if n := r.ContentLength; n > 0 && n <= maxRequestBytes {
				body.kept = make([]byte, 0, n)
			}
			r.Body = body
		}
		ow := &observedWriter{ResponseWriter: w}
		next.ServeHTTP(ow, r)
		m.requests.WithLabelValues(m.operation(r, body), ow.outcome()).Observe(time.Since(start).Seconds())
	})
}

// keptBody keeps a copy of what is read of a request body, up to maxRequestBytes.
type keptBody struct {
	io.ReadCloser
	kept []byte
	over bool
}

func (b *keptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if !b.over {
		if len(b.kept)+n > maxRequestBytes {
			b.over, b.kept = true, nil
		} else {
			b.kept = append(b.kept, p[:n]...)
		}
	}
	return n, err
}

// operation names the request's operation by its root fields: from the URL of a GET, from what
// was read of the body of a POST.
func (m *hubMetrics) operation(r *http.Request, body *keptBody) string {
	var req struct {
		Query         string `json:"query"`
		OperationName string `json:"operationName"`
	}
	switch {
	case r.Method == http.MethodGet:
		q := r.URL.Query()
		req.Query, req.OperationName = q.Get("query"), q.Get("operationName")
	case body != nil && !body.over && len(body.kept) > 0:
		if json.Unmarshal(body.kept, &req) != nil {
			return "other"
		}
	default:
		return "other"
	}
	return m.opNames.get(req.Query+"\x00"+req.OperationName, func() string { return m.opName(req.Query, req.OperationName) })
}

// maxOpFields is how many distinct root fields an operation's name joins; more are "other".
const maxOpFields = 2

// opName is the sorted distinct root fields of the operation (joined by "+"), "introspection" for
// an introspection query, or "other": for a query that does not parse, an unknown field, a fragment
// at the root, or more than maxOpFields fields.
func (m *hubMetrics) opName(query, name string) string {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return "other"
	}
	var op *ast.OperationDefinition
	for _, o := range doc.Operations {
		if o.Name == name || (name == "" && len(doc.Operations) == 1) {
			op = o
		}
	}
	if op == nil {
		return "other"
	}
	var names []string
	introspection := false
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		switch {
		case !ok:
			return "other"
		case f.Name == "__typename":
		case f.Name == "__schema" || f.Name == "__type":
			introspection = true
		case !m.rootFields[op.Operation][f.Name]:
			return "other"
		case !slices.Contains(names, f.Name):
			names = append(names, f.Name)
		}
	}
	switch {
	case introspection && len(names) == 0:
		return "introspection"
	case len(names) == 0 || len(names) > maxOpFields || introspection:
		return "other"
	}
	slices.Sort(names)
	return strings.Join(names, "+")
}

// schemaRootFields lists the fields of the schema's query, mutation and subscription types.
func schemaRootFields() map[ast.Operation]map[string]bool {
	s := graph.NewExecutableSchema(graph.Config{}).Schema()
	out := map[ast.Operation]map[string]bool{}
	for op, def := range map[ast.Operation]*ast.Definition{ast.Query: s.Query, ast.Mutation: s.Mutation, ast.Subscription: s.Subscription} {
		out[op] = map[string]bool{}
		if def == nil {
			continue
		}
		for _, f := range def.Fields {
			out[op][f.Name] = true
		}
	}
	return out
}

// opCache remembers the operation names of recent query texts (a client sends the same few).
type opCache struct {
	mu    sync.RWMutex
	names map[string]string
}

// opCacheSize bounds the cache; when full it starts again.
const opCacheSize = 1024

func (c *opCache) get(key string, compute func() string) string {
	c.mu.RLock()
	name, ok := c.names[key]
	c.mu.RUnlock()
	if ok {
		return name
	}
	name = compute()
	c.mu.Lock()
	if c.names == nil || len(c.names) >= opCacheSize {
		c.names = make(map[string]string)
	}
	c.names[key] = name
	c.mu.Unlock()
	return name
}

// observedWriter notes the status and the first error code of a GraphQL response.
type observedWriter struct {
	http.ResponseWriter
	status  int
	code    string
	written bool
}

func (w *observedWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *observedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.written {
		w.written = true
		w.code = errorCode(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *observedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *observedWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// outcome is "ok", the first error's code, or http_<status> for a failure without one.
func (w *observedWriter) outcome() string {
	switch {
	case w.code != "":
		return w.code
	case w.status >= 400 && w.status < 600:
		return "http_" + strconv.Itoa(w.status)
	}
	return "ok"
}

// errorCode returns the extensions.code of the first error of a GraphQL response that starts with
// its errors (as gqlgen writes them), "error" for an error without a well-formed code, and "" for a
// response without errors.
func errorCode(b []byte) string {
	b = bytes.TrimLeft(b, " \t\r\n")
	if !bytes.HasPrefix(b, []byte(`{"errors":[`)) {
		return ""
	}
	// Inside strings a quote is escaped, so `"code":"` is a key, the first error's (codes come
	// before the data, which follows the errors).
	_, rest, ok := bytes.Cut(b, []byte(`"code":"`))
	if !ok {
		return "error"
	}
	code, _, ok := bytes.Cut(rest, []byte(`"`))
	if !ok || len(code) == 0 || len(code) > 40 {
		return "error"
	}
	for _, c := range code {
		if (c < 'A' || c > 'Z') && c != '_' {
			return "error"
		}
	}
	return string(code)
}

// requestIDHeader carries a request's id, in and out.
const requestIDHeader = "X-Request-Id"

// withRequestID gives every request a fresh id of 16 random hex digits, returned in the response
// header and put in the request's context, whence the use cases write it on their ledger entries
// and the logger on its lines. A caller's own X-Request-Id never reaches the ledger, which is public
// and permanent, and a caller could put anything in it (a citizen's id, say); a well-formed one is
// kept in the request's log lines only (client_request_id), for correlation.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID()
		ctx := usecase.WithRequestID(r.Context(), id)
		if theirs := r.Header.Get(requestIDHeader); validRequestID(theirs) {
			ctx = context.WithValue(ctx, clientRequestIDKey{}, theirs)
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// clientRequestIDKey is the context key of the caller's own X-Request-Id (logs only).
type clientRequestIDKey struct{}

// validRequestID reports whether id is 1 to 64 characters of [A-Za-z0-9._-] (a ledger token).
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// requestIDLogs adds the request id of the context to every log line written with one.
type requestIDLogs struct{ slog.Handler }

func (h requestIDLogs) Handle(ctx context.Context, r slog.Record) error {
	if id := usecase.RequestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
		if theirs, ok := ctx.Value(clientRequestIDKey{}).(string); ok {
			r.AddAttrs(slog.String("client_request_id", theirs))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDLogs) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDLogs{h.Handler.WithAttrs(as)}
}

func (h requestIDLogs) WithGroup(name string) slog.Handler {
	return requestIDLogs{h.Handler.WithGroup(name)}
}

// readyz answers 200 "ready", or 503 with one line per reason the hub is not ready.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var reasons []string
	if err := a.storage.client.Ping(ctx, nil); err != nil {
		reasons = append(reasons, "database unreachable (records)")
	}
	if err := a.storage.ledgerClient.Ping(ctx, nil); err != nil {
		reasons = append(reasons, "database unreachable (ledger)")
	}
	if a.log.Failed() != nil {
		reasons = append(reasons, "ledger failed: the stored ledger does not verify, every request is refused (see the error log)")
	}
	if n := a.integrity.Alerts(); n > 0 {
		reasons = append(reasons, "record integrity alerts: "+strconv.FormatUint(n, 10)+
			" (records changed behind the hub's back were refused; see the error log)")
	}
	if s := a.metrics.checkpointStale(a.log); s != "" {
		reasons = append(reasons, s)
	}
	if err := a.mirrors.Behind(); err != nil {
		st := a.mirrors.Status()
		reasons = append(reasons, fmt.Sprintf("mirrors behind: fewer than %d of %d mirrors hold the entries from %d on, acknowledged %s ago; every request is refused until they do",
			st.Quorum, st.Mirrors, st.Mirrored, st.Oldest.Round(time.Second)))
	}
	w.Header().Set("Cache-Control", "no-store")
	if len(reasons) > 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready\n"+strings.Join(reasons, "\n")+"\n")
		return
	}
	io.WriteString(w, "ready\n")
}
