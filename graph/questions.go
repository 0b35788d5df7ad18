package graph

import (
	"context"
	"strings"

	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
)

// Citizens' questions about accesses (hub.Questions): the resolvers of questionAccess,
// answerQuestion, myQuestions and accessQuestions call these.

// departmentNames names the departments in both languages. A minimal registry of its own until
// the citizen API's department registry lands; an unknown code is shown as itself.
var departmentNames = map[string][2]string{
	"housing":           {"住房和城乡建设局", "Housing Bureau"},
	"tax":               {"税务局", "Tax Bureau"},
	"public-security":   {"公安局", "Public Security Bureau"},
	"health":            {"卫生健康委员会", "Health Commission"},
	"hrss":              {"人力资源和社会保障局", "Human Resources and Social Security Bureau"},
	"civil-affairs":     {"民政局", "Civil Affairs Bureau"},
	"natural-resources": {"自然资源局", "Natural Resources Bureau"},
	"market-regulation": {"市场监督管理局", "Market Regulation Administration"},
	hub.PrivacyOffice:   {"个人信息保护办公室", "Privacy Office"},
}

func questionDepartment(code string) *model.Department {
	n, ok := departmentNames[code]
	if !ok {
		n = [2]string{code, code}
	}
	return &model.Department{Code: code, NameZh: n[0], NameEn: n[1]}
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
