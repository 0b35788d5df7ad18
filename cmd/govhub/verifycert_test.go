package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

const certDoc = `
fragment C on Certificate { id type ruleVersion issued issueEntry credential verifyPath revoked revokedAt revokeReason verifications linkEnabled }
mutation($type: String!, $citizen: ID!) {
  requestCertificate(type: $type, citizenId: $citizen) { id type status reason steps { name time index } certificate { ...C } }
}`

// demoFacts are what the test knows of a demo citizen from the generator (never from the hub).
type demoFacts struct {
	id       string
	hukou    string
	months   int64
	homes    int // the citizen's and their spouse's properties
	spouseIn bool
}

func factsOf(g *demo.Generator, i, n int) demoFacts {
	c := g.Citizen(i)
	f := demoFacts{id: c.ID, months: -1, spouseIn: true}
	if r := c.Records["identity"]; len(r) > 0 {
		f.hukou, _ = r[0]["hukouCity"].(string)
	}
	if r := c.Records["socialInsurance"]; len(r) > 0 {
		if m, ok := r[0]["contributionMonths"].(int64); ok {
			f.months = m
		}
	}
	f.homes = len(c.Records["property"])
	if r := c.Records["marriage"]; len(r) > 0 {
		if sp, ok := r[0]["spouseCitizenId"].(string); ok {
			j, _ := strconv.Atoi(strings.TrimPrefix(sp, "C"))
			if j > n {
				f.spouseIn = false
			} else {
				f.homes += len(g.Citizen(j).Records["property"])
			}
		}
	}
	return f
}

// getJSON fetches a public path, retrying while the issuance waits for a checkpoint.
func (h *testHub) getJSON(path string) (int, []byte) {
	h.t.Helper()
	for range 100 {
		w := httptest.NewRecorder()
		h.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusServiceUnavailable {
			return w.Code, w.Body.Bytes()
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("GET %s: still unavailable", path)
	return 0, nil
}

// containsNumber reports whether the JSON text holds n as a number, or as a string that is n in
// decimal, anywhere.
func containsNumber(t *testing.T, text []byte, n int64) bool {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", text, err)
	}
	want := strconv.FormatInt(n, 10)
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case json.Number:
			return v.String() == want
		case string:
			if v == want {
				return true
			}
			if strings.HasPrefix(strings.TrimSpace(v), "{") { // embedded JSON (the credential)
				var inner any
				d := json.NewDecoder(strings.NewReader(v))
				d.UseNumber()
				if d.Decode(&inner) == nil {
					return walk(inner)
				}
			}
		case map[string]any:
			for _, x := range v {
				if walk(x) {
					return true
				}
			}
		case []any:
			for _, x := range v {
				if walk(x) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// entryHasToken reports whether a ledger entry's text has n in decimal as a whole token.
func entryHasToken(raw []byte, n int64) bool {
	want := strconv.FormatInt(n, 10)
	for _, tok := range strings.Fields(strings.NewReplacer(":", " ", "/", " ").Replace(string(raw))) {
		if tok == want {
			return true
		}
	}
	return false
}

func (h *testHub) verifyCert(t *testing.T, file string, extra ...string) (string, error) {
	t.Helper()
	return h.verifyCertWith(t, file, h.app.keys.log.VerifierKey, extra...)
}

func (h *testHub) verifyCertWith(t *testing.T, file, logKey string, extra ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	args := append([]string{"verify-certificate", file, "--log-key", logKey}, extra...)
	err := run(t.Context(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

// The housing clerk obtains a home-purchase eligibility certificate for a citizen who qualifies only
// through contribution months; nothing carries the months; the certificate verifies offline and
// any changed byte fails; a citizen who does not qualify is refused by the rule's name; a rule
// change through proposal and approval names a new rule version while the old certificate still
// verifies; a revocation shows offline with a newer status file.
func TestCertificateAcceptance(t *testing.T) {
	const n = 60
	h := startHub(t, n)
	qualifies, fails := homePurchaseCases(t, h, n)
	clerk := h.token(housingClerk)
	before, _ := h.entries()

	r := h.query(clerk, certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": qualifies.id})
	if len(r.Errors) > 0 {
		t.Fatalf("requestCertificate: %+v", r.Errors)
	}
	app := r.Data["requestCertificate"].(map[string]any)
	if app["status"] != "issued" {
		t.Fatalf("application = %v, want issued", app)
	}
	var steps []string
	for _, s := range app["steps"].([]any) {
		steps = append(steps, s.(map[string]any)["name"].(string))
	}
	if got := strings.Join(steps, ","); got != "received,gathered,decided,issued" {
		t.Errorf("steps = %s", got)
	}
	cert := app["certificate"].(map[string]any)
	id := cert["id"].(string)
	if cert["ruleVersion"] != "home-purchase-eligibility@1" {
		t.Errorf("ruleVersion = %v", cert["ruleVersion"])
	}
	if containsNumber(t, mustJSON(t, r.Raw.Data), qualifies.months) {
		t.Errorf("the response carries the contribution months %d", qualifies.months)
	}
	var credential map[string]any
	if err := json.Unmarshal([]byte(cert["credential"].(string)), &credential); err != nil {
		t.Fatal(err)
	}
	claims := credential["credentialSubject"].(map[string]any)["claims"].(map[string]any)
	if claims["eligible"] != true {
		t.Errorf("claims = %v", claims)
	}
	after, raws := h.entries()
	kinds := map[ledger.Kind]int{}
	for i := len(before); i < len(after); i++ {
		kinds[after[i].Kind]++
		if entryHasToken(raws[i], qualifies.months) {
			t.Errorf("ledger entry %d carries the months %d:\n%s", i, qualifies.months, raws[i])
		}
		if bytes.Contains(raws[i], []byte(qualifies.id)) {
			t.Errorf("ledger entry %d carries the citizen id", i)
		}
	}
	if kinds[ledger.KindStep] != 4 || kinds[ledger.KindIssue] != 1 || kinds[ledger.KindAccess] < 1 {
		t.Errorf("entries of the issuance: %v", kinds)
	}
	family := 0
	for _, e := range after[len(before):] {
		if e.Kind == ledger.KindAccess && e.Reason == "family-lookup" {
			family++
			if len(e.Subjects) != 2 {
				t.Errorf("the family lookup names %d citizens, want 2", len(e.Subjects))
			}
		}
	}
	if married := len(h.gen.Citizen(mustIndex(qualifies.id)).Records["marriage"]) > 0 &&
		h.gen.Citizen(mustIndex(qualifies.id)).Records["marriage"][0]["spouseCitizenId"] != nil; married != (family == 1) {
		t.Errorf("married %v, family lookups %d", married, family)
	}

	// Offline verification, and a changed byte fails.
	code, body := h.getJSON("/verify/" + id + ".json")
	if code != http.StatusOK {
		t.Fatalf("GET /verify/%s.json = %d %s", id, code, body)
	}
	if containsNumber(t, body, qualifies.months) {
		t.Errorf("the verification document carries the months")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "cert.json")
	os.WriteFile(file, body, 0o600)
	out, err := h.verifyCert(t, file)
	if err != nil || !strings.HasPrefix(out, "VALID: certificate "+id) || !strings.Contains(out, "1 threshold proof(s) verified") {
		t.Fatalf("verify-certificate = %v\n%s", err, out)
	}
	t.Logf("verify-certificate:\n%s", out)
	var v certificate.Verification
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	for i := 0; i < len(v.Credential); i += max(1, len(v.Credential)/97) {
		c := bytes.Clone(v.Credential)
		c[i] ^= 0x01
		w := v
		w.Credential = c
		raw, _ := json.Marshal(w)
		if len(raw) == 0 { // not JSON any more: refused by the reader, as it should be
			continue
		}
		os.WriteFile(bad, raw, 0o600)
		if out, err := h.verifyCert(t, bad); err == nil {
			t.Errorf("byte %d of the credential changed (%q): verify-certificate = nil\n%s", i, v.Credential[i], out)
		}
	}
	// A different log key fails.
	otherLog, err := keysNoteVerifier("other.example/log")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := h.verifyCertWith(t, file, otherLog); err == nil {
		t.Errorf("verify-certificate with another log key = nil\n%s", out)
	}

	// Refused by the rule's name, never a value.
	r = h.query(clerk, certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": fails.id})
	if len(r.Errors) > 0 {
		t.Fatalf("requestCertificate(not qualifying): %+v", r.Errors)
	}
	refused := r.Data["requestCertificate"].(map[string]any)
	if refused["status"] != "refused" || !strings.Contains(refused["reason"].(string), "home-purchase-eligibility@1") || refused["certificate"] != nil {
		t.Errorf("application = %v, want refused naming the rule", refused)
	}
	if containsNumber(t, mustJSON(t, r.Raw.Data), fails.months) {
		t.Errorf("the refusal carries the months")
	}

	// A rule change through proposal and approval: new certificates name the new version, the old
	// one still verifies.
	officerA := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-a"}
	officerB := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-b"}
	snap := h.app.reader.Policy()
	typ, _ := snap.CertificateType("home-purchase-eligibility")
	// The hukou city that qualifies moves from 上海市 to the refused citizen's.
	typ.Rule = `(identity.hukouCity == "` + fails.hukou + `" || socialInsurance.contributionMonths >= 60) && size(property) + size(spouse.property) < 2`
	prop, err := h.app.officers.ProposePolicyChange(t.Context(), officerA, policy.Change{ReplaceCertificateTypes: []policy.CertificateType{typ}}, "the qualifying hukou city changes")
	if err != nil {
		t.Fatalf("ProposePolicyChange = %v", err)
	}
	// The proposal shows how many citizens the change moves, as the generator's records say.
	wantIn, wantOut := 0, 0
	for i := 1; i <= n; i++ {
		f := factsOf(h.gen, i, n)
		was := (f.hukou == "上海市" || f.months >= 60) && f.homes < 2
		is := (f.hukou == fails.hukou || f.months >= 60) && f.homes < 2
		switch {
		case was && !is:
			wantOut++
		case is && !was:
			wantIn++
		}
	}
	want := governance.CertificateImpact{Type: "home-purchase-eligibility", Citizens: n, Eligible: wantIn, Ineligible: wantOut}
	if len(prop.CertificateImpact) != 1 || prop.CertificateImpact[0] != want || wantIn == 0 {
		t.Errorf("certificate impact = %+v, want %+v", prop.CertificateImpact, want)
	}
	t.Logf("the change turns %d of %d citizens eligible and %d ineligible", wantIn, n, wantOut)
	previews := 0
	all, _ := h.entries()
	for _, e := range all {
		if e.Kind == ledger.KindAccess && e.Reason == "certificate-preview" {
			previews++
			if len(e.Subjects) != 0 || e.Department != "privacy-office" {
				t.Errorf("the preview entry names %d citizens, actor %s", len(e.Subjects), e.Department)
			}
		}
	}
	if previews != 1 {
		t.Errorf("%d preview entries, want 1", previews)
	}
	if _, err := h.app.officers.ApprovePolicyChange(t.Context(), officerB, prop.ID); err != nil {
		t.Fatalf("ApprovePolicyChange = %v", err)
	}
	r = h.query(clerk, certDoc, map[string]any{"type": "home-purchase-eligibility", "citizen": qualifies.id})
	newCert, _ := r.Data["requestCertificate"].(map[string]any)["certificate"].(map[string]any)
	if newCert == nil || newCert["ruleVersion"] != "home-purchase-eligibility@2" {
		t.Fatalf("after the change: %+v %+v", r.Data, r.Errors)
	}
	code, body = h.getJSON("/verify/" + id + ".json")
	os.WriteFile(file, body, 0o600)
	if out, err := h.verifyCert(t, file); err != nil || !strings.Contains(out, "rule home-purchase-eligibility@1") {
		t.Errorf("the old certificate after the change: %v\n%s", err, out)
	}
	// A type whose rule reads what its issuer may not is refused when proposed.
	typ.Rule = `tax.annualIncome >= 100000`
	if _, err := h.app.officers.ProposePolicyChange(t.Context(), officerA, policy.Change{ReplaceCertificateTypes: []policy.CertificateType{typ}}, "income"); err == nil ||
		!strings.Contains(err.Error(), "no catalogued predicate") {
		t.Errorf("proposing a rule on an ungranted value = %v", err)
	}

	// Revocation: the status file newer than it says revoked offline.
	r = h.query(clerk, `mutation($id: ID!) { revokeCertificate(id: $id, reason: "issued-in-error") { revoked revokedAt revokeReason } }`, map[string]any{"id": id})
	if len(r.Errors) > 0 || r.Data["revokeCertificate"].(map[string]any)["revoked"] != true {
		t.Fatalf("revokeCertificate = %+v %+v", r.Data, r.Errors)
	}
	code, status := h.getJSON("/verify/" + id + "/status.json")
	if code != http.StatusOK {
		t.Fatalf("GET status = %d %s", code, status)
	}
	statusFile := filepath.Join(dir, "status.json")
	os.WriteFile(statusFile, status, 0o600)
	out, err = h.verifyCert(t, file, "--status", statusFile) // file holds the status from before the revocation
	if err == nil || !strings.HasPrefix(out, "REVOKED: certificate "+id) || !strings.Contains(out, "issued-in-error") {
		t.Errorf("verify-certificate --status (revoked) = %v\n%s", err, out)
	}
	if out, err := h.verifyCert(t, file); err != nil || !strings.HasPrefix(out, "VALID") {
		t.Errorf("without the newer status: %v\n%s", err, out)
	}
	// Once the revoke entry is published, the status carries its receipt, checked on the log.
	var sf certificate.StatusFile
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, status = h.getJSON("/verify/" + id + "/status.json")
		if err := json.Unmarshal(status, &sf); err != nil {
			t.Fatal(err)
		}
		if sf.RevokeReceipt != "" || time.Now().After(deadline) {
			break
		}
	}
	if sf.RevokeReceipt == "" {
		t.Fatal("the revoked certificate's status never carried its revoke receipt")
	}
	os.WriteFile(statusFile, status, 0o600)
	out, err = h.verifyCert(t, file, "--status", statusFile)
	if err == nil || !strings.HasPrefix(out, "REVOKED: certificate "+id) || !strings.Contains(out, "is on the log under a checkpoint cosigned") {
		t.Errorf("verify-certificate --status (revoked, with its receipt) = %v\n%s", err, out)
	}
	var vd certificate.Verification
	if _, body := h.getJSON("/verify/" + id + ".json"); json.Unmarshal(body, &vd) != nil || vd.RevokeReceipt != sf.RevokeReceipt {
		t.Errorf("the verification document's revoke receipt differs from the status file's")
	}
	// The issue entry's receipt in place of the revoke entry's fails.
	swapped := sf
	swapped.RevokeReceipt = vd.IssueReceipt
	b, _ := json.Marshal(swapped)
	os.WriteFile(statusFile, b, 0o600)
	if out, err := h.verifyCert(t, file, "--status", statusFile); err == nil || !strings.HasPrefix(out, "FAIL") {
		t.Errorf("a status with the issue receipt as revoke receipt = %v\n%s", err, out)
	}
	// Another certificate's status file is refused.
	code, other := h.getJSON("/verify/" + newCert["id"].(string) + "/status.json")
	os.WriteFile(statusFile, other, 0o600)
	if out, err := h.verifyCert(t, file, "--status", statusFile); err == nil {
		t.Errorf("another certificate's status accepted:\n%s", out)
	}
	if code, _ := h.getJSON("/verify/c-AAAAAAAAAAAAAAAAAAAAAAAAAA.json"); code != http.StatusNotFound {
		t.Errorf("unknown certificate: %d", code)
	}
}

// A citizen applies for their own identity proof: the steps are in their applications, the
// certificate states no sensitive value, and its verifications are counted; the holder can turn
// the link off.
func TestCitizenApplies(t *testing.T) {
	h := startHub(t, 3)
	c := h.findCitizen(3, "identity")
	tok := h.token(auth.Principal{Kind: auth.KindCitizen, Subject: c.ID})
	if r := h.query(tok, `{ certificateTypes { code since claims { name } } }`, nil); len(r.Errors) > 0 || len(r.Data["certificateTypes"].([]any)) != 3 {
		t.Fatalf("certificateTypes = %+v %+v", r.Data, r.Errors)
	}
	r := h.query(tok, `mutation { applyForCertificate(type: "identity-proof") { id status steps { name index } certificate { id credential } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("applyForCertificate: %+v", r.Errors)
	}
	app := r.Data["applyForCertificate"].(map[string]any)
	if app["status"] != "issued" {
		t.Fatalf("application = %v", app)
	}
	cred := app["certificate"].(map[string]any)["credential"].(string)
	for _, secret := range []string{c.Records["identity"][0]["nationalId"].(string), c.Records["identity"][0]["birthDate"].(string)} {
		if strings.Contains(cred, secret) {
			t.Errorf("the credential states a sensitive value")
		}
	}
	id := app["certificate"].(map[string]any)["id"].(string)
	h.getJSON("/verify/" + id + ".json")
	h.getJSON("/verify/" + id + ".json")
	r = h.query(tok, `{ myApplications { id status steps { name } certificate { id verifications verifiedAt linkEnabled } } }`, nil)
	apps := r.Data["myApplications"].([]any)
	if len(apps) != 1 || apps[0].(map[string]any)["certificate"].(map[string]any)["verifications"] != float64(2) ||
		len(apps[0].(map[string]any)["certificate"].(map[string]any)["verifiedAt"].([]any)) != 2 {
		t.Fatalf("myApplications = %+v %+v", r.Data, r.Errors)
	}
	// The same once the counts are in the store (the counter adds them every second).
	if err := h.app.verifyCounts.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	r = h.query(tok, `query($id: ID!) { myCertificate(id: $id) { verifications verifiedAt } }`, map[string]any{"id": id})
	if mc, _ := r.Data["myCertificate"].(map[string]any); mc == nil || mc["verifications"] != float64(2) || len(mc["verifiedAt"].([]any)) != 2 {
		t.Fatalf("myCertificate after the counts were stored = %+v %+v", r.Data, r.Errors)
	}
	r = h.query(tok, `mutation($id: ID!) { setCertificateLink(id: $id, enabled: false) { linkEnabled } }`, map[string]any{"id": id})
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	if code, _ := h.getJSON("/verify/" + id + ".json"); code != http.StatusNotFound {
		t.Errorf("disabled link: %d, want 404", code)
	}
	// The switch answers with the certificate: a self-access in the holder's log, first.
	switched := 0
	for _, a := range h.accesses(tok, 50) {
		if a.(map[string]any)["kind"] == "SELF" && a.(map[string]any)["reason"] == "certificate-link-off" {
			switched++
		}
	}
	if switched != 1 {
		t.Errorf("%d certificate-link-off self-accesses in the holder's log, want 1", switched)
	}
	// Another citizen cannot switch it.
	other := h.token(auth.Principal{Kind: auth.KindCitizen, Subject: demo.CitizenID(2)})
	if r := h.query(other, `mutation($id: ID!) { setCertificateLink(id: $id, enabled: true) { linkEnabled } }`, map[string]any{"id": id}); len(r.Errors) == 0 {
		t.Errorf("another citizen switched the link")
	}
	// The steps are in the citizen's access log.
	if got := len(h.accesses(tok, 50)); got < 5 {
		t.Errorf("access log holds %d entries, want the gather and the steps", got)
	}
}

// keysNoteVerifier returns the verifier key of a fresh note key named name.
func keysNoteVerifier(name string) (string, error) {
	priv, err := keys.NewNoteKey(name)
	if err != nil {
		return "", err
	}
	k, err := keys.ParseNote(priv)
	return k.VerifierKey, err
}

func mustIndex(id string) int {
	i, _ := strconv.Atoi(strings.TrimPrefix(id, "C"))
	return i
}

// A certificate of a hub with witnesses verifies offline only with the quorum of their keys: its
// issue entry is under a cosigned checkpoint.
func TestCertificateWitnessed(t *testing.T) {
	dir := t.TempDir()
	h := &testHub{t: t, dir: filepath.Join(dir, "hub"), gen: demo.NewGenerator(testSeed)}
	k, err := loadKeys(h.config())
	if err != nil {
		t.Fatal(err)
	}
	var wcfgs []witnessConfig
	var wkeys []string
	for _, name := range []string{"w1.tax.example", "w2.health.example"} {
		keyFile := filepath.Join(dir, name+".key")
		var out bytes.Buffer
		if err := run(t.Context(), []string{"keygen", "--name", name, "--out", keyFile}, &out, &out); err != nil {
			t.Fatalf("keygen: %v", err)
		}
		srv, _, err := newWitness(keyFile, []string{k.log.VerifierKey}, filepath.Join(dir, name+"-state"), nil)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		vkey := strings.TrimSpace(out.String())
		wc, err := parseWitness(hs.URL + "=" + vkey)
		if err != nil {
			t.Fatal(err)
		}
		wcfgs, wkeys = append(wcfgs, wc), append(wkeys, vkey)
	}
	cfg := h.config()
	cfg.Witnesses, cfg.WitnessQuorum = wcfgs, 2
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.app, h.handler = a, a.handler()
	t.Cleanup(h.close)
	if err := seedDemo(t.Context(), a, 4, testSeed); err != nil {
		t.Fatal(err)
	}
	c := h.findCitizen(4, "identity")
	r := h.query(h.token(policeClerk), certDoc, map[string]any{"type": "identity-proof", "citizen": c.ID})
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	cert, _ := r.Data["requestCertificate"].(map[string]any)["certificate"].(map[string]any)
	if cert == nil {
		t.Fatalf("requestCertificate = %v", r.Data)
	}
	code, body := h.getJSON("/verify/" + cert["id"].(string) + ".json")
	if code != http.StatusOK {
		t.Fatalf("GET = %d %s", code, body)
	}
	var v certificate.Verification
	if err := json.Unmarshal(body, &v); err != nil || v.Quorum != 2 || len(v.WitnessKeys) != 2 {
		t.Fatalf("verification document names quorum %d of %v (%v)", v.Quorum, v.WitnessKeys, err)
	}
	file := filepath.Join(dir, "cert.json")
	os.WriteFile(file, body, 0o600)
	args := []string{"--quorum", "2", "--witness-key", wkeys[0], "--witness-key", wkeys[1]}
	if out, err := h.verifyCert(t, file, args...); err != nil || !strings.HasPrefix(out, "VALID") || !strings.Contains(out, "at least 2 of 2 trusted witnesses") {
		t.Errorf("verify-certificate with the witnesses = %v\n%s", err, out)
	}
	// The issuer key can be pinned: the DID document's, and no other.
	var did map[string]any
	json.Unmarshal(v.DIDDocument, &did)
	mk := did["verificationMethod"].([]any)[0].(map[string]any)["publicKeyMultibase"].(string)
	if out, err := h.verifyCert(t, file, append(args, "--issuer-key", mk)...); err != nil {
		t.Errorf("with the pinned issuer key = %v\n%s", err, out)
	}
	if out, err := h.verifyCert(t, file, append(args, "--issuer-key", "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")...); err == nil {
		t.Errorf("with another pinned issuer key = nil\n%s", out)
	}
	if out, err := h.verifyCert(t, file, "--quorum", "1", "--witness-key", wkeys[0]); err != nil {
		t.Errorf("quorum 1 of the first witness = %v\n%s", err, out)
	}
	// A witness that did not cosign does not count.
	var out bytes.Buffer
	if err := run(t.Context(), []string{"keygen", "--name", "w9.example", "--out", filepath.Join(dir, "w9.key")}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if out, err := h.verifyCert(t, file, "--quorum", "1", "--witness-key", strings.TrimSpace(out.String())); err == nil {
		t.Errorf("quorum 1 of a witness that did not cosign = nil\n%s", out)
	}
}

// A type that needs review stops at the review step; the issuing department's clerk approves (the
// application is gathered and decided again, then issued) or rejects with a reason kept off the
// ledger.
func TestCertificateReview(t *testing.T) {
	h := startHub(t, 4)
	officerA := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-a"}
	officerB := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-b"}
	typ, _ := h.app.reader.Policy().CertificateType("identity-proof")
	typ.Code, typ.Review = "identity-proof-reviewed", true
	prop, err := h.app.officers.ProposePolicyChange(t.Context(), officerA, policy.Change{AddCertificateTypes: []policy.CertificateType{typ}}, "a reviewed identity proof")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.officers.ApprovePolicyChange(t.Context(), officerB, prop.ID); err != nil {
		t.Fatal(err)
	}
	clerk := h.token(policeClerk)
	const review = `mutation($id: ID!, $approve: Boolean!, $reason: String) {
	  reviewApplication(id: $id, approve: $approve, reason: $reason) { id status reason steps { name } certificate { id ruleVersion } } }`
	steps := func(app map[string]any) string {
		var out []string
		for _, s := range app["steps"].([]any) {
			out = append(out, s.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	ask := func(citizen string) map[string]any {
		r := h.query(clerk, certDoc, map[string]any{"type": "identity-proof-reviewed", "citizen": citizen})
		if len(r.Errors) > 0 {
			t.Fatal(r.Errors)
		}
		app := r.Data["requestCertificate"].(map[string]any)
		if app["status"] != "review" || app["certificate"] != nil {
			t.Fatalf("application = %v, want waiting for review", app)
		}
		return app
	}
	queued := func(tok string) string {
		t.Helper()
		r := h.query(tok, `{ reviewQueue { id status citizenId } }`, nil)
		if len(r.Errors) > 0 {
			t.Fatal(r.Errors)
		}
		var out []string
		for _, a := range r.Data["reviewQueue"].([]any) {
			a := a.(map[string]any)
			if a["status"] != "review" {
				t.Errorf("queued application %v is not waiting for review", a)
			}
			out = append(out, a["id"].(string)+"@"+a["citizenId"].(string))
		}
		return strings.Join(out, ",")
	}
	if got := queued(clerk); got != "" {
		t.Errorf("review queue before any application = %q", got)
	}
	app := ask(demo.CitizenID(1))
	if got, want := queued(clerk), app["id"].(string)+"@"+demo.CitizenID(1); got != want {
		t.Errorf("review queue = %q, want %q", got, want)
	}
	if got := queued(h.token(housingClerk)); got != "" {
		t.Errorf("housing's review queue lists %q", got)
	}
	// Reading the queue is an access in the citizen's log, by public-security, naming no field.
	queueReads := 0
	for _, a := range h.accesses(h.token(citizenP(demo.CitizenID(1))), 50) {
		if a.(map[string]any)["reason"] == "review-queue" {
			queueReads++
			if d := get(a, "department", "code"); d != "public-security" || len(a.(map[string]any)["fields"].([]any)) != 0 {
				t.Errorf("the review-queue access names %v and fields %v", d, a.(map[string]any)["fields"])
			}
		}
	}
	if queueReads != 1 {
		t.Errorf("%d review-queue accesses in the citizen's log, want 1 (the one page that listed them)", queueReads)
	}
	if r := h.query(h.token(citizenP(demo.CitizenID(1))), `{ reviewQueue { id } }`, nil); len(r.Errors) == 0 {
		t.Errorf("a citizen read a department's review queue")
	}
	// Another department cannot review it.
	if r := h.query(h.token(housingClerk), review, map[string]any{"id": app["id"], "approve": true}); len(r.Errors) == 0 {
		t.Errorf("housing reviewed a public-security application")
	}
	r := h.query(clerk, review, map[string]any{"id": app["id"], "approve": true})
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	done := r.Data["reviewApplication"].(map[string]any)
	if done["status"] != "issued" || done["certificate"] == nil ||
		steps(done) != "received,gathered,decided,review,reviewed,gathered,decided,issued" {
		t.Errorf("approved application = %v (%s)", done, steps(done))
	}
	if r := h.query(clerk, review, map[string]any{"id": app["id"], "approve": true}); len(r.Errors) == 0 {
		t.Errorf("a second review was accepted")
	}
	if got := queued(clerk); got != "" {
		t.Errorf("review queue after the approval = %q", got)
	}
	app = ask(demo.CitizenID(2))
	const why = "the photograph on file is out of date"
	r = h.query(clerk, review, map[string]any{"id": app["id"], "approve": false, "reason": why})
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	rejected := r.Data["reviewApplication"].(map[string]any)
	if rejected["status"] != "refused" || !strings.Contains(rejected["reason"].(string), why) {
		t.Errorf("rejected application = %v", rejected)
	}
	_, raws := h.entries()
	for i, raw := range raws {
		if bytes.Contains(raw, []byte("photograph")) {
			t.Errorf("entry %d carries the reviewer's reason", i)
		}
	}
}

// homePurchaseCases finds, among the first n demo citizens (married, the spouse among them, not of
// Shanghai's hukou, owning fewer than two homes), one who qualifies for home-purchase eligibility
// by contribution months and one who does not.
func homePurchaseCases(t *testing.T, h *testHub, n int) (qualifies, fails demoFacts) {
	t.Helper()
	for i := 1; i <= n; i++ {
		f := factsOf(h.gen, i, n)
		if !f.spouseIn {
			continue
		}
		if qualifies.id == "" && f.hukou != "上海市" && f.months >= 60 && f.homes < 2 {
			qualifies = f
		}
		if fails.id == "" && f.hukou != "上海市" && f.months >= 0 && f.months < 60 && f.homes < 2 {
			fails = f
		}
	}
	if qualifies.id == "" || fails.id == "" {
		t.Fatalf("no demo citizen to test with among %d: %+v %+v", n, qualifies, fails)
	}
	return qualifies, fails
}
