package hub

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store/storetest"
)

// checkNoClearData checks that no ledger entry holds any of the needles (citizen ids, values).
func (f *fixture) checkNoClearData(t *testing.T, needles ...string) {
	t.Helper()
	for first := uint64(0); ; {
		b, err := f.env.Store.ReadBatch(t.Context(), first)
		if errors.Is(err, ledger.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatalf("ReadBatch = %v", err)
		}
		for i, leaf := range b.Leaves {
			for _, n := range needles {
				if bytes.Contains(leaf, []byte(n)) {
					t.Errorf("ledger entry %d holds %q in clear:\n%s", b.First+uint64(i), n, leaf)
				}
			}
		}
		first = b.End()
	}
}

func TestReadOutsideDepartmentsDenied(t *testing.T) {
	f := newFixture(t)
	f.newCitizen(t, citizenA)
	tests := []struct {
		name string
		p    auth.Principal
		dept string
	}{
		{"citizen reading their own data", auth.Principal{Kind: auth.KindCitizen, Subject: citizenA}, "citizen"},
		{"auditor", auth.Principal{Kind: auth.KindAuditor, Subject: "a1"}, "auditor"},
		// A principal claiming a department's rules without being a department's official.
		{"citizen with a department's role", auth.Principal{Kind: auth.KindCitizen, Department: "public-security", Role: "clerk", Subject: citizenA}, "public-security"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ReadRequest{Citizen: citizenA, Purpose: "identity-verification", Request: []byte("q"),
				Fields: map[string]Want{"identity.name": WantValue, "identity.nationalId": WantValue | WantCommitment, "tax.annualIncome": WantCommitment}}
			view, err := f.reader.ReadCitizen(t.Context(), tt.p, req)
			if err != nil {
				t.Fatalf("ReadCitizen = %v, want a view with every field denied", err)
			}
			for field := range req.Fields {
				if got := view.Levels[field]; got != policy.Deny {
					t.Errorf("Levels[%s] = %v, want deny", field, got)
				}
			}
			if len(view.Datasets) != 0 {
				t.Errorf("Datasets = %v, want nothing released", view.Datasets)
			}
			if !view.DatasetDenied("identity") || !view.DatasetDenied("tax") || view.DatasetDenied("health") {
				t.Errorf("DatasetDenied(identity, tax, health) = %v %v %v, want true true false",
					view.DatasetDenied("identity"), view.DatasetDenied("tax"), view.DatasetDenied("health"))
			}
			e := f.entry(t, view.Receipt.Index)
			if e.Kind != ledger.KindAccess || e.Outcome != ledger.OutcomeDenied || e.Reason != "forbidden" {
				t.Errorf("entry = kind %s outcome %s reason %q, want access denied forbidden", e.Kind, e.Outcome, e.Reason)
			}
			if e.Department != tt.dept || e.Purpose != "identity-verification" {
				t.Errorf("entry actor %s/%s purpose %s, want department %s, purpose identity-verification", e.Department, e.Role, e.Purpose, tt.dept)
			}
			want := map[string]string{"identity.name": "deny", "identity.nationalId": "deny", "tax.annualIncome": "deny"}
			if got := fieldLevels(e); !equalMaps(got, want) {
				t.Errorf("entry fields = %v, want %v", got, want)
			}
			if !bytes.Equal(e.Request, f.reader.requestDigest([]byte("q"))) {
				t.Errorf("entry request digest = %x, want the keyed digest of the request", e.Request)
			}
			f.checkIndexed(t, citizenA, view.Receipt.Index)
		})
	}
	f.checkNoClearData(t, citizenA, "王小红", nationalIDA)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestReadNoSuchCitizen(t *testing.T) {
	f := newFixture(t)
	f.newCitizen(t, citizenA)
	const ghost = "C999999"
	_, err := f.reader.ReadCitizen(t.Context(), policeClerk, ReadRequest{Citizen: ghost, Purpose: "identity-verification",
		Fields: map[string]Want{"identity.name": WantValue, "identity.address": WantValue}})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadCitizen(%s) = %v, want ErrNotFound", ghost, err)
	}
	e, index := f.last(t)
	if e.Kind != ledger.KindAccess || e.Outcome != ledger.OutcomeDenied || e.Reason != "no-such-citizen" {
		t.Errorf("last entry = kind %s outcome %s reason %q, want access denied no-such-citizen", e.Kind, e.Outcome, e.Reason)
	}
	if e.Department != "public-security" || e.Role != "clerk" || e.Purpose != "identity-verification" {
		t.Errorf("last entry actor %s/%s purpose %s, want public-security/clerk identity-verification", e.Department, e.Role, e.Purpose)
	}
	if len(e.Fields) != 2 {
		t.Errorf("last entry fields = %v, want the two requested", e.Fields)
	}
	// The attempt is findable by the (would-be) citizen, but the ledger does not name them.
	f.checkIndexed(t, ghost, index)
	f.checkNoClearData(t, ghost)
}

func TestReadReleasesWhatPolicyAllows(t *testing.T) {
	f := newFixture(t)
	f.newCitizen(t, citizenA)
	ctx := t.Context()

	t.Run("owner reveals sealed values", func(t *testing.T) {
		view, err := f.reader.ReadCitizen(ctx, policeClerk, ReadRequest{Citizen: citizenA, Purpose: "identity-verification",
			Fields: map[string]Want{"identity.name": WantValue, "identity.nationalId": WantValue | WantCommitment, "identity.address": WantValue}})
		if err != nil {
			t.Fatalf("ReadCitizen = %v", err)
		}
		item := view.Datasets["identity"].Items[0]
		if item["name"].Value != "王小红" || item["nationalId"].Value != nationalIDA || item["address"].Value != "北京市朝阳区建国路1号" {
			t.Errorf("identity = %v, want the stored values", item)
		}
		if item["nationalId"].Commitment == nil {
			t.Errorf("nationalId has no commitment")
		}
		if _, ok := item["gender"]; ok {
			t.Errorf("gender released though not requested")
		}
		e := f.entry(t, view.Receipt.Index)
		if e.Outcome != ledger.OutcomeAllowed || !equalMaps(fieldLevels(e), map[string]string{
			"identity.name": "reveal", "identity.nationalId": "reveal", "identity.address": "reveal"}) {
			t.Errorf("entry = %s %v, want allowed with three reveals", e.Outcome, fieldLevels(e))
		}
		f.checkIndexed(t, citizenA, view.Receipt.Index)
	})
	t.Run("reveal capped at what was selected", func(t *testing.T) {
		view, err := f.reader.ReadCitizen(ctx, taxClerk, ReadRequest{Citizen: citizenA, Purpose: "tax-administration",
			Fields: map[string]Want{"tax.annualIncome": WantCommitment, "tax.year": WantValue}})
		if err != nil {
			t.Fatalf("ReadCitizen = %v", err)
		}
		if got := view.Levels["tax.annualIncome"]; got != policy.Commit {
			t.Errorf("Levels[tax.annualIncome] = %v, want commit (only the commitment was selected)", got)
		}
		fv := view.Datasets["tax"].Items[0]["annualIncome"]
		if fv.Value != nil || fv.Commitment == nil {
			t.Errorf("annualIncome = %+v, want a commitment and no value", fv)
		}
		if got := view.Datasets["tax"].Items[0]["year"].Value; got != int64(2024) {
			t.Errorf("year = %v, want 2024", got)
		}
		if got := fieldLevels(f.entry(t, view.Receipt.Index))["tax.annualIncome"]; got != "commit" {
			t.Errorf("entry level of tax.annualIncome = %s, want commit", got)
		}
	})
	t.Run("other department gets commitments and denials", func(t *testing.T) {
		view, err := f.reader.ReadCitizen(ctx, housingClerk, ReadRequest{Citizen: citizenA, Purpose: "home-purchase-eligibility",
			Fields: map[string]Want{"tax.annualIncome": WantValue | WantCommitment, "identity.nationalId": WantValue, "property.city": WantValue}})
		if err != nil {
			t.Fatalf("ReadCitizen = %v", err)
		}
		want := map[string]policy.Level{"tax.annualIncome": policy.Commit, "identity.nationalId": policy.Deny, "property.city": policy.Reveal}
		for k, l := range want {
			if view.Levels[k] != l {
				t.Errorf("Levels[%s] = %v, want %v", k, view.Levels[k], l)
			}
		}
		if _, ok := view.Datasets["identity"]; ok {
			t.Errorf("identity released though every requested field was denied")
		}
		if fv := view.Datasets["tax"].Items[0]["annualIncome"]; fv.Value != nil || fv.Commitment == nil {
			t.Errorf("annualIncome = %+v, want only a commitment", fv)
		}
		if items := view.Datasets["property"].Items; len(items) != 2 || items[0]["city"].Value != "北京市" || items[1]["city"].Value != "上海市" {
			t.Errorf("property = %v, want both cities in order", items)
		}
		if _, ok := view.Datasets["property"].Items[0]["address"]; ok {
			t.Errorf("property.address released though not requested")
		}
	})
	t.Run("malformed field name", func(t *testing.T) {
		before := len(f.entries(t))
		_, err := f.reader.ReadCitizen(ctx, policeClerk, ReadRequest{Citizen: citizenA, Purpose: "identity-verification",
			Fields: map[string]Want{"identity.shoeSize": WantValue}})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ReadCitizen(identity.shoeSize) = %v, want ErrInvalid", err)
		}
		if after := len(f.entries(t)); after != before {
			t.Errorf("a malformed request appended %d entries", after-before)
		}
	})
	f.checkNoClearData(t, citizenA, "王小红", nationalIDA, "北京市朝阳区建国路1号")
}

func TestOpenOwn(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	me := auth.Principal{Kind: auth.KindCitizen, Subject: citizenA}
	prop := f.record(t, citizenA, "property")

	o, r, err := f.reader.OpenOwn(ctx, me, "property.address", 1)
	if err != nil {
		t.Fatalf("OpenOwn(property.address, 1) = %v", err)
	}
	if o.Value != "上海市浦东新区世纪大道2号" || o.Version != prop.Items[1].Sealed["address"].Version {
		t.Errorf("OpenOwn = %v at %d, want the second address at %d", o.Value, o.Version, prop.Items[1].Sealed["address"].Version)
	}
	if string(o.Commitment[:]) != string(prop.Items[1].Sealed["address"].Commitment) {
		t.Errorf("OpenOwn commitment is not the stored one")
	}
	e := f.entry(t, r.Index)
	if e.Department != "citizen" || e.Outcome != ledger.OutcomeAllowed || !equalMaps(fieldLevels(e), map[string]string{"property.address#1": "reveal"}) {
		t.Errorf("OpenOwn entry = %s %s %v, want an allowed citizen reveal of property.address#1", e.Department, e.Outcome, fieldLevels(e))
	}
	f.checkIndexed(t, citizenA, r.Index)

	tests := []struct {
		name  string
		p     auth.Principal
		field string
		item  int
		want  error
	}{
		{"a department", taxClerk, "tax.annualIncome", 0, ErrForbidden},
		{"an auditor", auth.Principal{Kind: auth.KindAuditor, Subject: citizenA}, "tax.annualIncome", 0, ErrForbidden},
		{"a citizen without subject", auth.Principal{Kind: auth.KindCitizen}, "tax.annualIncome", 0, ErrForbidden},
		{"a plain field", me, "tax.year", 0, ErrInvalid},
		{"no such field", me, "tax.refund", 0, ErrInvalid},
		{"item out of range", me, "property.address", 2, ErrInvalid},
		{"negative item", me, "property.address", -1, ErrInvalid},
		{"no record", me, "health.bloodType", 0, ErrNotFound},
		{"someone with no records", auth.Principal{Kind: auth.KindCitizen, Subject: citizenB}, "tax.annualIncome", 0, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err := f.reader.OpenOwn(ctx, tt.p, tt.field, tt.item)
			if !errors.Is(err, tt.want) {
				t.Errorf("OpenOwn(%s, %d) = %v, want %v", tt.field, tt.item, err, tt.want)
			}
			if o.Value != nil {
				t.Errorf("OpenOwn released %v with an error", o.Value)
			}
		})
	}
}

func TestLogRefusal(t *testing.T) {
	f := newFixture(t)
	r, err := f.reader.LogRefusal(t.Context(), housingClerk, "expired-token", []byte("the request"))
	if err != nil {
		t.Fatalf("LogRefusal = %v", err)
	}
	e := f.entry(t, r.Index)
	if e.Kind != ledger.KindAccess || e.Outcome != ledger.OutcomeDenied || e.Reason != "expired-token" ||
		e.Department != "housing" || e.Role != "clerk" || len(e.Subjects) != 0 || len(e.Fields) != 0 {
		t.Errorf("LogRefusal entry = %+v, want a denied access by housing/clerk, expired-token, no subject or field", e)
	}
	if !bytes.Equal(e.Request, f.reader.requestDigest([]byte("the request"))) {
		t.Errorf("entry request = %x, want the keyed digest", e.Request)
	}
	if _, err := f.reader.LogRefusal(t.Context(), housingClerk, "not a token", nil); err == nil {
		t.Errorf("LogRefusal(reason with spaces) = nil error, want the entry refused")
	}
}

// With the ledger down, nothing is released and nothing is written (ARCHITECTURE §1.1, §1.2).
func TestLedgerDownFailsClosed(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.newCitizen(t, citizenA)
	before := f.record(t, citizenA, "tax")
	if err := f.log.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	view, err := f.reader.ReadCitizen(ctx, policeClerk, ReadRequest{Citizen: citizenA, Purpose: "identity-verification",
		Fields: map[string]Want{"identity.name": WantValue}})
	if !errors.Is(err, ErrUnavailable) || view != nil {
		t.Errorf("ReadCitizen with the ledger down = %v, %v, want nil, ErrUnavailable", view, err)
	}
	res, err := f.updater.Update(ctx, taxClerk, UpdateRequest{Citizen: citizenA, Dataset: "tax", Purpose: "tax-administration",
		Items: []map[string]any{{"annualIncome": int64(190000)}}})
	if !errors.Is(err, ErrUnavailable) || res != nil {
		t.Errorf("Update with the ledger down = %v, %v, want nil, ErrUnavailable", res, err)
	}
	if after := f.record(t, citizenA, "tax"); after.Version != before.Version || f.open(t, after, "annualIncome", 0) != int64(180000) {
		t.Errorf("Update with the ledger down changed the record")
	}
	if ids := f.pendingIDs(t); len(ids) != 0 {
		t.Errorf("pending updates = %v, want none for an update never logged", ids)
	}
	// Refusals cannot be logged either, so they fail too rather than pass unlogged.
	if _, err := f.reader.ReadCitizen(ctx, policeClerk, ReadRequest{Citizen: citizenA, Purpose: "nope",
		Fields: map[string]Want{"identity.name": WantValue}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("ReadCitizen(unknown purpose) with the ledger down = %v, want ErrUnavailable", err)
	}
}

func TestWithClock(t *testing.T) {
	env := storetest.Embedded(t)
	lg := newLedger(t, env.Store)
	engine, err := policy.New(policy.Demo(), policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatal(err)
	}
	master, err := seal.NewMasterKey(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 6000000, time.UTC)
	f := &fixture{env: env, log: lg, engine: engine, master: master, indexKey: bytes.Repeat([]byte{2}, 32), officials: newOfficials(t, env.Store)}
	f.integrity = newIntegrity(t, f.indexKey, env.Store, lg)
	h, err := NewReader(f.readerConfig(), WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Policy().Version(); got != 1 {
		t.Errorf("Policy().Version() = %d, want 1", got)
	}
	r, err := h.LogRefusal(t.Context(), taxClerk, "expired-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := f.entry(t, r.Index); !e.Time.Equal(at) {
		t.Errorf("entry time = %v, want the clock's %v", e.Time, at)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no randomness") }

// An opening is handed out only with its durable entry: when the entry cannot be made (here, no
// salt for the subject commitment), OpenOwn returns neither the value nor the blinding.
func TestOpenOwnReleasesNothingOnError(t *testing.T) {
	f := newFixture(t)
	f.newCitizen(t, citizenA)
	h, err := NewReader(f.readerConfig(), WithRand(failingReader{}))
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.entries(t))
	o, _, err := h.OpenOwn(t.Context(), auth.Principal{Kind: auth.KindCitizen, Subject: citizenA}, "tax.annualIncome", 0)
	if err == nil {
		t.Fatalf("OpenOwn without randomness = nil error, want a failure")
	}
	if o != (Opening{}) {
		t.Errorf("OpenOwn failed with %v but returned the opening %+v", err, o)
	}
	if after := len(f.entries(t)); after != before {
		t.Errorf("OpenOwn appended %d entries though it failed", after-before)
	}
}
