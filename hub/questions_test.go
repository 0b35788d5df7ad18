package hub

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/ledger"
)

var (
	housingOfficer = auth.Principal{Kind: auth.KindOfficer, Department: "housing", Role: auth.RoleOfficer, Subject: "ho1"}
	taxOfficer     = auth.Principal{Kind: auth.KindOfficer, Department: "tax", Role: auth.RoleOfficer, Subject: "to1"}
	privacyOfficer = auth.Principal{Kind: auth.KindOfficer, Department: PrivacyOffice, Role: auth.RoleOfficer, Subject: "po1"}
	citizenPA      = auth.Principal{Kind: auth.KindCitizen, Subject: citizenA}
	citizenPB      = auth.Principal{Kind: auth.KindCitizen, Subject: citizenB}
	auditor        = auth.Principal{Kind: auth.KindAuditor, Subject: "a1"}
)

// clock is a settable clock for the questions' deadline.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (f *fixture) questions(t *testing.T, opts ...Option) *Questions {
	t.Helper()
	qs, err := NewQuestions(QuestionsConfig{Questions: f.env.Store, Refs: f.env.Store, Entries: f.log.Reader(), Index: f.env.Store,
		Ledger: f.log, Policy: f.engine, IndexKey: f.indexKey, Officials: f.officials, Deadline: 48 * time.Hour,
		Keys: f.env.Store, Master: f.master}, opts...)
	if err != nil {
		t.Fatalf("NewQuestions = %v", err)
	}
	return qs
}

// housingRead has the housing clerk read citizen's identity and returns the access entry's index,
// once a published checkpoint covers it.
func (f *fixture) housingRead(t *testing.T, citizen string) uint64 {
	t.Helper()
	view, err := f.reader.ReadCitizen(t.Context(), housingClerk, ReadRequest{Citizen: citizen, Purpose: "home-purchase-eligibility",
		Fields: map[string]Want{"identity.name": WantValue}})
	if err != nil {
		t.Fatalf("ReadCitizen = %v", err)
	}
	if _, err := f.log.WaitCheckpoint(t.Context(), view.Receipt.Index+1); err != nil {
		t.Fatal(err)
	}
	return view.Receipt.Index
}

func TestQuestions(t *testing.T) {
	f := newFixture(t)
	f.newCitizen(t, citizenA)
	f.newCitizen(t, citizenB)
	clk := &clock{now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}
	qs := f.questions(t, WithClock(clk.Now))
	ctx := t.Context()
	access := f.housingRead(t, citizenA)
	other := f.housingRead(t, citizenB)

	const message = "我不认识这次查询 — who looked at my name?"
	for _, c := range []struct {
		name  string
		p     auth.Principal
		index uint64
		msg   string
		want  error
	}{
		{"department token", housingClerk, access, message, ErrForbidden},
		{"officer token", housingOfficer, access, message, ErrForbidden},
		{"auditor token", auditor, access, message, ErrForbidden},
		{"someone else's entry", citizenPA, other, message, ErrNoEntry},
		{"no such entry", citizenPA, 1 << 40, message, ErrNoEntry},
		{"empty message", citizenPA, access, "  \n", ErrInvalid},
		{"long message", citizenPA, access, strings.Repeat("问", MaxQuestionLength+1), ErrInvalid},
		{"invalid UTF-8", citizenPA, access, "why\xff", ErrInvalid},
	} {
		if _, err := qs.Ask(ctx, c.p, c.index, c.msg); !errors.Is(err, c.want) {
			t.Errorf("%s: Ask = %v, want %v", c.name, err, c.want)
		}
	}
	// Refused the same way whether the entry is someone else's or does not exist.
	_, e1 := qs.Ask(ctx, citizenPA, other, message)
	_, e2 := qs.Ask(ctx, citizenPA, 1<<40, message)
	if strings.Replace(e1.Error(), itoa(other), "N", 1) != strings.Replace(e2.Error(), "1099511627776", "N", 1) {
		t.Errorf("someone else's entry: %q; no entry: %q; want the same error", e1, e2)
	}

	before := len(f.entries(t))
	q, err := qs.Ask(ctx, citizenPA, access, message)
	if err != nil {
		t.Fatalf("Ask = %v", err)
	}
	if q.Department != "housing" || q.AccessIndex != access || q.Answered || q.Overdue || q.Message != message ||
		!q.DueBy.Equal(clk.Now().Add(48*time.Hour)) {
		t.Errorf("Ask = %+v", q)
	}
	// The question entry: citizen/citizen, about the access, the message's digest only.
	all := f.entries(t)
	if len(all) != before+1 || q.QuestionIndex != uint64(before) {
		t.Fatalf("ledger grew from %d to %d, question index %d", before, len(all), q.QuestionIndex)
	}
	qe := all[q.QuestionIndex]
	if qe.Kind != ledger.KindQuestion || qe.About != access || qe.Department != "citizen" || qe.Role != "citizen" || len(qe.Record) != 32 ||
		len(qe.Subjects) != 1 {
		t.Errorf("question entry = %+v", qe)
	}
	f.checkIndexed(t, citizenA, q.QuestionIndex)
	f.checkNoText(t, message)

	// Who sees it.
	for _, c := range []struct {
		p    auth.Principal
		want int
	}{{housingOfficer, 1}, {privacyOfficer, 1}, {taxOfficer, 0}} {
		list, err := qs.Queue(ctx, c.p, "")
		if err != nil || len(list) != c.want || (c.want == 1 && list[0].ID != q.ID) {
			t.Errorf("Queue(%s) = %+v, %v; want %d", c.p.Department, list, err, c.want)
		}
	}
	for _, p := range []auth.Principal{housingClerk, citizenPA, auditor} {
		if _, err := qs.Queue(ctx, p, ""); !errors.Is(err, ErrForbidden) {
			t.Errorf("Queue(%s) = %v, want ErrForbidden", p.Kind, err)
		}
	}
	if mine, err := qs.Mine(ctx, citizenPB); err != nil || len(mine) != 0 {
		t.Errorf("Mine(B) = %+v, %v; want none", mine, err)
	}

	// Overdue after the deadline.
	clk.add(49 * time.Hour)
	if list, _ := qs.Queue(ctx, housingOfficer, "open"); len(list) != 1 || !list[0].Overdue {
		t.Errorf("after the deadline: %+v, want one overdue", list)
	}

	// Answers: only housing or the privacy office; then once.
	const answer = "依据《住房保障条例》审核购房资格 — case 2026-17"
	if _, err := qs.Answer(ctx, taxOfficer, q.ID, BasisCase, answer); !errors.Is(err, ErrForbidden) {
		t.Errorf("tax officer's Answer = %v, want ErrForbidden", err)
	}
	if _, err := qs.Answer(ctx, housingClerk, q.ID, BasisCase, answer); !errors.Is(err, ErrForbidden) {
		t.Errorf("clerk's Answer = %v, want ErrForbidden", err)
	}
	if _, err := qs.Answer(ctx, housingOfficer, q.ID, "because", answer); !errors.Is(err, ErrInvalid) {
		t.Errorf("Answer(bad basis) = %v, want ErrInvalid", err)
	}
	if _, err := qs.Answer(ctx, housingOfficer, "nope", BasisCase, answer); !errors.Is(err, ErrNoQuestion) {
		t.Errorf("Answer(unknown) = %v, want ErrNoQuestion", err)
	}
	a, err := qs.Answer(ctx, housingOfficer, q.ID, BasisCase, answer)
	if err != nil {
		t.Fatalf("Answer = %v", err)
	}
	if !a.Answered || a.Overdue || a.Basis != BasisCase || a.Answer != answer || a.AnswerIndex <= q.QuestionIndex {
		t.Errorf("Answer = %+v", a)
	}
	ae := f.entry(t, a.AnswerIndex)
	if ae.Kind != ledger.KindAnswer || ae.About != q.QuestionIndex || ae.Reason != BasisCase || ae.Department != "housing" ||
		ae.Role != auth.RoleOfficer || len(ae.Official) != 32 || len(ae.Record) != 32 || bytes.Equal(ae.Record, qe.Record) {
		t.Errorf("answer entry = %+v", ae)
	}
	f.checkIndexed(t, citizenA, a.AnswerIndex)
	f.checkNoText(t, answer)
	if _, err := qs.Answer(ctx, privacyOfficer, q.ID, BasisLegal, "again"); !errors.Is(err, ErrConflict) {
		t.Errorf("second Answer = %v, want ErrConflict", err)
	}

	mine, err := qs.Mine(ctx, citizenPA)
	if err != nil || len(mine) != 1 || !mine[0].Answered || mine[0].Answer != answer || mine[0].Basis != BasisCase {
		t.Errorf("Mine = %+v, %v", mine, err)
	}
	// Reading them released sealed texts: a self-access entry, in the citizen's log, came first.
	se, si := f.last(t)
	if se.Kind != ledger.KindAccess || se.Department != "citizen" || se.Reason != "my-questions" || se.Outcome != ledger.OutcomeAllowed {
		t.Errorf("after Mine, the last entry is %+v, want the citizen's self-access", se)
	}
	f.checkIndexed(t, citizenA, si)
	if mine, err := qs.Mine(ctx, citizenPB); err != nil || len(mine) != 0 {
		t.Errorf("Mine(citizen B, no questions) = %+v, %v", mine, err)
	}
	if _, after := f.last(t); after != si {
		t.Errorf("Mine with nothing to release appended entry %d", after)
	}

	if _, err := qs.Mine(ctx, housingOfficer); !errors.Is(err, ErrForbidden) {
		t.Errorf("Mine(officer) = %v, want ErrForbidden", err)
	}
	if open, _ := qs.Queue(ctx, privacyOfficer, "open"); len(open) != 0 {
		t.Errorf("open after the answer: %+v", open)
	}

	// A question about a question is refused: only a department's accesses are questioned.
	if _, err := qs.Ask(ctx, citizenPA, q.QuestionIndex, message); err == nil {
		t.Errorf("Ask about a question entry succeeded")
	}

	// At rest the texts are sealed under the citizen's data key, and the officer is named by their
	// official pseudonym, not their token subject.
	stored, err := f.env.Store.Question(ctx, q.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored.Message, "查询") || strings.Contains(stored.Answer, "住房") || stored.Message == "" || stored.Answer == "" {
		t.Errorf("stored question holds its texts in clear: message %q, answer %q", stored.Message, stored.Answer)
	}
	if stored.AnsweredBy != hex.EncodeToString(ae.Official) || strings.Contains(stored.AnsweredBy, housingOfficer.Subject) {
		t.Errorf("stored answeredBy = %q, want the official pseudonym %x", stored.AnsweredBy, ae.Official)
	}
	// A sealed text moved to another question does not open: refused, never served.
	moved := stored
	other2, err := qs.Ask(ctx, citizenPA, access, "a second question")
	if err != nil {
		t.Fatal(err)
	}
	moved.ID = other2.ID
	if got, err := qs.openTexts(ctx, moved, map[string]*seal.DataKey{}); err == nil {
		t.Errorf("a message sealed for question %s opened as question %s: %q", q.ID, other2.ID, got.Message)
	}
}

// checkNoText checks that no ledger entry holds text.
func (f *fixture) checkNoText(t *testing.T, text string) {
	t.Helper()
	for first := uint64(0); ; {
		b, err := f.env.Store.ReadBatch(t.Context(), first)
		if errors.Is(err, ledger.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, leaf := range b.Leaves {
			if bytes.Contains(leaf, []byte(text)) {
				t.Fatalf("a ledger entry holds the text %q", text)
			}
		}
		first += uint64(len(b.Leaves))
	}
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
