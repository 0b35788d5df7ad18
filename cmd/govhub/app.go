package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/graph"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/witness"
	"github.com/govhub/govhub/mirror"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/embedded"
	"github.com/govhub/govhub/store/mongostore"
	"github.com/govhub/govhub/web"
)

// Defaults of the common flags.
const (
	defaultDataDir   = "./govhub-data"
	defaultAddr      = "127.0.0.1:8080"
	defaultLogOrigin = "govhub.local/ledger"
	tokenIssuer      = "govhub"
	maxRequestBytes  = 1 << 20
)

// config is what every subcommand that opens the hub's data needs.
type config struct {
	DataDir             string
	MongoURI            string // empty: the embedded FerretDB in DataDir/db
	MongoDB             string
	LogOrigin           string // name of the log key, used when it is created
	IntegrationInterval time.Duration
	Witnesses           []witnessConfig // witnesses to push checkpoints to
	WitnessQuorum       int             // how many must cosign before a checkpoint is published
	Mirrors             []witnessConfig // department mirrors asked to cosign published checkpoints (--mirror URL=KEY)
	MirrorQuorum        int             // how many must hold an entry (0: a majority)
	MirrorMaxLag        time.Duration   // appends are refused once an acknowledged entry waited longer for the mirror quorum (0: defaultMirrorMaxLag)
	VerifyTail          uint64          // entries verified before serving (0: startupVerifyTail)
	QuestionDeadline    time.Duration   // how long departments have to answer citizens' questions (0: the hub's default)
	OversightKey        string          // the oversight body's age recipient (--oversight-key); "": sealed reads fail closed (sealed.go)
	UnsealInterval      time.Duration   // how often sealed accesses due are unsealed (0: defaultUnsealInterval)
	TokenAudience       string          // the "aud" of the hub's tokens ("": auth.DefaultAudience)
	MaxTokenTTL         time.Duration   // the longest token lifetime issued or accepted (0: auth.DefaultMaxLifetime)
	GraphiQL            bool            // serve GraphiQL at /graphiql
	Pprof               bool            // serve the Go profiler at /debug/pprof/ to operator tokens
	NoIntrospection     bool            // refuse schema introspection (--introspection=false)
	MetricsLoopback     bool            // serve /metrics without a token to loopback addresses (metrics.go)
	RequestTimeout      time.Duration   // the deadline of each request's context (0: defaultRequestTimeout)
	RateLimits          rateLimits      // per-principal limits on /graphql (ratelimit.go; zero: none)
	RecordCache         int             // citizens whose checked records are cached (0: none; hub/recordcache.go)
	RecordCacheTTL      time.Duration   // how long (0: hub.DefaultRecordCacheTTL)
	// TrustedDocuments: the only GraphQL documents the principals it restricts may run
	// (--trusted-documents); nil runs any.
	TrustedDocuments *graph.TrustedDocuments
	// OIDCIssuers: external OpenID Connect issuers whose tokens are accepted besides the hub's own
	// (--oidc-issuer).
	OIDCIssuers []auth.OIDCIssuer
	// MigrateRecordIntegrity: give a store written before record integrity its record MACs and
	// heads, once, after checking every record against the ledger (hub.Updater.MigrateIntegrity).
	MigrateRecordIntegrity bool
	// PublicURL is the hub's public URL, naming its did:web certificate issuer ("": http://127.0.0.1:8080).
	PublicURL string
	Logger    *slog.Logger
}

// defaultDataKeyCache is how many citizens' unwrapped data keys a hub keeps (hub/recordcache.go):
// about 1 kB of heap each with the LRU's own (BenchmarkDataKeyCacheMemory: 956 B), so at most
// about 19 MB.
const defaultDataKeyCache = 20_000

// recordCache is the record cache's size in citizens (--record-cache), 0 for none.
func (c config) recordCache() int { return max(c.RecordCache, 0) }

// defaultMirrorMaxLag is how long an acknowledged entry may wait for the mirror quorum before the
// hub refuses new entries (--mirror-max-lag).
const defaultMirrorMaxLag = 30 * time.Second

// witnessConfig is one --witness URL=VERIFIERKEY.
type witnessConfig struct {
	URL         string
	VerifierKey string
}

// parseWitness reads "URL=VERIFIERKEY".
func parseWitness(s string) (witnessConfig, error) {
	url, vkey, ok := strings.Cut(s, "=")
	if !ok || !strings.HasPrefix(url, "http") || vkey == "" {
		return witnessConfig{}, fmt.Errorf("--witness %q: want URL=VERIFIERKEY", s)
	}
	if _, err := fnote.NewVerifierForCosignatureV1(vkey); err != nil {
		return witnessConfig{}, fmt.Errorf("--witness %q: verifier key: %w", s, err)
	}
	return witnessConfig{URL: strings.TrimSuffix(url, "/"), VerifierKey: vkey}, nil
}

// paths inside the data directory.
func (c config) path(parts ...string) string {
	return filepath.Join(append([]string{c.DataDir}, parts...)...)
}

// storage is an open database: the embedded server (if any), and two clients with their
// repositories: one for records and keys, one for the ledger alone, so that a storm of reads
// cannot take the connections the ledger needs to record them (and a ledger outage is its own).
// Each kind of document is written through one of the two only.
type storage struct {
	server       *embedded.Server
	client       *mongo.Client
	store        *mongostore.Store
	ledgerClient *mongo.Client
	ledgerStore  *mongostore.Store
	// shared: opened read-only beside hubs that may be writing (openReader), not owned.
	shared bool
	// commands counts what both clients send (nil for a store opened by a command beside a hub).
	commands *storeCommands
}

func openStorage(ctx context.Context, cfg config) (*storage, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	s := &storage{commands: newStoreCommands()}
	uri := cfg.MongoURI
	var opts []mongostore.Option
	if uri == "" {
		// FerretDB reports every connection at info level and dumps whole protocol messages (which can
		// hold data) at warning level: keep only its errors.
		flog := slog.New(embedded.ErrorsOnly(cfg.Logger.Handler())).With(slog.String("component", "ferretdb"))
		srv, err := embedded.Start(ctx, embedded.Config{Dir: cfg.path("db"), Logger: flog})
		if err != nil {
			return nil, err
		}
		s.server = srv
		uri = srv.URI()
		opts = append(opts, mongostore.WithEmbedded(srv))
	}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var err error
	if s.client, s.store, err = connectStore(startCtx, uri, cfg.MongoDB, s.commands, opts); err != nil {
		s.close(ctx)
		return nil, err
	}
	if s.ledgerClient, s.ledgerStore, err = connectStore(startCtx, uri, cfg.MongoDB, s.commands, opts); err != nil {
		s.close(ctx)
		return nil, err
	}
	if s.server != nil {
		// A store an earlier version created keeps two _id indexes on its large collections: say how
		// to leave one (each insert then updates one index), which a start cannot afford to rebuild.
		switch double, err := s.server.DoubleIDIndexes(startCtx, cfg.MongoDB); {
		case err != nil:
			cfg.Logger.WarnContext(ctx, "listing the store's indexes", slog.String("error", err.Error()))
		case len(double) > 0:
			cfg.Logger.InfoContext(ctx, "these collections keep two _id indexes, as an earlier version made them; with the hub stopped, govhub migrate indexes leaves one (about 5 s a million documents)",
				slog.Any("collections", double))
		}
	}
	return s, nil
}

// connectStore connects to the database at uri and opens the store in db; commands, when not nil,
// counts the commands the client sends.
func connectStore(ctx context.Context, uri, db string, commands *storeCommands, opts []mongostore.Option) (*mongo.Client, *mongostore.Store, error) {
	copts := options.Client().ApplyURI(uri).SetTimeout(30 * time.Second)
	if commands != nil {
		copts.SetMonitor(commands.monitor())
	}
	client, err := mongo.Connect(copts)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to the database: %w", err)
	}
	if err := client.Ping(ctx, nil); err != nil {
		client.Disconnect(ctx)
		return nil, nil, fmt.Errorf("reaching the database: %w", err)
	}
	st, err := mongostore.New(ctx, client.Database(db), opts...)
	if err != nil {
		client.Disconnect(ctx)
		return nil, nil, fmt.Errorf("preparing the database: %w", err)
	}
	return client, st, nil
}

func (s *storage) close(ctx context.Context) error {
	var errs []error
	for _, c := range []*mongo.Client{s.client, s.ledgerClient} {
		if c != nil {
			if err := c.Disconnect(ctx); !errors.Is(err, mongo.ErrClientDisconnected) {
				errs = append(errs, err)
			}
		}
	}
	if s.server != nil {
		errs = append(errs, s.server.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// hubKeys are the key files of a data directory.
type hubKeys struct {
	master *masterRing // master.key and the rotated master-N.key (rotate.go)
	index  []byte
	// indexRing is index.key and the index keys it replaced (rotate_index.go): use it, not index,
	// which is the current key at start only.
	indexRing *subject.Ring
	// officials keys the official pseudonyms on entries (one derived key per department).
	officials []byte
	issuer    ed25519.PrivateKey
	log       logKeys // log.key (the trust anchor), and the keys it was rotated to (logkeys.go)
}

func loadKeys(cfg config) (hubKeys, error) {
	var k hubKeys
	var err error
	if k.master, err = loadMasterRing(cfg.path("keys")); err != nil {
		return k, err
	}
	if k.index, _, err = keys.Symmetric(cfg.path("keys", "index.key")); err != nil {
		return k, err
	}
	if k.indexRing, err = indexRingOf(cfg.path("keys"), k.index); err != nil {
		return k, err
	}
	if k.officials, _, err = keys.Symmetric(cfg.path("keys", "officials.key")); err != nil {
		return k, err
	}
	if k.issuer, _, err = keys.Ed25519(cfg.path("keys", "issuer.key")); err != nil {
		return k, err
	}
	first, _, err := keys.Note(cfg.path("keys", "log.key"), cfg.LogOrigin)
	if err != nil {
		return k, err
	}
	if k.log, err = readLogKeys(cfg.path("keys"), first); err != nil {
		return k, err
	}
	return k, nil
}

// loadPolicy reads the policy files of the data directory, writing the shipped demo policy there
// on first start.
func loadPolicy(cfg config) (policy.Set, error) {
	dir := cfg.path("policy")
	if _, err := os.Stat(filepath.Join(dir, policy.RulesFile)); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return policy.Set{}, err
		}
		if err := policy.WriteDir(dir, policy.Demo()); err != nil {
			return policy.Set{}, fmt.Errorf("writing the demo policy: %w", err)
		}
	}
	set, err := policy.LoadDir(dir)
	if err != nil {
		return set, fmt.Errorf("loading the policy in %s: %w", dir, err)
	}
	return set, nil
}

// app is a running hub: storage, ledger, policy, use cases, and the HTTP handler over them.
type app struct {
	cfg         config
	storage     *storage
	keys        hubKeys
	logKeyMu    sync.Mutex
	logRotateMu sync.Mutex // one log key rotation at a time (logkeys.go)
	logNow      logKeys    // the log keys as last read (logSigner), logKeyMu
	log         *ledger.Log
	reader      *hub.Reader
	updater     *hub.Updater
	review      *hub.Review
	citizens    *hub.Citizens
	// certificates issues and verifies certificates (verifycert_serve.go); verifyPage, if set,
	// serves the browser page GET /verify/<id>.
	certificates *hub.Certificates
	// verifyCounts counts public verifications in memory, added to the store every second and at
	// close.
	verifyCounts *hub.VerificationCounter
	verifyPage   http.Handler
	// credentialKey is the certificates' credential key as a Multikey, pinned in the verify page.
	credentialKey string

	officers *governance.Officers
	// erasures: lawful erasure through maker-checker; erasure applies them (cmd/govhub/erasure.go).
	erasures *governance.Erasures
	erasure  *hub.Erasure
	// questions: citizens' questions about accesses and the departments' answers.
	questions *hub.Questions
	// sealed: sealed accesses (disclosure, unsealing, counts); unseals: early unseals (sealed.go).
	sealed  *hub.Sealed
	unseals *governance.EarlyUnseals
	// officials names the official behind each request on the entries (shared by every use case).
	officials *usecase.Officials
	// integrity checks every record read against its MAC and the citizen's record head.
	integrity *hub.Integrity
	// migrate: the store predates record integrity and is to be migrated (openIntegrity).
	migrate  bool
	verifier auth.TokenVerifier // the hub's own tokens, and those of cfg.OIDCIssuers
	issuer   *auth.Issuer
	cancel   context.CancelFunc
	// witnessQuorum is how many witnesses must cosign a checkpoint (0 without witnesses).
	witnessQuorum int
	mirrors       *ledger.MirrorSet // department mirrors (--mirror); nil: none
	// demo is set by govhub demo before handler: the demo-only routes are mounted.
	demo bool
	// demoOversight is the demo's oversight identity file (demo_sealed.go); "" otherwise.
	demoOversight string
	// started is when openApp returned.
	started time.Time
	// metrics are what /metrics serves (metrics.go).
	metrics *hubMetrics
	// rotation rotates the master key; rewrap is its background re-wrap (rotate.go).
	rotation *hub.KeyRotation
	rewrap   rewrapState
	// life ends when the app closes: background work started by requests runs under it.
	life context.Context
	// ownVerifier checks the hub's own tokens (also inside verifier); tokenRotation serialises
	// token key rotations (rotate.go).
	ownVerifier   *auth.Verifier
	tokenRotation sync.Mutex
	// fileKeys: the credential and officials key rotations, and the pages pinning the credential
	// keys (rotate_files.go).
	fileKeys fileKeyRotation
	// indexRotation: the index key rotation and its background re-MAC (rotate_index.go).
	indexRotation indexKeyRotation
	// pseudonyms names citizens, and rekey is their background move after an index key
	// rotation (rekey.go).
	pseudonyms *hub.Pseudonyms
	rekey      rekeyState
}

// openApp opens everything a serving hub needs, checks the ledger against its latest checkpoint,
// puts a changed policy on the ledger, and finishes interrupted updates.
func openApp(ctx context.Context, cfg config) (*app, error) {
	k, err := loadKeys(cfg)
	if err != nil {
		return nil, err
	}
	st, err := openStorage(ctx, cfg)
	if err != nil {
		return nil, err
	}
	warnSharedFerretDB(ctx, cfg, st)
	if cfg.Logger != nil {
		cfg.Logger = slog.New(requestIDLogs{cfg.Logger.Handler()})
	}
	a := &app{cfg: cfg, storage: st, keys: k, started: time.Now()}
	a.metrics = newMetrics(a)
	ok := false
	defer func() {
		if !ok {
			a.close(context.WithoutCancel(ctx))
		}
	}()
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel, a.life = cancel, life
	opts := []ledger.Option{ledger.WithLogger(cfg.Logger)}
	if cfg.IntegrationInterval > 0 {
		opts = append(opts, ledger.WithIntegrationInterval(cfg.IntegrationInterval))
	}
	if len(cfg.Witnesses) > 0 {
		var cs []ledger.Cosigner
		hc := &http.Client{Timeout: ledger.DefaultWitnessTimeout}
		for _, w := range cfg.Witnesses {
			v, err := fnote.NewVerifierForCosignatureV1(w.VerifierKey)
			if err != nil {
				return nil, err
			}
			cs = append(cs, witness.NewClient(w.URL, v, hc))
		}
		q := cfg.WitnessQuorum
		if q == 0 {
			q = len(cs)/2 + 1
		}
		if q < 1 || q > len(cs) {
			return nil, fmt.Errorf("witness quorum %d of %d witnesses", q, len(cs))
		}
		opts = append(opts, ledger.WithWitnesses(cs, q))
		a.witnessQuorum = q
	}
	if len(cfg.Mirrors) > 0 {
		var ms []ledger.MirrorCosigner
		hc := &http.Client{Timeout: ledger.DefaultMirrorTimeout}
		for _, m := range cfg.Mirrors {
			v, err := fnote.NewVerifierForCosignatureV1(m.VerifierKey)
			if err != nil {
				return nil, err
			}
			ms = append(ms, mirror.NewClient(m.URL, v, hc))
		}
		q := cfg.MirrorQuorum
		if q == 0 {
			q = len(ms)/2 + 1
		}
		if q < 1 || q > len(ms) {
			return nil, fmt.Errorf("mirror quorum %d of %d mirrors", q, len(ms))
		}
		lag := cfg.MirrorMaxLag
		if lag == 0 {
			lag = defaultMirrorMaxLag
		}
		a.mirrors = ledger.NewMirrorSet(ms, q, lag)
		opts = append(opts, ledger.WithMirrors(a.mirrors))
	}
	a.log, err = st.openLedger(life, k.log, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening the ledger: %w", err)
	}
	go a.metrics.watchCheckpoint(life, a.log)
	// The start-up check: the recent entries, before serving (the stored tiles were already checked
	// against the latest checkpoint); the whole log in the background, refusing appends — and so
	// failing every request closed — if it finds the log altered.
	size, tailLen := a.log.Integrated().Size, cfg.VerifyTail
	if tailLen == 0 {
		tailLen = startupVerifyTail
	}
	if _, err := ledger.VerifyFrom(ctx, st.ledgerStore, k.log.Verifier, size-min(size, tailLen), ledger.WithKeys(k.log.history)); err != nil {
		return nil, fmt.Errorf("the stored ledger does not verify, refusing to serve (run govhub ledger verify): %w", err)
	}
	go a.verifyInBackground(life)
	// What the hub knew of the citizens' access logs when it last stopped, if nothing was appended
	// since (mongostore.LoadLogEnds): their appends need not find the logs' ends again.
	if n, err := st.store.LoadLogEnds(ctx, size); err != nil {
		a.cfg.Logger.WarnContext(ctx, "the access-log ends saved at the last stop were not used", slog.String("error", err.Error()))
	} else if n > 0 {
		a.cfg.Logger.InfoContext(ctx, "access-log ends from the last stop", slog.Int("citizens", n))
	}
	// The policy lives in the store, one immutable version after another; the policy files of the
	// data directory (the demo policy, on a new one) are imported once, into an empty store.
	version, err := st.store.LatestVersion(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the policy version: %w", err)
	}
	if version == 0 {
		set, err := loadPolicy(cfg)
		if err != nil {
			return nil, err
		}
		if version, err = governance.ImportPolicy(ctx, st.store, a.log, set, "the policy files in "+cfg.path("policy"), time.Now()); err != nil {
			return nil, err
		}
	}
	info, err := st.store.VersionInfo(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("reading policy version %d: %w", version, err)
	}
	engine, err := policy.New(policy.Set{}, policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		return nil, err
	}
	loader := st.store.PolicyAdapter()
	if err := engine.Load(ctx, info, loader); err != nil {
		return nil, fmt.Errorf("loading policy version %d: %w", version, err)
	}
	// Subject references stored before the access log existed get their log documents, once,
	// before serving (a no-op after the first run).
	migrated, err := st.store.MigrateSubjectLog(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrating the subject log: %w", err)
	}
	if migrated > 0 {
		cfg.Logger.InfoContext(ctx, "migrated subject references into access logs", slog.Int("documents", migrated))
	}
	if a.officials, err = usecase.NewOfficials(k.officials, st.store); err != nil {
		return nil, err
	}
	if err := a.openIntegrity(ctx, life); err != nil {
		return nil, err
	}
	if err := a.openUseCases(engine); err != nil {
		return nil, err
	}
	go moveRecords(life, st.store, cfg.Logger)
	if st.store.Embedded() {
		go warmCitizenIndex(life, st.store, cfg.Logger)
	}
	go a.verifyCounts.Run(life, func(err error) {
		cfg.Logger.WarnContext(life, "adding verification counts to the store; kept for the next try", slog.String("error", err.Error()))
	})
	if a.migrate {
		if err := a.migrateIntegrity(ctx); err != nil {
			return nil, err
		}
	}
	follower, err := governance.NewFollower(engine, st.store, loader)
	if err != nil {
		return nil, err
	}
	a.officers, err = governance.New(governance.Config{Policy: engine, Versions: st.store, Proposals: st.store, Ledger: a.ledger(),
		Follower: follower, Officials: a.officials}, governance.WithCertificatePreview(a.certificatePreview))
	if err != nil {
		return nil, err
	}
	go follower.Watch(life, policyPollInterval, cfg.Logger)
	a.rewrapInBackground(life, false) // a rotation whose re-wrap did not finish before a stop
	a.remacInBackground(life, false)  // an index key rotation whose re-MAC did not finish before a stop
	go a.followKeyFiles(life)         // credential and officials keys rotated by another instance
	if a.pseudonyms != nil {
		a.rekeyInBackground(life)      // an index key rotation whose pseudonym move did not finish before a stop
		go a.followPseudonymKeys(life) // the pseudonym key another instance rotated in
	}
	if err := a.openSealed(life, engine); err != nil {
		return nil, err
	}
	// A lone hub owns every pending update at start-up; hubs sharing a database settle only those
	// older than recoveryMargin, and go on doing so for the updates of a peer that died.
	margin := time.Duration(0)
	if cfg.MongoURI != "" {
		margin = recoveryMargin
		go a.recoverPeriodically(life)
	}
	rep, err := a.updater.Recover(ctx, margin)
	if err != nil {
		return nil, fmt.Errorf("recovering interrupted updates: %w", err)
	}
	if rep.Applied+rep.Dropped > 0 {
		cfg.Logger.InfoContext(ctx, "recovered interrupted updates", slog.Int("applied", rep.Applied), slog.Int("dropped", rep.Dropped))
	}
	if err := a.openErasure(ctx, life, engine); err != nil {
		return nil, err
	}
	if a.issuer, err = auth.NewIssuer(k.issuer, tokenIssuer, cfg.issuerOptions()...); err != nil {
		return nil, err
	}
	prevTokens, err := readPreviousTokenKeys(cfg.path("keys"), time.Now())
	if err != nil {
		return nil, err
	}
	vopts := append(cfg.verifierOptions(), auth.WithKeyReload(func() (ed25519.PublicKey, []ed25519.PublicKey, error) {
		return tokenKeys(cfg.path("keys"))
	}))
	for _, pk := range prevTokens {
		vopts = append(vopts, auth.WithPreviousKeys(pk.PublicKey))
	}
	own, err := auth.NewVerifier(k.issuer.Public().(ed25519.PublicKey), tokenIssuer, vopts...)
	if err != nil {
		return nil, err
	}
	a.verifier, a.ownVerifier = own, own
	if len(cfg.OIDCIssuers) > 0 {
		if a.verifier, err = auth.NewMultiVerifier(own, cfg.OIDCIssuers); err != nil {
			return nil, err
		}
	}
	cfg.Logger.InfoContext(ctx, "hub ready", slog.String("data_dir", cfg.DataDir), slog.Bool("embedded", st.server != nil),
		slog.Uint64("policy_version", version), slog.Uint64("ledger_size", a.log.Latest().Size))
	if noopLedgerBuild {
		cfg.Logger.ErrorContext(ctx, "BENCHMARK BUILD (-tags govhub_noopledger): reads are not logged on the ledger; never run this build for real")
	}
	ok = true
	return a, nil
}

// integrityMarker is the meta document that says the record store has record MACs and heads
// (written on a new store; a store from before them is refused, see openIntegrity).
const integrityMarker = "record-integrity/v1"

// integritySnapshotEvery is how many new ledger entries make the hub save the superseded set again.
const integritySnapshotEvery = 1 << 16

// openIntegrity sets up the record checks (hub.Integrity, under a key derived from the index key):
// it refuses a store written before record MACs existed, then builds the set of superseded record
// heads from the stored snapshot and the ledger entries after it, before serving, and follows the
// ledger from then on.
func (a *app) openIntegrity(ctx context.Context, life context.Context) error {
	st, logger := a.storage.store, a.cfg.Logger
	var marker struct {
		Since time.Time `bson:"since"`
	}
	switch err := st.Meta(ctx, integrityMarker, &marker); {
	case errors.Is(err, store.ErrNotFound):
		has, err := st.HasRecords(ctx)
		if err != nil {
			return fmt.Errorf("looking for records: %w", err)
		}
		switch {
		case has && !a.cfg.MigrateRecordIntegrity:
			return errors.New("the record store was written before record integrity (its records have no MACs and its citizens no record heads), " +
				"and a hub never serves records it cannot check: start it once with --migrate-record-integrity (alone: no other instance running), " +
				"which checks every record against the ledger before it authenticates it")
		case has:
			pending, err := st.PendingUpdates(ctx)
			if err != nil {
				return fmt.Errorf("listing pending updates: %w", err)
			}
			if len(pending) > 0 {
				return fmt.Errorf("the record store has %d interrupted updates from before record integrity: start the previous version once to finish them, then migrate", len(pending))
			}
			a.migrate = true // after the use cases are built: see openApp
		default:
			marker.Since = time.Now().UTC()
			if err := st.PutMeta(ctx, integrityMarker, marker); err != nil {
				return fmt.Errorf("marking the record store: %w", err)
			}
		}
	case err != nil:
		return fmt.Errorf("reading the record integrity marker: %w", err)
	}
	if err := a.checkPseudonymKey(ctx); err != nil {
		return err
	}
	tombstones, err := hub.NewTombstoneRing(st, a.keys.indexRing)
	if err != nil {
		return err
	}
	if a.integrity, err = hub.NewIntegrity(hub.IntegrityConfig{IndexKeys: a.keys.indexRing, Heads: st, Snapshots: st, Logger: logger, CacheCitizens: a.cfg.recordCache(), CacheTTL: a.cfg.RecordCacheTTL,
		Erased: tombstones}); err != nil {
		return err
	}
	if err := a.log.WaitCaughtUp(ctx); err != nil {
		return fmt.Errorf("waiting for the ledger to integrate: %w", err)
	}
	start, last := time.Now(), time.Now()
	err = a.integrity.CatchUp(ctx, a.log.Reader(), func(covered, size uint64) {
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			logger.InfoContext(ctx, "record integrity: reading the ledger's updates", slog.Uint64("entries", covered), slog.Uint64("of", size))
		}
	})
	if err != nil {
		return fmt.Errorf("reading the ledger for record integrity: %w", err)
	}
	logger.InfoContext(ctx, "record integrity caught up with the ledger", slog.Uint64("entries", a.log.Integrated().Size),
		slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	if err := a.integrity.SaveSnapshot(ctx); err != nil {
		logger.WarnContext(ctx, "saving the record integrity snapshot", slog.String("error", err.Error()))
	}
	go a.integrity.Follow(life, a.log.Reader(), time.Second, integritySnapshotEvery)
	return nil
}

// migrateIntegrity gives a store written before record integrity its record MACs and heads, then
// marks it.
func (a *app) migrateIntegrity(ctx context.Context) error {
	start := time.Now()
	a.cfg.Logger.InfoContext(ctx, "record integrity: checking every record against the ledger and authenticating it")
	rep, err := a.updater.MigrateIntegrity(ctx, a.log.Reader(), a.storage.store)
	if err != nil {
		return fmt.Errorf("migrating the record store to record integrity (nothing is served until it succeeds): %w", err)
	}
	if err := a.storage.store.PutMeta(ctx, integrityMarker, struct {
		Since time.Time `bson:"since"`
	}{time.Now().UTC()}); err != nil {
		return fmt.Errorf("marking the record store: %w", err)
	}
	a.cfg.Logger.InfoContext(ctx, "record integrity: store migrated", slog.Int("records", rep.Records), slog.Int("citizens", rep.Citizens),
		slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	return nil
}

// embeddedLeaseTTL is the ledger lease's lifetime on the embedded store. The embedded store is one
// process's alone (the data directory is locked), so no other instance ever waits for the lease:
// a long lease only keeps a hub starved of CPU for a few seconds (a busy 2-core machine) from
// losing it to itself, which made appends wait for a holder (seen seeding 210,000 citizens beside
// other work: "no lease holder sequenced the entry within 30s").
const embeddedLeaseTTL = time.Hour

// openLedger opens the store's ledger with key, as every command that writes it must: on the
// embedded store under a stable instance name (a lease left by an earlier run of any command is
// its own, renewed at once after a crash rather than waited out) and with embeddedLeaseTTL. A
// ledger opened without them waits out a lease an embedded hub left: up to an hour.
func (st *storage) openLedger(ctx context.Context, key logKeys, opts ...ledger.Option) (*ledger.Log, error) {
	if st.server != nil {
		opts = append(opts, ledger.WithInstance("embedded"), ledger.WithLeaseTTL(embeddedLeaseTTL))
	}
	return ledger.New(ctx, key.config(st.ledgerStore), opts...)
}

// ledger is the ledger as the use cases append to it: timed for the metrics.
func (a *app) ledger() timedLedger { return timedLedger{a.log, a.metrics} }

// openUseCases builds the hub's capabilities on the open store and ledger, deciding with engine.
func (a *app) openUseCases(engine *policy.Engine) error {
	st, k := a.storage.store, a.keys
	sealer, err := a.sealer()
	if err != nil {
		return err
	}
	var names []hub.Option
	if k.indexRing != nil {
		a.pseudonyms = hub.NewPseudonyms(k.indexRing, st)
		names = append(names, hub.WithPseudonyms(a.pseudonyms))
	}
	a.reader, err = hub.NewReader(hub.ReaderConfig{Records: st, Lister: st, Keys: st, Master: k.master, Index: st,
		Ledger: a.readLedger(), Policy: engine, IndexKey: k.index, IndexKeys: k.indexRing, Officials: a.officials, Integrity: a.integrity, DataKeyCache: defaultDataKeyCache,
		Sealer: sealer}, append(names, hub.WithMetrics(a.metrics))...)
	if err != nil {
		return err
	}
	a.updater, err = hub.NewUpdater(hub.UpdaterConfig{Records: st, Keys: st, Master: k.master, Pending: st, Index: st,
		Ledger: a.ledger(), Leaves: a.log.Reader(), Policy: engine, IndexKey: k.index, IndexKeys: k.indexRing, Officials: a.officials, Integrity: a.integrity}, names...)
	if err != nil {
		return err
	}
	if a.review, err = hub.NewReview(a.log, a.log.Reader()); err != nil {
		return err
	}
	if a.questions, err = hub.NewQuestions(hub.QuestionsConfig{Questions: st, Refs: st, Entries: a.log.Reader(), Index: st, Ledger: a.ledger(),
		Policy: engine, IndexKey: k.index, IndexKeys: k.indexRing, Officials: a.officials, Deadline: a.cfg.QuestionDeadline, Keys: st, Master: k.master}, names...); err != nil {
		return err
	}
	if a.rotation, err = hub.NewKeyRotation(hub.KeyRotationConfig{Ledger: a.ledger(), Keys: st, Master: k.master, Persist: k.master.persist,
		Officials: a.officials, Policy: func() uint64 { return engine.Snapshot().Version() }}); err != nil {
		return err
	}
	a.citizens, err = hub.NewCitizens(hub.CitizensConfig{Reader: a.reader, Log: st, Entries: a.log.Reader(), Review: a.review})
	if err != nil {
		return err
	}
	return a.openCertificates()
}

// policyPollInterval is how often a hub looks for a policy version approved on another instance.
const policyPollInterval = 500 * time.Millisecond

// recoveryMargin is how old a pending update must be before a hub sharing its database with
// others settles it: no live update takes that long.
const recoveryMargin = time.Minute

func (a *app) recoverPeriodically(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(recoveryMargin):
		}
		rep, err := a.updater.Recover(ctx, recoveryMargin)
		if err != nil {
			a.cfg.Logger.WarnContext(ctx, "recovering interrupted updates", slog.String("error", err.Error()))
		} else if rep.Applied+rep.Dropped > 0 {
			a.cfg.Logger.InfoContext(ctx, "recovered interrupted updates", slog.Int("applied", rep.Applied), slog.Int("dropped", rep.Dropped))
		}
	}
}

// startupVerifyTail is how many of the latest entries are verified before the hub serves: 4
// entry bundles, a fraction of a second, so that a hub restarts within the time an operator and
// its load balancer expect (2 s at 100,000 citizens, docs/BENCHMARKS.md); the whole log is
// verified in the background right after, and a log that fails it refuses appends, so every
// request fails closed from then on. (It was 65,536 entries: about 9 s.)
const startupVerifyTail = 1 << 10

// verifyRetry is how long the background verification waits before trying again after an error
// that says nothing about the ledger (the database did not answer).
const verifyRetry = time.Minute

// verifyInBackground verifies the whole ledger; if it is corrupt, the ledger refuses appends. A
// verification that could not finish is tried again: the whole log gets checked once per run.
func (a *app) verifyInBackground(ctx context.Context) {
	for {
		start := time.Now()
		rep, err := ledger.Verify(ctx, a.storage.ledgerStore, a.keys.log.Verifier, ledger.WithKeys(a.log.Reader().Keys()))
		var ce *ledger.CorruptionError
		switch {
		case errors.As(err, &ce):
			a.log.Fail(err)
			a.cfg.Logger.ErrorContext(ctx, "the stored ledger does not verify: refusing every request", slog.Uint64("entry", ce.Index), slog.String("reason", ce.Reason))
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			a.cfg.Logger.WarnContext(ctx, "background ledger verification did not finish; trying again", slog.String("error", err.Error()),
				slog.Duration("in", verifyRetry))
			select {
			case <-ctx.Done():
				return
			case <-time.After(verifyRetry):
			}
		default:
			a.cfg.Logger.InfoContext(ctx, "ledger verified", slog.Uint64("entries", rep.Entries), slog.Int("checkpoints", rep.Checkpoints),
				slog.Duration("took", time.Since(start).Round(time.Millisecond)))
			return
		}
	}
}

// close stops the ledger (writing what is queued), then the database.
func (a *app) close(ctx context.Context) error {
	var errs []error
	if a.updater != nil {
		a.updater.Settle() // the pending updates still being dropped: none left for the next start
	}
	if a.log != nil {
		err := a.log.Shutdown(ctx)
		errs = append(errs, err)
		// Nothing more can be appended: the access-log ends this hub knows, for its next start.
		if err == nil && a.storage != nil && a.log.Failed() == nil {
			if n, err := a.storage.store.SaveLogEnds(ctx, a.log.Integrated().Size); err != nil {
				a.cfg.Logger.WarnContext(ctx, "the access-log ends were not saved; the next start finds them again", slog.String("error", err.Error()))
			} else if n > 0 {
				a.cfg.Logger.InfoContext(ctx, "access-log ends saved for the next start", slog.Int("citizens", n))
			}
		}
	}
	if a.verifyCounts != nil {
		// Before the background work stops: a flush the hub's end cut short could leave its
		// write running in the database past the document lock.
		errs = append(errs, a.verifyCounts.Flush(ctx))
	}
	if a.cancel != nil {
		a.cancel()
	}
	if a.storage != nil {
		errs = append(errs, a.storage.close(ctx))
	}
	return errors.Join(errs...)
}

// handler is the hub's HTTP interface.
func (a *app) handler() http.Handler {
	limits := newLimiter(a.cfg.RateLimits, a.cfg.Logger)
	limits.refused = a.logRateLimited
	gql := graph.NewHandler(&graph.Resolver{Reader: a.reader, Updater: a.updater, Review: a.review, CitizenLog: a.citizens,
		Officers: a.officers, Questions: a.questions, Sealed: a.sealed, Unseals: a.unseals, Erasures: a.erasures, Erasure: a.erasure, Certificates: a.certificates, Logger: a.cfg.Logger}, graph.HandlerConfig{Introspection: !a.cfg.NoIntrospection, TrustedDocuments: a.cfg.TrustedDocuments,
		Authenticate: limits.authenticate(a.verifier.Verify), MaxBodyBytes: maxRequestBytes, RequestTimeout: a.requestTimeout()})
	mux := http.NewServeMux()
	// The GraphQL handler bounds its own bodies (413 with a GraphQL error).
	mux.Handle("/graphql", websocketOrAuth(gql, a.metrics.graphql(auth.Middleware(a.verifier, limits.middleware(gql), auth.WithRejectHook(a.logRefusal)))))
	if a.cfg.GraphiQL {
		if page, err := graphiqlHandler("/graphql"); err != nil {
			a.cfg.Logger.Error("GraphiQL is off", slog.String("error", err.Error()))
		} else {
			mux.Handle("GET /graphiql", page)
			mux.Handle("GET "+web.GraphiQLAssetsPath, web.GraphiQLAssets())
		}
	}
	pages := a.newPages() // built again when the credential key rotates
	a.verifyPage = pages  // GET /verify/<id>, through certificateRoutes
	mux.Handle("GET /console", pages)
	mux.Handle("GET /portal", pages)
	if a.demo {
		mux.Handle("POST "+web.DemoCitizenTokenPath, limitBody(http.HandlerFunc(a.demoCitizenToken)))
	}
	mux.Handle("GET /static/", pages)
	// The ledger's read API (C2SP tlog-tiles): checkpoints and hash tiles are public, entry bundles
	// are for auditors. The tiles handler serves what r.URL.Path (unescaped) names, so the choice is
	// made on that same string, not by a mux pattern: the mux matches escaped segments, and
	// "/tile/entries%2F000" would reach the bundles by the public route.
	tiles := a.log.Reader().Handler()
	bundles := auth.Middleware(a.verifier, onlyKind(auth.KindAuditor, tiles))
	mux.Handle("GET /checkpoint", tiles)
	mux.Handle("GET /log-keys", tiles)
	mux.HandleFunc("GET /tile/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/tile/entries/") {
			bundles.ServeHTTP(w, r)
			return
		}
		tiles.ServeHTTP(w, r)
	})
	// The operators' endpoint (status.go): operator tokens only.
	keysAPI := a.keysHandler(a.life)
	mux.Handle("GET "+keysPath, keysAPI)
	mux.Handle("POST "+rotatePath, keysAPI)
	mux.Handle("GET "+statusPath, auth.Middleware(a.verifier, onlyKind(auth.KindOperator, a.statusHandler(a.started))))
	if a.cfg.Pprof {
		a.mountPprof(mux)
	}
	mux.HandleFunc("GET /.well-known/jwks.json", a.jwks)
	mux.HandleFunc("GET "+sealedCountsPath, a.sealedCounts) // public: counts only (sealed.go)
	a.certificateRoutes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", a.readyz) // metrics.go: every reason the hub is not ready
	mux.Handle("GET "+metricsPath, a.metrics.handler(a.verifier, a.cfg.MetricsLoopback, a.cfg.Logger))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		graphiql := ""
		if a.cfg.GraphiQL {
			graphiql = " GET /graphiql,"
		}
		io.WriteString(w, "GovHub: POST /graphql (bearer token),"+graphiql+" GET /console, GET /portal, GET /checkpoint, GET /tile/…\n")
	})
	return withRequestID(withRequestDeadline(a.requestTimeout(), mux))
}

// logRefusal puts refused requests of known principals (expired tokens) on the ledger.
func (a *app) logRefusal(r *http.Request, p *auth.Principal, err error) {
	if p == nil {
		return // nobody to name: not worth a ledger entry anyone could provoke
	}
	reason := "expired-token"
	if !errors.Is(err, auth.ErrExpired) {
		reason = "invalid-token"
	}
	if _, lerr := a.reader.LogRefusal(r.Context(), *p, reason, []byte(r.Method+" "+r.URL.RequestURI())); lerr != nil {
		a.cfg.Logger.ErrorContext(r.Context(), "could not log a refused request", slog.String("error", lerr.Error()))
	}
}

// logRateLimited puts a principal's first rate-limited request on the ledger as a denied attempt
// (reason rate-limited); the refusals that follow it, until the principal is admitted again, are
// not, so that a flood of requests cannot become a flood of entries.
func (a *app) logRateLimited(r *http.Request, p auth.Principal) {
	if _, err := a.reader.LogRefusal(r.Context(), p, "rate-limited", []byte(r.Method+" "+r.URL.RequestURI())); err != nil {
		a.cfg.Logger.ErrorContext(r.Context(), "could not log a rate-limited request", slog.String("error", err.Error()))
	}
}

// websocketOrAuth sends a websocket upgrade without an Authorization header (a browser cannot set
// one) straight to the GraphQL handler, which authenticates it by the token in its connection_init
// payload and refuses it without one; every other request goes through authed.
func websocketOrAuth(gql, authed http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			gql.ServeHTTP(w, r)
			return
		}
		authed.ServeHTTP(w, r)
	})
}

// onlyKind lets through the principals of one kind (after auth.Middleware) and refuses the others.
func onlyKind(k auth.Kind, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.FromContext(r.Context()); !ok || p.Kind != k {
			http.Error(w, "forbidden: for "+string(k)+" tokens only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
		next.ServeHTTP(w, r)
	})
}
