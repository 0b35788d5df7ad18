package hub

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	lru "github.com/hashicorp/golang-lru/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Certificates: electronic certificates issued by rules (package certificate; ARCHITECTURE §3).
//
// A certificate type (policy.CertificateType, in the policy set) names its issuing department and
// role, its purpose, its claims and its rule. A department's official requests a certificate for a
// citizen (Request), or a citizen applies for their own (Apply); either way the application moves
// through steps, each a step entry on the ledger whose certificate line is the application id and
// whose subject is the citizen's salted commitment, indexed in the citizen's access log before it
// is stored:
//
//	received → gathered → decided → (review → reviewed → gathered → decided) → issued | refused
//
// Entries with nothing released between them are appended together (ledger.AppendAll: consecutive
// indices, one ledger write), indexed in the citizens' logs in one store call, and the application
// saved once after them: the received (or reviewed) step with the gathering's access entry and the
// family lookup's (entryGroup), before anything gathered is used; then gathered and decided, with
// refused, or with the issue entry and issued (the certificate is signed and stored after its
// issue entry is durable and before the application is saved as issued). The application as stored never names a step whose entry is
// not durable. Where the ledger cannot group (an instance that does not hold the ledger's lease
// forwards its entries one by one), the same entries are appended one by one, in the same order.
//
// Gathering reads what the rule needs through Reader.ReadCitizen as the issuing role for the
// type's purpose: one access entry, in the citizen's log, naming each field and level and each
// predicate asked (never the value or the answer), with the certificate id as its request id, to
// which every threshold proof is bound. A rule that reads the spouse's records makes the hub open
// the citizen's sealed spouse id internally (never released) and read the spouse's records: one
// more access entry naming both citizens, indexed in both logs. The rule is then evaluated over the
// gathered values (certificate.Rule.Eval); a refusal names the rule version, never a value.
//
// An age (certificate.AgeFunction: ageAtLeast(identity.birthDate, 18)) is gathered like any
// predicate, its proof asked on the day the hub decides (UTC) and bound to AgeContext(day,
// certificate id); it must be the issue date, which verifiers derive the threshold from, so an
// application gathered before midnight and issued after is refused (apply again). A claim that is
// exactly one predicate names its proof in the evidence (certificate.Rule.LinkClaims).
//
// The citizen's own reads (MyApplications, MyCertificate) are self-access entries (actor
// citizen/citizen, reason my-applications or my-certificate), appended before the answer.
//
// The credential (W3C VC 2.0, eddsa-jcs-2022, signed by the credential key, issuer the hub's
// did:web DID) states the type's claims (never a sensitive value: certificate.Compile refuses
// rules that read one) and carries as evidence the rule version, the policy version, the
// commitments and threshold proofs relied on and the index of the issue entry. The issue entry
// is appended before the certificate is stored: its record line is certificate.RecordDigest of
// the credential. The issuing department revokes with a reason: a revoke entry whose about line
// is the issue entry, then the stored status. Verification is public (Verify, Status) and
// counted; the holder sees the count and can disable the link (Holdings, SetLink).

// CertificateStore keeps certificates (store/mongostore). Safe for concurrent use. Errors wrap
// store.ErrNotFound for an unknown id, store.ErrConflict for a taken id or a second revocation.
type CertificateStore interface {
	AddCertificate(ctx context.Context, c store.Certificate) error
	Certificate(ctx context.Context, id string) (store.Certificate, error)
	RevokeCertificate(ctx context.Context, c store.Certificate) error
	AddVerifications(ctx context.Context, id string, times []time.Time) error
	SetCertificateLink(ctx context.Context, id string, disabled bool) error
}

// ApplicationStore keeps applications and each citizen's list of them (store/mongostore). Safe
// for concurrent use.
type ApplicationStore interface {
	SaveApplication(ctx context.Context, a store.Application) error
	Application(ctx context.Context, id string) (store.Application, error)
	Applications(ctx context.Context, pseudonym string, limit int) ([]store.Application, error)
	// EraseApplications removes a citizen's applications and empties their certificates' content
	// (a lawful erasure, after revocation).
	EraseApplications(ctx context.Context, pseudonym string) error
	// QueueForReview appends an application to its department's review queue; ReviewQueue lists
	// those of the queue still waiting, oldest first.
	QueueForReview(ctx context.Context, department, id string) error
	ReviewQueue(ctx context.Context, department string, limit int) ([]store.Application, error)
}

// CertificatesConfig holds what issuing needs; all but WitnessKeys are required.
type CertificatesConfig struct {
	// Reader gathers the citizen's data under policy (its ledger, index and officials are used for
	// the certificates' own entries too).
	Reader       *Reader
	Store        CertificateStore
	Applications ApplicationStore
	// Key is the credential key (not the token issuer's); DID the issuer's did:web DID, whose
	// document (DIDDocument) is served at /.well-known/did.json.
	Key ed25519.PrivateKey
	DID string
	// Keys, if set, replaces Key: the credential key and the keys it replaced, rotated by the
	// caller (NewCredentialKeys of DID).
	Keys *CredentialKeys
	// BaseURL is the hub's public URL ("https://hub.example"), for status links.
	BaseURL string
	// Published and Proofs give the issue entry's receipt (a ledger.Log and its Reader).
	Published Publisher
	Proofs    ProofReader
	// LogKey, WitnessKeys and Quorum are the keys the hub was started with, named in the
	// verification document for pinning.
	LogKey      string
	WitnessKeys []string
	Quorum      int
	// Counter counts verifications in memory for the store, run by the caller
	// (VerificationCounter.Run, and Flush when stopping); without one, each verification is added
	// to the store before its document is returned.
	Counter *VerificationCounter
}

// Certificates issues, revokes and verifies certificates. It is safe for concurrent use.
type Certificates struct {
	rd     *Reader
	store  CertificateStore
	apps   ApplicationStore
	keys   *CredentialKeys
	did    string
	base   string
	pub    Publisher
	proofs ProofReader
	logKey string
	wkeys  []string
	quorum int

	rules sync.Map // rule version → *certificate.Rule
	// issueReceipts keeps each certificate's issue receipt, and revoke receipt, once made: an inclusion proof under a
	// witness-cosigned checkpoint stays valid forever (the log is append-only, and the checkpoint's
	// signatures do not expire), so the verification document need not read the entry bundle and
	// the tiles again for every verification.
	issueReceipts *lru.Cache[uint64, ledger.Proof]
	counter       *VerificationCounter
	statuses      *statusCache
}

// issueReceiptCache is how many issue receipts Certificates keeps (a few kB each).
const issueReceiptCache = 4096

// NewCertificates checks cfg and returns the capability.
func NewCertificates(cfg CertificatesConfig) (*Certificates, error) {
	if cfg.Reader == nil || cfg.Store == nil || cfg.Applications == nil || len(cfg.Key) != ed25519.PrivateKeySize && cfg.Keys == nil || cfg.DID == "" || cfg.BaseURL == "" ||
		cfg.Published == nil || cfg.Proofs == nil || cfg.LogKey == "" {
		return nil, errors.New("hub: NewCertificates needs a reader, a store, the credential key, a did:web DID, a base URL, the ledger and the log key")
	}
	ks := cfg.Keys
	if ks == nil {
		var err error
		if ks, err = NewCredentialKeys(cfg.DID, cfg.Key); err != nil {
			return nil, fmt.Errorf("hub: the issuer DID: %w", err)
		}
	} else if ks.did != cfg.DID {
		return nil, fmt.Errorf("hub: the credential keys are %s's, not %s's", ks.did, cfg.DID)
	}
	receipts, err := lru.New[uint64, ledger.Proof](issueReceiptCache)
	if err != nil {
		return nil, err
	}
	return &Certificates{rd: cfg.Reader, store: cfg.Store, apps: cfg.Applications, keys: ks, did: cfg.DID, base: strings.TrimSuffix(cfg.BaseURL, "/"),
		pub: cfg.Published, proofs: cfg.Proofs, logKey: cfg.LogKey, wkeys: slices.Clone(cfg.WitnessKeys), quorum: cfg.Quorum, issueReceipts: receipts,
		counter: cfg.Counter, statuses: newStatusCache()}, nil
}

// Types returns the certificate types in force, sorted by code.
func (cs *Certificates) Types() []policy.CertificateType {
	return cs.rd.policy.Snapshot().Info().CertificateTypes
}

// DIDDocument returns the issuer's DID document (JSON), served at /.well-known/did.json.
func (cs *Certificates) DIDDocument() []byte { return cs.keys.DIDDocument() }

// Application is an application as its citizen or its department sees it.
type Application = store.Application

// ErrRefused: the citizen does not meet the type's rule. The error names the rule version, never a
// value.
var ErrRefused = errors.New("the certificate was refused")

// Request asks, as a department's official, for a certificate of type code about citizen. The
// official must belong to the type's issuing department; the gathering is decided for their role
// (the type's role or one inheriting it). It returns the application (issued, refused or
// waiting for review) and, when issued, the certificate.
func (cs *Certificates) Request(ctx context.Context, p auth.Principal, code, citizen string) (Application, *store.Certificate, error) {
	t, err := cs.certType(code)
	if err != nil {
		return Application{}, nil, err
	}
	if p.Kind != auth.KindDepartment || p.Department != t.Department {
		return Application{}, nil, fmt.Errorf("%w: certificates of type %s are issued by %s", ErrForbidden, code, t.Department)
	}
	if err := dataset.CheckCitizenID(citizen); err != nil {
		return Application{}, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return cs.run(ctx, p, t, citizen, false)
}

// Apply applies, as a citizen, for a certificate of type code about themselves. The hub gathers as
// the type's issuing role (its entries name the department and role, with the official "hub").
func (cs *Certificates) Apply(ctx context.Context, p auth.Principal, code string) (Application, *store.Certificate, error) {
	if p.Kind != auth.KindCitizen || p.Subject == "" {
		return Application{}, nil, fmt.Errorf("%w: only a citizen applies for their own certificate", ErrForbidden)
	}
	t, err := cs.certType(code)
	if err != nil {
		return Application{}, nil, err
	}
	issuer := auth.Principal{Kind: auth.KindDepartment, Department: t.Department, Role: t.Role, Subject: "hub"}
	return cs.run(ctx, issuer, t, p.Subject, true)
}

// certType returns the type in force.
func (cs *Certificates) certType(code string) (policy.CertificateType, error) {
	t, ok := cs.rd.policy.Snapshot().CertificateType(code)
	if !ok {
		return t, fmt.Errorf("%w: no certificate type %q", ErrInvalid, code)
	}
	return t, nil
}

// compiled returns the compiled rule of t, by rule version.
func (cs *Certificates) compiled(t policy.CertificateType) (*certificate.Rule, error) {
	if r, ok := cs.rules.Load(t.RuleVersion()); ok {
		return r.(*certificate.Rule), nil
	}
	r, err := certificate.Compile(t)
	if err != nil {
		return nil, err
	}
	cs.rules.Store(t.RuleVersion(), r)
	return r, nil
}

// step appends the step entry of app (its status), indexed for the citizen, records it in app and
// stores app.
func (cs *Certificates) step(ctx context.Context, p auth.Principal, t policy.CertificateType, version uint64, app *store.Application, citizen, status string, outcome ledger.Outcome) error {
	st, err := cs.stepEntry(ctx, p, t, version, app, citizen, status, outcome)
	if err != nil {
		return err
	}
	if _, err := cs.appendSteps(ctx, app, st); err != nil {
		return err
	}
	return cs.save(ctx, app)
}

// stepEntry makes the step entry of app moving to status.
func (cs *Certificates) stepEntry(ctx context.Context, p auth.Principal, t policy.CertificateType, version uint64, app *store.Application, citizen, status string, outcome ledger.Outcome) (pendingEntry, error) {
	dept, role, official, err := cs.rd.actor(ctx, p)
	if err != nil {
		return pendingEntry{}, err
	}
	salt, subj, err := cs.rd.subject(citizen)
	if err != nil {
		return pendingEntry{}, err
	}
	e := ledger.Entry{Kind: ledger.KindStep, Time: cs.rd.now(), Department: dept, Role: role, Official: official, Purpose: t.Purpose,
		Policy: version, RequestID: requestID(ctx), Outcome: outcome, Reason: status, Certificate: app.ID, Subjects: [][]byte{subj}}
	return pendingEntry{entry: e, subjects: []subjectRef{{citizen, salt}}, status: status}, nil
}

// appendSteps appends pending, in order, for app's citizen: together, in one ledger write, where
// the ledger can (core.appendAll), and indexed in the citizen's log in one store call. Only
// entries with nothing released between them are appended together: the caller makes them all
// before anything they cover leaves the hub. The steps are then recorded in app (in memory: the
// caller stores it, after whatever else must be stored first), and the receipts returned in
// pending's order. On an error nothing is recorded in app, whose stored state therefore never
// claims a step whose entry is not durable (entries appended before the error stay on the ledger,
// indexed, as a single step's would).
func (cs *Certificates) appendSteps(ctx context.Context, app *store.Application, pending ...pendingEntry) ([]ledger.Receipt, error) {
	rs, err := cs.rd.appendIndexed(ctx, pending)
	if err != nil {
		return nil, err
	}
	recordSteps(app, pending, rs)
	return rs, nil
}

// recordSteps records in app the steps among ps, appended with receipts rs.
func recordSteps(app *store.Application, ps []pendingEntry, rs []ledger.Receipt) {
	for i, p := range ps {
		if p.status != "" {
			app.Status = p.status
			app.Steps = append(app.Steps, store.ApplicationStep{Name: p.status, Time: p.entry.Time, Index: rs[i].Index})
		}
	}
}

// settle appends what of g the gathering's read did not (entryGroup.rest), records g's steps in
// app and stores it; once.
func (cs *Certificates) settle(ctx context.Context, app *store.Application, g *entryGroup) error {
	if g.settled {
		return nil
	}
	if rest := g.rest(); len(rest) > 0 {
		rs, err := cs.rd.appendIndexed(ctx, rest)
		g.appended, g.receipts = append(g.appended, rest[:len(rs)]...), append(g.receipts, rs...)
		if err != nil {
			return err
		}
	}
	g.settled = true
	recordSteps(app, g.appended, g.receipts)
	return cs.save(ctx, app)
}

// save stores app.
func (cs *Certificates) save(ctx context.Context, app *store.Application) error {
	if err := cs.apps.SaveApplication(ctx, *app); err != nil {
		return fmt.Errorf("%w: storing application %s: %v", ErrUnavailable, app.ID, err)
	}
	return nil
}

// run takes an application through its steps.
func (cs *Certificates) run(ctx context.Context, issuer auth.Principal, t policy.CertificateType, citizen string, byCitizen bool) (Application, *store.Certificate, error) {
	appID, err := certificate.NewID(cs.rd.rand, "a-")
	if err != nil {
		return Application{}, nil, err
	}
	name, err := cs.rd.pseudonym(ctx, citizen)
	if err != nil {
		return Application{}, nil, err
	}
	app := store.Application{ID: appID, Type: t.Code, Citizen: citizen, Pseudonym: name, Department: t.Department,
		ByCitizen: byCitizen, Created: cs.rd.now()}
	received, err := cs.stepEntry(ctx, issuer, t, cs.rd.policy.Snapshot().Version(), &app, citizen, store.ApplicationReceived, ledger.OutcomeAllowed)
	if err != nil {
		return app, nil, err
	}
	return cs.decide(ctx, issuer, t, &app, !t.Review, received)
}

// refuse ends app refused for reason (which names a rule or a review, never a value), its refused
// step appended together with the steps before it that are still pending (appendSteps).
func (cs *Certificates) refuse(ctx context.Context, issuer auth.Principal, t policy.CertificateType, app *store.Application, reason string, before ...pendingEntry) (Application, *store.Certificate, error) {
	refused, err := cs.stepEntry(ctx, issuer, t, cs.rd.policy.Snapshot().Version(), app, app.Citizen, store.ApplicationRefused, ledger.OutcomeDenied)
	if err != nil {
		return *app, nil, err
	}
	if _, err := cs.appendSteps(ctx, app, append(before, refused)...); err != nil {
		return *app, nil, err
	}
	app.Reason = reason
	if err := cs.save(ctx, app); err != nil {
		return *app, nil, err
	}
	return *app, nil, fmt.Errorf("%w: %s", ErrRefused, reason)
}

// decide gathers, decides and, when the rule holds, issues (issue) or stops for review. first is
// the step that starts it (received or reviewed), not yet appended: it goes on the ledger with the
// gathering's access entry (entryGroup; nothing is released between them), and the application
// is stored with it once the gathering is logged.
func (cs *Certificates) decide(ctx context.Context, issuer auth.Principal, t policy.CertificateType, app *store.Application, issue bool, first pendingEntry) (Application, *store.Certificate, error) {
	citizen := app.Citizen
	grp := &entryGroup{before: []pendingEntry{first}}
	var (
		g      gathered
		certID string
	)
	rule, err := cs.compiled(t)
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err == nil {
		certID, err = certificate.NewID(cs.rd.rand, "c-")
	}
	if err == nil {
		g, err = cs.gather(ctx, issuer, t, rule, app, certID, grp)
	}
	// The first step goes on the ledger however the gathering ended (with what of the group its
	// read did not append), and the application is stored with it.
	if serr := cs.settle(ctx, app, grp); serr != nil {
		return *app, nil, errors.Join(err, serr)
	}
	if errors.Is(err, ErrNotFound) {
		return cs.refuse(ctx, issuer, t, app, "no such citizen")
	}
	if err != nil {
		return *app, nil, err
	}
	if cur, ok := cs.rd.policy.Snapshot().CertificateType(t.Code); !ok || cur.RuleVersion() != t.RuleVersion() {
		return cs.refuse(ctx, issuer, t, app, fmt.Sprintf("the rule %s changed while the application was gathered; apply again", t.RuleVersion()))
	}
	// From here to the end nothing leaves the hub before the entries that cover it are durable:
	// evaluating the rule is computation on what was gathered (and logged), and the certificate
	// is signed and stored only after its issue entry. So the gathered step and the steps that
	// follow it are appended together (appendSteps): one ledger write, one index write, one save.
	gatheredStep, err := cs.stepEntry(ctx, issuer, t, g.version, app, citizen, store.ApplicationGathered, ledger.OutcomeAllowed)
	if err != nil {
		return *app, nil, err
	}
	out, err := rule.Eval(g.inputs)
	if err != nil {
		// Not decidable (a record missing, say): refused, failing closed, naming the rule only.
		return cs.refuse(ctx, issuer, t, app, fmt.Sprintf("the rule %s could not be decided on the records held", t.RuleVersion()), gatheredStep)
	}
	decidedStep, err := cs.stepEntry(ctx, issuer, t, g.version, app, citizen, store.ApplicationDecided, ledger.OutcomeAllowed)
	if err != nil {
		return *app, nil, err
	}
	if !out.Eligible {
		return cs.refuse(ctx, issuer, t, app, fmt.Sprintf("the rule %s is not met", t.RuleVersion()), gatheredStep, decidedStep)
	}
	if !issue {
		// A clerk of the issuing department reviews (Review); nothing is issued before. The
		// application joins the department's review queue before it is saved as waiting
		// (ReviewQueue: one not yet waiting holds its place).
		if _, err := cs.appendSteps(ctx, app, gatheredStep, decidedStep); err != nil {
			return *app, nil, err
		}
		if err := cs.save(ctx, app); err != nil {
			return *app, nil, err
		}
		if err := cs.apps.QueueForReview(ctx, t.Department, app.ID); err != nil {
			return *app, nil, fmt.Errorf("%w: queueing application %s for review: %v", ErrUnavailable, app.ID, err)
		}
		if err := cs.step(ctx, issuer, t, g.version, app, citizen, store.ApplicationReview, ledger.OutcomeAllowed); err != nil {
			return *app, nil, err
		}
		return *app, nil, nil
	}
	g.proofs = rule.LinkClaims(out, g.proofs)
	iss, err := cs.prepareIssue(ctx, issuer, t, g, out, citizen, certID)
	if errors.Is(err, errDayChanged) {
		return cs.refuse(ctx, issuer, t, app, "the day changed while the application was decided (an age is proven as of the issue date); apply again", gatheredStep, decidedStep)
	}
	if err != nil {
		return *app, nil, err
	}
	issuedStep, err := cs.stepEntry(ctx, issuer, t, g.version, app, citizen, store.ApplicationIssued, ledger.OutcomeAllowed)
	if err != nil {
		return *app, nil, err
	}
	// The issued step goes with the issue entry: the application is stored as issued only once the
	// certificate is (a failure between leaves the ledger saying more than the store, as an issue
	// entry whose certificate could not be stored always did; never the other way round).
	rs, err := cs.appendSteps(ctx, app, gatheredStep, decidedStep, iss.pendingEntry, issuedStep)
	if err != nil {
		return *app, nil, err
	}
	cert, err := cs.storeIssued(ctx, iss, rs[2])
	if err != nil {
		return *app, nil, err
	}
	app.Certificate = cert.ID
	if err := cs.save(ctx, app); err != nil {
		return *app, cert, err
	}
	return *app, cert, nil
}

// Review decides, as an official of the issuing department, an application waiting for review:
// approved, it goes on under the type's rule in force (a reviewed step, then gathered and decided
// again, so the certificate rests on the data of the moment it is issued) to issued or refused;
// rejected, it is refused with the reviewer's reason (kept with the application, off the ledger,
// whose refused step names no reason).
func (cs *Certificates) Review(ctx context.Context, p auth.Principal, appID string, approve bool, reason string) (Application, *store.Certificate, error) {
	if p.Kind != auth.KindDepartment {
		return Application{}, nil, fmt.Errorf("%w: the issuing department reviews", ErrForbidden)
	}
	app, err := cs.apps.Application(ctx, appID)
	if errors.Is(err, store.ErrNotFound) || err == nil && app.Department != p.Department {
		return Application{}, nil, fmt.Errorf("%w: no application %q for %s", ErrInvalid, appID, p.Department)
	}
	if err != nil {
		return Application{}, nil, err
	}
	if app.Status != store.ApplicationReview {
		return app, nil, fmt.Errorf("%w: application %s is %s, not waiting for review", ErrConflict, appID, app.Status)
	}
	t, err := cs.certType(app.Type)
	if err != nil {
		return app, nil, err
	}
	if !approve {
		r := strings.TrimSpace(reason)
		if r == "" || len(r) > 1000 {
			return app, nil, fmt.Errorf("%w: a rejection needs a reason (1 to 1,000 bytes)", ErrInvalid)
		}
		return cs.refuse(ctx, p, t, &app, "rejected at review: "+r)
	}
	reviewed, err := cs.stepEntry(ctx, p, t, cs.rd.policy.Snapshot().Version(), &app, app.Citizen, store.ApplicationReviewed, ledger.OutcomeAllowed)
	if err != nil {
		return app, nil, err
	}
	return cs.decide(ctx, p, t, &app, true, reviewed)
}

// gathered is what gathering found.
type gathered struct {
	version uint64
	inputs  certificate.Inputs
	proofs  []certificate.ProofEvidence
}

// gather reads what rule needs of app's citizen (and spouse), as issuer. The read's access entry
// and the family lookup's go on the ledger together with grp's entries (entryGroup), before
// anything read is used.
func (cs *Certificates) gather(ctx context.Context, issuer auth.Principal, t policy.CertificateType, rule *certificate.Rule, app *store.Application, certID string, grp *entryGroup) (gathered, error) {
	citizen := app.Citizen
	snap := cs.rd.policy.Snapshot()
	preds, err := rule.Grants(ctx, snap)
	if err != nil {
		// The policy in force no longer grants what the type reads: governance refuses such a
		// version, so this is a type stored without the check. Fail closed.
		return gathered{}, fmt.Errorf("%w: %v", ErrForbidden, err)
	}
	n := rule.Needs
	fields := map[string]Want{}
	for _, f := range n.Reveal {
		fields[f] = WantValue
	}
	for _, f := range n.Present {
		fields[f] |= WantCommitment
	}
	for f, ps := range preds {
		fields[f] |= WantCommitment
		for _, p := range ps {
			fields[ProofKey(f, p.Name)] = WantValue
		}
	}
	for _, ds := range n.Lists {
		for _, f := range plainFields(ds) {
			fields[f] = WantValue
		}
	}
	g := gathered{inputs: certificate.Inputs{}}
	var spouse *spouseLookup
	if len(n.SpouseLists) > 0 {
		if spouse, err = cs.lookupSpouse(ctx, issuer, t, n.SpouseLists, citizen); err != nil {
			return g, err
		}
		if spouse != nil {
			grp.after = append(grp.after, spouse.entry)
		}
	}
	if len(fields) > 0 {
		// The proofs are bound to the certificate id: the gather's request id.
		gctx := usecase.WithRequestID(ctx, certID)
		view, err := cs.rd.ReadCitizen(gctx, issuer, ReadRequest{Citizen: citizen, Purpose: t.Purpose, Fields: fields,
			Request: []byte("certificate " + t.RuleVersion() + " " + certID), group: grp})
		if err != nil {
			return g, err
		}
		g.version = view.PolicyVersion
		for f, want := range fields {
			if strings.Contains(f, ":") {
				continue
			}
			if need := policy.Commit; want&WantValue != 0 && view.Levels[f] < policy.Reveal || view.Levels[f] < need {
				return g, fmt.Errorf("%w: %s/%s may not gather %s for %s", ErrForbidden, issuer.Department, issuer.Role, f, t.Purpose)
			}
		}
		inputsFromView(view, n, preds, g.inputs, &g.proofs)
	} else {
		g.version = snap.Version()
		// No read of the citizen's own records: the group goes on the ledger by itself.
		if err := cs.settle(ctx, app, grp); err != nil {
			return g, err
		}
	}
	for _, ds := range n.SpouseLists {
		g.inputs[certificate.SpousePrefix+ds] = []map[string]any{}
	}
	if spouse != nil {
		spouse.use(g.inputs) // its entry is durable: appended with the read's, or by settle
	}
	return g, nil
}

// plainFields are the non-sensitive fields of a dataset, as "dataset.field".
func plainFields(ds string) []string {
	d, _ := dataset.Lookup(ds)
	var out []string
	for i := range d.Fields {
		if !d.Fields[i].Sensitive {
			out = append(out, d.Fields[i].Path())
		}
	}
	return out
}

// inputsFromView turns a gathered view into the rule's inputs and the proof evidence.
func inputsFromView(view *CitizenView, n certificate.Needs, preds map[string][]policy.Predicate, in certificate.Inputs, proofs *[]certificate.ProofEvidence) {
	value := func(path string) (FieldValue, bool) {
		ds, f, _ := strings.Cut(path, ".")
		dv := view.Datasets[ds]
		if dv == nil || len(dv.Items) == 0 {
			return FieldValue{}, false
		}
		v, ok := dv.Items[0][f]
		return v, ok
	}
	for _, f := range n.Reveal {
		if v, ok := value(f); ok && v.Value != nil {
			in[f] = v.Value
		}
	}
	for _, f := range n.Present {
		v, ok := value(f)
		s, _ := in[f].(certificate.Sealed)
		s.Present = ok && v.Commitment != nil
		in[f] = s
	}
	for _, f := range sortedKeys(preds) {
		v, ok := value(f)
		s, _ := in[f].(certificate.Sealed)
		s.Present = ok && v.Commitment != nil
		s.Holds = map[policy.Statement]bool{}
		for _, p := range preds[f] {
			pr, answered := v.Proofs[p.Name]
			if !answered {
				continue // no value: the comparison stays undecided
			}
			s.Holds[p.Statement] = pr.Holds
			if pr.Holds {
				pe := certificate.ProofEvidence{Field: f, Predicate: p.Name, Statement: p.Statement,
					Commitment: v.Commitment.Point, Proof: base64.StdEncoding.EncodeToString(pr.Proof)}
				if p.Statement.OnDates() {
					// The day asked and the threshold it gives: what the proof's statement and context
					// are made of (certificate.ProofEvidence.RangeStatement), stated so that a verifier
					// can check them against the issue date. A threshold that cannot be stated fails
					// verification, never issuance silently: issue checks the day.
					pe.On = pr.On
					pe.Threshold, _ = certificate.AgeThresholdDate(pr.On, p.Statement.Min)
				}
				*proofs = append(*proofs, pe)
			}
		}
		in[f] = s
	}
	for _, ds := range n.Lists {
		in[ds] = listItems(view.Datasets[ds])
	}
}

// listItems are the plain values of a list dataset's items.
func listItems(dv *DatasetView) []map[string]any {
	out := []map[string]any{}
	if dv == nil {
		return out
	}
	for _, item := range dv.Items {
		m := map[string]any{}
		for k, v := range item {
			if v.Value != nil {
				m[k] = v.Value
			}
		}
		out = append(out, m)
	}
	return out
}

// issuing is a certificate made but not yet signed: its unsigned document and its issue entry,
// still to append.
type issuing struct {
	pendingEntry
	doc     map[string]any
	now     time.Time
	t       policy.CertificateType
	citizen string
	certID  string
}

// prepareIssue makes the certificate's unsigned document and its issue entry (whose record line is
// the document's digest). The entry is appended (with the steps around it) before storeIssued
// signs and stores the certificate: issue entry first, then the store.
func (cs *Certificates) prepareIssue(ctx context.Context, issuer auth.Principal, t policy.CertificateType, g gathered, out certificate.Outcome, citizen, certID string) (issuing, error) {
	now := cs.rd.now().UTC().Truncate(time.Second)
	for _, p := range g.proofs {
		// An age is proven as of the day it was asked, which must be the issue date: a verifier
		// derives the threshold from validFrom. Checked before anything is appended.
		if _, _, err := p.RangeStatement(certID, now); err != nil {
			return issuing{}, fmt.Errorf("%w: %v", errDayChanged, err)
		}
	}
	doc := certificate.Unsigned(certificate.Issuance{ID: certID, Issuer: cs.did, Type: t, PolicyVersion: g.version, Issued: now,
		Claims: out.Claims, Proofs: g.proofs, StatusURL: cs.base + "/verify/" + certID + "/status.json"})
	digest, err := certificate.RecordDigest(doc)
	if err != nil {
		return issuing{}, err
	}
	dept, role, official, err := cs.rd.actor(ctx, issuer)
	if err != nil {
		return issuing{}, err
	}
	salt, subj, err := cs.rd.subject(citizen)
	if err != nil {
		return issuing{}, err
	}
	e := ledger.Entry{Kind: ledger.KindIssue, Time: now, Department: dept, Role: role, Official: official, Purpose: t.Purpose, Policy: g.version,
		RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Reason: t.Code, Record: digest, Certificate: certID, Subjects: [][]byte{subj}}
	for _, p := range g.proofs {
		e.Fields = appendProved(e.Fields, p.Field, p.Predicate)
	}
	return issuing{pendingEntry: pendingEntry{entry: e, subjects: []subjectRef{{citizen, salt}}}, doc: doc, now: now, t: t, citizen: citizen, certID: certID}, nil
}

// storeIssued signs and stores the certificate iss prepared, whose issue entry r acknowledges.
func (cs *Certificates) storeIssued(ctx context.Context, iss issuing, r ledger.Receipt) (*store.Certificate, error) {
	t, citizen, certID, doc, now := iss.t, iss.citizen, iss.certID, iss.doc, iss.now
	if err := certificate.SetIssueEntry(doc, r.Index); err != nil {
		return nil, err
	}
	key, _ := cs.keys.signing()
	signed, err := certificate.Sign(doc, key, cs.did, now)
	if err != nil {
		return nil, fmt.Errorf("signing certificate %s: %w", certID, err)
	}
	name, err := cs.rd.pseudonym(ctx, citizen)
	if err != nil {
		return nil, err
	}
	c := store.Certificate{ID: certID, Type: t.Code, RuleVersion: t.RuleVersion(), Department: t.Department, Pseudonym: name,
		Credential: signed, Issued: now, IssueIndex: r.Index}
	if err := cs.store.AddCertificate(ctx, c); err != nil {
		return nil, fmt.Errorf("%w: storing certificate %s (issued at entry %d): %v", ErrUnavailable, certID, r.Index, err)
	}
	return &c, nil
}

// errDayChanged: an age proof was asked on another day than the one the certificate would be
// issued on (gathered just before midnight UTC, issued after).
var errDayChanged = errors.New("the day changed between gathering and issuing")

// appendProved adds predicate to field's proved list in fs.
func appendProved(fs []ledger.Field, field, predicate string) []ledger.Field {
	for i := range fs {
		if fs[i].Name == field {
			if !slices.Contains(fs[i].Proved, predicate) {
				fs[i].Proved = append(fs[i].Proved, predicate)
			}
			return fs
		}
	}
	return append(fs, ledger.Field{Name: field, Level: policy.Prove.String(), Proved: []string{predicate}})
}

// Revoke revokes a certificate with a reason (a code: lower-case words joined by hyphens, such as
// "issued-in-error"), as an official of its issuing department: a revoke entry whose about line is
// the issue entry, then the stored status.
func (cs *Certificates) Revoke(ctx context.Context, p auth.Principal, id, reason string) (store.Certificate, error) {
	if p.Kind != auth.KindDepartment {
		return store.Certificate{}, fmt.Errorf("%w: the issuing department revokes", ErrForbidden)
	}
	if !isReasonCode(reason) {
		return store.Certificate{}, fmt.Errorf("%w: the reason is a code, lower-case words joined by hyphens (issued-in-error)", ErrInvalid)
	}
	c, err := cs.store.Certificate(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.Department != p.Department {
		return store.Certificate{}, fmt.Errorf("%w: no certificate %q issued by %s", ErrInvalid, id, p.Department)
	}
	if err != nil {
		return store.Certificate{}, err
	}
	if c.Revoked {
		return store.Certificate{}, fmt.Errorf("%w: certificate %s was revoked already", ErrConflict, id)
	}
	dept, role, official, err := cs.rd.actor(ctx, p)
	if err != nil {
		return store.Certificate{}, err
	}
	now := cs.rd.now().UTC().Truncate(time.Second)
	e := ledger.Entry{Kind: ledger.KindRevoke, Time: now, Department: dept, Role: role, Official: official, Policy: cs.rd.policy.Snapshot().Version(),
		RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Reason: reason, About: c.IssueIndex, Certificate: id}
	r, err := cs.rd.appendEntry(ctx, e)
	if err != nil {
		return store.Certificate{}, err
	}
	c.Revoked, c.RevokedAt, c.RevokeReason, c.RevokeIndex = true, now, reason, r.Index
	c.VerifiedAt = nil // when it was verified is the holder's to see, not the issuer's
	if err := cs.store.RevokeCertificate(ctx, c); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Certificate{}, fmt.Errorf("%w: certificate %s was revoked meanwhile", ErrConflict, id)
		}
		return store.Certificate{}, fmt.Errorf("%w: storing the revocation of %s (entry %d): %v", ErrUnavailable, id, r.Index, err)
	}
	return c, nil
}

func isReasonCode(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ErrNoCertificate: no certificate has this id, or its holder disabled its link.
var ErrNoCertificate = errors.New("no such certificate")

// Verify returns the verification document of a certificate (certificate.Verification, JSON) and
// counts the verification. Public: no principal. A certificate whose link its holder disabled is
// ErrNoCertificate, as is an unknown id; one whose issue entry is not yet under a published
// checkpoint is ErrNotPublished (retry shortly).
func (cs *Certificates) Verify(ctx context.Context, id string) ([]byte, error) {
	if !certificate.IsID(id) {
		return nil, ErrNoCertificate
	}
	c, err := cs.store.Certificate(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.LinkDisabled {
		return nil, ErrNoCertificate
	}
	if err != nil {
		return nil, err
	}
	receipt, ok := cs.issueReceipts.Get(c.IssueIndex)
	if !ok {
		if receipt, err = ReceiptOf(ctx, cs.pub, cs.proofs, c.IssueIndex); err != nil {
			return nil, err
		}
		cs.issueReceipts.Add(c.IssueIndex, receipt)
	}
	if cs.counter != nil {
		c.Verifications += cs.counter.Count(id)
	} else {
		if err := cs.store.AddVerifications(ctx, id, []time.Time{cs.rd.now().UTC().Truncate(time.Second)}); err != nil {
			return nil, err
		}
		c.Verifications++
	}
	status, didDoc, err := cs.signedStatus(c)
	if err != nil {
		return nil, err
	}
	revoke, err := cs.revokeReceipt(ctx, c)
	if err != nil {
		return nil, err
	}
	return json.Marshal(certificate.Verification{Format: certificate.VerificationFormat, Credential: c.Credential, Status: status,
		IssueReceipt: string(receipt.Marshal()), DIDDocument: didDoc, LogKey: cs.logKey, WitnessKeys: cs.wkeys, Quorum: cs.quorum,
		Verifications: c.Verifications, RevokeReceipt: revoke})
}

// Status returns the signed status file of a certificate (certificate.StatusFile, JSON), signed
// now. Public; not counted. ErrNoCertificate as Verify.
func (cs *Certificates) Status(ctx context.Context, id string) ([]byte, error) {
	if !certificate.IsID(id) {
		return nil, ErrNoCertificate
	}
	c, err := cs.store.Certificate(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.LinkDisabled {
		return nil, ErrNoCertificate
	}
	if err != nil {
		return nil, err
	}
	status, didDoc, err := cs.signedStatus(c)
	if err != nil {
		return nil, err
	}
	revoke, err := cs.revokeReceipt(ctx, c)
	if err != nil {
		return nil, err
	}
	return json.Marshal(certificate.StatusFile{Format: certificate.StatusFormat, Status: status, DIDDocument: didDoc, RevokeReceipt: revoke})
}

// revokeReceipt returns the receipt of a revoked certificate's revoke entry (C2SP tlog-proof text)
// under the latest witness-cosigned checkpoint, or "" when c is not revoked or the entry is not
// published yet (the signed status says revoked meanwhile; the receipt follows within the
// publication interval). Receipts are kept as issue receipts are.
func (cs *Certificates) revokeReceipt(ctx context.Context, c store.Certificate) (string, error) {
	if !c.Revoked {
		return "", nil
	}
	receipt, ok := cs.issueReceipts.Get(c.RevokeIndex)
	if !ok {
		var err error
		receipt, err = ReceiptOf(ctx, cs.pub, cs.proofs, c.RevokeIndex)
		if errors.Is(err, ErrNotPublished) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		cs.issueReceipts.Add(c.RevokeIndex, receipt)
	}
	return string(receipt.Marshal()), nil
}

// signedStatus signs c's status as of now (the current second) with the current credential key,
// or returns the one signed for that second and state, with the DID document that lists the
// current key and those before it (a status signed in the second of a key rotation by the key
// before is still listed there).
func (cs *Certificates) signedStatus(c store.Certificate) ([]byte, []byte, error) {
	now := cs.rd.now().UTC().Truncate(time.Second)
	key, didDoc := cs.keys.signing()
	pub := key.Public().(ed25519.PublicKey)
	if b, ok := cs.statuses.get(c.ID, now, c.Revoked, pub); ok {
		return b, didDoc, nil
	}
	b, err := cs.signStatus(c, now, key)
	if err == nil {
		cs.statuses.put(c.ID, now, c.Revoked, pub, b)
	}
	return b, didDoc, err
}

// signStatus signs c's status as of now with key.
func (cs *Certificates) signStatus(c store.Certificate, now time.Time, key ed25519.PrivateKey) ([]byte, error) {
	st := certificate.Status{Certificate: c.ID, State: certificate.StatusValid, AsOf: now}
	if c.Revoked {
		st.State, st.RevokedAt, st.Reason, st.RevokeEntry = certificate.StatusRevoked, c.RevokedAt, c.RevokeReason, c.RevokeIndex
		if st.AsOf.Before(c.RevokedAt) {
			st.AsOf = c.RevokedAt
		}
	}
	return certificate.Sign(certificate.UnsignedStatus(cs.did, st), key, cs.did, now)
}

// MyApplications returns a citizen's applications, newest first (at most 100), with their steps,
// and the certificates issued for them, by id.
func (cs *Certificates) MyApplications(ctx context.Context, p auth.Principal) ([]Application, map[string]store.Certificate, error) {
	if p.Kind != auth.KindCitizen || p.Subject == "" {
		return nil, nil, fmt.Errorf("%w: a citizen's own applications", ErrForbidden)
	}
	name, err := cs.rd.pseudonym(ctx, p.Subject)
	if err != nil {
		return nil, nil, err
	}
	apps, err := cs.apps.Applications(ctx, name, 100)
	if err != nil {
		return nil, nil, err
	}
	certs := map[string]store.Certificate{}
	for _, a := range apps {
		if a.Certificate == "" {
			continue
		}
		c, err := cs.certificate(ctx, a.Certificate)
		if err != nil {
			return nil, nil, err
		}
		certs[c.ID] = c
	}
	// Log before release, as every read of a citizen's own data.
	if err := cs.logSelf(ctx, p, "my-applications", ""); err != nil {
		return nil, nil, err
	}
	return apps, certs, nil
}

// logSelf appends the self-access entry of a citizen reading their own applications or
// certificates (actor citizen/citizen, as Citizens.Records): reason names what was read, and
// certID the certificate when one was. Indexed in the citizen's log, where it shows as SELF.
func (cs *Certificates) logSelf(ctx context.Context, p auth.Principal, reason, certID string) error {
	salt, subj, err := cs.rd.subject(p.Subject)
	if err != nil {
		return err
	}
	e := ledger.Entry{Kind: ledger.KindAccess, Time: cs.rd.now(), Department: string(auth.KindCitizen), Role: string(auth.KindCitizen),
		Policy: cs.rd.policy.Snapshot().Version(), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Reason: reason,
		Certificate: certID, Subjects: [][]byte{subj}}
	_, err = cs.rd.appendFor(ctx, e, p.Subject, salt)
	return err
}

// MyCertificate returns one of the citizen's own certificates (ErrNoCertificate for any other),
// after logging the read as a self-access naming the certificate.
func (cs *Certificates) MyCertificate(ctx context.Context, p auth.Principal, id string) (store.Certificate, error) {
	c, err := cs.ownCertificate(ctx, p, id)
	if err != nil {
		return c, err
	}
	if err := cs.logSelf(ctx, p, "my-certificate", c.ID); err != nil {
		return store.Certificate{}, err
	}
	return c, nil
}

// ownCertificate reads one of the citizen's own certificates (ErrNoCertificate for any other).
func (cs *Certificates) ownCertificate(ctx context.Context, p auth.Principal, id string) (store.Certificate, error) {
	if p.Kind != auth.KindCitizen || p.Subject == "" {
		return store.Certificate{}, fmt.Errorf("%w: a citizen's own certificates", ErrForbidden)
	}
	c, err := cs.certificate(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !cs.rd.names.named(c.Pseudonym, p.Subject) {
		return store.Certificate{}, ErrNoCertificate
	}
	return c, err
}

// SetLink turns the public verification link of one of the citizen's own certificates off
// (disabled) or on again. The answer carries the certificate, so the change is a self-access
// entry first (reason certificate-link-off or certificate-link-on), as MyCertificate's read is.
func (cs *Certificates) SetLink(ctx context.Context, p auth.Principal, id string, disabled bool) (store.Certificate, error) {
	c, err := cs.ownCertificate(ctx, p, id)
	if err != nil {
		return c, err
	}
	reason := "certificate-link-on"
	if disabled {
		reason = "certificate-link-off"
	}
	if err := cs.logSelf(ctx, p, reason, c.ID); err != nil {
		return store.Certificate{}, err
	}
	if err := cs.store.SetCertificateLink(ctx, id, disabled); err != nil {
		return c, err
	}
	c.LinkDisabled = disabled
	return c, nil
}
