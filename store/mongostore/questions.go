package mongostore

// Citizens' questions about accesses, addressable by string _id alone:
//
//	questions        {_id: "<id>", citizen, pseudonym, department, accessIndex, message, asked, entry,
//	                  status: "open"|"answered", basis?, answer?, answeredBy?, answered?, answerEntry?}
//	question_queues  {_id: "<queue>/<seq>", question: "<id>"}
//	question_heads   {_id: "<queue>", seq: int64}
//
// A queue (store.QuestionQueueDepartment, store.QuestionQueueCitizen, store.QuestionQueueAll) is an
// insert-only sequence 1, 2, 3, … like a citizen's access log (seqChain, seqchain.go): a duplicate _id
// insert is the compare-and-swap that gives each question its own seq, and the head is a hint that
// readers and appenders probe past. Answering is a compare-and-swap on the question document: an
// atomic {_id, status: "open"} replace on MongoDB, a read, compare and replace under the process's
// document lock on the embedded store.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"

	"github.com/govhub/govhub/store"
)

type questionDoc struct {
	ID          string    `bson:"_id"`
	Citizen     string    `bson:"citizen"`
	Pseudonym   string    `bson:"pseudonym"`
	Department  string    `bson:"department"`
	AccessIndex int64     `bson:"accessIndex"`
	Message     string    `bson:"message"`
	Asked       time.Time `bson:"asked"`
	Entry       int64     `bson:"entry"`
	Status      string    `bson:"status"`
	Basis       string    `bson:"basis,omitempty"`
	Answer      string    `bson:"answer,omitempty"`
	AnsweredBy  string    `bson:"answeredBy,omitempty"`
	Answered    time.Time `bson:"answered,omitempty"`
	AnswerEntry int64     `bson:"answerEntry,omitempty"`
}

func toQuestionDoc(q store.Question) questionDoc {
	d := questionDoc{ID: q.ID, Citizen: q.Citizen, Pseudonym: q.Pseudonym, Department: q.Department,
		AccessIndex: int64(q.AccessIndex), Message: q.Message, Asked: q.Asked.UTC().Truncate(time.Millisecond), Entry: int64(q.Entry),
		Status: q.Status, Basis: q.Basis, Answer: q.Answer, AnsweredBy: q.AnsweredBy, AnswerEntry: int64(q.AnswerEntry)}
	if !q.Answered.IsZero() {
		d.Answered = q.Answered.UTC().Truncate(time.Millisecond)
	}
	return d
}

func fromQuestionDoc(d questionDoc) store.Question {
	q := store.Question{ID: d.ID, Citizen: d.Citizen, Pseudonym: d.Pseudonym, Department: d.Department,
		AccessIndex: uint64(d.AccessIndex), Message: d.Message, Asked: d.Asked.UTC(), Entry: uint64(d.Entry),
		Status: d.Status, Basis: d.Basis, Answer: d.Answer, AnsweredBy: d.AnsweredBy, AnswerEntry: uint64(d.AnswerEntry)}
	if !d.Answered.IsZero() {
		q.Answered = d.Answered.UTC()
	}
	return q
}

// AddQuestion stores a new open question and appends its id to the queues of its department, its
// citizen (by pseudonym) and of all questions. It fails with store.ErrConflict if the id is taken.
// On another error the question may be stored but missing from a queue. Safe for concurrent use.
func (s *Store) AddQuestion(ctx context.Context, q store.Question) error {
	if q.ID == "" || q.Pseudonym == "" || q.Department == "" {
		return errors.New("store: a question needs an id, a pseudonym and a department")
	}
	if q.Status != store.QuestionOpen {
		return fmt.Errorf("store: a new question is %s, want %s", q.Status, store.QuestionOpen)
	}
	if _, err := s.questions.InsertOne(ctx, toQuestionDoc(q)); err != nil {
		return fmt.Errorf("storing question %s: %w", q.ID, mapErr(err))
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, queue := range []string{store.QuestionQueueDepartment(q.Department), store.QuestionQueueCitizen(q.Pseudonym), store.QuestionQueueAll} {
		g.Go(func() error { return s.enqueue(gctx, queue, q.ID) })
	}
	return g.Wait()
}

// Question returns one question, or store.ErrNotFound.
func (s *Store) Question(ctx context.Context, id string) (store.Question, error) {
	var d questionDoc
	if err := s.questions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return store.Question{}, mapErr(err)
	}
	return fromQuestionDoc(d), nil
}

// AnswerQuestion writes q (whose Status is store.QuestionAnswered, with its answer) only if the
// stored question is still open: store.ErrConflict if it was answered already, store.ErrNotFound if
// there is none. Safe for concurrent use: of two answers, one wins.
func (s *Store) AnswerQuestion(ctx context.Context, q store.Question) error {
	if q.Status != store.QuestionAnswered {
		return errors.New("store: an answer must leave the question answered")
	}
	if s.serialised() {
		defer s.lock(collQuestions + "/" + q.ID)()
		cur, err := s.Question(ctx, q.ID)
		if err != nil {
			return err
		}
		if cur.Status != store.QuestionOpen {
			return fmt.Errorf("%w: question %s is %s already", store.ErrConflict, q.ID, cur.Status)
		}
		_, err = s.questions.ReplaceOne(ctx, bson.D{{Key: "_id", Value: q.ID}}, toQuestionDoc(q))
		return mapErr(err)
	}
	res, err := s.questions.ReplaceOne(ctx, bson.D{{Key: "_id", Value: q.ID}, {Key: "status", Value: store.QuestionOpen}}, toQuestionDoc(q))
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		if _, err := s.Question(ctx, q.ID); err != nil {
			return err
		}
		return fmt.Errorf("%w: question %s was answered already", store.ErrConflict, q.ID)
	}
	return nil
}

// Questions returns the newest n (at most store.MaxQuestions) questions of a queue, in the order
// they were added (oldest first): one _id lookup per queue document and one per question, a few at
// a time. An unknown queue is empty. Safe for concurrent use.
func (s *Store) Questions(ctx context.Context, queue string, n int) ([]store.Question, error) {
	if n < 1 {
		return nil, fmt.Errorf("store: reading %d questions", n)
	}
	n = min(n, store.MaxQuestions)
	end, err := s.queueChain().end(ctx, queue)
	if err != nil {
		return nil, err
	}
	if end == 0 {
		return nil, nil
	}
	lo := uint64(1)
	if end > uint64(n) {
		lo = end - uint64(n) + 1
	}
	ids := make([]string, end-lo+1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readParallelism)
	for i := range ids {
		g.Go(func() error {
			var d struct {
				Question string `bson:"question"`
			}
			if _, err := s.queueChain().get(gctx, queue, lo+uint64(i), &d); err != nil {
				return err
			}
			ids[i] = d.Question
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	docs := make([]*store.Question, len(ids))
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(readParallelism)
	for i, id := range ids {
		if id == "" {
			continue
		}
		g.Go(func() error {
			q, err := s.Question(gctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading question %s: %w", id, err)
			}
			docs[i] = &q
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]store.Question, 0, len(docs))
	seen := map[string]bool{}
	for _, q := range docs {
		if q != nil && !seen[q.ID] {
			seen[q.ID] = true
			out = append(out, *q)
		}
	}
	return out, nil
}

// queueChain is the chain of the question queues, keyed by queue.
func (s *Store) queueChain() seqChain {
	return seqChain{s: s, items: s.queues, heads: s.queueHeads, what: func(queue string) string { return "question queue " + queue }}
}

// enqueue appends id to queue at the first free seq after the head hint, then advances the hint.
func (s *Store) enqueue(ctx context.Context, queue, id string) error {
	c := s.queueChain()
	head, err := c.head(ctx, queue)
	if err != nil {
		return err
	}
	seq, err := c.insertNext(ctx, queue, head+1, func(seq uint64) any {
		return bson.D{{Key: "_id", Value: seqID(queue, seq)}, {Key: "question", Value: id}}
	})
	if err != nil {
		return fmt.Errorf("appending question %s to queue %s: %w", id, queue, err)
	}
	_ = c.advance(ctx, queue, seq) // a hint: readers probe past a lagging head
	return nil
}
