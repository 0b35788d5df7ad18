package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/mongostore"
)

// Run runs the conformance suite against stores made by newEnv (a fresh, empty one per call).
func Run(t *testing.T, newEnv func(testing.TB) *Env) {
	t.Run("Records", func(t *testing.T) { testRecords(t, newEnv(t)) })
	t.Run("RecordCAS", func(t *testing.T) { testRecordCAS(t, newEnv(t)) })
	t.Run("ApplyRecord", func(t *testing.T) { testApplyRecord(t, newEnv(t)) })
	t.Run("HeadAndRecords", func(t *testing.T) { testHeadAndRecords(t, newEnv(t)) })
	t.Run("HeadWithRecord", func(t *testing.T) { testHeadWithRecord(t, newEnv(t)) })
	t.Run("OldLayout", func(t *testing.T) { testOldLayout(t, newEnv(t)) })
	t.Run("Format3Documents", func(t *testing.T) { testFormat3Documents(t, newEnv(t)) })
	t.Run("CitizensAndKeys", func(t *testing.T) { testCitizensAndKeys(t, newEnv(t)) })
	t.Run("Pending", func(t *testing.T) { testPending(t, newEnv(t)) })
	t.Run("SubjectRefs", func(t *testing.T) { testSubjectRefs(t, newEnv(t)) })
	t.Run("SubjectLog", func(t *testing.T) { testSubjectLogs(t, newEnv) })
	t.Run("Batches", func(t *testing.T) { testBatches(t, newEnv(t)) })
	t.Run("Tiles", func(t *testing.T) { testTiles(t, newEnv(t)) })
	t.Run("Bundles", func(t *testing.T) { testBundles(t, newEnv(t)) })
	t.Run("TreeState", func(t *testing.T) { testTreeState(t, newEnv(t)) })
	t.Run("Checkpoints", func(t *testing.T) { testCheckpoints(t, newEnv(t)) })
	t.Run("Policy", func(t *testing.T) { testPolicy(t, newEnv) })
	t.Run("Proposals", func(t *testing.T) { testProposals(t, newEnv(t)) })
	t.Run("ListCitizens", func(t *testing.T) { testListCitizens(t, newEnv(t)) })
	t.Run("Officials", func(t *testing.T) { testOfficials(t, newEnv(t)) })
	t.Run("Questions", func(t *testing.T) { testQuestions(t, newEnv(t)) })
	t.Run("SealedAccesses", func(t *testing.T) { testSealedAccesses(t, newEnv(t)) })
	t.Run("UnsealProposals", func(t *testing.T) { testUnsealProposals(t, newEnv(t)) })
	t.Run("Erasure", func(t *testing.T) { testErasure(t, newEnv(t)) })
	t.Run("Certificates", func(t *testing.T) { testCertificates(t, newEnv(t)) })
	t.Run("ReviewQueue", func(t *testing.T) { testReviewQueue(t, newEnv(t)) })
	t.Run("MovePseudonym", func(t *testing.T) { testMovePseudonym(t, newEnv(t)) })
}

func sampleRecord(citizen, dataset string, version uint64) store.Record {
	return store.Record{
		Citizen: citizen, Dataset: dataset, Version: version, Salt: []byte("0123456789abcdef0123456789abcdef"),
		Updated: time.Date(2026, 11, 21, 6, 30, 5, 0, time.UTC),
		Items: []store.Item{{
			Plain: map[string]any{"name": "张三", "year": int64(2025), "area": 89.5, "insured": true, "vaccinations": []string{"乙肝疫苗", "流感疫苗"}},
			Sealed: map[string]store.SealedField{
				"annualIncome": {Ciphertext: []byte{1, 2, 3}, Commitment: bytes.Repeat([]byte{0xab}, 48), Version: version},
				// A sealed value's scheme round-trips; an empty one stays empty.
				"birthDate": {Ciphertext: []byte{4, 5}, Commitment: bytes.Repeat([]byte{0xcd}, 48), Version: version, Scheme: "pedersen-bls12381-g1/v2"},
			},
		}},
	}
}

func testRecords(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	if _, err := s.Record(ctx, "C000001", "tax"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Record(missing) = %v, want ErrNotFound", err)
	}
	want := sampleRecord("C000001", "tax", 7)
	if err := s.CreateRecord(ctx, want); err != nil {
		t.Fatalf("CreateRecord = %v", err)
	}
	if err := s.CreateRecord(ctx, want); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateRecord again = %v, want ErrConflict", err)
	}
	got, err := s.Record(ctx, "C000001", "tax")
	if err != nil {
		t.Fatalf("Record = %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Record round trip:\n got %#v\nwant %#v", got, want)
	}
	other := sampleRecord("C000001", "identity", 9)
	if err := s.InsertRecords(ctx, []store.Record{other, sampleRecord("C000002", "tax", 10)}); err != nil {
		t.Fatalf("InsertRecords = %v", err)
	}
	m, err := s.Records(ctx, "C000001", []string{"tax", "identity", "health"})
	if err != nil {
		t.Fatalf("Records = %v", err)
	}
	if len(m) != 2 || m["tax"].Version != 7 || m["identity"].Version != 9 {
		t.Errorf("Records = %v, want tax@7 and identity@9 only", m)
	}
	if err := s.InsertRecords(ctx, []store.Record{other}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("InsertRecords(existing) = %v, want ErrConflict", err)
	}
	var each []string
	err = s.EachRecord(ctx, func(r store.Record) error {
		each = append(each, fmt.Sprintf("%s/%s@%d", r.Citizen, r.Dataset, r.Version))
		return nil
	})
	slices.Sort(each)
	if want := []string{"C000001/identity@9", "C000001/tax@7", "C000002/tax@10"}; err != nil || !reflect.DeepEqual(each, want) {
		t.Errorf("EachRecord visited %v, %v; want %v", each, err, want)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.EachRecord(ctx, func(store.Record) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("EachRecord(fn failing) = %v after %d calls, want fn's error after 1", err, calls)
	}
}

func testRecordCAS(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	if err := s.ReplaceRecord(ctx, sampleRecord("C1", "tax", 2), 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("ReplaceRecord(no record) = %v, want ErrConflict", err)
	}
	if err := s.CreateRecord(ctx, sampleRecord("C1", "tax", 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecord(ctx, sampleRecord("C1", "tax", 3), 2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("ReplaceRecord(wrong base) = %v, want ErrConflict", err)
	}
	// Many writers race from the same base, through two stores on one database (as the hub and its
	// ledger each open one): exactly one wins.
	stores := []*mongostore.Store{s, env.second(t)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := stores[i%2].ReplaceRecord(ctx, sampleRecord("C1", "tax", uint64(10+i)), 1)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("ReplaceRecord = %v", err)
			}
		}()
	}
	wg.Wait()
	if r, err := s.Record(ctx, "C1", "tax"); err != nil || r.Version < 10 || r.Items[0].Sealed["annualIncome"].Version != r.Version {
		t.Errorf("after the race Record = version %d, %v; want one winner's whole record (version ≥ 10)", r.Version, err)
	}
	if wins != 1 {
		env.SkipNonAtomicCAS(t, fmt.Sprintf("%d of 8 ReplaceRecord calls racing from version 1 won", wins))
		t.Errorf("%d of 8 racing ReplaceRecord calls won, want exactly 1", wins)
	}
}

func testApplyRecord(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	if err := s.ApplyRecord(ctx, sampleRecord("C1", "tax", 5)); err != nil {
		t.Fatalf("ApplyRecord(new) = %v", err)
	}
	if err := s.ApplyRecord(ctx, sampleRecord("C1", "tax", 5)); err != nil {
		t.Fatalf("ApplyRecord(same again) = %v, want nil", err)
	}
	if err := s.ApplyRecord(ctx, sampleRecord("C1", "tax", 4)); !errors.Is(err, store.ErrStale) {
		t.Fatalf("ApplyRecord(older) = %v, want ErrStale", err)
	}
	if err := s.ApplyRecord(ctx, sampleRecord("C1", "tax", 8)); err != nil {
		t.Fatalf("ApplyRecord(newer) = %v", err)
	}
	if r, err := s.Record(ctx, "C1", "tax"); err != nil || r.Version != 8 {
		t.Errorf("after ApplyRecord(8): version %d, %v; want 8", r.Version, err)
	}
}

func testCitizensAndKeys(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	now := time.Now()
	if err := s.AddCitizens(ctx, []string{"C1", "C2"}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCitizens(ctx, []string{"C2", "C3"}, now); err != nil {
		t.Fatalf("AddCitizens with one existing = %v, want nil", err)
	}
	for id, want := range map[string]bool{"C1": true, "C3": true, "C9": false} {
		if got, err := s.CitizenExists(ctx, id); err != nil || got != want {
			t.Errorf("CitizenExists(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	if _, err := s.DataKey(ctx, "C1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DataKey(none) = %v, want ErrNotFound", err)
	}
	if err := s.AddDataKey(ctx, "C1", []byte("wrapped-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDataKey(ctx, "C1", []byte("wrapped-2")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddDataKey(again) = %v, want ErrConflict", err)
	}
	if err := s.AddDataKeys(ctx, map[string][]byte{"C2": []byte("w2"), "C3": []byte("w3")}); err != nil {
		t.Fatal(err)
	}
	if k, err := s.DataKey(ctx, "C1"); err != nil || string(k) != "wrapped-1" {
		t.Errorf("DataKey(C1) = %q, %v; want the first key", k, err)
	}
	if k, err := s.DataKey(ctx, "C3"); err != nil || string(k) != "w3" {
		t.Errorf("DataKey(C3) = %q, %v", k, err)
	}
	// Re-wrapping after a master key rotation: a compare-and-swap on the wrapped bytes.
	seen := map[string]string{}
	if err := s.EachDataKey(ctx, func(c string, w []byte) error { seen[c] = string(w); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || seen["C1"] != "wrapped-1" || seen["C2"] != "w2" {
		t.Errorf("EachDataKey saw %v", seen)
	}
	if err := s.ReplaceDataKey(ctx, "C2", []byte("w2"), []byte("w2-new")); err != nil {
		t.Fatalf("ReplaceDataKey = %v", err)
	}
	if err := s.ReplaceDataKey(ctx, "C2", []byte("w2"), []byte("w2-other")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReplaceDataKey(stale) = %v, want ErrConflict", err)
	}
	if err := s.ReplaceDataKey(ctx, "C9", []byte("x"), []byte("y")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReplaceDataKey(none) = %v, want ErrConflict", err)
	}
	if k, err := s.DataKey(ctx, "C2"); err != nil || string(k) != "w2-new" {
		t.Errorf("DataKey(C2) = %q, %v; want the re-wrapped key", k, err)
	}
}

func testPending(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var added []store.Pending
	for i, id := range []string{"p2", "p1"} {
		// A pending update's values are sealed under store.PendingVersion, the largest uint64.
		p := store.Pending{ID: id, Record: sampleRecord("C1", "tax", store.PendingVersion), Base: 3, HadBase: true,
			LeafHash: bytes.Repeat([]byte{byte(i)}, 32), After: 40, SubjectSalt: bytes.Repeat([]byte{byte(0x50 + i)}, 32),
			Created: base.Add(time.Duration(1-i) * time.Second)}
		if err := s.AddPending(ctx, p); err != nil {
			t.Fatal(err)
		}
		added = append(added, p)
	}
	ps, err := s.PendingUpdates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Pending{added[1], added[0]}; !reflect.DeepEqual(ps, want) {
		t.Fatalf("PendingUpdates:\n got %+v\nwant %+v (p1 then p2, every field kept)", ps, want)
	}
	if err := s.DeletePending(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.PendingUpdates(ctx); len(ps) != 1 || ps[0].ID != "p2" {
		t.Errorf("after DeletePending: %+v, want only p2", ps)
	}
	if err := s.AddPending(ctx, added[0]); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddPending(p2 again) = %v, want ErrConflict", err)
	}

	// Concurrent updates: each pending update is stored and removed, whichever writes it shares
	// (on FerretDB they share inserts: groupwrite.go).
	const n = 40
	id := func(i int) string { return fmt.Sprintf("q%02d", i) }
	run := func(what string, ids []int, do func(i int) error) {
		var wg sync.WaitGroup
		errs := make(chan error, len(ids))
		for _, i := range ids {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- do(i) }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	run("AddPending", all, func(i int) error {
		return s.AddPending(ctx, store.Pending{ID: id(i), Record: sampleRecord(fmt.Sprintf("C%d", i), "tax", store.PendingVersion), Created: base})
	})
	var some []int
	for i := range n {
		if i%4 != 0 {
			some = append(some, i)
		}
	}
	run("DeletePending", some, func(i int) error { return s.DeletePending(ctx, id(i)) })
	ps, err = s.PendingUpdates(ctx)
	var left []string
	for _, p := range ps {
		left = append(left, p.ID)
	}
	slices.Sort(left)
	want := []string{"p2"}
	for i := 0; i < n; i += 4 {
		want = append(want, id(i))
	}
	slices.Sort(want)
	if err != nil || !slices.Equal(left, want) {
		t.Errorf("pending updates left after the concurrent deletes: %v, %v; want %v", left, err, want)
	}

	// Several in one call, one of them never stored; none is no call at all.
	if err := s.DeletePending(ctx, id(0), "never-stored", id(8)); err != nil {
		t.Errorf("DeletePending(%s, never-stored, %s) = %v", id(0), id(8), err)
	}
	if err := s.DeletePending(ctx); err != nil {
		t.Errorf("DeletePending() = %v", err)
	}
	ps, err = s.PendingUpdates(ctx)
	left = left[:0]
	for _, p := range ps {
		left = append(left, p.ID)
	}
	slices.Sort(left)
	want = slices.DeleteFunc(want, func(s string) bool { return s == id(0) || s == id(8) })
	if err != nil || !slices.Equal(left, want) {
		t.Errorf("pending updates left after deleting %s and %s together: %v, %v; want %v", id(0), id(8), left, err, want)
	}

	// More ids than one delete carries: the last ones are deleted too.
	many := make([]string, 300)
	for i := range many {
		many[i] = fmt.Sprintf("z%03d", i)
	}
	for _, i := range []int{0, 299} {
		if err := s.AddPending(ctx, store.Pending{ID: many[i], Record: sampleRecord("C9", "tax", store.PendingVersion), Created: base}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeletePending(ctx, many...); err != nil {
		t.Errorf("DeletePending(300 ids) = %v", err)
	}
	ps, err = s.PendingUpdates(ctx)
	for _, p := range ps {
		if strings.HasPrefix(p.ID, "z") {
			t.Errorf("DeletePending(z000 … z299) left %s", p.ID)
		}
	}
	if err != nil {
		t.Error(err)
	}
}

func testSubjectRefs(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	refs := []store.SubjectRef{
		{Pseudonym: "aa", Index: 10, Salt: []byte("s10")},
		{Pseudonym: "aa", Index: 2, Salt: []byte("s2")},
		{Pseudonym: "aab", Index: 3, Salt: []byte("x")},
		{Pseudonym: "ab", Index: 4, Salt: []byte("y")},
	}
	if err := s.AddSubjectRefs(ctx, refs); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSubjectRefs(ctx, refs[:1]); err != nil {
		t.Fatalf("AddSubjectRefs(again) = %v, want nil", err)
	}
	got, err := s.SubjectRefs(ctx, "aa")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Index != 2 || got[1].Index != 10 || string(got[1].Salt) != "s10" {
		t.Errorf("SubjectRefs(aa) = %+v, want indexes 2 and 10 only", got)
	}
	if r, err := s.SubjectRef(ctx, "aa", 2); err != nil || !reflect.DeepEqual(r, refs[1]) {
		t.Errorf("SubjectRef(aa, 2) = %+v, %v; want %+v", r, err, refs[1])
	}
	if _, err := s.SubjectRef(ctx, "aa", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SubjectRef(aa, 3) = %v, want ErrNotFound", err)
	}

	// References a store before format 3 wrote, in the subjects collection, are read there: alone,
	// and beside those of accesses, in subject_log (a copy in both places reads as the newer one).
	page := &store.PagePath{Position: 3, Hashes: [][]byte{[]byte("h1"), []byte("h2")}}
	addLegacyRefs(t, env, []store.SubjectRef{{Pseudonym: "ac", Index: 7, Salt: []byte("s7"), Page: page}, {Pseudonym: "ac", Index: 9, Salt: []byte("old")}})
	if _, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "ac", Index: 9, Salt: []byte("s9")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendSubjectLog(ctx, store.LogRef{Pseudonym: "ac", Index: 11, Salt: []byte("s11")}); err != nil {
		t.Fatal(err)
	}
	want := store.SubjectRef{Pseudonym: "ac", Index: 7, Salt: []byte("s7"), Page: page}
	if r, err := s.SubjectRef(ctx, "ac", 7); err != nil || !reflect.DeepEqual(r, want) {
		t.Errorf("SubjectRef(ac, 7), stored by an older hub = %+v, %v; want %+v", r, err, want)
	}
	if r, err := s.SubjectRef(ctx, "ac", 9); err != nil || string(r.Salt) != "s9" {
		t.Errorf("SubjectRef(ac, 9), in both places = %+v, %v; want the access's salt s9", r, err)
	}
	got, err = s.SubjectRefs(ctx, "ac")
	if err != nil || len(got) != 3 || got[0].Index != 7 || got[1].Index != 9 || string(got[1].Salt) != "s9" || got[2].Index != 11 {
		t.Errorf("SubjectRefs(ac) with older references = %+v, %v; want indexes 7, 9 (salt s9) and 11", got, err)
	}
}

func testBatches(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	if _, err := s.ReadBatch(ctx, 0); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("ReadBatch(none) = %v, want ledger.ErrNotFound", err)
	}
	b := ledger.Batch{First: 0, Leaves: [][]byte{[]byte("a"), []byte("b")}}
	if err := s.AddBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.AddBatch(ctx, ledger.Batch{First: 0, Leaves: [][]byte{[]byte("z")}}); !errors.Is(err, ledger.ErrDuplicate) {
		t.Fatalf("AddBatch(same first) = %v, want ErrDuplicate", err)
	}
	// Concurrent writers at one index: exactly one lands.
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.AddBatch(ctx, ledger.Batch{First: 2, Leaves: [][]byte{[]byte(fmt.Sprint(i))}})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, ledger.ErrDuplicate) {
			t.Errorf("racing AddBatch = %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d racing AddBatch calls succeeded, want 1", ok)
	}
	got, err := s.ReadBatch(ctx, 0)
	if err != nil || !reflect.DeepEqual(got, b) {
		t.Errorf("ReadBatch(0) = %+v, %v; want %+v", got, err, b)
	}
	big := ledger.Batch{First: 1 << 40, Leaves: [][]byte{[]byte("far")}}
	if err := s.AddBatch(ctx, big); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadBatch(ctx, 1<<40); err != nil || got.First != 1<<40 {
		t.Errorf("ReadBatch(2^40) = %+v, %v", got, err)
	}
}

func testTiles(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	if _, err := s.ReadTile(ctx, 0, 0); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("ReadTile(none) = %v, want ErrNotFound", err)
	}
	narrow := bytes.Repeat([]byte{1}, 64)
	wide := append(bytes.Clone(narrow), bytes.Repeat([]byte{2}, 32)...)
	if err := s.WriteTiles(ctx, []ledger.TileData{{Level: 0, N: 0, Hashes: narrow}, {Level: 1, N: 0, Hashes: narrow[:32]}}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTiles(ctx, []ledger.TileData{{Level: 0, N: 0, Hashes: wide}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadTile(ctx, 0, 0); err != nil || !bytes.Equal(got, wide) {
		t.Errorf("ReadTile(0,0) = %x, %v; want the wider tile", got, err)
	}
	if got, err := s.ReadTile(ctx, 1, 0); err != nil || len(got) != 32 {
		t.Errorf("ReadTile(1,0) = %x, %v", got, err)
	}
	// A late, narrower write never shortens a tile.
	if err := s.WriteTiles(ctx, []ledger.TileData{{Level: 0, N: 0, Hashes: narrow}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReadTile(ctx, 0, 0); !bytes.Equal(got, wide) {
		t.Errorf("after a narrower write ReadTile(0,0) has %d bytes, want the wider %d", len(got), len(wide))
	}

	// Two handles on one database (the hub's and the ledger's, or a deposed integrator's beside the
	// leader's): what one wrote holds for the other, so the late narrower write still changes
	// nothing.
	other, tile := env.second(t), func(w int) []ledger.TileData {
		return []ledger.TileData{{Level: 2, N: 0, Hashes: bytes.Repeat([]byte{byte(w)}, 32*w)}}
	}
	for i, w := range []int{3, 5, 4} {
		h := s
		if i == 1 {
			h = other
		}
		if err := h.WriteTiles(ctx, tile(w)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.ReadTile(ctx, 2, 0); !bytes.Equal(got, tile(5)[0].Hashes) {
		t.Errorf("after the other handle wrote 5 hashes and this one 4, ReadTile(2,0) has %d bytes, want %d", len(got), 32*5)
	}

	// Complete tiles of two levels in one call, one over a stored partial version that is not its
	// level's lowest, then the same call again.
	complete := func(level uint, n uint64) ledger.TileData {
		return ledger.TileData{Level: level, N: n, Hashes: bytes.Repeat([]byte{byte(level), byte(n)}, 256*16)}
	}
	if err := s.WriteTiles(ctx, []ledger.TileData{{Level: 0, N: 5, Hashes: complete(0, 5).Hashes[:64]}}); err != nil {
		t.Fatal(err)
	}
	tiles := []ledger.TileData{complete(0, 4), complete(0, 5), complete(0, 6), complete(1, 4), complete(1, 5), {Level: 0, N: 7, Hashes: narrow}}
	for range 2 {
		if err := s.WriteTiles(ctx, tiles); err != nil {
			t.Fatal(err)
		}
		for _, tl := range tiles {
			if got, err := s.ReadTile(ctx, tl.Level, tl.N); err != nil || !bytes.Equal(got, tl.Hashes) {
				t.Errorf("ReadTile(%d,%d) has %d bytes, %v; want %d", tl.Level, tl.N, len(got), err, len(tl.Hashes))
			}
		}
	}
}

func testBundles(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	if _, err := s.ReadBundle(ctx, 0); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("ReadBundle(none) = %v, want ErrNotFound", err)
	}
	two := ledger.AppendBundleEntry(ledger.AppendBundleEntry(nil, []byte("a")), []byte("bc"))
	three := ledger.AppendBundleEntry(bytes.Clone(two), []byte("def"))
	for _, b := range []ledger.BundleData{{N: 7, Count: 2, Data: two}, {N: 7, Count: 3, Data: three}, {N: 7, Count: 2, Data: two}} {
		if err := s.WriteBundles(ctx, []ledger.BundleData{b}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ReadBundle(ctx, 7)
	if err != nil || !bytes.Equal(got, three) {
		t.Fatalf("ReadBundle(7) = %x, %v; want the three-entry bundle", got, err)
	}
	entries, err := ledger.ParseBundle(got)
	if err != nil || len(entries) != 3 || string(entries[2]) != "def" {
		t.Errorf("ParseBundle = %q, %v", entries, err)
	}
	if p, err := ledger.BundlePrefix(got, 2); err != nil || !bytes.Equal(p, two) {
		t.Errorf("BundlePrefix(2) = %x, %v; want %x", p, err, two)
	}

	// Complete bundles: several in one call, one of them over a partial version that is not the
	// lowest of the call (a deposed writer's, or written before a restart), then all written again.
	full := func(n uint64) []byte {
		var b []byte
		for i := range 256 {
			b = ledger.AppendBundleEntry(b, fmt.Appendf(nil, "%d/%d", n, i))
		}
		return b
	}
	partial, err := ledger.BundlePrefix(full(11), 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBundles(ctx, []ledger.BundleData{{N: 11, Count: 5, Data: partial}}); err != nil {
		t.Fatal(err)
	}
	complete := []ledger.BundleData{{N: 10, Count: 256, Data: full(10)}, {N: 11, Count: 256, Data: full(11)}, {N: 12, Count: 256, Data: full(12)}, {N: 13, Count: 1, Data: ledger.AppendBundleEntry(nil, []byte("x"))}}
	for range 2 {
		if err := s.WriteBundles(ctx, complete); err != nil {
			t.Fatal(err)
		}
		for _, b := range complete {
			if got, err := s.ReadBundle(ctx, b.N); err != nil || !bytes.Equal(got, b.Data) {
				t.Errorf("ReadBundle(%d) has %d bytes, %v; want the %d-entry bundle", b.N, len(got), err, b.Count)
			}
		}
	}
}

func testTreeState(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	st, err := s.ReadTreeState(ctx)
	if err != nil || st.Size != 0 {
		t.Fatalf("ReadTreeState(empty) = %+v, %v; want the zero state", st, err)
	}
	one := ledger.TreeState{Size: 5, Root: bytes.Repeat([]byte{5}, 32), Checkpoint: []byte("cp5")}
	if err := s.SwapTreeState(ctx, ledger.TreeState{}, one); err != nil {
		t.Fatal(err)
	}
	two := ledger.TreeState{Size: 9, Root: bytes.Repeat([]byte{9}, 32), Checkpoint: []byte("cp9")}
	if err := s.SwapTreeState(ctx, ledger.TreeState{}, two); !errors.Is(err, ledger.ErrConflict) {
		t.Fatalf("SwapTreeState(stale old) = %v, want ErrConflict", err)
	}
	var wg sync.WaitGroup
	wins := make(chan int, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := ledger.TreeState{Size: uint64(10 + i), Root: bytes.Repeat([]byte{byte(i)}, 32)}
			if err := s.SwapTreeState(ctx, one, next); err == nil {
				wins <- i
			}
		}()
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		env.SkipNonAtomicCAS(t, fmt.Sprintf("%d racing SwapTreeState calls won", n))
		t.Errorf("%d racing SwapTreeState calls won, want 1", n)
	}
	if st, _ := s.ReadTreeState(ctx); st.Size < 10 {
		t.Errorf("tree state size %d after the race, want ≥ 10", st.Size)
	}
}

func testCheckpoints(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	for _, size := range []uint64{12, 3, 100} {
		if err := s.AddCheckpoint(ctx, size, []byte(fmt.Sprint("cp", size))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddCheckpoint(ctx, 3, []byte("cp3")); err != nil {
		t.Errorf("AddCheckpoint(same again) = %v, want nil", err)
	}
	if err := s.AddCheckpoint(ctx, 3, []byte("other")); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("AddCheckpoint(different text) = %v, want ErrConflict", err)
	}
	var sizes []uint64
	err := s.Checkpoints(ctx, func(size uint64, text []byte) error {
		if string(text) != fmt.Sprint("cp", size) {
			t.Errorf("checkpoint %d text %q", size, text)
		}
		sizes = append(sizes, size)
		return nil
	})
	if err != nil || !reflect.DeepEqual(sizes, []uint64{3, 12, 100}) {
		t.Errorf("Checkpoints = %v, %v; want 3, 12, 100 in order", sizes, err)
	}

	if _, err := s.LatestCosigned(ctx); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("LatestCosigned(none) = %v, want ErrNotFound", err)
	}
	if err := s.AddCosigned(ctx, 50, []byte("nope")); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("AddCosigned(no such checkpoint) = %v, want ErrNotFound", err)
	}
	for _, size := range []uint64{12, 100, 3} { // a late, smaller one does not replace the latest
		if err := s.AddCosigned(ctx, size, []byte(fmt.Sprint("cp", size, "+cosigs"))); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.LatestCosigned(ctx); err != nil || string(got) != "cp100+cosigs" {
		t.Errorf("LatestCosigned = %q, %v; want cp100+cosigs", got, err)
	}
}

func testProposals(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	base := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	for i, id := range []string{"p1", "p2", "p3"} {
		p := store.Proposal{ID: id, Base: 4, Reason: "r", ProposedBy: "officer-1", Created: base.Add(time.Duration(i) * time.Minute),
			Change: []byte(`{"addRules":[]}`), Impact: []byte(`[]`), Entry: uint64(10 + i), Status: store.ProposalPending}
		if err := s.AddProposal(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddProposal(ctx, store.Proposal{ID: "p1", Status: store.ProposalPending}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddProposal(existing id) = %v, want ErrConflict", err)
	}
	got, err := s.Proposal(ctx, "p2")
	if err != nil || got.Base != 4 || got.Entry != 11 || string(got.Change) != `{"addRules":[]}` || !got.Created.Equal(base.Add(time.Minute)) {
		t.Fatalf("Proposal(p2) = %+v, %v", got, err)
	}
	if _, err := s.Proposal(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Proposal(missing) = %v, want ErrNotFound", err)
	}
	// Racing decisions: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := got
			d.Status, d.DecidedBy, d.Decided, d.Version = store.ProposalApproved, fmt.Sprint("officer-", i+2), base.Add(time.Hour), 5
			if err := s.DecideProposal(ctx, d); err == nil {
				wins <- d.DecidedBy
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("DecideProposal = %v", err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	if len(wins) != 1 {
		env.SkipNonAtomicCAS(t, fmt.Sprintf("%d racing proposal decisions won", len(wins)))
		t.Errorf("%d racing decisions won, want 1", len(wins))
	}
	after, _ := s.Proposal(ctx, "p2")
	if after.Status != store.ProposalApproved || after.Version != 5 {
		t.Errorf("after the decision: %+v", after)
	}
	pending, err := s.Proposals(ctx, store.ProposalPending)
	if err != nil || len(pending) != 2 || pending[0].ID != "p3" || pending[1].ID != "p1" {
		t.Errorf("Proposals(pending) = %v, %v; want p3, p1 (newest first)", ids(pending), err)
	}
	if all, _ := s.Proposals(ctx, ""); len(all) != 3 {
		t.Errorf("Proposals(all) = %v", ids(all))
	}
}

func ids(ps []store.Proposal) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func testListCitizens(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	var ids []string
	for i := 1; i <= 7; i++ {
		ids = append(ids, fmt.Sprintf("C%06d", i))
	}
	if err := s.AddCitizens(ctx, ids, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		r := sampleRecord(id, "identity", uint64(i+1))
		r.Items[0].Plain = map[string]any{"hukouCity": []string{"杭州市", "福州市"}[i%2]}
		if err := s.CreateRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListCitizens(ctx, "", 3, nil)
	if err != nil || !reflect.DeepEqual(page, ids[:3]) {
		t.Fatalf("ListCitizens(first 3) = %v, %v", page, err)
	}
	page, err = s.ListCitizens(ctx, ids[5], 3, nil)
	if err != nil || !reflect.DeepEqual(page, ids[6:]) {
		t.Errorf("ListCitizens(after %s) = %v, %v; want the last one", ids[5], page, err)
	}
	f := &store.ListFilter{Dataset: "identity", Field: "hukouCity", Value: "杭州市"}
	page, err = s.ListCitizens(ctx, "", 2, f)
	if err != nil || !reflect.DeepEqual(page, []string{ids[0], ids[2]}) {
		t.Errorf("ListCitizens(hukouCity = 杭州市, 2) = %v, %v", page, err)
	}
	page, err = s.ListCitizens(ctx, ids[2], 10, f)
	if err != nil || !reflect.DeepEqual(page, []string{ids[4], ids[6]}) {
		t.Errorf("ListCitizens(hukouCity = 杭州市 after %s) = %v, %v", ids[2], page, err)
	}
	// Citizens registered after a list, through this store and through a second one on the same
	// database, are on the next pages, in order; registering one again changes nothing.
	other := env.second(t)
	if err := s.AddCitizens(ctx, []string{"C000010", "C000004"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := other.AddCitizens(ctx, []string{"C0000085", "C000009"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(ids[5:]), "C0000085", "C000009", "C000010")
	for _, st := range []*mongostore.Store{s, other} {
		page, err = st.ListCitizens(ctx, ids[4], 10, nil)
		if err != nil || !reflect.DeepEqual(page, want) {
			t.Errorf("ListCitizens(after %s) after more registrations = %v, %v; want %v", ids[4], page, err, want)
		}
	}
}
