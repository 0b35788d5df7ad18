package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

const (
	sealedPurpose = "court-sealed-investigation"
	courtOrder    = "(2026)京0105刑侦字第123号"
	sealedRead    = `query($id: ID!, $o: String, $u: Date) { citizen(id: $id, purpose: "court-sealed-investigation", courtOrder: $o, unsealOn: $u) { id identity { name address { value } } } }`
	disclosureQ   = `query($i: Int64!) { mySealedDisclosure(index: $i) { index unsealOn unsealed unsealIndex details salt } }`
	proposeUnseal = `mutation($i: Int64!, $r: String!) { proposeEarlyUnseal(index: $i, reason: $r) { index status proposedBy proposalEntry } }`
	approveUnseal = `mutation($i: Int64!) { approveEarlyUnseal(index: $i) { index status decidedBy decisionEntry unsealEntry } }`
)

// startSealedHub is startHub with an oversight key, whose identity file it returns.
func startSealedHub(t *testing.T, citizens int) (*testHub, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(t.TempDir(), "oversight.key")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &testHub{t: t, dir: t.TempDir(), gen: demo.NewGenerator(testSeed)}
	cfg := h.config()
	cfg.OversightKey = id.Recipient().String()
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatalf("openApp = %v", err)
	}
	h.app, h.handler = a, a.handler()
	t.Cleanup(h.close)
	if err := seedDemo(t.Context(), h.app, citizens, testSeed); err != nil {
		t.Fatalf("seedDemo = %v", err)
	}
	return h, idFile
}

// registerSealedPurpose adds the sealed purpose, and the police clerk's right to read identity
// under it, through the officers' maker-checker workflow.
func (h *testHub) registerSealedPurpose() {
	h.t.Helper()
	change := map[string]any{
		"addPurposes": []any{map[string]any{"code": sealedPurpose, "titleZh": "法院密封调查", "titleEn": "Court-sealed investigation",
			"legalBasis": "《刑事诉讼法》第一百五十二条", "sealed": true, "maxSealDays": 180}},
		"addRules": []any{rule("clerk", "public-security", "identity.*", "reveal", sealedPurpose, "allow")},
	}
	// The preview names the sealed purpose; a sealed purpose without a maximum period is refused.
	pv := h.query(h.token(officer1), `query($c: PolicyChangeInput!) { policyChangePreview(change: $c) { sealedPurposes { code sealed maxSealDays } } }`,
		map[string]any{"c": change})
	if sp, _ := get(pv.Data, "policyChangePreview", "sealedPurposes").([]any); len(sp) != 1 || get(sp[0], "code") != sealedPurpose || get(sp[0], "maxSealDays") != float64(180) {
		h.t.Fatalf("policyChangePreview = %v %+v, want the sealed purpose named", pv.Data, pv.Errors)
	}
	bad := map[string]any{"addPurposes": []any{map[string]any{"code": "sealed-forever", "titleZh": "x", "titleEn": "x", "legalBasis": "x", "sealed": true}}}
	if r := h.query(h.token(officer1), propose, map[string]any{"change": bad, "reason": "no period"}); errCode(r) != "BAD_USER_INPUT" ||
		!strings.Contains(r.Errors[0].Message, "maximum seal period") {
		h.t.Fatalf("proposing a sealed purpose without a period: %+v, want BAD_USER_INPUT naming the period", r.Errors)
	}
	res := h.query(h.token(officer1), propose, map[string]any{"change": change, "reason": "court-ordered investigations"})
	if len(res.Errors) > 0 {
		h.t.Fatalf("propose: %+v", res.Errors)
	}
	if r := h.query(h.token(officer2), approve, map[string]any{"id": get(res.Data, "proposePolicyChange", "id")}); len(r.Errors) > 0 {
		h.t.Fatalf("approve: %+v", r.Errors)
	}
}

// sealedAccess has the police clerk read citizen under the sealed purpose, unsealing in 30 days,
// and returns the entry's index and bytes once a published checkpoint covers it.
func (h *testHub) sealedAccess(citizen string) (uint64, []byte) {
	h.t.Helper()
	unseal := time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
	r := h.query(h.token(policeClerk), sealedRead, map[string]any{"id": citizen, "o": courtOrder, "u": unseal})
	if len(r.Errors) > 0 || get(r.Data, "citizen", "identity", "name") == nil {
		h.t.Fatalf("sealed read: %+v %v", r.Errors, r.Data)
	}
	_, raw := h.receiptEntry(r)
	index := uint64(r.Extensions["ledger"].(map[string]any)["index"].(float64))
	if _, err := h.app.log.WaitCheckpoint(h.t.Context(), index+1); err != nil {
		h.t.Fatal(err)
	}
	return index, raw
}

func TestSealedThroughGraphQL(t *testing.T) {
	h, idFile := startSealedHub(t, 3)
	c := demo.CitizenID(2)
	police, mine := h.token(policeClerk), h.token(citizenPrincipal(c))

	// Before the officers register it, the purpose is unknown.
	if r := h.query(police, sealedRead, map[string]any{"id": c, "o": courtOrder, "u": "2099-01-01"}); errCode(r) != "BAD_USER_INPUT" {
		t.Fatalf("sealed read before registration: %+v", r.Errors)
	}
	h.registerSealedPurpose()
	r := h.query(h.token(officer1), `{ purposes { code sealed maxSealDays } }`, nil)
	found := false
	for _, p := range get(r.Data, "purposes").([]any) {
		if get(p, "code") == sealedPurpose {
			found = get(p, "sealed") == true && get(p, "maxSealDays") == float64(180)
		}
	}
	if !found {
		t.Fatalf("purposes = %v, want %s sealed for 180 days", r.Data, sealedPurpose)
	}
	r = h.query(h.token(officer1), `{ explainAccess(department: "public-security", role: "clerk", field: "identity.name", purpose: "court-sealed-investigation") { level reason } }`, nil)
	if why, _ := get(r.Data, "explainAccess", "reason").(string); !strings.Contains(why, "is sealed") {
		t.Errorf("explainAccess = %v %+v, want it to say the purpose is sealed", r.Data, r.Errors)
	}

	// Refused without a court order, or with a date beyond the maximum: no data.
	for _, vars := range []map[string]any{
		{"id": c},
		{"id": c, "o": courtOrder, "u": time.Now().UTC().AddDate(0, 0, 200).Format(time.DateOnly)},
	} {
		if r := h.query(police, sealedRead, vars); errCode(r) != "BAD_USER_INPUT" || get(r.Data, "citizen") != nil {
			t.Errorf("sealed read %v: %+v %v, want BAD_USER_INPUT and no data", vars, r.Errors, r.Data)
		}
	}

	index, raw := h.sealedAccess(c)
	for _, hidden := range []string{"public-security", "clerk", sealedPurpose, "identity", courtOrder, "p1"} {
		if bytes.Contains(raw, []byte(hidden)) {
			t.Errorf("the sealed access entry shows %q:\n%s", hidden, raw)
		}
	}

	// The citizen's log: a sealed access at that time, nothing more.
	r = h.query(mine, `{ myAccesses(first: 1) { edges { node { index kind department { code } role official purpose { code } fields { name } unsealOn } } } }`, nil)
	node := get(r.Data, "myAccesses", "edges").([]any)[0].(map[string]any)["node"]
	if get(node, "kind") != "SEALED" || get(node, "index") != float64(index) || get(node, "department", "code") != hub.SealedDepartment ||
		get(node, "official") != nil || get(node, "purpose") != nil || len(get(node, "fields").([]any)) != 0 || get(node, "unsealOn") == nil {
		t.Fatalf("the citizen's view of the sealed access = %v %+v", node, r.Errors)
	}
	r = h.query(mine, disclosureQ, map[string]any{"i": index})
	if get(r.Data, "mySealedDisclosure", "unsealed") != false || get(r.Data, "mySealedDisclosure", "details") != nil {
		t.Fatalf("disclosure before unsealing = %v %+v", r.Data, r.Errors)
	}
	if r := h.query(h.token(citizenPrincipal(demo.CitizenID(1))), disclosureQ, map[string]any{"i": index}); errCode(r) != "NOT_FOUND" {
		t.Errorf("another citizen's disclosure: %+v, want NOT_FOUND", r.Errors)
	}

	// Public counts, per department, counts only.
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, httptest.NewRequest("GET", sealedCountsPath, nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `{"department":"public-security","count":1}`) || strings.Contains(rec.Body.String(), courtOrder) {
		t.Errorf("GET %s = %d %s", sealedCountsPath, rec.Code, rec.Body)
	}

	// The oversight body reads the details before unsealing.
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"sealed", "read", "--data-dir", h.dir, "--identity", idFile}, &out, &errOut); err != nil {
		t.Fatalf("govhub sealed read = %v (%s)", err, errOut.String())
	}
	var line struct {
		Index    *uint64 `json:"index"`
		Unsealed bool    `json:"unsealed"`
		Details  string  `json:"details"`
	}
	if err := json.Unmarshal(out.Bytes(), &line); err != nil || line.Index == nil || *line.Index != index || line.Unsealed ||
		!strings.Contains(line.Details, "court-order "+courtOrder+"\n") || !strings.Contains(line.Details, "actor public-security/clerk\n") {
		t.Fatalf("govhub sealed read printed %s (%v)", out.String(), err)
	}
	other := filepath.Join(t.TempDir(), "other.key")
	if err := run(t.Context(), []string{"sealed", "keygen", "--out", other}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"sealed", "read", "--data-dir", h.dir, "--identity", other}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("govhub sealed read with another identity succeeded")
	}

	// Early unseal: maker-checker among privacy-office officers.
	if r := h.query(h.token(housingOfficer), proposeUnseal, map[string]any{"i": index, "r": "x"}); errCode(r) != "FORBIDDEN" {
		t.Errorf("a housing officer's proposal: %+v, want FORBIDDEN", r.Errors)
	}
	if r := h.query(h.token(officer1), proposeUnseal, map[string]any{"i": index - 1, "r": "x"}); errCode(r) != "BAD_USER_INPUT" {
		t.Errorf("proposing to unseal an entry that is not sealed: %+v, want BAD_USER_INPUT", r.Errors)
	}
	r = h.query(h.token(officer1), proposeUnseal, map[string]any{"i": index, "r": "案件已结 the case is closed"})
	if get(r.Data, "proposeEarlyUnseal", "status") != "pending" {
		t.Fatalf("proposeEarlyUnseal = %v %+v", r.Data, r.Errors)
	}
	if r := h.query(h.token(officer1), approveUnseal, map[string]any{"i": index}); errCode(r) != "FORBIDDEN" {
		t.Fatalf("self-approval: %+v, want FORBIDDEN", r.Errors)
	}
	if r := h.query(mine, disclosureQ, map[string]any{"i": index}); get(r.Data, "mySealedDisclosure", "unsealed") != false {
		t.Fatalf("disclosed before approval: %v", r.Data)
	}
	r = h.query(h.token(officer2), approveUnseal, map[string]any{"i": index})
	if get(r.Data, "approveEarlyUnseal", "status") != "approved" || get(r.Data, "approveEarlyUnseal", "unsealEntry") == nil {
		t.Fatalf("approveEarlyUnseal = %v %+v", r.Data, r.Errors)
	}
	unsealIndex := uint64(get(r.Data, "approveEarlyUnseal", "unsealEntry").(float64))
	entries, _ := h.entries()
	prop, appr, un := entries[uint64(get(r.Data, "approveEarlyUnseal", "decisionEntry").(float64))-1], entries[uint64(get(r.Data, "approveEarlyUnseal", "decisionEntry").(float64))], entries[unsealIndex]
	if prop.Kind != ledger.KindProposal || prop.Reason != "early-unseal" || appr.Kind != ledger.KindApproval || appr.Reason != "early-unseal" ||
		!bytes.Equal(prop.Record, appr.Record) || un.Kind != ledger.KindUnseal || un.About != index || un.Department != "privacy-office" {
		t.Errorf("ledger: proposal %+v, approval %+v, unseal %+v", prop, appr, un)
	}
	if bytes.Contains([]byte(prop.Reason+string(prop.Record)), []byte("case is closed")) {
		t.Error("the proposal's reason text is on the ledger")
	}

	// Disclosed: the details hash to the sealed line.
	r = h.query(mine, disclosureQ, map[string]any{"i": index})
	d := get(r.Data, "mySealedDisclosure")
	if get(d, "unsealed") != true || get(d, "unsealIndex") != float64(unsealIndex) {
		t.Fatalf("disclosure after unsealing = %v %+v", d, r.Errors)
	}
	details, salt := get(d, "details").(string), get(d, "salt").(string)
	saltBytes, _ := hex.DecodeString(salt)
	if err := hub.CheckDisclosure(raw, saltBytes, []byte(details)); err != nil {
		t.Errorf("CheckDisclosure = %v", err)
	}
	if !strings.Contains(details, "field identity.name reveal\n") || !strings.Contains(details, "court-order "+courtOrder+"\n") {
		t.Errorf("details = %s", details)
	}
	r = h.query(mine, `{ myAccesses(first: 1) { edges { node { index kind about } } } }`, nil)
	node = get(r.Data, "myAccesses", "edges").([]any)[0].(map[string]any)["node"]
	if get(node, "kind") != "UNSEAL" || get(node, "about") != float64(index) || get(node, "index") != float64(unsealIndex) {
		t.Errorf("the citizen's latest access = %v", node)
	}
	if r := h.query(h.token(officer2), approveUnseal, map[string]any{"i": index}); errCode(r) != "CONFLICT" {
		t.Errorf("approving twice: %+v, want CONFLICT", r.Errors)
	}

	// A rejected proposal leaves the access sealed; the rejection is on the ledger.
	second, _ := h.sealedAccess(demo.CitizenID(3))
	if r := h.query(h.token(officer1), proposeUnseal, map[string]any{"i": second, "r": "still investigating?"}); len(r.Errors) > 0 {
		t.Fatalf("proposeEarlyUnseal: %+v", r.Errors)
	}
	r = h.query(h.token(officer1), `mutation($i: Int64!, $r: String!) { rejectEarlyUnseal(index: $i, reason: $r) { status decisionEntry } }`,
		map[string]any{"i": second, "r": "the investigation goes on"})
	if get(r.Data, "rejectEarlyUnseal", "status") != "rejected" {
		t.Fatalf("rejectEarlyUnseal = %v %+v", r.Data, r.Errors)
	}
	entries, _ = h.entries()
	if rej := entries[uint64(get(r.Data, "rejectEarlyUnseal", "decisionEntry").(float64))]; rej.Kind != ledger.KindRejection || rej.Reason != "early-unseal" {
		t.Errorf("rejection entry = %+v", rej)
	}
	r = h.query(h.token(citizenPrincipal(demo.CitizenID(3))), disclosureQ, map[string]any{"i": second})
	if get(r.Data, "mySealedDisclosure", "unsealed") != false {
		t.Errorf("disclosure after a rejection = %v %+v, want still sealed", r.Data, r.Errors)
	}
	r = h.query(h.token(officer3), `{ earlyUnsealProposals { index status } }`, nil)
	if ps, _ := get(r.Data, "earlyUnsealProposals").([]any); len(ps) != 2 || get(ps[0], "index") != float64(second) || get(ps[0], "status") != "rejected" {
		t.Errorf("earlyUnsealProposals = %v %+v, want the rejected one first, then the approved", r.Data, r.Errors)
	}
}

// A policy file that registers a sealed purpose is not imported: sealed purposes come only through
// the officers' maker-checker workflow.
func TestSealedPurposeNotImported(t *testing.T) {
	h := &testHub{t: t, dir: t.TempDir(), gen: demo.NewGenerator(testSeed)}
	set := policy.Demo()
	set.Purposes = append(set.Purposes, policy.Purpose{Code: sealedPurpose, TitleZh: "法院密封调查", TitleEn: "Court-sealed investigation",
		LegalBasis: "x", Sealed: true, MaxSealDays: 30})
	dir := filepath.Join(h.dir, "policy")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := policy.WriteDir(dir, set); err != nil {
		t.Fatal(err)
	}
	a, err := openApp(t.Context(), h.config())
	if err == nil {
		a.close(t.Context())
		t.Fatal("openApp imported a policy file with a sealed purpose")
	}
	if !strings.Contains(err.Error(), "sealed purposes are added only by an officer's proposal") {
		t.Errorf("openApp = %v, want the refusal to say why", err)
	}
}

func TestSealedHelpAndMistakes(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"sealed", "--help"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "keygen --out FILE") ||
		!strings.Contains(out.String(), "read --identity FILE") {
		t.Errorf("sealed --help = %v, %s", err, out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"serve", "-h"}, &out, &out); !strings.Contains(out.String(), "-oversight-key") {
		t.Errorf("serve -h = %v, lacks -oversight-key:\n%s", err, out.String())
	}
	for _, args := range [][]string{{"sealed"}, {"sealed", "bogus"}, {"sealed", "read"}, {"sealed", "keygen"},
		{"serve", "--oversight-key", "age1notakey", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}} {
		if code := exitCode(run(t.Context(), args, &bytes.Buffer{}, &bytes.Buffer{})); code != 2 {
			t.Errorf("%v: exit status %d, want 2", args, code)
		}
	}
}
