package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

const eligibilityQuery = `query Eligibility($id: ID!) {
  citizen(id: $id, purpose: "home-purchase-eligibility") {
    id
    identity { name hukouCity nationalId { value commitment { point } } }
    marriage { maritalStatus }
    property { certificateNo city area acquiredOn }
    socialInsurance { contributionMonths { value commitment { scheme point version } } }
    tax { annualIncome { value commitment { scheme point version } } }
    health { bloodType { value } }
  }
}`

func fieldLines(e ledger.Entry) []string {
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Name+" "+f.Level)
	}
	sort.Strings(out)
	return out
}

// The housing clerk's eligibility check: revealed fields in clear, commitments for income and
// contribution months that open to the stored values, FORBIDDEN for the national ID and health,
// and a receipt whose entry lists exactly what was released.
func TestHousingClerkEligibility(t *testing.T) {
	const n = 40
	h := startHub(t, n)
	c := h.findCitizen(n, "identity", "marriage", "property", "socialInsurance", "tax", "health")
	res := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID})

	id := c.Records["identity"][0]
	cz := get(res.Data, "citizen")
	if got := get(cz, "identity", "name"); got != id["name"] {
		t.Errorf("identity.name = %v, want %v", got, id["name"])
	}
	if got := get(cz, "identity", "hukouCity"); got != id["hukouCity"] {
		t.Errorf("identity.hukouCity = %v, want %v", got, id["hukouCity"])
	}
	if got := get(cz, "marriage", "maritalStatus"); got != c.Records["marriage"][0]["maritalStatus"] {
		t.Errorf("marriage.maritalStatus = %v, want %v", got, c.Records["marriage"][0]["maritalStatus"])
	}
	props, _ := get(cz, "property").([]any)
	if len(props) != len(c.Records["property"]) {
		t.Fatalf("property has %d items, want %d", len(props), len(c.Records["property"]))
	}
	for i, p := range c.Records["property"] {
		if got := get(props[i], "certificateNo"); got != p["certificateNo"] {
			t.Errorf("property[%d].certificateNo = %v, want %v", i, got, p["certificateNo"])
		}
		if got := get(props[i], "area"); got != p["area"] {
			t.Errorf("property[%d].area = %v, want %v", i, got, p["area"])
		}
	}

	// Denied: null, with FORBIDDEN at the field's path.
	if v := get(cz, "identity", "nationalId"); v != nil {
		t.Errorf("identity.nationalId = %v, want null", v)
	}
	if v := get(cz, "health"); v != nil {
		t.Errorf("health = %v, want null", v)
	}
	for _, path := range [][]any{{"citizen", "identity", "nationalId"}, {"citizen", "health"}} {
		if e := res.errorAt(path...); e == nil || e.Extensions["code"] != "FORBIDDEN" {
			t.Errorf("error at %v = %+v, want FORBIDDEN (all errors: %+v)", path, e, res.Errors)
		}
	}
	if len(res.Errors) != 2 {
		t.Errorf("%d errors, want exactly the two FORBIDDEN ones: %+v", len(res.Errors), res.Errors)
	}

	// Commitment only: no value, and the commitment opens to what is stored.
	citizenTok := auth.Principal{Kind: auth.KindCitizen, Subject: c.ID}
	for _, tc := range []struct {
		path  []string
		field string
		want  int64
	}{
		{[]string{"socialInsurance", "contributionMonths"}, "socialInsurance.contributionMonths", c.Records["socialInsurance"][0]["contributionMonths"].(int64)},
		{[]string{"tax", "annualIncome"}, "tax.annualIncome", c.Records["tax"][0]["annualIncome"].(int64)},
	} {
		sealed := get(cz, tc.path...)
		if sealed == nil {
			t.Errorf("%s = null, want a commitment", tc.field)
			continue
		}
		if v := get(sealed, "value"); v != nil {
			t.Errorf("%s.value = %v, want null (commitment only)", tc.field, v)
		}
		if s := get(sealed, "commitment", "scheme"); s != commit.Scheme {
			t.Errorf("%s.commitment.scheme = %v, want %s", tc.field, s, commit.Scheme)
		}
		point, err := commit.ParseCommitment(get(sealed, "commitment", "point").(string))
		if err != nil {
			t.Fatalf("%s.commitment.point: %v", tc.field, err)
		}
		o, _, err := h.app.reader.OpenOwn(t.Context(), citizenTok, tc.field, 0)
		if err != nil {
			t.Fatalf("OpenOwn(%s) = %v", tc.field, err)
		}
		if o.Value != tc.want {
			t.Errorf("stored %s = %v, want the demo value %d", tc.field, o.Value, tc.want)
		}
		if err := commit.Verify(point, commit.Int(tc.want), o.Blinding); err != nil {
			t.Errorf("the %s commitment handed out does not open to the stored value: %v", tc.field, err)
		}
		if err := commit.Verify(point, commit.Int(tc.want+1), o.Blinding); err == nil {
			t.Errorf("the %s commitment opens to another value too", tc.field)
		}
		if v := get(sealed, "commitment", "version"); v != float64(o.Version) {
			t.Errorf("%s.commitment.version = %v, want %d", tc.field, v, o.Version)
		}
	}

	// The receipt's entry lists exactly those fields and levels, and no personal data.
	e, raw := h.receiptEntry(res)
	want := []string{
		"health.bloodType deny",
		"identity.hukouCity reveal", "identity.name reveal", "identity.nationalId deny",
		"marriage.maritalStatus reveal",
		"property.acquiredOn reveal", "property.area reveal", "property.certificateNo reveal", "property.city reveal",
		"socialInsurance.contributionMonths commit",
		"tax.annualIncome commit",
	}
	if got := fieldLines(e); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entry fields =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e.Kind != ledger.KindAccess || e.Outcome != ledger.OutcomeAllowed || e.Department != "housing" || e.Role != "clerk" ||
		e.Purpose != "home-purchase-eligibility" || e.Policy != 1 || len(e.Subjects) != 1 || len(e.Request) != 32 {
		t.Errorf("entry = %+v, want an allowed access by housing/clerk for home-purchase-eligibility under policy 1 with one subject", e)
	}
	for _, secret := range []string{c.ID, id["name"].(string), id["nationalId"].(string)} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the ledger entry contains %q", secret)
		}
	}
}

// A query with an unregistered purpose, no token, or an expired token returns no citizen data;
// the attempt is on the ledger whenever the principal is known.
func TestRefusedReadsReleaseNothing(t *testing.T) {
	const n = 10
	h := startHub(t, n)
	c := h.findCitizen(n, "identity")
	name := c.Records["identity"][0]["name"].(string)

	t.Run("unregistered purpose", func(t *testing.T) {
		q := strings.Replace(eligibilityQuery, "home-purchase-eligibility", "curiosity", 1)
		res := h.query(h.token(housingClerk), q, map[string]any{"id": c.ID})
		if get(res.Data, "citizen") != nil {
			t.Errorf("data = %v, want no citizen", res.Data)
		}
		if e := res.errorAt("citizen"); e == nil || e.Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(e.Message, "not registered") {
			t.Errorf("error = %+v, want BAD_USER_INPUT saying the purpose is not registered", res.Errors)
		}
		all, raw := h.entries()
		last := all[len(all)-1]
		if last.Outcome != ledger.OutcomeDenied || last.Reason != "unknown-purpose" || last.Department != "housing" || last.Purpose != "" || len(last.Subjects) != 1 {
			t.Errorf("last entry = %+v, want a denied access by housing, reason unknown-purpose, no purpose text, one subject", last)
		}
		for _, f := range last.Fields {
			if f.Level != "deny" {
				t.Errorf("denied entry lists %s at %s, want deny", f.Name, f.Level)
			}
		}
		if bytes.Contains(raw[len(raw)-1], []byte("curiosity")) {
			t.Errorf("the unregistered purpose text reached the ledger")
		}
	})

	body := fmt.Sprintf(`{"query":%q,"variables":{"id":%q}}`, eligibilityQuery, c.ID)
	t.Run("no token", func(t *testing.T) {
		before, _ := h.entries()
		w := h.post(nil, body)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", w.Code)
		}
		if b := w.Body.String(); strings.Count(b, "\n") != 1 || strings.Contains(b, name) || strings.Contains(b, "data") {
			t.Errorf("body = %q, want one line and no data", b)
		}
		if after, _ := h.entries(); len(after) != len(before) {
			t.Errorf("an anonymous request added %d ledger entries, want none (nobody to name)", len(after)-len(before))
		}
	})

	t.Run("expired token", func(t *testing.T) {
		past, err := auth.NewIssuer(h.app.keys.issuer, tokenIssuer, auth.WithIssuerClock(func() time.Time { return time.Now().Add(-3 * time.Hour) }))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := past.Issue(housingClerk, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		w := h.post(http.Header{"Authorization": {"Bearer " + tok}}, body)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "expired") || strings.Contains(w.Body.String(), name) {
			t.Errorf("expired token: %d %q, want 401 saying expired, with no data", w.Code, w.Body.String())
		}
		all, _ := h.entries()
		last := all[len(all)-1]
		if last.Outcome != ledger.OutcomeDenied || last.Reason != "expired-token" || last.Department != "housing" || last.Role != "clerk" {
			t.Errorf("last entry = %+v, want a denied access by housing/clerk, reason expired-token", last)
		}
	})

	t.Run("wrongly signed token", func(t *testing.T) {
		tok := h.token(housingClerk)
		tok = tok[:len(tok)-4] + "AAAA"
		w := h.post(http.Header{"Authorization": {"Bearer " + tok}}, body)
		if w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), name) {
			t.Errorf("bad signature: %d %q, want 401 with no data", w.Code, w.Body.String())
		}
	})
}

const taxQuery = `query($id: ID!) { citizen(id: $id, purpose: "tax-administration") { tax { year annualIncome { value commitment { point version } } } } }`

const updateTax = `mutation($id: ID!, $income: Int64!) {
  updateTax(citizenId: $id, purpose: "tax-administration", input: {annualIncome: $income}) {
    version commitments { field commitment { point version } } receipt { index }
  }
}`

// An update by the owning department is validated, on the ledger, applied, and visible on the next
// read with a new commitment version; an invalid one writes nothing; another department's is
// refused and logged.
func TestUpdates(t *testing.T) {
	const n = 10
	h := startHub(t, n)
	c := h.findCitizen(n, "tax")
	tax := h.token(taxClerk)

	before := h.query(tax, taxQuery, map[string]any{"id": c.ID})
	oldVersion := get(before.Data, "citizen", "tax", "annualIncome", "commitment", "version")
	if got := get(before.Data, "citizen", "tax", "annualIncome", "value"); got != float64(c.Records["tax"][0]["annualIncome"].(int64)) {
		t.Fatalf("tax clerk reads annualIncome %v, want the demo value %d", got, c.Records["tax"][0]["annualIncome"])
	}

	res := h.query(tax, updateTax, map[string]any{"id": c.ID, "income": 234567})
	if len(res.Errors) > 0 {
		t.Fatalf("updateTax errors: %+v", res.Errors)
	}
	version := get(res.Data, "updateTax", "version").(float64)
	if version <= oldVersion.(float64) {
		t.Errorf("new version %v, want above the old %v", version, oldVersion)
	}
	commits, _ := get(res.Data, "updateTax", "commitments").([]any)
	if len(commits) != 1 || get(commits[0], "field") != "tax.annualIncome" {
		t.Fatalf("commitments = %v, want one for tax.annualIncome", commits)
	}
	e, raw := h.receiptEntry(res)
	if uint64(version) != uint64(get(res.Data, "updateTax", "receipt", "index").(float64)) {
		t.Errorf("version %v differs from the receipt index", version)
	}
	point := get(commits[0], "commitment", "point").(string)
	if e.Kind != ledger.KindUpdate || e.Dataset != "tax" || e.Department != "tax" || len(e.Fields) != 1 ||
		e.Fields[0].Name != "tax.annualIncome" || e.Fields[0].Level != "set" || e.Fields[0].Commitment != point || len(e.Record) != 32 {
		t.Errorf("update entry = %+v, want tax.annualIncome set with the new commitment", e)
	}
	if bytes.Contains(raw, []byte("234567")) || bytes.Contains(raw, []byte(c.ID)) {
		t.Errorf("the update entry holds the value or the citizen id:\n%s", raw)
	}

	after := h.query(tax, taxQuery, map[string]any{"id": c.ID})
	if got := get(after.Data, "citizen", "tax", "annualIncome", "value"); got != float64(234567) {
		t.Errorf("after the update annualIncome = %v, want 234567", got)
	}
	if got := get(after.Data, "citizen", "tax", "annualIncome", "commitment", "version"); got != version {
		t.Errorf("after the update commitment version = %v, want %v", got, version)
	}
	if got := get(after.Data, "citizen", "tax", "annualIncome", "commitment", "point"); got != point {
		t.Errorf("after the update commitment = %v, want the one the update returned", got)
	}
	if got := get(after.Data, "citizen", "tax", "year"); got != float64(c.Records["tax"][0]["year"].(int64)) {
		t.Errorf("a field the update left out changed: year = %v", got)
	}

	t.Run("invalid values write nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name, token, query, field string
			vars                      map[string]any
		}{
			{"negative income", tax, updateTax, "tax.annualIncome", map[string]any{"id": c.ID, "income": -5}},
			{"national id check digit", h.token(policeClerk),
				`mutation($id: ID!) { updateIdentity(citizenId: $id, purpose: "identity-verification", input: {nationalId: "110105194912310021"}) { version } }`,
				"identity.nationalId", map[string]any{"id": c.ID}},
			{"impossible date", h.token(policeClerk),
				`mutation($id: ID!) { updateIdentity(citizenId: $id, purpose: "identity-verification", input: {birthDate: "1990-02-30"}) { version } }`,
				"", map[string]any{"id": c.ID}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, _ := h.entries()
				res := h.query(tc.token, tc.query, tc.vars)
				if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
					t.Fatalf("errors = %+v, want one BAD_USER_INPUT", res.Errors)
				}
				if tc.field != "" && (res.Errors[0].Extensions["field"] != tc.field || !strings.Contains(res.Errors[0].Message, tc.field)) {
					t.Errorf("error %+v does not name %s", res.Errors[0], tc.field)
				}
				if after, _ := h.entries(); len(after) != len(before) {
					t.Errorf("an invalid update added %d ledger entries", len(after)-len(before))
				}
				now := h.query(tax, taxQuery, map[string]any{"id": c.ID})
				if got := get(now.Data, "citizen", "tax", "annualIncome", "commitment", "version"); got != version {
					t.Errorf("after an invalid update the record version is %v, want %v", got, version)
				}
			})
		}
	})

	t.Run("another department is refused and logged", func(t *testing.T) {
		q := strings.Replace(updateTax, "tax-administration", "home-purchase-eligibility", 1)
		res := h.query(h.token(housingClerk), q, map[string]any{"id": c.ID, "income": 1})
		if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "FORBIDDEN" || get(res.Data, "updateTax") != nil {
			t.Fatalf("housing updateTax: data %v errors %+v, want FORBIDDEN and nothing", res.Data, res.Errors)
		}
		all, _ := h.entries()
		last := all[len(all)-1]
		if last.Kind != ledger.KindUpdate || last.Outcome != ledger.OutcomeDenied || last.Reason != "forbidden" || last.Department != "housing" || last.Dataset != "tax" {
			t.Errorf("last entry = %+v, want a denied tax update by housing", last)
		}
		now := h.query(tax, taxQuery, map[string]any{"id": c.ID})
		if got := get(now.Data, "citizen", "tax", "annualIncome", "value"); got != float64(234567) {
			t.Errorf("after a refused update annualIncome = %v, want 234567", got)
		}
	})
}

// After the demo data is loaded, no sensitive value is anywhere in the data directory in clear.
func TestNoSensitiveValueAtRest(t *testing.T) {
	const n = 60
	h := startHub(t, n)

	// Documents: no record holds a sensitive field among its plain values.
	// Each citizen's records are in their document of record_heads, as BSON bytes (store/mongostore/heads.go).
	cur, err := h.app.storage.client.Database("govhub").Collection("record_heads").Find(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	type recordDoc struct {
		ID      string `bson:"_id"`
		Dataset string `bson:"dataset"`
		Items   []struct {
			Plain  bson.M `bson:"plain"`
			Sealed bson.M `bson:"sealed"`
		} `bson:"items"`
	}
	var citizens []bson.Raw
	if err := cur.All(t.Context(), &citizens); err != nil {
		t.Fatal(err)
	}
	var docs []recordDoc
	for _, c := range citizens {
		recs, err := storetest.CitizenRecords(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range recs {
			var d recordDoc
			if err := bson.Unmarshal(b, &d); err != nil {
				t.Fatal(err)
			}
			docs = append(docs, d)
		}
	}
	sealedSeen := 0
	for _, d := range docs {
		ds, _ := dataset.Lookup(d.Dataset)
		for _, it := range d.Items {
			for k := range it.Plain {
				if f, _ := ds.Field(k); f == nil || f.Sensitive {
					t.Errorf("record %s holds %s among its plain values", d.ID, k)
				}
			}
			sealedSeen += len(it.Sealed)
		}
	}
	if sealedSeen == 0 {
		t.Fatal("no sealed values stored at all")
	}

	var secrets, controls []string
	for i := 1; i <= n; i++ {
		c := h.gen.Citizen(i)
		id := c.Records["identity"][0]
		secrets = append(secrets, id["nationalId"].(string), id["address"].(string))
		controls = append(controls, id["name"].(string)+"", c.ID)
		for _, p := range c.Records["property"] {
			secrets = append(secrets, p["address"].(string))
		}
		for _, hr := range c.Records["health"] {
			if s := hr["chronicConditions"].(string); len(s) >= 6 {
				secrets = append(secrets, s)
			}
		}
	}
	h.close() // flush and release the files

	var files [][]byte
	err = filepath.WalkDir(h.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&os.ModeSocket != 0 {
			return err
		}
		b, err := os.ReadFile(path)
		files = append(files, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Records are stored as BSON bytes in binary fields, which FerretDB keeps as base64
	// (store/mongostore/heads.go): search what the base64 runs decode to as well. A citizen's
	// packed document is longer than SQLite's page, so its base64 is cut where a page ends and the
	// next run starts anywhere in a group of four: decode each run from each of the four offsets.
	b64 := regexp.MustCompile(`[A-Za-z0-9+/]{24,}`)
	for _, f := range slices.Clone(files) {
		for _, run := range b64.FindAll(f, -1) {
			for off := range 4 {
				r := run[off:]
				r = r[:len(r)/4*4]
				if dec, err := base64.StdEncoding.DecodeString(string(r)); err == nil {
					files = append(files, dec)
				}
			}
		}
	}
	found := func(s string) bool {
		forms := [][]byte{[]byte(s), []byte(strings.Trim(fmt.Sprintf("%+q", s), `"`))} // raw UTF-8, and \u escapes
		for _, f := range files {
			for _, form := range forms {
				if bytes.Contains(f, form) {
					return true
				}
			}
		}
		return false
	}
	// The search must be able to find what is stored in clear, or it proves nothing.
	for _, s := range controls[:6] {
		if !found(s) {
			t.Fatalf("control %q (stored in clear) not found in the raw files: the search is blind", s)
		}
	}
	for _, s := range secrets {
		if found(s) {
			t.Errorf("sensitive value %q is in the data directory in clear", s)
		}
	}
	t.Logf("%d sensitive values searched in %d files", len(secrets), len(files))
}

// The ledger outage: when the ledger cannot take the entry, the read fails and releases nothing.
func TestLedgerOutageFailsClosed(t *testing.T) {
	const n = 10
	h := startHub(t, n)
	c := h.findCitizen(n, "identity")
	name := c.Records["identity"][0]["name"].(string)
	tok := h.token(housingClerk)
	if res := h.query(tok, eligibilityQuery, map[string]any{"id": c.ID}); get(res.Data, "citizen", "identity", "name") != name {
		t.Fatalf("before the outage the read returns %v", res.Data)
	}
	// The ledger's own connection to the database goes down; the records stay readable.
	if err := h.app.storage.ledgerClient.Disconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := h.query(tok, eligibilityQuery, map[string]any{"id": c.ID})
	if get(res.Data, "citizen") != nil {
		t.Errorf("during a ledger outage the read returned %v", res.Data)
	}
	if e := res.errorAt("citizen"); e == nil || e.Extensions["code"] != "UNAVAILABLE" {
		t.Errorf("errors = %+v, want UNAVAILABLE at citizen", res.Errors)
	}
	if bytes.Contains(mustJSON(t, res.Raw), []byte(name)) {
		t.Errorf("the response carries the citizen's name")
	}
	if _, ok := res.Extensions["ledger"]; ok {
		t.Errorf("a failed read carries a ledger receipt")
	}
}
