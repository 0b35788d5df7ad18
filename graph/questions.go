package graph

import (
	"context"
	"strings"

	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
)

// Citizens' questions about accesses (hub.Questions): the resolvers of questionAccess,
// answerQuestion, myQuestions and accessQuestions call these.

// questionDepartment is the department that must answer, named as in the citizen's log.
func questionDepartment(code string) *model.Department {
	d := hub.DepartmentOf(code)
	return &model.Department{Code: d.Code, NameZh: d.NameZh, NameEn: d.NameEn}
}

// answerBasis maps the GraphQL enum to the hub's reason tokens (LEGAL_BASIS ↔ legal-basis).
func answerBasis(b model.AnswerBasis) string {
	return strings.ReplaceAll(strings.ToLower(string(b)), "_", "-")
}

func toAccessQuestion(q hub.Question) model.AccessQuestion {
	out := model.AccessQuestion{ID: q.ID, AccessIndex: int64(q.AccessIndex), Department: questionDepartment(q.Department),
		AskedAt: fmtTime(q.Asked), Message: q.Message, Status: model.QuestionStatusOpen, Overdue: q.Overdue,
		DueBy: fmtTime(q.DueBy), QuestionIndex: int64(q.QuestionIndex)}
	if q.Answered {
		basis := model.AnswerBasis(strings.ReplaceAll(strings.ToUpper(q.Basis), "-", "_"))
		answered, index := fmtTime(q.AnsweredAt), int64(q.AnswerIndex)
		out.Status, out.Basis, out.Answer, out.AnsweredAt, out.AnswerIndex = model.QuestionStatusAnswered, &basis, &q.Answer, &answered, &index
	}
	return out
}

func toAccessQuestions(qs []hub.Question) []model.AccessQuestion {
	out := make([]model.AccessQuestion, len(qs))
	for i, q := range qs {
		out[i] = toAccessQuestion(q)
	}
	return out
}

func (r *Resolver) questionAccess(ctx context.Context, index int64, message string) (*model.AccessQuestion, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if index < 0 {
		return nil, hub.ErrNoEntry
	}
	q, err := r.Questions.Ask(ctx, p, uint64(index), message)
	if err != nil {
		return nil, err
	}
	out := toAccessQuestion(q)
	return &out, nil
}

func (r *Resolver) answerQuestion(ctx context.Context, id string, basis model.AnswerBasis, answer string) (*model.AccessQuestion, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	q, err := r.Questions.Answer(ctx, p, id, answerBasis(basis), answer)
	if err != nil {
		return nil, err
	}
	out := toAccessQuestion(q)
	return &out, nil
}

func (r *Resolver) myQuestions(ctx context.Context) ([]model.AccessQuestion, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	qs, err := r.Questions.Mine(ctx, p)
	return toAccessQuestions(qs), err
}

func (r *Resolver) accessQuestions(ctx context.Context, status *model.QuestionStatus) ([]model.AccessQuestion, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	s := ""
	if status != nil {
		s = strings.ToLower(string(*status))
	}
	qs, err := r.Questions.Queue(ctx, p, s)
	return toAccessQuestions(qs), err
}
