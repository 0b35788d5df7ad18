package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// issueIdentityProof has public-security's clerk issue an identity proof for citizen and returns
// the certificate id and its verification document.
func (h *testHub) issueIdentityProof(t *testing.T, citizen string) (string, certificate.Verification, []byte) {
	t.Helper()
	r := h.query(h.token(policeClerk), certDoc, map[string]any{"type": "identity-proof", "citizen": citizen})
	if len(r.Errors) > 0 {
		t.Fatalf("requestCertificate(identity-proof, %s): %+v", citizen, r.Errors)
	}
	id, _ := get(r.Data, "requestCertificate", "certificate", "id").(string)
	if id == "" {
		t.Fatalf("requestCertificate(identity-proof, %s) = %v", citizen, r.Data)
	}
	code, body := h.getJSON("/verify/" + id + ".json")
	if code != http.StatusOK {
		t.Fatalf("GET /verify/%s.json = %d %s", id, code, body)
	}
	var v certificate.Verification
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return id, v, body
}

// credentialMap decodes a credential keeping its numbers as they are written.
func credentialMap(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func ageProofOf(doc map[string]any) map[string]any {
	proofs := doc["evidence"].([]any)[0].(map[string]any)["proofs"].([]any)
	for _, p := range proofs {
		if p := p.(map[string]any); p["predicate"] == "adult" {
			return p
		}
	}
	return nil
}

// resign returns v with its credential edited and signed again with the hub's own credential key:
// what a forger holding the key (or a bug in the issuer) could produce. The issue entry on the
// ledger still records the original content.
func (h *testHub) resign(t *testing.T, v certificate.Verification, edit func(doc map[string]any)) []byte {
	t.Helper()
	key, _, err := keys.Ed25519(h.app.cfg.path("keys", "credential.key"))
	if err != nil {
		t.Fatal(err)
	}
	doc := credentialMap(t, v.Credential)
	delete(doc, "proof")
	edit(doc)
	signed, err := certificate.Sign(doc, key, doc["issuer"].(string), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v.Credential = signed
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An identity proof states "at least 18" as a claim its evidence proves in zero knowledge over the
// birth date's commitment, as of the issue date and bound to the certificate id; it verifies
// offline. A proof byte changed, a threshold day that is not 18 years before the issue date, a
// proof asked on another day, and another certificate's proof swapped in are each FAIL, even
// signed again with the issuer's own key. A minor's certificate says false, with no proof. No
// answer, certificate or entry carries a birth date. A type whose issuer may not prove the age
// predicate is refused when proposed.
func TestIdentityProofAgeClaim(t *testing.T) {
	h := startHub(t, 4)
	adult := h.findCitizen(4, "identity")
	born := adult.Records["identity"][0]["birthDate"].(string)
	before, _ := h.entries()
	id, v, body := h.issueIdentityProof(t, adult.ID)
	if bytes.Contains(body, []byte(born)) {
		t.Fatalf("the verification document carries the birth date %s", born)
	}
	doc := credentialMap(t, v.Credential)
	claims := doc["credentialSubject"].(map[string]any)["claims"].(map[string]any)
	if claims["atLeast18"] != true {
		t.Fatalf("claims = %v, want atLeast18 true", claims)
	}
	ap := ageProofOf(doc)
	issued, _ := time.Parse(time.RFC3339, doc["validFrom"].(string))
	day := issued.UTC().Format(time.DateOnly)
	wantThreshold, _ := certificate.AgeThresholdDate(day, 18)
	if ap == nil || ap["on"] != day || ap["threshold"] != wantThreshold || ap["claim"] != "atLeast18" || ap["field"] != "identity.birthDate" {
		t.Fatalf("the age proof's evidence = %v, want on %s threshold %s claim atLeast18", ap, day, wantThreshold)
	}
	// The gathering asked adult on the ledger, as prove releases do; nothing names the date.
	after, raws := h.entries()
	asked := false
	for i := len(before); i < len(after); i++ {
		if bytes.Contains(raws[i], []byte(born)) {
			t.Errorf("ledger entry %d carries the birth date", i)
		}
		for _, f := range after[i].Fields {
			if f.Name == "identity.birthDate" && f.Level == policy.Prove.String() && len(f.Proved) == 1 && f.Proved[0] == "adult" &&
				after[i].Kind == ledger.KindAccess && after[i].RequestID == id {
				asked = true
			}
		}
	}
	if !asked {
		t.Errorf("no access entry with request id %s names identity.birthDate prove proved:adult", id)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "cert.json")
	os.WriteFile(file, body, 0o600)
	out, err := h.verifyCert(t, file)
	if err != nil || !strings.HasPrefix(out, "VALID") ||
		!strings.Contains(out, "proven in zero knowledge: claim atLeast18: identity.birthDate age ≥ 18 years (adult): the date is on or before "+wantThreshold) {
		t.Fatalf("verify-certificate = %v\n%s", err, out)
	}
	t.Logf("verify-certificate:\n%s", out)
	check := func(name string, raw []byte, want string) {
		t.Helper()
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		os.WriteFile(f, raw, 0o600)
		out, err := h.verifyCert(t, f)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: verify-certificate = %v, want VALID\n%s", name, err, out)
		case want != "" && (err == nil || !strings.HasPrefix(out, "FAIL") || !strings.Contains(out, want)):
			t.Errorf("%s: verify-certificate = %v, want FAIL saying %q\n%s", name, err, want, out)
		}
	}
	// Signed again unchanged: still valid (so each failure below is the edit's).
	check("re-signed unchanged", h.resign(t, v, func(map[string]any) {}), "")
	// Without the key, any change breaks the signature.
	{
		w := v
		w.Credential = bytes.Replace(v.Credential, []byte(`"threshold":"`+wantThreshold), []byte(`"threshold":"`+dayBefore(wantThreshold)), 1)
		raw, _ := json.Marshal(w)
		check("threshold changed", raw, "signature")
	}
	check("proof byte changed", h.resign(t, v, func(doc map[string]any) {
		p := ageProofOf(doc)
		b, _ := base64.StdEncoding.DecodeString(p["proof"].(string))
		b[len(b)/2] ^= 0x01
		p["proof"] = base64.StdEncoding.EncodeToString(b)
	}), "threshold proof")
	check("wrong threshold day", h.resign(t, v, func(doc map[string]any) {
		ageProofOf(doc)["threshold"] = dayBefore(wantThreshold)
	}), "threshold day")
	check("asked the day before", h.resign(t, v, func(doc map[string]any) {
		p := ageProofOf(doc)
		p["on"], p["threshold"] = dayBefore(day), dayBefore(wantThreshold)
	}), "not on the issue date")
	check("issued the next day", h.resign(t, v, func(doc map[string]any) {
		doc["validFrom"] = issued.Add(24 * time.Hour).UTC().Format(time.RFC3339)
	}), "not on the issue date")
	check("claim turned false", h.resign(t, v, func(doc map[string]any) {
		doc["credentialSubject"].(map[string]any)["claims"].(map[string]any)["atLeast18"] = false
	}), "does not state true")

	// Another certificate of the same citizen: same commitment, another id; its proof does not
	// pass for this one.
	id2, v2, _ := h.issueIdentityProof(t, adult.ID)
	other := ageProofOf(credentialMap(t, v2.Credential))
	if other["commitment"] != ap["commitment"] || id2 == id {
		t.Fatalf("the second certificate's age proof is over another commitment: %v / %v", other["commitment"], ap["commitment"])
	}
	check("another certificate's proof", h.resign(t, v, func(doc map[string]any) {
		ageProofOf(doc)["proof"] = other["proof"]
	}), "threshold proof")

	// A minor registered by the clerk: the claim is false and nothing proves it.
	minorBorn := time.Now().UTC().AddDate(-17, 0, 0).Format(time.DateOnly)
	const minorID = "C900002"
	r := h.query(h.token(policeClerk), fmt.Sprintf(`mutation { updateIdentity(citizenId: %q, purpose: "identity-verification",
		input: {name: "李小明", gender: FEMALE, hukouCity: "北京市", nationalId: %q, birthDate: %q, address: "北京市朝阳区建国路1号"}) { version } }`,
		minorID, nationalIDFor(minorBorn), minorBorn), nil)
	if len(r.Errors) > 0 {
		t.Fatalf("registering the minor: %+v", r.Errors)
	}
	_, mv, mbody := h.issueIdentityProof(t, minorID)
	mdoc := credentialMap(t, mv.Credential)
	if c := mdoc["credentialSubject"].(map[string]any)["claims"].(map[string]any); c["atLeast18"] != false || ageProofOf(mdoc) != nil {
		t.Errorf("the minor's certificate: claims %v, age proof %v", c, ageProofOf(mdoc))
	}
	if bytes.Contains(mbody, []byte(minorBorn)) {
		t.Errorf("the minor's certificate carries the birth date")
	}
	check("the minor's", mbody, "")

	// A rule change that requires the age moves the minor, and only them, in the preview (decided
	// inside the hub on the opened dates, as of today).
	officerA := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-a"}
	idType, _ := h.app.reader.Policy().CertificateType("identity-proof")
	idType.Rule = "present(identity.nationalId) && ageAtLeast(identity.birthDate, 18)"
	prop, err := h.app.officers.ProposePolicyChange(t.Context(), officerA, policy.Change{ReplaceCertificateTypes: []policy.CertificateType{idType}}, "adults only")
	if err != nil {
		t.Fatalf("proposing an age rule = %v", err)
	}
	if len(prop.CertificateImpact) != 1 || prop.CertificateImpact[0].Citizens != 5 || prop.CertificateImpact[0].Ineligible != 1 || prop.CertificateImpact[0].Eligible != 0 {
		t.Errorf("the impact of requiring the age = %+v, want 1 of 5 turned ineligible", prop.CertificateImpact)
	}

	// Housing may not prove adult: a type of theirs stating an age is refused when proposed.
	typ, _ := h.app.reader.Policy().CertificateType("home-purchase-eligibility")
	typ.Claims = append(typ.Claims, policy.Claim{Name: "atLeast18", Expr: "ageAtLeast(identity.birthDate, 18)"})
	if _, err := h.app.officers.ProposePolicyChange(t.Context(), officerA, policy.Change{ReplaceCertificateTypes: []policy.CertificateType{typ}}, "state an age"); err == nil ||
		!strings.Contains(err.Error(), "which housing/clerk may not prove") {
		t.Errorf("proposing an age claim housing may not prove = %v", err)
	}
}

func dayBefore(date string) string {
	d, _ := time.Parse(time.DateOnly, date)
	return d.AddDate(0, 0, -1).Format(time.DateOnly)
}

// A citizen's reads of their own applications and certificates are SELF entries in their log,
// each appended before the answer; the certificate read names the certificate.
func TestMyCertificatesLoggedAsSelf(t *testing.T) {
	h := startHub(t, 3)
	c := h.findCitizen(3, "identity")
	tok := h.token(auth.Principal{Kind: auth.KindCitizen, Subject: c.ID})
	r := h.query(tok, `mutation { applyForCertificate(type: "identity-proof") { certificate { id } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("applyForCertificate: %+v", r.Errors)
	}
	id := get(r.Data, "applyForCertificate", "certificate", "id").(string)
	selfEntries := func() []ledger.Entry {
		all, _ := h.entries()
		var out []ledger.Entry
		for _, e := range all {
			if e.Kind == ledger.KindAccess && e.Department == "citizen" && e.Role == "citizen" {
				out = append(out, e)
			}
		}
		return out
	}
	n0 := len(selfEntries())
	if r := h.query(tok, `{ myApplications { id status certificate { id } } }`, nil); len(r.Errors) > 0 {
		t.Fatalf("myApplications: %+v", r.Errors)
	}
	if r := h.query(tok, `query($id: ID!) { myCertificate(id: $id) { id credential } }`, map[string]any{"id": id}); len(r.Errors) > 0 ||
		get(r.Data, "myCertificate", "id") != id {
		t.Fatalf("myCertificate: %+v %+v", r.Data, r.Errors)
	}
	got := selfEntries()[n0:]
	if len(got) != 2 || got[0].Reason != "my-applications" || got[1].Reason != "my-certificate" || got[1].Certificate != id ||
		len(got[0].Subjects) != 1 || got[0].Outcome != ledger.OutcomeAllowed {
		t.Fatalf("self entries after myApplications and myCertificate = %+v", got)
	}
	// In the citizen's own log, as SELF.
	kinds := map[string]int{}
	for _, a := range h.accesses(tok, 50) {
		if a.(map[string]any)["kind"] == "SELF" {
			kinds[a.(map[string]any)["reason"].(string)]++
		}
	}
	if kinds["my-applications"] != 1 || kinds["my-certificate"] != 1 {
		t.Errorf("SELF accesses in the citizen's log: %v", kinds)
	}
	// Another citizen asking for it reads nothing, and nothing is logged as their read of it.
	other := h.token(auth.Principal{Kind: auth.KindCitizen, Subject: "C000002"})
	if r := h.query(other, `query($id: ID!) { myCertificate(id: $id) { id } }`, map[string]any{"id": id}); get(r.Data, "myCertificate") != nil {
		t.Errorf("another citizen read the certificate: %+v", r.Data)
	}
	if n := len(selfEntries()); n != n0+2 {
		t.Errorf("%d self entries after another citizen's attempt, want %d", n, n0+2)
	}
}
