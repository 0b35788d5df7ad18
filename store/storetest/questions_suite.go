package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/govhub/govhub/store"
)

// testQuestions: questions stored by id, listed through their department's, their citizen's and
// the global queue (oldest first, by _id alone), answered once by compare-and-swap.
func testQuestions(t *testing.T, env *Env) {
	s := env.Store
	ctx := t.Context()
	asked := time.Date(2026, 11, 21, 9, 0, 0, 123_000_000, time.UTC)
	q := func(id, citizen, dept string, i int) store.Question {
		return store.Question{ID: id, Citizen: citizen, Pseudonym: "p-" + citizen, Department: dept, AccessIndex: uint64(100 + i),
			Message: "为什么查询我的数据？ why?", Asked: asked.Add(time.Duration(i) * time.Minute), Entry: uint64(200 + i), Status: store.QuestionOpen}
	}
	want := []store.Question{q("q1", "C000001", "housing", 0), q("q2", "C000002", "tax", 1), q("q3", "C000001", "housing", 2)}
	for _, x := range want {
		if err := s.AddQuestion(ctx, x); err != nil {
			t.Fatalf("AddQuestion(%s) = %v", x.ID, err)
		}
	}
	if err := s.AddQuestion(ctx, want[0]); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddQuestion(existing id) = %v, want ErrConflict", err)
	}
	got, err := s.Question(ctx, "q2")
	if err != nil || !reflect.DeepEqual(got, want[1]) {
		t.Fatalf("Question(q2) =\n %+v, %v\nwant %+v", got, err, want[1])
	}
	if _, err := s.Question(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Question(missing) = %v, want ErrNotFound", err)
	}
	queue := func(name string, n int) []string {
		t.Helper()
		qs, err := s.Questions(ctx, name, n)
		if err != nil {
			t.Fatalf("Questions(%s) = %v", name, err)
		}
		out := []string{}
		for _, x := range qs {
			out = append(out, x.ID)
		}
		return out
	}
	for _, c := range []struct {
		queue string
		n     int
		want  []string
	}{
		{store.QuestionQueueDepartment("housing"), 10, []string{"q1", "q3"}},
		{store.QuestionQueueDepartment("tax"), 10, []string{"q2"}},
		{store.QuestionQueueDepartment("health"), 10, []string{}},
		{store.QuestionQueueCitizen("p-C000001"), 10, []string{"q1", "q3"}},
		{store.QuestionQueueAll, 10, []string{"q1", "q2", "q3"}},
		{store.QuestionQueueAll, 2, []string{"q2", "q3"}},
	} {
		if got := queue(c.queue, c.n); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Questions(%s, %d) = %v, want %v", c.queue, c.n, got, c.want)
		}
	}

	// Racing answers: exactly one wins; the others conflict.
	var wg sync.WaitGroup
	wins := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := want[0]
			a.Status, a.Basis, a.Answer, a.AnsweredBy = store.QuestionAnswered, "case", fmt.Sprint("answer ", i), fmt.Sprint("officer-", i)
			a.Answered, a.AnswerEntry = asked.Add(time.Hour), uint64(300+i)
			if err := s.AnswerQuestion(ctx, a); err == nil {
				wins <- a.AnsweredBy
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("AnswerQuestion = %v", err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	if len(wins) != 1 {
		env.SkipNonAtomicCAS(t, fmt.Sprintf("%d racing answers to one question won", len(wins)))
		t.Fatalf("%d racing answers won, want 1", len(wins))
	}
	winner := <-wins
	after, err := s.Question(ctx, "q1")
	if err != nil || after.Status != store.QuestionAnswered || after.AnsweredBy != winner || after.Basis != "case" ||
		!after.Answered.Equal(asked.Add(time.Hour)) || after.AnswerEntry < 300 {
		t.Errorf("after the answer: %+v, %v (winner %s)", after, err, winner)
	}
	missing := want[0]
	missing.ID, missing.Status = "nope", store.QuestionAnswered
	if err := s.AnswerQuestion(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AnswerQuestion(missing) = %v, want ErrNotFound", err)
	}

	// Concurrent questions of one department each get their own place in its queue.
	var wg2 sync.WaitGroup
	for i := range 10 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			if err := s.AddQuestion(ctx, q(fmt.Sprint("c", i), "C000009", "health", 10+i)); err != nil {
				t.Errorf("AddQuestion = %v", err)
			}
		}()
	}
	wg2.Wait()
	if got := queue(store.QuestionQueueDepartment("health"), 100); len(got) != 10 {
		t.Errorf("health queue after 10 concurrent questions = %v", got)
	}
	if got := queue(store.QuestionQueueAll, 100); len(got) != 13 {
		t.Errorf("the queue of all after 13 questions = %v", got)
	}
}
