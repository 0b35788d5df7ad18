package storetest

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/mongostore"
)

// testSubjectLogs runs the access log cases, each on a fresh store.
func testSubjectLogs(t *testing.T, newEnv func(testing.TB) *Env) {
	t.Run("AppendAndRead", func(t *testing.T) { testLogAppendRead(t, newEnv(t)) })
	t.Run("Pages", func(t *testing.T) { testLogPages(t, newEnv(t)) })
	t.Run("Duplicates", func(t *testing.T) { testLogDuplicates(t, newEnv(t)) })
	t.Run("Concurrent", func(t *testing.T) { testLogConcurrent(t, newEnv(t)) })
	t.Run("HeadLag", func(t *testing.T) { testLogHeadLag(t, newEnv(t)) })
	t.Run("Batch", func(t *testing.T) { testLogBatch(t, newEnv(t)) })
	t.Run("SmallBatches", func(t *testing.T) { testLogSmallBatches(t, newEnv(t)) })
	t.Run("ListPage", func(t *testing.T) { testLogListPage(t, newEnv(t)) })
	t.Run("Migration", func(t *testing.T) { testLogMigration(t, newEnv(t)) })
	t.Run("ConcurrentMigrations", func(t *testing.T) { testLogConcurrentMigrations(t, newEnv(t)) })
}

var logTime = time.Date(2026, 11, 21, 6, 30, 5, 123_000_000, time.UTC)

func salt(i uint64) []byte { return bytes.Repeat([]byte{byte(i)}, 32) }

// addLegacyRefs stores subject references where stores before format 3 kept them, the subjects
// collection ({_id: "<pseudonym>/<index, 20 digits>", index, salt, page?}), as an older hub left
// them.
func addLegacyRefs(t testing.TB, env *Env, refs []store.SubjectRef) {
	t.Helper()
	docs := make([]any, len(refs))
	for i, r := range refs {
		d := bson.D{{Key: "_id", Value: fmt.Sprintf("%s/%020d", r.Pseudonym, r.Index)}, {Key: "index", Value: int64(r.Index)}, {Key: "salt", Value: r.Salt}}
		if r.Page != nil {
			d = append(d, bson.E{Key: "page", Value: bson.D{{Key: "pos", Value: int64(r.Page.Position)}, {Key: "path", Value: r.Page.Hashes}}})
		}
		docs[i] = d
	}
	if _, err := env.DB.Collection("subjects").InsertMany(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
}

// legacyRefsOf counts the pseudonym's references left in the subjects collection.
func legacyRefsOf(t testing.TB, env *Env, pseudonym string) int64 {
	t.Helper()
	n, err := env.DB.Collection("subjects").CountDocuments(t.Context(),
		bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: pseudonym + "/"}, {Key: "$lt", Value: pseudonym + "0"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func logRef(p string, index uint64) store.LogRef {
	return store.LogRef{Pseudonym: p, Index: index, Salt: salt(index), Time: logTime.Add(time.Duration(index) * time.Second)}
}

// seqsOf returns the seqs of a page's references.
func seqsOf(refs []store.LogRef) []uint64 {
	var out []uint64
	for _, r := range refs {
		out = append(out, r.Seq)
	}
	return out
}

// indexesOf returns the ledger indexes of a page's references.
func indexesOf(refs []store.LogRef) []uint64 {
	var out []uint64
	for _, r := range refs {
		out = append(out, r.Index)
	}
	return out
}

// wholeLog reads a citizen's log page by page, newest first, checking the cursors.
func wholeLog(t *testing.T, s *mongostore.Store, p string, n int) []store.LogRef {
	t.Helper()
	var all []store.LogRef
	before := uint64(0)
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("SubjectLog(%s): pages never end", p)
		}
		page, err := s.SubjectLog(t.Context(), p, before, n)
		if err != nil {
			t.Fatalf("SubjectLog(%s, %d, %d) = %v", p, before, n, err)
		}
		all = append(all, page.Refs...)
		if page.Next == 0 {
			return all
		}
		before = page.Next
	}
}

func testLogAppendRead(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	page := &store.PagePath{Position: 5, Hashes: [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)}}
	refs := []store.LogRef{logRef("aa", 5), logRef("aa", 7), logRef("aa", 6), logRef("aab", 8), {Pseudonym: "ab", Index: 9, Salt: salt(9)}}
	refs[1].Page = page
	refs[2].Entry = []byte("govhub/entry/v2\nkind access\n") // kept as given
	for i, r := range refs {
		seq, err := s.AppendSubjectLog(ctx, r)
		if err != nil {
			t.Fatalf("AppendSubjectLog(%d) = %v", i, err)
		}
		if want := []uint64{1, 2, 3, 1, 1}[i]; seq != want {
			t.Errorf("AppendSubjectLog(%s, %d) = seq %d, want %d", r.Pseudonym, r.Index, seq, want)
		}
		refs[i].Seq = seq
	}
	got, err := s.SubjectLog(ctx, "aa", 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	want := store.LogPage{Refs: []store.LogRef{refs[2], refs[1], refs[0]}, End: 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SubjectLog(aa, 0, 20):\n got %+v\nwant %+v", got, want)
	}
	if got, err := s.SubjectLog(ctx, "ab", 0, 20); err != nil || !reflect.DeepEqual(got.Refs, refs[4:]) || !got.Refs[0].Time.IsZero() {
		t.Errorf("SubjectLog(ab) = %+v, %v; want %+v (no time kept as none)", got, err, refs[4:])
	}
	if end, err := s.SubjectLogEnd(ctx, "aa"); err != nil || end != 3 {
		t.Errorf("SubjectLogEnd(aa) = %d, %v; want 3", end, err)
	}
	// The subject index is written too.
	if r, err := s.SubjectRef(ctx, "aa", 7); err != nil || !bytes.Equal(r.Salt, salt(7)) {
		t.Errorf("SubjectRef(aa, 7) = %+v, %v; want the appended salt", r, err)
	}

	// A citizen with no log.
	if got, err := s.SubjectLog(ctx, "zz", 0, 20); err != nil || !reflect.DeepEqual(got, store.LogPage{}) {
		t.Errorf("SubjectLog(no log) = %+v, %v; want an empty page", got, err)
	}
	if end, err := s.SubjectLogEnd(ctx, "zz"); err != nil || end != 0 {
		t.Errorf("SubjectLogEnd(no log) = %d, %v; want 0", end, err)
	}

	// Invalid input.
	for _, bad := range []store.LogRef{
		{Index: 1},
		{Pseudonym: "aa", Index: 1, Page: &store.PagePath{Hashes: [][]byte{{1, 2}}}},
		{Pseudonym: "aa", Index: 1, Page: &store.PagePath{Hashes: slices.Repeat([][]byte{make([]byte, 32)}, store.MaxPagePath+1)}},
		{Pseudonym: "aa", Index: 1, Page: &store.PagePath{Position: -1}},
		{Pseudonym: "aa", Index: 1, Entry: make([]byte, 1<<16)},
	} {
		if _, err := s.AppendSubjectLog(ctx, bad); err == nil {
			t.Errorf("AppendSubjectLog(%+v) = nil error, want one", bad)
		}
	}
	if _, err := s.SubjectLog(ctx, "aa", 0, 0); err == nil {
		t.Errorf("SubjectLog(n = 0) = nil error, want one")
	}
	if end, _ := s.SubjectLogEnd(ctx, "aa"); end != 3 {
		t.Errorf("after invalid appends SubjectLogEnd(aa) = %d, want 3", end)
	}
}

func testLogPages(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	const total = 105
	for i := uint64(1); i <= total; i++ {
		if seq, err := s.AppendSubjectLog(ctx, logRef("p", 1000+i)); err != nil || seq != i {
			t.Fatalf("AppendSubjectLog #%d = %d, %v", i, seq, err)
		}
	}
	span := func(hi, lo uint64) []uint64 {
		var out []uint64
		for q := hi; q >= lo; q-- {
			out = append(out, q)
		}
		return out
	}
	for _, c := range []struct {
		name     string
		before   uint64
		n        int
		wantSeqs []uint64
		wantNext uint64
	}{
		{"newest", 0, 10, span(105, 96), 96},
		{"cursor", 96, 10, span(95, 86), 86},
		{"last partial", 6, 10, span(5, 1), 0},
		{"exactly to the start", 11, 10, span(10, 1), 0},
		{"one", 2, 1, []uint64{1}, 0},
		{"before the first", 1, 10, nil, 0},
		{"n above the limit", 0, 1000, span(105, 6), 6},
		{"cursor past the end", 5000, 3, span(105, 103), 103},
		{"cursor at end + 1", 106, 3, span(105, 103), 103},
	} {
		t.Run(c.name, func(t *testing.T) {
			page, err := s.SubjectLog(ctx, "p", c.before, c.n)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqsOf(page.Refs); !slices.Equal(got, c.wantSeqs) || page.Next != c.wantNext || page.End != total {
				t.Errorf("SubjectLog(p, %d, %d) = seqs %v, next %d, end %d; want %v, %d, %d", c.before, c.n, got, page.Next, page.End, c.wantSeqs, c.wantNext, total)
			}
			for _, r := range page.Refs {
				if r.Index != 1000+r.Seq || !bytes.Equal(r.Salt, salt(r.Index)) || !r.Time.Equal(logTime.Add(time.Duration(r.Index)*time.Second)) {
					t.Errorf("ref at seq %d = %+v, want index %d with its salt and time", r.Seq, r, 1000+r.Seq)
				}
			}
		})
	}
	if all := wholeLog(t, s, "p", 20); !slices.Equal(seqsOf(all), span(total, 1)) {
		t.Errorf("whole log by pages of 20 = %v", seqsOf(all))
	}
}

func testLogDuplicates(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	for i, index := range []uint64{3, 9, 9, 4} { // 9 appended twice, as a retry may
		if seq, err := s.AppendSubjectLog(ctx, logRef("d", index)); err != nil || seq != uint64(i+1) {
			t.Fatalf("AppendSubjectLog(d, %d) = %d, %v; want seq %d", index, seq, err, i+1)
		}
	}
	page, err := s.SubjectLog(ctx, "d", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(page.Refs); !slices.Equal(got, []uint64{4, 3, 1}) || page.End != 4 {
		t.Errorf("SubjectLog(d) = seqs %v, end %d; want 4 3 1 (the older copy of index 9 dropped), end 4", got, page.End)
	}
}

func testLogConcurrent(t *testing.T, env *Env) {
	ctx := t.Context()
	stores := []*mongostore.Store{env.Store, env.second(t)}
	const writers, each = 8, 12
	var mu sync.Mutex
	seqs := map[uint64]uint64{} // seq → ledger index
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				index := uint64(w*each + i + 1)
				seq, err := stores[w%2].AppendSubjectLog(ctx, logRef("c", index))
				if err != nil {
					t.Errorf("AppendSubjectLog(c, %d) = %v", index, err)
					return
				}
				mu.Lock()
				if prev, ok := seqs[seq]; ok {
					t.Errorf("seq %d given to index %d and index %d", seq, prev, index)
				}
				seqs[seq] = index
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	const total = writers * each
	for q := uint64(1); q <= total; q++ {
		if _, ok := seqs[q]; !ok {
			t.Errorf("seq %d not given: the log is not dense", q)
		}
	}
	all := wholeLog(t, env.Store, "c", store.MaxLogPage)
	if len(all) != total {
		t.Fatalf("whole log has %d references, want %d", len(all), total)
	}
	for _, r := range all {
		if seqs[r.Seq] != r.Index {
			t.Errorf("seq %d holds index %d, its appender got %d", r.Seq, r.Index, seqs[r.Seq])
		}
	}
	if end, err := env.Store.SubjectLogEnd(ctx, "c"); err != nil || end != total {
		t.Errorf("SubjectLogEnd(c) = %d, %v; want %d", end, err, total)
	}
}

// setHead writes a citizen's head hint directly (seq 0: removes it), as a lost update would leave it.
func setHead(t *testing.T, env *Env, p string, seq int64) {
	t.Helper()
	heads := env.DB.Collection("subject_log_heads")
	var err error
	if seq == 0 {
		_, err = heads.DeleteOne(t.Context(), bson.D{{Key: "_id", Value: p}})
	} else {
		_, err = heads.ReplaceOne(t.Context(), bson.D{{Key: "_id", Value: p}}, bson.D{{Key: "seq", Value: seq}}, options.Replace().SetUpsert(true))
	}
	if err != nil {
		t.Fatalf("setting the head of %s to %d: %v", p, seq, err)
	}
}

func testLogHeadLag(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	for i := uint64(1); i <= 7; i++ {
		if _, err := s.AppendSubjectLog(ctx, logRef("h", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, head := range []int64{2, 0, 7} {
		setHead(t, env, "h", head)
		if end, err := s.SubjectLogEnd(ctx, "h"); err != nil || end != 7 {
			t.Errorf("head %d: SubjectLogEnd = %d, %v; want 7", head, end, err)
		}
		setHead(t, env, "h", head)
		page, err := s.SubjectLog(ctx, "h", 0, 3)
		if err != nil || !slices.Equal(seqsOf(page.Refs), []uint64{7, 6, 5}) || page.End != 7 {
			t.Errorf("head %d: SubjectLog(h, 0, 3) = %+v, %v; want seqs 7 6 5, end 7", head, page, err)
		}
	}
	// An appender behind a stale head takes the next free seq.
	setHead(t, env, "h", 3)
	if seq, err := s.AppendSubjectLog(ctx, logRef("h", 8)); err != nil || seq != 8 {
		t.Errorf("AppendSubjectLog behind a stale head = %d, %v; want 8", seq, err)
	}
	setHead(t, env, "h", 1)
	seqs, err := s.AppendSubjectLogs(ctx, []store.LogRef{logRef("h", 9), logRef("h2", 10)})
	if err != nil || !slices.Equal(seqs, []uint64{9, 1}) {
		t.Errorf("AppendSubjectLogs behind a stale head = %v, %v; want [9 1]", seqs, err)
	}
	if all := wholeLog(t, s, "h", 4); !slices.Equal(indexesOf(all), []uint64{9, 8, 7, 6, 5, 4, 3, 2, 1}) {
		t.Errorf("whole log of h = %v", indexesOf(all))
	}
	// Several references of one citizen in one batch, the first behind a stale head: it is
	// appended after the end, the citizen's next one after it, and the new citizens' logs and
	// heads are written too.
	setHead(t, env, "h", 1)
	seqs, err = s.AppendSubjectLogs(ctx, []store.LogRef{logRef("h", 20), logRef("h4", 21), logRef("h", 22), logRef("h5", 23), logRef("h4", 24)})
	if err != nil || !slices.Equal(seqs, []uint64{10, 1, 11, 1, 2}) {
		t.Errorf("AppendSubjectLogs of several references a citizen behind a stale head = %v, %v; want [10 1 11 1 2]", seqs, err)
	}
	if all := wholeLog(t, s, "h", 4); !slices.Equal(indexesOf(all), []uint64{22, 20, 9, 8, 7, 6, 5, 4, 3, 2, 1}) {
		t.Errorf("whole log of h = %v", indexesOf(all))
	}
	for p, want := range map[string][]uint64{"h4": {24, 21}, "h5": {23}} {
		if all := wholeLog(t, s, p, 4); !slices.Equal(indexesOf(all), want) {
			t.Errorf("whole log of %s = %v, want %v", p, indexesOf(all), want)
		}
		if end, err := s.SubjectLogEnd(ctx, p); err != nil || end != uint64(len(want)) {
			t.Errorf("SubjectLogEnd(%s) = %d, %v; want %d", p, end, err, len(want))
		}
	}
}

// testLogListPage: a list page's entry goes into the access log of each citizen on the page (one
// reference each, up to 100 citizens), among them citizens whose logs another store wrote (their
// ends unknown to this one): each reference lands right after its citizen's end, twice in a row.
func testLogListPage(t *testing.T, env *Env) {
	s, other := env.Store, env.second(t)
	ctx := t.Context()
	const n = 100
	name := func(i int) string { return fmt.Sprintf("page%03d", i) }
	ends := map[string]uint64{}
	for i := range n {
		for k := range i % 4 { // citizens with 0 to 3 references, written by the other store
			if _, err := other.AppendSubjectLog(ctx, logRef(name(i), uint64(1+k))); err != nil {
				t.Fatal(err)
			}
			ends[name(i)]++
		}
	}
	for round, index := range []uint64{500, 501} {
		var refs []store.LogRef
		for i := range n {
			refs = append(refs, logRef(name(i), index))
		}
		seqs, err := s.AppendSubjectLogs(ctx, refs)
		if err != nil || len(seqs) != n {
			t.Fatalf("round %d: AppendSubjectLogs(a page of %d) = %d seqs, %v", round, n, len(seqs), err)
		}
		for i, seq := range seqs {
			if want := ends[name(i)] + 1; seq != want {
				t.Errorf("round %d: %s's reference at seq %d, want %d (right after its end)", round, name(i), seq, want)
			}
			ends[name(i)] = seq
		}
	}
	for _, i := range []int{0, 3, 98} {
		got := wholeLog(t, s, name(i), 10)
		if len(got) != int(ends[name(i)]) || got[0].Index != 501 || got[1].Index != 500 {
			t.Errorf("log of %s = %v, want the page's two entries over its %d earlier ones", name(i), indexesOf(got), i%4)
		}
	}
}

func testLogBatch(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	for i := uint64(1); i <= 2; i++ {
		if _, err := s.AppendSubjectLog(ctx, logRef("b1", i)); err != nil {
			t.Fatal(err)
		}
	}
	if seqs, err := s.AppendSubjectLogs(ctx, nil); err != nil || len(seqs) != 0 {
		t.Errorf("AppendSubjectLogs(nil) = %v, %v", seqs, err)
	}
	page := &store.PagePath{Position: 2, Hashes: [][]byte{bytes.Repeat([]byte{9}, 32)}}
	batch := []store.LogRef{logRef("b1", 10), logRef("b2", 10), logRef("b3", 10), logRef("b1", 11)}
	for i := range batch {
		batch[i].Page = page
	}
	seqs, err := s.AppendSubjectLogs(ctx, batch)
	if err != nil || !slices.Equal(seqs, []uint64{3, 1, 1, 4}) {
		t.Fatalf("AppendSubjectLogs = %v, %v; want [3 1 1 4]", seqs, err)
	}
	for _, p := range []string{"b1", "b2", "b3"} {
		pg, err := s.SubjectLog(ctx, p, 0, 10)
		if err != nil || len(pg.Refs) == 0 || pg.Refs[0].Index != 10 && pg.Refs[0].Index != 11 || !reflect.DeepEqual(pg.Refs[0].Page, page) {
			t.Errorf("SubjectLog(%s) = %+v, %v; want the batch's reference with its page path first", p, pg, err)
		}
		if _, err := s.SubjectRef(ctx, p, 10); err != nil {
			t.Errorf("SubjectRef(%s, 10) = %v", p, err)
		}
	}
	if got := wholeLog(t, s, "b1", 10); !slices.Equal(indexesOf(got), []uint64{11, 10, 2, 1}) {
		t.Errorf("log of b1 = %v, want 11 10 2 1", indexesOf(got))
	}
	if _, err := s.AppendSubjectLogs(ctx, []store.LogRef{logRef("b1", 12), {Index: 1}}); err == nil {
		t.Errorf("AppendSubjectLogs with a reference without pseudonym = nil error")
	}

	// Batches and single appends racing on the same citizens: nothing lost, no seq shared.
	stores := []*mongostore.Store{s, env.second(t)}
	citizens := []string{"r1", "r2", "r3", "r4", "r5"}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 6 {
				index := uint64(100 + w*10 + i)
				if w%2 == 0 {
					var refs []store.LogRef
					for _, p := range citizens {
						refs = append(refs, logRef(p, index))
					}
					if _, err := stores[w%2].AppendSubjectLogs(ctx, refs); err != nil {
						t.Errorf("AppendSubjectLogs = %v", err)
					}
				} else {
					for _, p := range citizens {
						if _, err := stores[w%2].AppendSubjectLog(ctx, logRef(p, index)); err != nil {
							t.Errorf("AppendSubjectLog = %v", err)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	for _, p := range citizens {
		got := indexesOf(wholeLog(t, s, p, store.MaxLogPage))
		slices.Sort(got)
		var want []uint64
		for w := range 4 {
			for i := range 6 {
				want = append(want, uint64(100+w*10+i))
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("log of %s after racing appends = %v, want %v", p, got, want)
		}
	}
}

func testLogMigration(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	old := []store.SubjectRef{
		{Pseudonym: "aa", Index: 10, Salt: salt(10)}, {Pseudonym: "aa", Index: 2, Salt: salt(2)},
		{Pseudonym: "aa", Index: 30, Salt: salt(30)}, {Pseudonym: "aab", Index: 3, Salt: salt(3)},
		{Pseudonym: "ac", Index: 5, Salt: salt(5)}, {Pseudonym: "ac", Index: 6, Salt: salt(6)},
	}
	for i := range 2500 { // more than one insert's worth
		old = append(old, store.SubjectRef{Pseudonym: fmt.Sprintf("m%04d", i%700), Index: uint64(100 + i), Salt: salt(uint64(i))})
	}
	addLegacyRefs(t, env, old) // the migration reads what stores before the access log wrote
	// A hub already serving logged an access about ac before the migration ran.
	if _, err := s.AppendSubjectLog(ctx, logRef("ac", 50)); err != nil {
		t.Fatal(err)
	}
	n, err := s.MigrateSubjectLog(ctx)
	if err != nil {
		t.Fatalf("MigrateSubjectLog = %v", err)
	}
	if n < len(old) {
		t.Errorf("MigrateSubjectLog = %d, want at least %d", n, len(old))
	}
	check := func(when string) {
		t.Helper()
		page, err := s.SubjectLog(ctx, "aa", 0, 10)
		if err != nil || !slices.Equal(indexesOf(page.Refs), []uint64{30, 10, 2}) || !slices.Equal(seqsOf(page.Refs), []uint64{3, 2, 1}) {
			t.Errorf("%s: SubjectLog(aa) = %+v, %v; want indexes 30 10 2 at seqs 3 2 1", when, page, err)
		}
		if page.Refs[0].Salt == nil || !bytes.Equal(page.Refs[0].Salt, salt(30)) {
			t.Errorf("%s: migrated salt = %x", when, page.Refs[0].Salt)
		}
		got := indexesOf(wholeLog(t, s, "ac", 100))
		slices.Sort(got)
		if !slices.Equal(slices.Compact(got), []uint64{5, 6, 50}) {
			t.Errorf("%s: log of ac = %v, want 5, 6 and 50", when, got)
		}
		for i := range 700 {
			p := fmt.Sprintf("m%04d", i)
			got := indexesOf(wholeLog(t, s, p, 100))
			var want []uint64
			for j := 2499 - (2499-i)%700; j >= 0; j -= 700 {
				want = append(want, uint64(100+j))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: log of %s = %v, want %v", when, p, got, want)
			}
		}
	}
	check("after the migration")
	if n, err := s.MigrateSubjectLog(ctx); err != nil || n != 0 {
		t.Errorf("MigrateSubjectLog again = %d, %v; want 0 (marker)", n, err)
	}
	// A crashed migration (no marker) runs again without adding anything.
	if _, err := env.DB.Collection("meta").DeleteOne(ctx, bson.D{{Key: "_id", Value: "subject_log_migration"}}); err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		c, err := env.DB.Collection("subject_log").CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before := count()
	if n, err := s.MigrateSubjectLog(ctx); err != nil || n != 0 {
		t.Errorf("MigrateSubjectLog without its marker = %d, %v; want 0", n, err)
	}
	if after := count(); after != before {
		t.Errorf("re-run migration: %d log documents, want %d as before", after, before)
	}
	check("after a re-run")
	// Appends continue after the migrated references.
	if seq, err := s.AppendSubjectLog(ctx, logRef("aa", 40)); err != nil || seq != 4 {
		t.Errorf("AppendSubjectLog after the migration = %d, %v; want seq 4", seq, err)
	}
}

func testLogConcurrentMigrations(t *testing.T, env *Env) {
	ctx := t.Context()
	var old []store.SubjectRef
	for i := range 1500 {
		old = append(old, store.SubjectRef{Pseudonym: fmt.Sprintf("q%03d", i%300), Index: uint64(i + 1), Salt: salt(uint64(i))})
	}
	addLegacyRefs(t, env, old)
	stores := []*mongostore.Store{env.Store, env.second(t)}
	var wg sync.WaitGroup
	counts := make([]int, len(stores))
	for i, s := range stores {
		wg.Go(func() {
			n, err := s.MigrateSubjectLog(ctx)
			if err != nil {
				t.Errorf("MigrateSubjectLog #%d = %v", i, err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	if counts[0]+counts[1] != len(old) {
		t.Errorf("concurrent migrations inserted %v, want %d in all", counts, len(old))
	}
	if c, err := env.DB.Collection("subject_log").CountDocuments(ctx, bson.D{}); err != nil || c != int64(len(old)) {
		t.Errorf("%d log documents, %v; want %d", c, err, len(old))
	}
	for i := range 300 {
		p := fmt.Sprintf("q%03d", i)
		if got := indexesOf(wholeLog(t, env.Store, p, 100)); !slices.Equal(got, []uint64{uint64(i + 1201), uint64(i + 901), uint64(i + 601), uint64(i + 301), uint64(i + 1)}) {
			t.Fatalf("log of %s = %v", p, got)
		}
	}
}

// Small batches (a step's few entries for a citizen and their spouse) racing with each other and
// with single appends on two stores: nothing is lost, no seq is shared, and every log is dense;
// alone, a batch's references of one citizen take the seqs after its end, in their order.
func testLogSmallBatches(t *testing.T, env *Env) {
	ctx := t.Context()
	stores := []*mongostore.Store{env.Store, env.second(t)}
	citizens := []string{"s1", "s2", "s3"}
	var mu sync.Mutex
	seqs := map[string]map[uint64]uint64{} // citizen → seq → ledger index
	for _, p := range citizens {
		seqs[p] = map[uint64]uint64{}
	}
	record := func(p string, seq, index uint64) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := seqs[p][seq]; ok {
			t.Errorf("seq %d of %s given to index %d and index %d", seq, p, prev, index)
		}
		seqs[p][seq] = index
	}
	var wg sync.WaitGroup
	index := func(w, i, k int) uint64 { return uint64(1000*w + 10*i + k + 1) }
	for w := range 6 {
		wg.Go(func() {
			for i := range 10 {
				p, spouse := citizens[(w+i)%3], citizens[(w+i+1)%3]
				if w == 5 { // single appends in between
					seq, err := stores[w%2].AppendSubjectLog(ctx, logRef(p, index(w, i, 0)))
					if err != nil {
						t.Errorf("AppendSubjectLog = %v", err)
						return
					}
					record(p, seq, index(w, i, 0))
					continue
				}
				// Two steps of p, then an entry naming p and the spouse.
				refs := []store.LogRef{logRef(p, index(w, i, 0)), logRef(p, index(w, i, 1)), logRef(p, index(w, i, 2)), logRef(spouse, index(w, i, 2))}
				got, err := stores[w%2].AppendSubjectLogs(ctx, refs)
				if err != nil || len(got) != len(refs) {
					t.Errorf("AppendSubjectLogs = %v, %v", got, err)
					return
				}
				for k, r := range refs {
					record(r.Pseudonym, got[k], r.Index)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Alone, a batch's references of one citizen take the seqs after its end, in their order.
	end, err := env.Store.SubjectLogEnd(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	refs := []store.LogRef{logRef("s1", 9001), logRef("s2", 9002), logRef("s1", 9003)}
	got, err := env.Store.AppendSubjectLogs(ctx, refs)
	if err != nil || len(got) != 3 || got[0] != end+1 || got[2] != end+2 {
		t.Fatalf("AppendSubjectLogs alone = %v, %v; want s1's at %d and %d", got, err, end+1, end+2)
	}
	for k, r := range refs {
		record(r.Pseudonym, got[k], r.Index)
	}
	for _, p := range citizens {
		n := uint64(len(seqs[p]))
		for q := uint64(1); q <= n; q++ {
			if _, ok := seqs[p][q]; !ok {
				t.Errorf("seq %d of %s not given: the log is not dense", q, p)
			}
		}
		all := wholeLog(t, env.Store, p, store.MaxLogPage)
		if uint64(len(all)) != n {
			t.Errorf("whole log of %s has %d references, want %d", p, len(all), n)
		}
		for _, r := range all {
			if seqs[p][r.Seq] != r.Index {
				t.Errorf("seq %d of %s holds index %d, its appender got %d", r.Seq, p, r.Index, seqs[p][r.Seq])
			}
			if _, err := env.Store.SubjectRef(ctx, p, r.Index); err != nil {
				t.Errorf("SubjectRef(%s, %d) = %v", p, r.Index, err)
			}
		}
		if end, err := env.Store.SubjectLogEnd(ctx, p); err != nil || end != n {
			t.Errorf("SubjectLogEnd(%s) = %d, %v; want %d", p, end, err, n)
		}
	}
}
