package hub

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// sealedPurpose is the sealed purpose the tests register, for at most 180 days.
const sealedPurpose = "court-sealed-investigation"

// TestSealedDetailsVector keeps the worked example of sealed.go true: the details of
// testdata/sealed-details.txt, formatted from their parts, and their digest under a salt of 32
// bytes of 0x42.
func TestSealedDetailsVector(t *testing.T) {
	want, err := os.ReadFile("testdata/sealed-details.txt")
	if err != nil {
		t.Fatal(err)
	}
	official, _ := hex.DecodeString("cd18f1264f26eeced6cd355aafeb268ce59367fbcf7555c4a9813daa83620d60")
	got, err := FormatSealedDetails(SealedDetails{
		Time: time.Date(2026, 12, 1, 8, 0, 0, 5_000_000, time.UTC), Department: "public-security", Role: "investigator",
		Official: official, Purpose: sealedPurpose, CourtOrder: "(2026)京0105刑侦字第123号",
		UnsealOn: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC), Outcome: ledger.OutcomeAllowed,
		Fields: []ledger.Field{{Name: "tax.annualIncome", Level: "commit"}, {Name: "identity.address", Level: "reveal"}},
	})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("FormatSealedDetails =\n%s, %v\nwant\n%s", got, err, want)
	}
	digest := SealedDigest(bytes.Repeat([]byte{0x42}, 32), got)
	src, err := os.ReadFile("sealed.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`has the digest ([0-9a-f]{64})`).FindSubmatch(src)
	if m == nil || string(m[1]) != hex.EncodeToString(digest[:]) {
		t.Errorf("sealed.go's worked example names another digest, want %x", digest)
	}
	for _, bad := range []string{"", " leading", "trailing ", "line\nbreak", "tab\there", strings.Repeat("号", MaxCourtOrderLength+1)} {
		if err := CheckCourtOrder(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckCourtOrder(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// sealedFixture is the fixture under the demo policy plus a sealed purpose, for which the police
// clerk may reveal identity and see commitments of tax, with sealed reads kept for an oversight
// body whose identity it returns.
func sealedFixture(t *testing.T) (*fixture, *Sealed, *age.X25519Identity) {
	t.Helper()
	f := newFixture(t)
	set := policy.Demo()
	set.Purposes = append(set.Purposes, policy.Purpose{Code: sealedPurpose, TitleZh: "法院密封调查", TitleEn: "Court-sealed investigation",
		LegalBasis: "《刑事诉讼法》", Sealed: true, MaxSealDays: 180})
	for _, r := range []policy.Rule{
		{Role: "clerk", Department: "public-security", Object: "identity.*", Action: policy.ActionReveal, Purpose: sealedPurpose, Effect: policy.EffectAllow},
		{Role: "clerk", Department: "public-security", Object: "tax.annualIncome", Action: policy.ActionCommit, Purpose: sealedPurpose, Effect: policy.EffectAllow},
	} {
		set.Rules = append(set.Rules, r)
	}
	engine, err := policy.New(set, policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		t.Fatalf("policy.New = %v", err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sl, err := NewSealer(f.env.Store, f.master, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	f.engine = engine
	cfg := f.readerConfig()
	cfg.Sealer = sl
	if f.reader, err = NewReader(cfg, WithClock(sealedClock.Now)); err != nil {
		t.Fatal(err)
	}
	s, err := NewSealed(SealedConfig{Reader: f.reader, Log: f.env.Store, Entries: f.log.Reader()})
	if err != nil {
		t.Fatal(err)
	}
	return f, s, id
}

// sealedClock is the sealed tests' clock: now, moved on to unseal.
var sealedClock = &clock{now: time.Now()}

func day(t time.Time, days int) time.Time {
	return t.UTC().Truncate(24*time.Hour).AddDate(0, 0, days)
}

func TestSealedRead(t *testing.T) {
	f, s, oversight := sealedFixture(t)
	f.newCitizen(t, citizenA)
	ctx := t.Context()
	const order = "(2026)京0105刑侦字第123号"
	unseal := day(sealedClock.Now(), 30)
	fields := map[string]Want{"identity.name": WantValue, "identity.address": WantValue, "tax.annualIncome": WantValue | WantCommitment}
	read := func(seal *SealRequest) (*CitizenView, error) {
		return f.reader.ReadCitizen(ctx, policeClerk, ReadRequest{Citizen: citizenA, Purpose: sealedPurpose, Fields: fields,
			Request: []byte(`{citizen(id:"` + citizenA + `")}`), Seal: seal})
	}

	// Refused, on the ledger without the citizen: no court order, a bad one, a date out of range.
	for _, c := range []struct {
		name, reason string
		seal         *SealRequest
	}{
		{"no court order", "court-order-required", nil},
		{"control character", "court-order-invalid", &SealRequest{CourtOrder: "a\nb", UnsealOn: unseal}},
		{"today", "unseal-date", &SealRequest{CourtOrder: order, UnsealOn: day(sealedClock.Now(), 0)}},
		{"past the maximum", "unseal-date", &SealRequest{CourtOrder: order, UnsealOn: day(sealedClock.Now(), 181)}},
		{"not a date", "unseal-date", &SealRequest{CourtOrder: order, UnsealOn: unseal.Add(time.Hour)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := read(c.seal); !errors.Is(err, ErrInvalid) {
				t.Fatalf("ReadCitizen = %v, want ErrInvalid", err)
			}
			e, _ := f.last(t)
			if e.Reason != c.reason || len(e.Subjects) != 0 || e.Outcome != ledger.OutcomeDenied {
				t.Errorf("refusal entry = %+v, want reason %s, no subject", e, c.reason)
			}
		})
	}
	// A court order under a purpose that is not sealed is refused too.
	if _, err := f.reader.ReadCitizen(ctx, housingClerk, ReadRequest{Citizen: citizenA, Purpose: "home-purchase-eligibility",
		Fields: map[string]Want{"identity.name": WantValue}, Seal: &SealRequest{CourtOrder: order, UnsealOn: unseal}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReadCitizen(court order, plain purpose) = %v, want ErrInvalid", err)
	}

	view, err := read(&SealRequest{CourtOrder: order, UnsealOn: unseal})
	if err != nil {
		t.Fatalf("sealed ReadCitizen = %v", err)
	}
	if got := view.Datasets["identity"].Items[0]["address"].Value; got != identityItem()["address"] {
		t.Errorf("sealed read released address %v, want %v", got, identityItem()["address"])
	}
	index := view.Receipt.Index
	f.checkIndexed(t, citizenA, index)
	if _, err := f.log.WaitCheckpoint(ctx, index+1); err != nil {
		t.Fatal(err)
	}
	raw, err := f.log.Reader().Entry(ctx, index)
	if err != nil {
		t.Fatal(err)
	}
	// The entry's bytes hide every detail: no department, role, official, purpose, field, court
	// order or request digest.
	e, err := ledger.ParseEntry(raw)
	if err != nil {
		t.Fatal(err)
	}
	if e.Department != SealedDepartment || e.Role != SealedRole || e.Official != nil || e.Purpose != "" || e.Request != nil ||
		e.RequestID != "" || len(e.Fields) != 0 || e.Sealed == nil || !e.Sealed.Unseal.Equal(unseal) || len(e.Subjects) != 1 {
		t.Fatalf("sealed access entry:\n%s", raw)
	}
	for _, hidden := range []string{"public-security", "clerk", sealedPurpose, "identity", "tax", "address", order, "(2026)"} {
		if bytes.Contains(raw, []byte(hidden)) {
			t.Errorf("the sealed access entry shows %q:\n%s", hidden, raw)
		}
	}

	// The citizen's log shows a sealed access at that time, and nothing more.
	cz := f.citizens(t)
	page, err := cz.Accesses(ctx, citizenPA, 1, "")
	if err != nil || len(page.Accesses) != 1 {
		t.Fatalf("Accesses = %v, %v", page, err)
	}
	if a := page.Accesses[0]; a.Kind != AccessSealed || a.Index != index || a.Purpose != nil || a.Official != "" || len(a.Fields) != 0 ||
		a.Department.Code != SealedDepartment || a.UnsealOn == nil || !a.UnsealOn.Equal(unseal) || !a.Time.Equal(e.Time) {
		t.Errorf("the citizen's view of the sealed access = %+v", a)
	}

	// Before unsealing the citizen is told the date alone; others are refused.
	d, err := s.Disclosure(ctx, citizenPA, index)
	if err != nil || d.Unsealed || d.Details != nil || !d.UnsealOn.Equal(unseal) {
		t.Fatalf("Disclosure before unsealing = %+v, %v", d, err)
	}
	if _, err := s.Disclosure(ctx, citizenPB, index); !errors.Is(err, ErrNoAccess) {
		t.Errorf("Disclosure(another citizen) = %v, want ErrNoAccess", err)
	}
	if _, err := s.Disclosure(ctx, policeClerk, index); !errors.Is(err, ErrForbidden) {
		t.Errorf("Disclosure(a department) = %v, want ErrForbidden", err)
	}
	if n, err := s.UnsealDue(ctx); n != 0 || err != nil {
		t.Errorf("UnsealDue before the date = %d, %v, want 0", n, err)
	}
	counts, err := s.Counts(ctx)
	if err != nil || len(counts) != 1 || counts[0] != (DepartmentCount{Department: "public-security", Count: 1}) {
		t.Errorf("Counts = %v, %v, want public-security 1", counts, err)
	}

	// The oversight body reads the details before unsealing.
	kept, err := f.env.Store.SealedAccess(ctx, hex.EncodeToString(e.Sealed.Case))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := OpenOversight(kept.Oversight, oversight)
	if err != nil || !strings.Contains(rec.Details, "court-order "+order+"\n") || !strings.Contains(rec.Details, "actor public-security/clerk\n") {
		t.Fatalf("OpenOversight = %+v, %v", rec, err)
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := OpenOversight(kept.Oversight, other); err == nil {
		t.Error("OpenOversight with another identity succeeded")
	}

	// A stored copy whose date was moved forward behind the hub's back unseals nothing: the
	// entry's date counts.
	if _, err := f.env.DB.Collection("sealed_accesses").UpdateOne(ctx, bson.D{{Key: "_id", Value: kept.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "unsealOn", Value: day(sealedClock.Now(), -1)}}}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.UnsealDue(ctx); n != 0 || !errors.Is(err, ErrIntegrity) {
		t.Fatalf("UnsealDue with a moved date = %d, %v, want 0 and ErrIntegrity", n, err)
	}
	if d, err := s.Disclosure(ctx, citizenPA, index); err != nil || d.Unsealed {
		t.Fatalf("Disclosure after a moved date = %+v, %v, want still sealed", d, err)
	}

	// Nor does a mark "unsealed" set behind the hub's back: the ledger holds no such unseal.
	if err := f.env.Store.UnsealAccess(ctx, kept.ID, index, sealedClock.Now()); err != nil {
		t.Fatal(err)
	}
	if d, err := s.Disclosure(ctx, citizenPA, index); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("Disclosure with a forged unseal mark = %+v, %v, want ErrIntegrity", d, err)
	}
	if _, err := f.env.DB.Collection("sealed_accesses").UpdateOne(ctx, bson.D{{Key: "_id", Value: kept.ID}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "unsealIndex", Value: ""}, {Key: "unsealedAt", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}

	// On the unseal date the job discloses it, once.
	sealedClock.add(31 * 24 * time.Hour)
	t.Cleanup(func() { sealedClock.add(-31 * 24 * time.Hour) })
	if n, err := s.UnsealDue(ctx); n != 1 || err != nil {
		t.Fatalf("UnsealDue = %d, %v, want 1", n, err)
	}
	if n, err := s.UnsealDue(ctx); n != 0 || err != nil {
		t.Fatalf("UnsealDue again = %d, %v, want 0 (idempotent)", n, err)
	}
	ue, ui := f.last(t)
	if ue.Kind != ledger.KindUnseal || ue.About != index || !bytes.Equal(ue.Record, e.Sealed.Case) || ue.Reason != UnsealExpired {
		t.Fatalf("unseal entry = %+v", ue)
	}
	f.checkIndexed(t, citizenA, ui)
	page, err = cz.Accesses(ctx, citizenPA, 1, "")
	if err != nil || len(page.Accesses) != 1 || page.Accesses[0].Kind != AccessUnseal || page.Accesses[0].About != index {
		t.Fatalf("the citizen's latest access = %+v, %v, want the unseal of %d", page, err, index)
	}
	d, err = s.Disclosure(ctx, citizenPA, index)
	if err != nil || !d.Unsealed || d.UnsealIndex != ui {
		t.Fatalf("Disclosure after unsealing = %+v, %v", d, err)
	}
	if err := CheckDisclosure(raw, d.Salt, d.Details); err != nil {
		t.Errorf("CheckDisclosure = %v", err)
	}
	for _, want := range []string{"actor public-security/clerk\n", "court-order " + order + "\n", "field identity.address reveal\n",
		"field tax.annualIncome commit\n", "purpose " + sealedPurpose + "\n"} {
		if !bytes.Contains(d.Details, []byte(want)) {
			t.Errorf("disclosed details lack %q:\n%s", want, d.Details)
		}
	}
	forged := bytes.Replace(d.Details, []byte("public-security/clerk"), []byte("tax/clerk"), 1)
	if err := CheckDisclosure(raw, d.Salt, forged); err == nil {
		t.Error("CheckDisclosure(forged details) = nil")
	}
}

func TestSealedFailsClosed(t *testing.T) {
	f, _, _ := sealedFixture(t)
	f.newCitizen(t, citizenA)
	cfg := f.readerConfig()
	rd, err := NewReader(cfg) // no sealer
	if err != nil {
		t.Fatal(err)
	}
	_, err = rd.ReadCitizen(t.Context(), policeClerk, ReadRequest{Citizen: citizenA, Purpose: sealedPurpose,
		Fields: map[string]Want{"identity.name": WantValue}, Seal: &SealRequest{CourtOrder: "x", UnsealOn: day(time.Now(), 10)}})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("sealed ReadCitizen without a sealer = %v, want ErrUnavailable", err)
	}
	if _, err := rd.ListCitizens(t.Context(), policeClerk, ListRequest{Purpose: sealedPurpose, First: 5,
		Fields: map[string]Want{"identity.name": WantValue}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ListCitizens(sealed purpose) = %v, want ErrInvalid", err)
	}
}

// citizens is the citizens' view on the fixture.
func (f *fixture) citizens(t *testing.T) *Citizens {
	t.Helper()
	rv, err := NewReview(f.log, f.log.Reader())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCitizens(CitizensConfig{Reader: f.reader, Log: f.env.Store, Entries: f.log.Reader(), Review: rv})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A disclosure is accepted only if its details hash, under its salt, to the entry's sealed line
// and name the entry's unseal date; anything else is an error, never a panic.
func FuzzCheckDisclosure(f *testing.F) {
	details, err := os.ReadFile("testdata/sealed-details.txt")
	if err != nil {
		f.Fatal(err)
	}
	salt := bytes.Repeat([]byte{0x42}, 32)
	digest := SealedDigest(salt, details)
	entry, err := ledger.FormatEntry(ledger.Entry{Kind: ledger.KindAccess, Time: time.Date(2026, 12, 1, 8, 0, 0, 5_000_000, time.UTC),
		Department: SealedDepartment, Role: SealedRole, Policy: 7, Outcome: ledger.OutcomeAllowed,
		Sealed: &ledger.Sealing{Case: digest[:], Unseal: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)}, Subjects: [][]byte{bytes.Repeat([]byte{0x5b}, 32)}})
	if err != nil {
		f.Fatal(err)
	}
	if err := CheckDisclosure(entry, salt, details); err != nil {
		f.Fatalf("CheckDisclosure(vector) = %v", err)
	}
	f.Add(entry, salt, details)
	f.Add(entry, salt[:31], details)
	f.Add(entry, salt, bytes.Replace(details, []byte("2027-06-30"), []byte("2027-06-29"), 1))
	f.Add([]byte("govhub/entry/v2\n"), salt, details)
	f.Fuzz(func(t *testing.T, raw, salt, details []byte) {
		if err := CheckDisclosure(raw, salt, details); err != nil {
			return
		}
		e, err := ledger.ParseEntry(raw)
		if err != nil || e.Sealed == nil {
			t.Fatalf("CheckDisclosure accepted an entry that is not a sealed access: %q", raw)
		}
		if d := SealedDigest(salt, details); !bytes.Equal(d[:], e.Sealed.Case) || len(salt) != 32 {
			t.Fatalf("CheckDisclosure accepted details that do not hash to the sealed line")
		}
	})
}

// The unseal job and an approved early unseal racing both disclose the same details; the one
// marked first is the one the citizen is shown, and it is an unseal of that access.
func TestUnsealRace(t *testing.T) {
	f, s, _ := sealedFixture(t)
	f.newCitizen(t, citizenA)
	ctx := t.Context()
	view, err := f.reader.ReadCitizen(ctx, policeClerk, ReadRequest{Citizen: citizenA, Purpose: sealedPurpose,
		Fields: map[string]Want{"identity.name": WantValue}, Seal: &SealRequest{CourtOrder: "(2026)001", UnsealOn: day(sealedClock.Now(), 1)}})
	if err != nil {
		t.Fatal(err)
	}
	index := view.Receipt.Index
	sealedClock.add(2 * 24 * time.Hour)
	t.Cleanup(func() { sealedClock.add(-2 * 24 * time.Hour) })
	var early uint64
	var eerr, derr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		early, eerr = s.UnsealEarly(ctx, privacyOfficer, index)
	}()
	_, derr = s.UnsealDue(ctx)
	<-done
	if eerr != nil || derr != nil {
		t.Fatalf("UnsealEarly = %v, UnsealDue = %v", eerr, derr)
	}
	d, err := s.Disclosure(ctx, citizenPA, index)
	if err != nil || !d.Unsealed {
		t.Fatalf("Disclosure = %+v, %v", d, err)
	}
	if ue := f.entry(t, d.UnsealIndex); ue.Kind != ledger.KindUnseal || ue.About != index {
		t.Errorf("the disclosure names entry %d: %+v", d.UnsealIndex, ue)
	}
	if early != d.UnsealIndex {
		// The early unseal lost the mark: it reports the winner's entry.
		t.Errorf("UnsealEarly = %d, the access is marked unsealed by %d", early, d.UnsealIndex)
	}
}
