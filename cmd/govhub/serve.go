package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/graph"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/web"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, isDemo bool) error {
	name := "serve"
	if isDemo {
		name = "demo"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	var tf tokenFlags
	tf.register(fs)
	tf.registerOIDC(fs)
	addr := fs.String("addr", defaultAddr, "address to listen on")
	publicURL := fs.String("public-url", "", "the hub's public URL: certificates' verification links and the did:web issuer (default http://127.0.0.1:8080)")
	interval := fs.Duration("integration-interval", 0, "longest pause between two ledger integration rounds, each of which signs a checkpoint; a shorter round is followed by a pause twice its length, at least a quarter of this, which 768 entries waiting end (default 100ms)")
	var witnesses stringList
	fs.Var(&witnesses, "witness", "a witness to push checkpoints to, as URL=VERIFIERKEY (the key govhub keygen printed: type 0x04, or the older 0x01) (repeat)")
	quorum := fs.Int("witness-quorum", 0, "how many witnesses must cosign a checkpoint before it is published (default: a majority)")
	var mirrors stringList
	fs.Var(&mirrors, "mirror", "a department mirror (govhub mirror) asked to cosign each published checkpoint once it holds its entries, as URL=VERIFIERKEY (the key it printed) (repeat)")
	mirrorQuorum := fs.Int("mirror-quorum", 0, "how many mirrors must hold an entry (default: a majority)")
	mirrorLag := fs.Duration("mirror-max-lag", defaultMirrorMaxLag, "refuse new entries (every request fails closed) once an acknowledged entry has waited this long for the mirror quorum")
	// The demo's own flags; serve neither lists nor accepts them.
	citizens, seed, ttl := 1000, int64(1), 24*time.Hour
	if isDemo {
		fs.IntVar(&citizens, "citizens", citizens, "number of synthetic citizens to create on first start")
		fs.Int64Var(&seed, "seed", seed, "seed of the synthetic data")
		fs.DurationVar(&ttl, "token-ttl", ttl, "lifetime of the printed tokens")
	}
	graphiql := fs.Bool("graphiql", isDemo, "serve GraphiQL at /graphiql (its files are embedded in the binary; nothing comes from a CDN)")
	introspection := fs.Bool("introspection", true, "answer schema introspection queries (GraphiQL needs them, and the console probes the schema for optional features with one)")
	trusted := fs.String("trusted-documents", "", `a JSON file {"<sha256 hex of the text>": "<document text>", …}: only these GraphQL documents, and the portal's and console's own, may run (see --trusted-documents-for)`)
	trustedFor := fs.String("trusted-documents-for", "all", "the principals --trusted-documents restricts: all, or a comma-separated list of kinds (department, officer, citizen, auditor, operator); departments always")
	requestTimeout := fs.Duration("request-timeout", defaultRequestTimeout, "deadline of each request, passed to the store (websocket and event-stream subscriptions excepted)")
	recordCache := fs.Int("record-cache", 0, "how many citizens' checked records to keep in memory for 10 s, about 7 kB each (0: none). A read still reads the citizen's record head, so it never serves a record older than an acknowledged update, on any hub; but a record changed in the database behind the hub's back is refused and reported only when its citizen leaves the cache, up to 10 s later (it is never served)")
	pprofOn := fs.Bool("pprof", false, "serve the Go profiler at /debug/pprof/ (operator tokens only)")
	migrate := fs.Bool("migrate-record-integrity", false, "once, for a store written before record integrity: check every record against the ledger and give it its MAC and record head (no other instance may run)")
	limits := registerRateLimits(fs, isDemo)
	metricsLoopback := fs.Bool("metrics-loopback", false, "serve /metrics without a token to requests from loopback addresses (operator tokens are always accepted)")
	oversight := fs.String("oversight-key", "", "the oversight body's age X25519 recipient (age1…, govhub sealed keygen): sealed accesses' details are encrypted to it; without it, reads under a sealed purpose are refused")
	deadline := fs.Duration("question-deadline", hub.DefaultQuestionDeadline, "how long a department has to answer a citizen's question before it is shown as overdue")
	registerConfig(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := applyConfig(fs); err != nil {
		return err
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	if err := tf.apply(&cfg); err != nil {
		return err
	}
	if isDemo && ttl > tf.maxTTL {
		return &exitError{2, fmt.Errorf("--token-ttl %v is longer than --max-token-ttl %v", ttl, tf.maxTTL)}
	}
	if *requestTimeout <= 0 {
		return &exitError{2, fmt.Errorf("--request-timeout must be positive, not %v", *requestTimeout)}
	}
	cfg.GraphiQL, cfg.RequestTimeout, cfg.Pprof = *graphiql, *requestTimeout, *pprofOn
	if *recordCache < 0 {
		return &exitError{2, fmt.Errorf("--record-cache must be 0 or more, not %d", *recordCache)}
	}
	cfg.RecordCache = *recordCache
	cfg.RateLimits = *limits
	cfg.NoIntrospection = !*introspection
	if *trusted != "" {
		if cfg.TrustedDocuments, err = loadTrustedDocuments(*trusted, *trustedFor); err != nil {
			return &exitError{2, err}
		}
		cfg.Logger.InfoContext(ctx, "trusted documents only", slog.Int("documents", cfg.TrustedDocuments.Len()), slog.String("for", *trustedFor))
	}
	cfg.IntegrationInterval = *interval
	cfg.PublicURL = *publicURL
	for _, w := range witnesses {
		wc, err := parseWitness(w)
		if err != nil {
			return &exitError{2, err}
		}
		cfg.Witnesses = append(cfg.Witnesses, wc)
	}
	cfg.WitnessQuorum = *quorum
	for _, m := range mirrors {
		mc, err := parseWitness(m)
		if err != nil {
			return &exitError{2, fmt.Errorf("--mirror: %w", err)}
		}
		cfg.Mirrors = append(cfg.Mirrors, mc)
	}
	if *mirrorLag <= 0 {
		return &exitError{2, fmt.Errorf("--mirror-max-lag must be positive, not %v", *mirrorLag)}
	}
	cfg.MirrorQuorum, cfg.MirrorMaxLag = *mirrorQuorum, *mirrorLag
	if *deadline <= 0 {
		return &exitError{2, fmt.Errorf("--question-deadline must be positive, not %v", *deadline)}
	}
	cfg.QuestionDeadline = *deadline
	if *oversight != "" {
		if _, err := parseOversightKey(*oversight); err != nil {
			return &exitError{2, err}
		}
		cfg.OversightKey = *oversight
	}
	// Bind first: with the port taken, fail before opening the data directory, and before the
	// demo seeds its data. The listener is handed to the server, so no one takes the port between.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	defer ln.Close() // for the early returns; once served, closing again does nothing
	// The demo keeps an oversight identity in its data directory, so that sealed reads work
	// (after binding: a busy port creates no data directory).
	var oversightFile string
	if isDemo && cfg.OversightKey == "" {
		if cfg.OversightKey, oversightFile, err = demoOversightKey(cfg.DataDir); err != nil {
			return err
		}
	}
	cfg.MigrateRecordIntegrity = *migrate
	cfg.MetricsLoopback = *metricsLoopback
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		if err := a.close(sctx); err != nil {
			cfg.Logger.Error("shutdown", slog.String("error", err.Error()))
		}
	}()
	a.demo, a.demoOversight = isDemo, oversightFile
	if isDemo {
		if err := seedDemo(ctx, a, citizens, seed); err != nil {
			return err
		}
		if err := registerDemoSealedPurpose(ctx, a); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      max(2*time.Minute, *requestTimeout+30*time.Second), // past the request deadline: its error is written
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // a bearer token is at most auth.MaxTokenSize (8 KiB)
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	base := "http://" + ln.Addr().String()
	cfg.Logger.InfoContext(ctx, "listening", slog.String("url", base))
	if cfg.MongoURI == "" { // commands run beside the hub find it here (admin.go)
		unpublish, err := publishAddress(cfg.DataDir, base, cfg.TokenAudience)
		if err != nil {
			ln.Close()
			return err
		}
		defer unpublish()
	}
	if isDemo {
		// The listener is bound: a request sent on reading this waits for Serve.
		if err := printDemo(stdout, a, base, ttl); err != nil {
			return err
		}
	}
	return serveHTTP(ctx, srv, ln, cfg.Logger)
}

// loadTrustedDocuments reads a --trusted-documents file (graph.ParseTrustedDocuments), adds the
// pages' own documents (web.Operations) and restricts the kinds --trusted-documents-for names.
func loadTrustedDocuments(path, kinds string) (*graph.TrustedDocuments, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--trusted-documents: %w", err)
	}
	docs, err := graph.ParseTrustedDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("--trusted-documents %s: %w", path, err)
	}
	docs.Register(web.Operations()...)
	docs.Register(cliDocuments()...)
	if kinds != "all" {
		var ks []auth.Kind
		for _, k := range strings.Split(kinds, ",") {
			switch k := auth.Kind(strings.TrimSpace(k)); k {
			case auth.KindDepartment, auth.KindOfficer, auth.KindCitizen, auth.KindAuditor, auth.KindOperator:
				ks = append(ks, k)
			default:
				return nil, fmt.Errorf("--trusted-documents-for: %q is not all or a kind of principal (department, officer, citizen, auditor, operator)", k)
			}
		}
		docs.Restrict(ks...)
	}
	return docs, nil
}

// tokenFlags are the settings of the hub's tokens, shared by serve, demo and token.
type tokenFlags struct {
	audience    string
	maxTTL      time.Duration
	oidcIssuers stringList // serve and demo only
}

func (t *tokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.audience, "token-audience", auth.DefaultAudience, `the "aud" of the hub's tokens: tokens are issued for it, and a token for another audience is refused`)
	fs.DurationVar(&t.maxTTL, "max-token-ttl", auth.DefaultMaxLifetime, "the longest token lifetime (exp - iat) issued or accepted, for every kind of token")
}

// registerOIDC adds --oidc-issuer (serve and demo only) to fs.
func (t *tokenFlags) registerOIDC(fs *flag.FlagSet) {
	fs.Var(&t.oidcIssuers, "oidc-issuer", "also accept the tokens of this OpenID Connect issuer, as URL or URL=MAPPING (claims to principal, e.g. kind=govhub_kind;subject=sub; see the README) (repeat)")
}

// apply checks the settings and puts them in cfg.
func (t *tokenFlags) apply(cfg *config) error {
	if strings.TrimSpace(t.audience) == "" {
		return &exitError{2, errors.New("--token-audience must not be empty")}
	}
	if t.maxTTL < time.Second {
		return &exitError{2, fmt.Errorf("--max-token-ttl must be at least 1s, not %v", t.maxTTL)}
	}
	cfg.TokenAudience, cfg.MaxTokenTTL = t.audience, t.maxTTL
	for _, s := range t.oidcIssuers {
		is, err := auth.ParseOIDCIssuer(s)
		if err != nil {
			return &exitError{2, fmt.Errorf("--oidc-issuer: %w", err)}
		}
		cfg.OIDCIssuers = append(cfg.OIDCIssuers, is)
	}
	return nil
}

// issuerOptions and verifierOptions configure the hub's token issuer and verifier from cfg.
func (c config) issuerOptions() []auth.IssuerOption {
	var opts []auth.IssuerOption
	if c.TokenAudience != "" {
		opts = append(opts, auth.WithIssuerAudience(c.TokenAudience))
	}
	if c.MaxTokenTTL != 0 {
		opts = append(opts, auth.WithIssuerMaxLifetime(c.MaxTokenTTL))
	}
	return opts
}

func (c config) verifierOptions() []auth.VerifierOption {
	var opts []auth.VerifierOption
	if c.TokenAudience != "" {
		opts = append(opts, auth.WithAudience(c.TokenAudience))
	}
	if c.MaxTokenTTL != 0 {
		opts = append(opts, auth.WithMaxLifetime(c.MaxTokenTTL))
	}
	return opts
}

// shutdownGrace is how long requests in flight get to finish once the server is told to stop.
const shutdownGrace = 30 * time.Second

// serveHTTP serves srv on ln until ctx is done, then shuts it down gracefully.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping the HTTP server: %w", err)
	}
	return nil
}

// seedDemo creates the synthetic citizens on first start (C000001 … Cn), through the ledger.
func seedDemo(ctx context.Context, a *app, n int, seed int64) error {
	if n < 1 {
		return nil
	}
	exists, err := a.storage.store.CitizenExists(ctx, demo.CitizenID(1))
	if err != nil {
		return err
	}
	if exists {
		a.cfg.Logger.InfoContext(ctx, "demo data already present; not seeding again")
		return nil
	}
	start := time.Now()
	if err := importDemo(ctx, a.updater, demo.NewGenerator(seed), n, func(done int) {
		a.cfg.Logger.InfoContext(ctx, "seeding demo data", slog.Int("citizens", done), slog.Int("of", n))
	}); err != nil {
		return fmt.Errorf("seeding demo data: %w", err)
	}
	a.cfg.Logger.InfoContext(ctx, "demo data ready", slog.Int("citizens", n), slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	return nil
}

// importDemo imports citizens 1…n of g in chunks, reporting progress after each.
func importDemo(ctx context.Context, h *hub.Updater, g *demo.Generator, n int, progress func(done int)) error {
	const chunk = 2000
	for from := 1; from <= n; from += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		to := min(from+chunk-1, n)
		batch := make([]hub.NewCitizen, 0, to-from+1)
		for i := from; i <= to; i++ {
			c := g.Citizen(i)
			batch = append(batch, hub.NewCitizen{ID: c.ID, Records: c.Records})
		}
		if err := h.Import(ctx, batch); err != nil {
			return err
		}
		if progress != nil && (to == n || (to/chunk)%10 == 0) {
			progress(to)
		}
	}
	return nil
}

// demoPrincipals are the principals the demo prints tokens for, with the shell variable to hold each.
var demoPrincipals = []struct {
	env string
	p   auth.Principal
}{
	{"HOUSING_TOKEN", auth.Principal{Kind: auth.KindDepartment, Department: "housing", Role: "clerk", Subject: "housing-clerk-1"}},
	{"TAX_TOKEN", auth.Principal{Kind: auth.KindDepartment, Department: "tax", Role: "clerk", Subject: "tax-clerk-1"}},
	{"POLICE_TOKEN", auth.Principal{Kind: auth.KindDepartment, Department: "public-security", Role: "clerk", Subject: "police-clerk-1"}},
	{"DOCTOR_TOKEN", auth.Principal{Kind: auth.KindDepartment, Department: "health", Role: "doctor", Subject: "doctor-1"}},
	{"OFFICER_TOKEN", auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-1"}},
	{"CITIZEN_TOKEN", auth.Principal{Kind: auth.KindCitizen, Subject: exampleCitizen}},
	{"AUDITOR_TOKEN", auth.Principal{Kind: auth.KindAuditor, Subject: "auditor-1"}},
	{"INVESTIGATOR_TOKEN", demoInvestigator}, // sealed reads (demo_sealed.go)
}

// exampleCitizen is the citizen the demo's printed example and citizen token are about: one of the
// first demo.Showcase, who have a record in every dataset.
var exampleCitizen = demo.CitizenID(1)

// exampleQuery is the housing clerk's eligibility check the demo prints.
const exampleQuery = `query Eligibility($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { id identity { name hukouCity nationalId { value } } marriage { maritalStatus } property { city area } socialInsurance { contributionMonths { value commitment { point version } } } tax { annualIncome { value commitment { point version } } } health { bloodType { value } } } }`

// demoTokensFile is the file of the data directory that holds the demo's tokens when its output is
// not a terminal.
const demoTokensFile = "demo-tokens.env"

// writePrivate writes b to path, readable and writable by this user only, replacing any file there.
func writePrivate(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// printDemo prints the demo's URLs, tokens and an example to w: the tokens themselves only when w is
// a terminal, otherwise to demoTokensFile.
func printDemo(w io.Writer, a *app, base string, ttl time.Duration) error {
	fmt.Fprintf(w, "\nGovHub demo is running (data in %s).\n\n", a.cfg.DataDir)
	fmt.Fprintf(w, "  Portal      %s/portal     (citizens: choose a demo citizen, or paste $CITIZEN_TOKEN)\n", base)
	fmt.Fprintf(w, "  Console     %s/console    (officers: paste $OFFICER_TOKEN)\n", base)
	fmt.Fprintf(w, "  GraphQL     %s/graphql\n", base)
	if a.cfg.GraphiQL {
		fmt.Fprintf(w, "  GraphiQL    %s/graphiql   (add the header {\"Authorization\": \"Bearer <token>\"})\n", base)
	}
	fmt.Fprintf(w, "  Checkpoint  %s/checkpoint\n\n", base)
	var tokens strings.Builder
	for _, d := range demoPrincipals {
		tok, err := a.issuer.Issue(d.p, ttl)
		if err != nil {
			return err
		}
		who := strings.Trim(d.p.Department+"/"+d.p.Role, "/")
		if d.p.Kind == auth.KindCitizen || d.p.Kind == auth.KindAuditor {
			who = d.p.Subject
		}
		fmt.Fprintf(&tokens, "# %s %s\nexport %s=%s\n", d.p.Kind, who, d.env, tok)
	}
	if isTerminal(w) {
		fmt.Fprintf(w, "Tokens, valid for %s (paste into your shell):\n\n%s", ttl, tokens.String())
		if err := os.Remove(filepath.Join(a.cfg.DataDir, demoTokensFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err // an earlier run's tokens
		}
	} else {
		// Output that is not a terminal is a log file or a journal: live tokens stay out of it.
		path := filepath.Join(a.cfg.DataDir, demoTokensFile)
		if err := writePrivate(path, []byte(tokens.String())); err != nil {
			return fmt.Errorf("writing the demo tokens: %w", err)
		}
		fmt.Fprintf(w, "Tokens, valid for %s, are in %s (mode 0600; output that is not a terminal gets no tokens):\n\n  . %s\n", ttl, path, path)
	}
	body := fmt.Sprintf(`{"query":%q,"variables":{"id":%q}}`, exampleQuery, exampleCitizen)
	fmt.Fprintf(w, "\nExample: the housing clerk checks home-purchase eligibility of %s\n\n", exampleCitizen)
	fmt.Fprintf(w, "curl -s %s/graphql -H \"Authorization: Bearer $HOUSING_TOKEN\" -H 'Content-Type: application/json' \\\n  -d '%s'\n\n", base, body)
	printDemoSealed(w, base, a.demoOversight, time.Now())
	return nil
}
