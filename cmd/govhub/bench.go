package main

// govhub bench: load on a running hub over HTTP, as departments and citizens make it.
//
// Every response is checked: HTTP 200, no GraphQL error, and, for a request that touches citizen
// data, a ledger receipt in extensions.ledger (a fast error is not a success). A sample of the
// receipts is verified: one in sampleEvery signatures against the ledger's key during the run, and
// after it up to maxProofChecks inclusion proofs against the published checkpoint. The ledger's
// growth over the run is reported beside the number of requests the hub logged.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/graph"
	"github.com/govhub/govhub/ledger"
)

// benchScenario is one kind of request in the load.
type benchScenario struct {
	name      string
	principal func(r *rand.Rand, citizens int) auth.Principal
	build     func(r *rand.Rand, citizens int) (query string, vars map[string]any)
	// logged: a successful answer carries a ledger receipt.
	logged bool
}

// Queries of the scenarios: what each principal's policy fully allows (no field refused), so that
// any error in a response is a failure.
const (
	benchReadQuery = `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { id
  identity { name hukouCity } marriage { maritalStatus } property { city area }
  socialInsurance { contributionMonths { commitment { point version } } }
  tax { annualIncome { commitment { point version } } } } }`
	benchRevealQuery = `query($id: ID!) { citizen(id: $id, purpose: "identity-verification") { id
  identity { name gender hukouCity nationalId { value } birthDate { value } address { value } } } }`
	benchListQuery   = `{ citizens(purpose: "identity-verification", first: 20) { edges { node { id identity { name hukouCity } } } } }`
	benchUpdateQuery = `mutation($id: ID!, $income: Int64!, $paid: Int64!) {
  updateTax(citizenId: $id, purpose: "tax-administration", input: {annualIncome: $income, taxPaid: $paid}) { version } }`
	benchLogQuery = `{ myAccesses(first: 20) { edges { node { index kind } } } }`
	// benchCertificateQuery: the housing clerk asks for a home-purchase eligibility certificate; a
	// refusal under the rule is an answer too (status refused), not an error.
	benchCertificateQuery = `mutation($id: ID!) { requestCertificate(type: "home-purchase-eligibility", citizenId: $id) { id status certificate { id } } }`
	// benchProofQuery asks, after the run, for a sampled receipt's inclusion proof.
	benchProofQuery = `query($i: Int64!, $n: Int64!) { inclusionProof(index: $i, treeSize: $n) { hashes } }`
)

func randomCitizen(r *rand.Rand, n int) string { return demo.CitizenID(1 + r.IntN(n)) }

// benchOfficials is how many officials of each department the load speaks for: a hub limits each
// principal's rate (--rate-limit), as it would each real official's.
const benchOfficials = 64

// official returns one of benchOfficials officials of p's department and role, at random.
func official(p auth.Principal) func(*rand.Rand, int) auth.Principal {
	return func(r *rand.Rand, _ int) auth.Principal {
		q := p
		q.Subject = fmt.Sprintf("%s-%d", p.Subject, r.IntN(benchOfficials))
		return q
	}
}

var benchScenarios = []benchScenario{
	{name: "read", logged: true,
		principal: official(auth.Principal{Kind: auth.KindDepartment, Department: "housing", Role: "clerk", Subject: "bench-housing"}),
		build: func(r *rand.Rand, n int) (string, map[string]any) {
			return benchReadQuery, map[string]any{"id": randomCitizen(r, n)}
		}},
	{name: "reveal", logged: true,
		principal: official(auth.Principal{Kind: auth.KindDepartment, Department: "public-security", Role: "clerk", Subject: "bench-police"}),
		build: func(r *rand.Rand, n int) (string, map[string]any) {
			return benchRevealQuery, map[string]any{"id": randomCitizen(r, n)}
		}},
	{name: "list", logged: true,
		principal: official(auth.Principal{Kind: auth.KindDepartment, Department: "public-security", Role: "clerk", Subject: "bench-police"}),
		build:     func(*rand.Rand, int) (string, map[string]any) { return benchListQuery, nil }},
	{name: "update", logged: true,
		principal: official(auth.Principal{Kind: auth.KindDepartment, Department: "tax", Role: "clerk", Subject: "bench-tax"}),
		build: func(r *rand.Rand, n int) (string, map[string]any) {
			income := 50_000 + r.Int64N(500_000)
			return benchUpdateQuery, map[string]any{"id": randomCitizen(r, n), "income": income, "paid": income / 10}
		}},
	{name: "citizen-log", logged: false,
		principal: func(r *rand.Rand, n int) auth.Principal {
			return auth.Principal{Kind: auth.KindCitizen, Subject: randomCitizen(r, n)}
		},
		build: func(*rand.Rand, int) (string, map[string]any) { return benchLogQuery, nil }},
	// certificate: issuance end to end (steps, gathering under policy, the rule, proofs, signing,
	// the issue entry); not in the default mix.
	{name: "certificate", logged: false,
		principal: official(auth.Principal{Kind: auth.KindDepartment, Department: "housing", Role: "clerk", Subject: "bench-housing"}),
		build: func(r *rand.Rand, n int) (string, map[string]any) {
			return benchCertificateQuery, map[string]any{"id": randomCitizen(r, n)}
		}},
}

// benchMix is the default mix: weights by scenario name.
var benchMix = map[string]int{"read": 60, "reveal": 15, "list": 5, "update": 10, "citizen-log": 10}

const (
	sampleEvery    = 100 // one receipt signature in this many is verified during the run
	maxProofChecks = 20  // inclusion proofs checked after the run
)

const benchUsage = `usage: govhub bench [--data-dir D] [--hub URL] [--scenario mix|read|reveal|list|update|citizen-log|certificate]
                    [--duration 30s] [--concurrency 16] [--rate R] [--citizens N] [--json]

Drives the running hub over HTTP: closed loop with --concurrency clients, or open loop at --rate
requests a second (at most --concurrency in flight; a request that cannot start on time is counted
late). No request starts after --duration; those running then are waited for and counted, since
the hub logs them whether or not their answers are read. The default mix: point reads by the
housing clerk (60 %), sealed reveals by the public-security clerk (15 %), list pages (5 %), tax
updates (10 %), citizens reading their access log (10 %), over random citizens C000001 … C<N>.
Every response is checked; tokens are minted with the data directory's issuer key, for 64
officials of each department (each is rate-limited on its own as the hub's --rate-limit says).
Prints throughput, latency percentiles, errors by code, the ledger's growth and lag, on the
embedded store how busy its one writer was (the write gate, from /metrics) and the database
commands a request sent, and with --json a JSON summary. Against a hub that runs only trusted
documents, add what --documents prints to its --trusted-documents file.

flags:
`

// benchResult is the JSON summary.
type benchResult struct {
	Scenario    string                     `json:"scenario"`
	Mode        string                     `json:"mode"`
	Concurrency int                        `json:"concurrency"`
	Rate        float64                    `json:"rate,omitempty"`
	Duration    float64                    `json:"durationSeconds"`
	Requests    int                        `json:"requests"`
	OK          int                        `json:"ok"`
	Errors      map[string]int             `json:"errors"`
	Late        int                        `json:"late,omitempty"`
	Throughput  float64                    `json:"throughput"`
	Latency     benchLatency               `json:"latency"`
	ByScenario  map[string]benchScenarioSt `json:"byScenario"`
	Logged      int                        `json:"logged"`
	Growth      uint64                     `json:"ledgerGrowth"`
	LagSeconds  float64                    `json:"ledgerLagSeconds"`
	Receipts    int                        `json:"receiptSignaturesChecked"`
	Proofs      int                        `json:"inclusionProofsChecked"`
	// NoopLedger: the hub is the benchmark-only build whose reads are not logged.
	NoopLedger bool `json:"noopLedger,omitempty"`
	// Gate: the embedded store's write gate over the run (nil: the hub has none).
	Gate *benchGate `json:"writeGate,omitempty"`
	// Commands: the database commands the hub sent over the run, per request.
	Commands *benchCommands `json:"storeCommands,omitempty"`
}

type benchLatency struct {
	P50, P95, P99, Max float64 // milliseconds
}

type benchScenarioSt struct {
	Requests int          `json:"requests"`
	OK       int          `json:"ok"`
	Latency  benchLatency `json:"latency"`
}

func latencyOf(d []time.Duration) benchLatency {
	if len(d) == 0 {
		return benchLatency{}
	}
	slices.Sort(d)
	at := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000 }
	return benchLatency{P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: float64(d[len(d)-1].Microseconds()) / 1000}
}

// benchOutcome is one request's result.
type benchOutcome struct {
	scenario int
	latency  time.Duration
	code     string // "" for success
	receipt  *ledger.Receipt
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	dataDir := fs.String("data-dir", defaultDataDir, "the hub's data directory (its issuer and ledger keys; its address)")
	hubURL := fs.String("hub", "", "the hub's URL (default: the address the hub left in the data directory)")
	scenario := fs.String("scenario", "mix", "mix, or one of read, reveal, list, update, citizen-log, certificate")
	duration := fs.Duration("duration", 30*time.Second, "how long to run")
	concurrency := fs.Int("concurrency", 16, "clients (closed loop), or most requests in flight (open loop)")
	rate := fs.Float64("rate", 0, "requests a second, open loop (0: closed loop)")
	citizens := fs.Int("citizens", 1000, "the demo citizens to pick from: C000001 … C<N>")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	documents := fs.Bool("documents", false, "print the GraphQL documents the scenarios send, as a --trusted-documents file, and exit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *documents {
		set := map[string]string{graph.DocumentHash(benchProofQuery): benchProofQuery}
		for _, s := range benchScenarios {
			q, _ := s.build(rand.New(rand.NewPCG(1, 2)), 1)
			set[graph.DocumentHash(q)] = q
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(set)
	}
	if *concurrency < 1 || *citizens < 1 || *duration <= 0 || *rate < 0 {
		return &exitError{2, errors.New("--concurrency, --citizens and --duration must be positive, --rate not negative")}
	}
	weights := map[string]int{}
	if *scenario == "mix" {
		weights = benchMix
	} else {
		weights[*scenario] = 1
	}
	var pick []int // scenario indexes, repeated by weight
	for i, s := range benchScenarios {
		for range weights[s.name] {
			pick = append(pick, i)
		}
	}
	if len(pick) == 0 {
		return &exitError{2, fmt.Errorf("unknown scenario %q (want mix, read, reveal, list, update, citizen-log or certificate)", *scenario)}
	}
	logKey, err := logKey(*dataDir)
	if err != nil {
		return err
	}
	af := adminFlags{hub: *hubURL}
	audience := ""
	if af.hub == "" {
		a, ok, err := runningHub(*dataDir)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no hub is running on %s: start it (govhub demo --data-dir %s), or give --hub URL", *dataDir, *dataDir)
		}
		af.hub, audience = a.URL, a.Audience
	}
	b := &bencher{url: strings.TrimRight(af.hub, "/"), verifier: logKey.history, first: logKey.Verifier, tokens: map[auth.Principal]string{},
		dataDir: *dataDir, audience: audience,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency * 2}}}
	op, err := b.token(auth.Principal{Kind: auth.KindOperator, Subject: cliSubject()})
	if err != nil {
		return err
	}
	before, err := b.status(ctx, op)
	if err != nil {
		return err
	}
	// The write gate is reported beside the load, not part of it: a hub whose metrics cannot be
	// read is still benchmarked.
	storeBefore, err := b.storeMetrics(ctx, op)
	if err != nil {
		fmt.Fprintf(stderr, "govhub bench: the store's write gate and commands will not be reported: %v\n", err)
	}
	gateFrom := time.Now()

	// Run.
	outcomes := make(chan benchOutcome, 4096)
	var (
		done, failed, late atomic.Int64
		wg                 sync.WaitGroup
	)
	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	start := time.Now()
	// A request started before the end of the run is waited for, not cut off: the hub logs it
	// whether or not its answer is read, so cutting it off would leave an entry on the ledger that
	// no receipt accounts for. Only an interrupt (ctx) cuts requests off.
	one := func(r *rand.Rand, sent time.Time) {
		i := pick[r.IntN(len(pick))]
		o := b.request(ctx, r, i, *citizens)
		if ctx.Err() != nil && o.code == "TRANSPORT" {
			return // interrupted, not an error of the hub
		}
		o.latency = time.Since(sent)
		done.Add(1)
		if o.code != "" {
			failed.Add(1)
		}
		outcomes <- o
	}
	mode := "closed"
	if *rate == 0 {
		for w := range *concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				for runCtx.Err() == nil {
					one(r, time.Now())
				}
			}()
		}
	} else {
		mode = "open"
		slots := make(chan struct{}, *concurrency)
		interval := time.Duration(float64(time.Second) / *rate)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
			next := time.Now()
			for n := uint64(0); runCtx.Err() == nil; n++ {
				time.Sleep(time.Until(next))
				sent := next
				next = next.Add(interval)
				select {
				case slots <- struct{}{}:
				default:
					late.Add(1) // every slot busy: the request would start late
					continue
				}
				wg.Add(1)
				rr := rand.New(rand.NewPCG(n, r.Uint64()))
				go func() {
					defer wg.Done()
					defer func() { <-slots }()
					one(rr, sent)
				}()
			}
		}()
	}
	go func() { wg.Wait(); close(outcomes) }()

	// Collect, with a progress line on a terminal.
	lat := make([][]time.Duration, len(benchScenarios))
	ok := make([]int, len(benchScenarios))
	errs := map[string]int{}
	var receipts []ledger.Receipt
	checked, logged := 0, 0
	var lastIndex uint64 // the highest index acknowledged
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	showProgress := isTerminal(stderr)
collect:
	for {
		select {
		case o, more := <-outcomes:
			if !more {
				break collect
			}
			lat[o.scenario] = append(lat[o.scenario], o.latency)
			if o.receipt != nil {
				logged++
				lastIndex = max(lastIndex, o.receipt.Index)
				if logged%sampleEvery == 1 {
					err := b.verifier.CheckReceipt(*o.receipt)
					if err != nil && b.refreshKeys(ctx) {
						err = b.verifier.CheckReceipt(*o.receipt) // the log key was rotated meanwhile
					}
					if err != nil {
						o.code = "BAD_RECEIPT"
					} else {
						checked++
					}
					if len(receipts) < maxProofChecks {
						receipts = append(receipts, *o.receipt)
					}
				}
			}
			if o.code == "" {
				ok[o.scenario]++
			} else {
				errs[o.code]++
			}
		case <-tick.C:
			if showProgress {
				el := time.Since(start).Seconds()
				fmt.Fprintf(stderr, "\r%4.0fs  %d requests  %.0f/s  %d errors   ", el, done.Load(), float64(done.Load())/el, failed.Load())
			}
		}
	}
	elapsed := time.Since(start)
	if showProgress {
		fmt.Fprint(stderr, "\r\033[K")
	}
	var storeAfter storeReading
	if storeBefore.gate != nil || storeBefore.commands != nil {
		if storeAfter, err = b.storeMetrics(ctx, op); err != nil {
			fmt.Fprintf(stderr, "govhub bench: the store's write gate and commands are not reported: %v\n", err)
		}
	}
	gateSpan := time.Since(gateFrom)

	// The ledger after the run: growth, and how long until the published checkpoint covers every
	// acknowledged entry.
	res := benchResult{Scenario: *scenario, Mode: mode, Concurrency: *concurrency, Rate: *rate, Duration: elapsed.Seconds(),
		Errors: errs, Late: int(late.Load()), ByScenario: map[string]benchScenarioSt{}, Logged: logged, Receipts: checked,
		Gate: gateOver(storeBefore.gate, storeAfter.gate, gateSpan)}
	end := time.Now()
	after, err := b.status(ctx, op)
	for err == nil && logged > 0 && !after.NoopLedger && after.Published.Size <= lastIndex && time.Since(end) < 30*time.Second {
		time.Sleep(50 * time.Millisecond)
		after, err = b.status(ctx, op)
	}
	if err != nil {
		return err
	}
	res.LagSeconds = time.Since(end).Seconds()
	res.Growth = after.Integrated.Size - before.Integrated.Size
	res.NoopLedger = after.NoopLedger
	if res.NoopLedger {
		receipts = nil // reads are not on the ledger: nothing to prove
	}
	if res.Proofs, err = b.checkProofs(ctx, op, receipts); err != nil {
		errs["BAD_PROOF"]++
		fmt.Fprintf(stderr, "govhub bench: %v\n", err)
	}
	var all []time.Duration
	for i, s := range benchScenarios {
		if len(lat[i]) == 0 {
			continue
		}
		all = append(all, lat[i]...)
		res.ByScenario[s.name] = benchScenarioSt{Requests: len(lat[i]), OK: ok[i], Latency: latencyOf(lat[i])}
		res.OK += ok[i]
	}
	res.Requests = len(all)
	res.Commands = commandsOver(storeBefore.commands, storeAfter.commands, res.Requests)
	res.Latency = latencyOf(all)
	res.Throughput = float64(res.OK) / elapsed.Seconds()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printBench(stdout, res)
	if len(errs) > 0 {
		return &exitError{1, fmt.Errorf("%d of %d requests failed", res.Requests-res.OK, res.Requests)}
	}
	return nil
}

func printBench(w io.Writer, r benchResult) {
	mode := fmt.Sprintf("closed loop, %d clients", r.Concurrency)
	if r.Mode == "open" {
		mode = fmt.Sprintf("open loop at %.0f/s, at most %d in flight", r.Rate, r.Concurrency)
	}
	fmt.Fprintf(w, "scenario %s, %s, %.1fs\n", r.Scenario, mode, r.Duration)
	if r.NoopLedger {
		fmt.Fprintln(w, "NO-OP LEDGER: the hub is the benchmark-only build; its reads were not logged")
	}
	fmt.Fprintf(w, "%-12s %9s %9s %9s %9s %9s %9s\n", "", "requests", "ok", "p50 ms", "p95 ms", "p99 ms", "max ms")
	names := make([]string, 0, len(r.ByScenario))
	for n := range r.ByScenario {
		names = append(names, n)
	}
	sort.Strings(names)
	row := func(name string, n, ok int, l benchLatency) {
		fmt.Fprintf(w, "%-12s %9d %9d %9.1f %9.1f %9.1f %9.1f\n", name, n, ok, l.P50, l.P95, l.P99, l.Max)
	}
	for _, n := range names {
		s := r.ByScenario[n]
		row(n, s.Requests, s.OK, s.Latency)
	}
	row("all", r.Requests, r.OK, r.Latency)
	fmt.Fprintf(w, "throughput   %.0f successful requests/s\n", r.Throughput)
	if len(r.Errors) > 0 {
		codes := make([]string, 0, len(r.Errors))
		for c := range r.Errors {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, c := range codes {
			fmt.Fprintf(w, "errors       %s: %d\n", c, r.Errors[c])
		}
	}
	if r.Late > 0 {
		fmt.Fprintf(w, "late         %d requests could not start on time (every slot busy)\n", r.Late)
	}
	fmt.Fprintf(w, "ledger       grew by %d entries; %d requests were logged by receipt; published %.2fs after the run\n", r.Growth, r.Logged, r.LagSeconds)
	fmt.Fprintf(w, "receipts     %d signatures and %d inclusion proofs verified\n", r.Receipts, r.Proofs)
	printGate(w, r.Gate)
	printCommands(w, r.Commands)
}

// bencher sends the requests.
type bencher struct {
	url      string
	http     *http.Client
	verifier ledger.Keys   // the log key's history, as last read (refreshKeys)
	first    note.Verifier // the first log key, from which a history read from the hub is checked
	dataDir  string        // its issuer key mints the tokens
	audience string
	mu       sync.Mutex
	tokens   map[auth.Principal]string
}

// refreshKeys reads the log key's history from the hub (GET /log-keys), checked from the first
// key, and reports whether it has more keys than the one held (the key was rotated during the
// run). It is called from the collecting goroutine only.
func (b *bencher) refreshKeys(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/log-keys", nil)
	if err != nil {
		return false
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	doc, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return false
	}
	k, err := ledger.ParseKeys(doc, b.first, nil, 0)
	if err != nil || len(k.Eras()) <= len(b.verifier.Eras()) {
		return false
	}
	b.verifier = k
	return true
}

// token returns a token for p, minted once.
func (b *bencher) token(p auth.Principal) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.tokens[p]; ok {
		return t, nil
	}
	tok, err := mintToken(b.dataDir, p)(b.audience)
	if err != nil {
		return "", err
	}
	b.tokens[p] = tok
	return tok, nil
}

// request sends one request of scenario i and checks its answer.
func (b *bencher) request(ctx context.Context, r *rand.Rand, i, citizens int) benchOutcome {
	s := benchScenarios[i]
	o := benchOutcome{scenario: i}
	tok, err := b.token(s.principal(r, citizens))
	if err != nil {
		o.code = "TOKEN"
		return o
	}
	q, vars := s.build(r, citizens)
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url+"/graphql", bytes.NewReader(body))
	if err != nil {
		o.code = "TRANSPORT"
		return o
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		o.code = "TRANSPORT"
		return o
	}
	defer resp.Body.Close()
	var res struct {
		Data   json.RawMessage `json:"data"`
		Errors []graphQLError  `json:"errors"`
		Ext    struct {
			Ledger *struct {
				Index     uint64 `json:"index"`
				LeafHash  string `json:"leafHash"`
				Signature string `json:"signature"`
			} `json:"ledger"`
		} `json:"extensions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		o.code = fmt.Sprintf("HTTP_%d", resp.StatusCode)
		return o
	}
	if l := res.Ext.Ledger; l != nil {
		lh, err1 := base64.StdEncoding.DecodeString(l.LeafHash)
		sig, err2 := base64.StdEncoding.DecodeString(l.Signature)
		if err1 != nil || err2 != nil || len(lh) != tlog.HashSize {
			o.code = "BAD_RECEIPT"
			return o
		}
		o.receipt = &ledger.Receipt{Index: l.Index, LeafHash: tlog.Hash(lh), Signature: sig}
	}
	switch {
	case len(res.Errors) > 0:
		o.code = res.Errors[0].Extensions.Code
		if o.code == "" {
			o.code = "ERROR"
		}
	case resp.StatusCode != http.StatusOK:
		o.code = fmt.Sprintf("HTTP_%d", resp.StatusCode)
	case s.logged && o.receipt == nil:
		o.code = "NO_RECEIPT"
	}
	return o
}

// status asks the operator endpoint.
func (b *bencher) status(ctx context.Context, tok string) (hubStatus, error) {
	c := &hubClient{url: b.url, token: tok, http: b.http}
	var st hubStatus
	return st, c.do(ctx, http.MethodGet, statusPath, nil, &st)
}

// checkProofs checks the inclusion of each sampled receipt's entry in the published checkpoint.
func (b *bencher) checkProofs(ctx context.Context, tok string, receipts []ledger.Receipt) (int, error) {
	if len(receipts) == 0 {
		return 0, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/checkpoint", nil)
	if err != nil {
		return 0, err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, err
	}
	text, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	cp, err := b.verifier.ParseCheckpoint(text)
	if err != nil && b.refreshKeys(ctx) {
		cp, err = b.verifier.ParseCheckpoint(text)
	}
	if err != nil {
		return 0, fmt.Errorf("the published checkpoint: %w", err)
	}
	c := &hubClient{url: b.url, token: tok, http: b.http}
	n := 0
	for _, r := range receipts {
		if r.Index >= cp.Size {
			continue
		}
		var res struct {
			InclusionProof struct{ Hashes []string }
		}
		err := c.query(ctx, benchProofQuery, map[string]any{"i": r.Index, "n": cp.Size}, &res)
		if err != nil {
			return n, fmt.Errorf("inclusion proof of entry %d: %w", r.Index, err)
		}
		proof := make([]tlog.Hash, len(res.InclusionProof.Hashes))
		for i, h := range res.InclusionProof.Hashes {
			raw, err := base64.StdEncoding.DecodeString(h)
			if err != nil || len(raw) != tlog.HashSize {
				return n, fmt.Errorf("inclusion proof of entry %d: a malformed hash", r.Index)
			}
			proof[i] = tlog.Hash(raw)
		}
		if err := ledger.CheckInclusion(proof, cp, r.Index, r.LeafHash); err != nil {
			return n, fmt.Errorf("entry %d: %w", r.Index, err)
		}
		n++
	}
	return n, nil
}
