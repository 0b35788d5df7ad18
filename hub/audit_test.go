package hub

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// auditOneByOne is the record audit as it was first written: for each record in turn, the entry
// at its version read by index, and the same checks. AuditRecords must find exactly what it finds.
func auditOneByOne(ctx context.Context, lg *ledger.Reader, st AuditStore, indexKey []byte) ([]string, error) {
	var out []string
	err := st.EachRecordConcurrently(ctx, 1, func(_ int, rec store.Record) error {
		problem := func(format string, args ...any) {
			out = append(out, AuditProblem{Citizen: rec.Citizen, Dataset: rec.Dataset, Version: rec.Version,
				Reason: fmt.Sprintf(format, args...)}.String())
		}
		raw, err := lg.Entry(ctx, rec.Version)
		if err != nil {
			problem("no readable entry at that index: %v", err)
			return nil
		}
		e, err := ledger.ParseEntry(raw)
		if err != nil {
			problem("entry: %v", err)
			return nil
		}
		if e.Kind != ledger.KindUpdate || e.Outcome != ledger.OutcomeAllowed || e.Dataset != rec.Dataset {
			problem("the entry is %s %s of %q, not an allowed update of %s", e.Outcome, e.Kind, e.Dataset, rec.Dataset)
			return nil
		}
		if !bytes.Equal(e.Record, recordDigest(rec)) {
			problem("the record's digest differs from the entry's")
		}
		salt := rec.SubjectSalt
		if len(salt) == 0 {
			ref, err := st.SubjectRef(ctx, subject.Pseudonym(indexKey, rec.Citizen), rec.Version)
			if err != nil {
				problem("the private index has no reference to the entry: %v", err)
			}
			salt = ref.Salt
		}
		if len(salt) > 0 && !containsBytes(e.Subjects, subject.Commit(salt, rec.Citizen)) {
			problem("the entry is not about this citizen")
		}
		ds, ok := dataset.Lookup(rec.Dataset)
		if !ok {
			problem("no dataset %q in the catalog", rec.Dataset)
			return nil
		}
		committed := map[string]string{}
		for _, f := range e.Fields {
			committed[f.Name] = f.Commitment
		}
		for i, item := range rec.Items {
			for name, sf := range item.Sealed {
				if sf.Version != rec.Version {
					continue
				}
				key := rec.Dataset + "." + sealKey(ds, name, i)
				if committed[key] != hex.EncodeToString(sf.Commitment) {
					problem("the entry does not carry the commitment of %s", key)
				}
			}
		}
		return nil
	})
	return out, err
}

type progressCall struct {
	stage       AuditStage
	done, total uint64
}

// checkProgress checks the calls WithAuditProgress made: reading entries then checking records,
// done never decreasing nor above total within a stage, and each stage ending with done == total
// (records: the number checked).
func checkProgress(t *testing.T, calls []progressCall, records int) {
	t.Helper()
	if len(calls) == 0 {
		t.Fatal("no progress reported")
	}
	var last [2]*progressCall
	for i := range calls {
		c := &calls[i]
		if c.done > c.total {
			t.Errorf("progress call %d: done %d > total %d", i, c.done, c.total)
		}
		if i > 0 && c.stage < calls[i-1].stage {
			t.Errorf("progress call %d is of stage %d after stage %d", i, c.stage, calls[i-1].stage)
		}
		if p := last[c.stage]; p != nil && c.done < p.done {
			t.Errorf("progress call %d: done went from %d back to %d", i, p.done, c.done)
		}
		last[c.stage] = c
	}
	for s, c := range last {
		if c == nil {
			t.Errorf("no progress reported for stage %d", s)
		} else if c.done != c.total {
			t.Errorf("stage %d ended at %d of %d", s, c.done, c.total)
		}
	}
	if c := last[AuditCheckingRecords]; c != nil && c.done != uint64(records) {
		t.Errorf("checking records ended at %d, want %d records", c.done, records)
	}
}

// AuditRecords finds a record changed behind the ledger's back, whatever was changed, and says
// exactly what the one-entry-at-a-time audit says; an untouched store has no problem, and its
// progress is reported stage by stage.
func TestAuditRecords(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, f *fixture) // nil: untouched
		want   []string                       // substrings of the problems, in order
	}{
		{"untouched", nil, nil},
		{"plain value edited", func(t *testing.T, f *fixture) {
			rec := f.record(t, citizenA, "tax")
			rec.Items[0].Plain["year"] = int64(1999)
			replace(t, f, rec, rec.Version)
		}, []string{"tax record of " + citizenA}},
		{"sealed commitment swapped", func(t *testing.T, f *fixture) {
			rec := f.record(t, citizenA, "identity")
			other := f.record(t, citizenB, "identity")
			rec.Items[0].Sealed["nationalId"] = other.Items[0].Sealed["nationalId"]
			sf := rec.Items[0].Sealed["nationalId"]
			sf.Version = rec.Version
			rec.Items[0].Sealed["nationalId"] = sf
			replace(t, f, rec, rec.Version)
		}, []string{"digest differs", "does not carry the commitment of identity.nationalId"}},
		{"another citizen's entry", func(t *testing.T, f *fixture) {
			rec, other := f.record(t, citizenA, "tax"), f.record(t, citizenB, "tax")
			base := rec.Version
			rec.Version = other.Version // its sealed values stay at their own version
			replace(t, f, rec, base)
		}, []string{"digest differs", "not about this citizen"}},
		{"another citizen's entry, the subject salt taken too", func(t *testing.T, f *fixture) {
			rec, other := f.record(t, citizenA, "tax"), f.record(t, citizenB, "tax")
			base := rec.Version
			rec.Version, rec.SubjectSalt = other.Version, other.SubjectSalt
			replace(t, f, rec, base)
		}, []string{"digest differs", "not about this citizen"}},
		{"another citizen's entry, a record without its subject salt", func(t *testing.T, f *fixture) {
			rec, other := f.record(t, citizenA, "tax"), f.record(t, citizenB, "tax")
			base := rec.Version
			rec.Version, rec.SubjectSalt = other.Version, nil // as written before records kept it
			replace(t, f, rec, base)
		}, []string{"digest differs", "private index has no reference"}},
		{"subject salt changed", func(t *testing.T, f *fixture) {
			rec := f.record(t, citizenA, "tax")
			rec.SubjectSalt = bytes.Repeat([]byte{7}, 32)
			replace(t, f, rec, rec.Version)
		}, []string{"not about this citizen"}},
		{"another dataset's entry", func(t *testing.T, f *fixture) {
			rec, other := f.record(t, citizenA, "tax"), f.record(t, citizenA, "identity")
			base := rec.Version
			rec.Version = other.Version
			replace(t, f, rec, base)
		}, []string{"not an allowed update of tax"}},
		{"an entry not yet written", func(t *testing.T, f *fixture) {
			rec := f.record(t, citizenA, "tax")
			base := rec.Version
			rec.Version += 1000
			replace(t, f, rec, base)
		}, []string{"no readable entry at that index"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			f.newCitizen(t, citizenA)
			f.newCitizen(t, citizenB)
			// A later update leaves older sealed values in place, committed by earlier entries.
			if _, err := f.updater.Update(ctx, taxClerk, UpdateRequest{Citizen: citizenB, Dataset: "tax",
				Purpose: "tax-administration", Items: []map[string]any{{"taxPaid": int64(1234)}}}); err != nil {
				t.Fatalf("Update(tax) = %v", err)
			}
			if tc.tamper != nil {
				tc.tamper(t, f)
			}
			if err := f.log.WaitCaughtUp(ctx); err != nil {
				t.Fatal(err)
			}
			var calls []progressCall
			rep, err := AuditRecords(ctx, f.log.Reader(), f.env.Store, f.indexKey, WithAuditProgress(func(s AuditStage, done, total uint64) {
				calls = append(calls, progressCall{s, done, total})
			}))
			if err != nil {
				t.Fatalf("AuditRecords = %v", err)
			}
			if rep.Records != 6 {
				t.Errorf("AuditRecords checked %d records, want 6", rep.Records)
			}
			checkProgress(t, calls, rep.Records)
			var got []string
			for _, p := range rep.Problems {
				got = append(got, p.String())
			}
			want, err := auditOneByOne(ctx, f.log.Reader(), f.env.Store, f.indexKey)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("AuditRecords problems:\n%s\nthe one-by-one audit's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("AuditRecords problems = %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}

func replace(t *testing.T, f *fixture, rec store.Record, base uint64) {
	t.Helper()
	if err := f.env.Store.ReplaceRecord(t.Context(), rec, base); err != nil {
		t.Fatalf("ReplaceRecord(%s/%s) = %v", rec.Citizen, rec.Dataset, err)
	}
}

// The packed index of update entries gives back what it was given, a field named twice by its last
// commitment, and leaves out a commitment not spelt in lowercase hex.
func TestUpdateIndex(t *testing.T) {
	x := &updateIndex{ids: map[string]uint64{}, at: make([]uint32, 3)}
	e := ledger.Entry{Dataset: "tax", Record: bytes.Repeat([]byte{1}, 32), Subjects: [][]byte{{2, 3}, {4}},
		Fields: []ledger.Field{{Name: "tax.a", Commitment: "aa"}, {Name: "tax.b", Commitment: "BB"},
			{Name: "tax.a", Commitment: "cc"}, {Name: "tax.c", Level: "set"}}}
	x.at[1] = uint32(len(x.data)) + 1
	x.add(e)
	if _, ok := x.lookup(0); ok {
		t.Error("lookup(0) found an entry, want none")
	}
	if _, ok := x.lookup(7); ok {
		t.Error("lookup(7) found an entry, want none")
	}
	got, ok := x.lookup(1)
	if !ok {
		t.Fatal("lookup(1) found nothing")
	}
	want := auditEntry{Dataset: "tax", Record: e.Record, Subjects: e.Subjects, Committed: map[string]string{"tax.a": "cc"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lookup(1) = %+v, want %+v", got, want)
	}
}
