package hub

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

const birthDate = "identity.birthDate"

// legacyFixture is a fixture whose citizens A and B were written as before scheme v2: their birth
// dates are committed as hashes.
func legacyFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	legacy, err := NewUpdater(f.updaterConfig(), WithHashedDates())
	if err != nil {
		t.Fatal(err)
	}
	saved := f.updater
	f.updater = legacy
	f.newCitizen(t, citizenA)
	f.newCitizen(t, citizenB)
	f.updater = saved
	// A later update by the legacy writer, so that the migrated record builds on a history.
	if _, err := legacy.Update(t.Context(), policeClerk, UpdateRequest{Citizen: citizenB, Dataset: "identity", Purpose: "identity-verification",
		Items: []map[string]any{{"address": "北京市海淀区中关村大街1号"}}}); err != nil {
		t.Fatalf("Update(identity) = %v", err)
	}
	for _, c := range []string{citizenA, citizenB} {
		if sf := f.record(t, c, "identity").Items[0].Sealed["birthDate"]; sf.Scheme != "" {
			t.Fatalf("legacy writer stored scheme %q, want none (v1)", sf.Scheme)
		}
	}
	return f
}

// TestMigrateDates: a store written with hashed dates is migrated through update entries; the dates
// and every other value are unchanged, the record audit passes, openings verify under v2, the age
// predicate becomes provable, and the migration is resumable and idempotent.
func TestMigrateDates(t *testing.T) {
	f := legacyFixture(t)
	ctx := usecase.WithRequestID(t.Context(), "req-migrate")
	before := map[string][]byte{}
	nationalID := map[string]string{}
	for _, c := range []string{citizenA, citizenB} {
		rec := f.record(t, c, "identity")
		before[c] = rec.Items[0].Sealed["birthDate"].Commitment
		nationalID[c] = hex.EncodeToString(rec.Items[0].Sealed["nationalId"].Commitment)
	}

	// Before: the hashed date cannot be proven about, and the read fails rather than say "no".
	ask := ReadRequest{Citizen: citizenA, Purpose: "identity-verification", Fields: map[string]Want{ProofKey(birthDate, "adult"): 0}}
	if _, err := f.reader.ReadCitizen(ctx, policeClerk, ask); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "migrate dates") {
		t.Fatalf("adult of a hashed date = %v, want ErrUnavailable naming the migration", err)
	}

	// Interrupted after the first record (as a crash or Ctrl-C would), then resumed.
	_, sizeBefore := f.last(t)
	stop, cancel := context.WithCancel(ctx)
	rep, err := f.updater.MigrateDates(stop, f.env.Store, func(done, pending int) {
		if done == 1 {
			cancel()
		}
	})
	cancel()
	if !errors.Is(err, context.Canceled) || rep.Pending != 2 || rep.Migrated != 1 {
		t.Fatalf("interrupted MigrateDates = %+v, %v; want 1 of 2 migrated and context.Canceled", rep, err)
	}
	var calls [][2]int
	rep, err = f.updater.MigrateDates(ctx, f.env.Store, func(done, pending int) { calls = append(calls, [2]int{done, pending}) })
	if err != nil || rep.Records != 2 || rep.Pending != 1 || rep.Migrated != 1 || len(rep.Problems) != 0 {
		t.Fatalf("resumed MigrateDates = %+v, %v; want the one left migrated", rep, err)
	}
	if len(calls) != 1 || calls[0] != [2]int{1, 1} {
		t.Errorf("progress calls %v, want [[1 1]]", calls)
	}
	entries := f.entries(t)
	migrations := entries[sizeBefore+1:]
	if len(migrations) != 2 {
		t.Fatalf("%d entries appended by the migration, want 2", len(migrations))
	}
	for _, c := range []string{citizenA, citizenB} {
		rec := f.record(t, c, "identity")
		sf := rec.Items[0].Sealed["birthDate"]
		if sf.Scheme != commit.SchemeV2 || bytes.Equal(sf.Commitment, before[c]) || sf.Version != rec.Version {
			t.Errorf("%s: birthDate scheme %q version %d (record %d), commitment changed %v; want v2, re-committed at the record's version",
				c, sf.Scheme, sf.Version, rec.Version, !bytes.Equal(sf.Commitment, before[c]))
		}
		if got := f.open(t, rec, "birthDate", 0); got != "1949-12-31" {
			t.Errorf("%s: the migrated date opens to %v, want 1949-12-31", c, got)
		}
		if got := hex.EncodeToString(rec.Items[0].Sealed["nationalId"].Commitment); got != nationalID[c] {
			t.Errorf("%s: nationalId's commitment changed", c)
		}
		e := entries[rec.Version]
		if e.Kind != ledger.KindUpdate || e.Department != "public-security" || e.Role != DateMigrationRole || e.Dataset != "identity" ||
			len(e.Fields) != 1 || e.Fields[0].Name != birthDate || e.Fields[0].Level != "set" || e.Fields[0].Commitment != hex.EncodeToString(sf.Commitment) {
			t.Errorf("%s: migration entry %+v, want an update by public-security/%s setting identity.birthDate to the new commitment", c, e, DateMigrationRole)
		}
		if bytes.Contains(ledgerBytes(t, e), []byte("1949-12-31")) {
			t.Errorf("%s: the migration entry carries the date", c)
		}
	}

	// The record audit (govhub ledger verify's) vouches for every record.
	if err := f.log.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	audit, err := AuditRecords(ctx, f.log.Reader(), f.env.Store, f.indexKey)
	if err != nil || len(audit.Problems) != 0 || audit.Records != 6 {
		t.Fatalf("AuditRecords = %+v, %v; want 6 records, no problems", audit, err)
	}

	// Idempotent: nothing left, nothing written.
	_, size := f.last(t)
	if rep, err := f.updater.MigrateDates(ctx, f.env.Store, nil); err != nil || rep.Pending != 0 || rep.Migrated != 0 {
		t.Errorf("MigrateDates again = %+v, %v; want nothing to do", rep, err)
	}
	if _, after := f.last(t); after != size {
		t.Errorf("a second migration appended %d entries", after-size)
	}

	// The citizen's opening names v2 and verifies under it, and not under v1.
	o, _, err := f.reader.OpenOwn(ctx, auth.Principal{Kind: auth.KindCitizen, Subject: citizenA}, birthDate, 0)
	if err != nil {
		t.Fatal(err)
	}
	if o.Scheme != commit.SchemeV2 {
		t.Errorf("opening scheme %q, want %q", o.Scheme, commit.SchemeV2)
	}
	for scheme, want := range map[string]error{commit.SchemeV2: nil, commit.Scheme: commit.ErrMismatch} {
		m, err := commit.DateFor(scheme, o.Value.(string))
		if err != nil {
			t.Fatal(err)
		}
		if err := commit.Verify(o.Commitment, m, o.Blinding); !errors.Is(err, want) {
			t.Errorf("opening under %s: %v, want %v", scheme, err, want)
		}
	}

	// And the age predicate is provable now.
	v, err := f.reader.ReadCitizen(ctx, policeClerk, ask)
	if err != nil {
		t.Fatal(err)
	}
	p := v.Datasets["identity"].Items[0]["birthDate"].Proofs["adult"]
	if !p.Holds || p.Proof == nil {
		t.Fatalf("adult of someone born 1949 = %+v", p)
	}
}

// ledgerBytes is the canonical encoding of e.
func ledgerBytes(t *testing.T, e ledger.Entry) []byte {
	t.Helper()
	b, err := ledger.FormatEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAgeProofs: an adult and a minor, asked "adult" by a department granted only the proof: the
// adult's proof verifies on the day asked and fails on any other day, threshold or commitment; the
// minor's answer is holds false without a proof; the entry names the predicate, never the date.
func TestAgeProofs(t *testing.T) {
	f := newFixture(t)
	set := policy.Demo()
	set.Version++
	set.Rules = append(set.Rules, policy.Rule{Role: "clerk", Department: "housing", Object: policy.ProofObject(birthDate, "adult"),
		Action: policy.ActionProve, Purpose: "home-purchase-eligibility", Effect: policy.EffectAllow})
	if err := f.engine.Replace(set); err != nil {
		t.Fatal(err)
	}
	f.newCitizen(t, citizenA) // born 1949-12-31
	today := time.Now().UTC()
	minorBorn := today.AddDate(-17, 0, 0).Format(time.DateOnly)
	minor := identityItem()
	minor["birthDate"] = minorBorn
	minor["nationalId"] = withCheckDigit(t, "110105"+strings.ReplaceAll(minorBorn, "-", "")+"002")
	if err := f.updater.Import(t.Context(), []NewCitizen{{ID: citizenB, Records: map[string][]map[string]any{"identity": {minor}}}}); err != nil {
		t.Fatalf("Import(minor) = %v", err)
	}

	ctx := usecase.WithRequestID(t.Context(), "req-age")
	read := func(citizen string) (Proof, *Commitment, ledger.Entry) {
		t.Helper()
		v, err := f.reader.ReadCitizen(ctx, housingClerk, ReadRequest{Citizen: citizen, Purpose: "home-purchase-eligibility",
			Fields: map[string]Want{ProofKey(birthDate, "adult"): 0}})
		if err != nil {
			t.Fatalf("ReadCitizen(%s) = %v", citizen, err)
		}
		fv := v.Datasets["identity"].Items[0]["birthDate"]
		if fv.Value != nil || fv.Commitment == nil || fv.Commitment.Scheme != commit.SchemeV2 {
			t.Fatalf("released %+v, want a v2 commitment and no value", fv)
		}
		e, _ := f.last(t)
		return fv.Proofs["adult"], fv.Commitment, e
	}

	p, c, e := read(citizenA)
	on := today.Format(time.DateOnly)
	if !p.Holds || p.Proof == nil || p.On != on || string(p.Context) != AgeContextVersion+" on "+on+" request req-age" {
		t.Fatalf("adult's answer = %+v", p)
	}
	line := e.Fields[0]
	if line.Name != birthDate || line.Level != "prove" || len(line.Proved) != 1 || line.Proved[0] != "adult" {
		t.Errorf("entry field %+v, want identity.birthDate prove proved:adult", line)
	}
	if b := ledgerBytes(t, e); bytes.Contains(b, []byte("1949-12-31")) || bytes.Contains(b, []byte(minorBorn)) {
		t.Errorf("the entry carries a date:\n%s", b)
	}
	cm, err := commit.ParseCommitment(c.Point)
	if err != nil {
		t.Fatal(err)
	}
	st, err := StatementOn(p.Predicate, on)
	if err != nil {
		t.Fatal(err)
	}
	if err := rangeproof.Verify(cm, st, p.Context, p.Proof); err != nil {
		t.Errorf("the adult's proof does not verify: %v", err)
	}
	// Another day: both its context and its threshold differ; neither alone verifies.
	yesterday := today.AddDate(0, 0, -1).Format(time.DateOnly)
	stY, _ := StatementOn(p.Predicate, yesterday)
	for name, tc := range map[string]struct {
		st  rangeproof.Statement
		ctx []byte
	}{
		"another day":                  {stY, AgeContext(yesterday, "req-age")},
		"another day's context":        {st, AgeContext(yesterday, "req-age")},
		"another day's threshold":      {stY, p.Context},
		"another request":              {st, AgeContext(on, "req-other")},
		"another threshold (21 years)": {rangeproof.AtMost(mustThreshold(t, on, 21)), p.Context},
	} {
		if err := rangeproof.Verify(cm, tc.st, tc.ctx, p.Proof); !errors.Is(err, rangeproof.ErrRejected) {
			t.Errorf("%s: Verify = %v, want ErrRejected", name, err)
		}
	}
	for i := range p.Proof {
		bad := bytes.Clone(p.Proof)
		bad[i] ^= 0x01
		if rangeproof.Verify(cm, st, p.Context, bad) == nil {
			t.Fatalf("the proof with byte %d flipped verifies", i)
		}
	}

	p, _, e = read(citizenB)
	if p.Holds || p.Proof != nil {
		t.Errorf("minor's answer = %+v, want holds false without a proof", p)
	}
	if len(e.Fields) != 1 || len(e.Fields[0].Proved) != 1 {
		t.Errorf("minor's entry %+v, want the predicate answered (proved:adult) like any other", e.Fields)
	}
}

func mustThreshold(t *testing.T, on string, years int64) int64 {
	t.Helper()
	n, err := AgeThreshold(on, years)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// withCheckDigit completes 17 digits of a GB 11643 national id with its check character.
func withCheckDigit(t *testing.T, s string) string {
	t.Helper()
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return s + string("10X98765432"[sum%11])
}

func TestAgeThreshold(t *testing.T) {
	for _, tc := range []struct {
		on    string
		years int64
		want  string
	}{
		{"2026-12-06", 18, "2008-12-06"},
		{"2024-02-29", 18, "2006-02-28"}, // no 29 February in 2006
		{"2028-02-29", 4, "2024-02-29"},
		{"2026-01-01", 18, "2008-01-01"},
		{"0019-01-01", 18, "0001-01-01"},
	} {
		n, err := AgeThreshold(tc.on, tc.years)
		if err != nil {
			t.Errorf("AgeThreshold(%s, %d) = %v", tc.on, tc.years, err)
			continue
		}
		if got, _ := commit.DateOfDay(n); got != tc.want {
			t.Errorf("AgeThreshold(%s, %d) = %s, want %s", tc.on, tc.years, got, tc.want)
		}
	}
	for _, tc := range []struct {
		on    string
		years int64
	}{{"2026-13-01", 18}, {"0018-06-01", 18}, {"2026-12-06", 0}, {"2026-12-06", 151}} {
		if _, err := AgeThreshold(tc.on, tc.years); !errors.Is(err, ErrInvalid) {
			t.Errorf("AgeThreshold(%s, %d) = %v, want ErrInvalid", tc.on, tc.years, err)
		}
	}
	on, id, err := ParseAgeContext(AgeContext("2026-12-06", "req 1"))
	if err != nil || on != "2026-12-06" || id != "req 1" {
		t.Errorf("ParseAgeContext(AgeContext) = %q, %q, %v", on, id, err)
	}
	for _, bad := range []string{"req-1", "govhub/age/v1 on 2026-02-30 request r", "govhub/age/v1 on 2026-12-06 request ", "govhub/age/v2 on 2026-12-06 request r"} {
		if _, _, err := ParseAgeContext([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseAgeContext(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// BenchmarkAgeProof: proving and verifying "adult" on a birth date committed as a day number (an
// atMost range proof at the threshold of the day asked). go test ./hub -run '^$' -bench AgeProof
func BenchmarkAgeProof(b *testing.B) {
	day, err := commit.DayNumber("1985-07-31")
	if err != nil {
		b.Fatal(err)
	}
	r, err := commit.NewBlinding(nil)
	if err != nil {
		b.Fatal(err)
	}
	c := commit.Commit(commit.Int(day), r)
	adult := policy.Predicate{Name: "adult", Field: birthDate, Statement: policy.Statement{Kind: policy.StatementAgeAtLeast, Min: 18}}
	st, err := StatementOn(adult, "2026-12-06")
	if err != nil {
		b.Fatal(err)
	}
	ctx := AgeContext("2026-12-06", "req-bench")
	proof, err := rangeproof.Prove(nil, c, day, r, st, ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("prove", func(b *testing.B) {
		for b.Loop() {
			if _, err := rangeproof.Prove(nil, c, day, r, st, ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if err := rangeproof.Verify(c, st, ctx, proof); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(proof)), "proof-bytes")
	})
}

// FuzzParseAgeContext: ParseAgeContext reads untrusted bytes (verify-proof reads them from a saved
// answer); what it accepts formats back to the same bytes.
func FuzzParseAgeContext(f *testing.F) {
	f.Add([]byte("govhub/age/v1 on 2026-12-06 request b9f84c4979318a48"))
	f.Add([]byte("govhub/age/v1 on 2024-02-29 request req request x"))
	f.Add([]byte("req-1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		on, id, err := ParseAgeContext(b)
		if err != nil {
			return
		}
		if got := AgeContext(on, id); !bytes.Equal(got, b) {
			t.Fatalf("AgeContext(ParseAgeContext(%q)) = %q", b, got)
		}
	})
}
