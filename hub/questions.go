package hub

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/govhub/govhub/crypto/subject"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Errors of the questions capability.
var (
	// ErrNoEntry: no ledger entry at that index concerns the caller (whether or not one exists).
	ErrNoEntry = errors.New("no entry at this index concerns you")
	// ErrNoQuestion: no such question.
	ErrNoQuestion = errors.New("no such question")
)

// DefaultQuestionDeadline is how long a department has to answer a question before it is overdue.
const DefaultQuestionDeadline = 15 * 24 * time.Hour

// MaxQuestionLength is the most characters a question or an answer may have.
const MaxQuestionLength = 2000

// PrivacyOffice is the department whose officers see and may answer every department's questions.
const PrivacyOffice = "privacy-office"

// The bases an answer gives, as its entry's reason line says them.
const (
	BasisLegal  = "legal-basis" // the access had the legal basis its purpose names
	BasisCase   = "case"        // the access served a case the department can name
	BasisMisuse = "misuse"      // the access was misuse, and is being dealt with
)

// QuestionStore keeps questions and their queues (store/mongostore implements it). Question fails
// with store.ErrNotFound, AnswerQuestion with store.ErrConflict when answered already. Safe for
// concurrent use.
type QuestionStore interface {
	AddQuestion(ctx context.Context, q store.Question) error
	Question(ctx context.Context, id string) (store.Question, error)
	AnswerQuestion(ctx context.Context, q store.Question) error
	Questions(ctx context.Context, queue string, n int) ([]store.Question, error)
}

// SubjectRefReader looks up one reference of the private subject index (store.ErrNotFound if
// the entry does not concern the citizen).
type SubjectRefReader interface {
	SubjectRef(ctx context.Context, pseudonym string, index uint64) (store.SubjectRef, error)
}

// SequencedEntryReader reads the bytes of a sequenced ledger entry, integrated or not yet (a
// ledger.Reader): a citizen may question any access their log shows, as soon as it shows.
type SequencedEntryReader interface {
	SequencedEntry(ctx context.Context, index uint64) ([]byte, error)
}

// QuestionsConfig holds what citizens' questions need; all but Deadline are required.
type QuestionsConfig struct {
	Questions QuestionStore
	Refs      SubjectRefReader
	Entries   SequencedEntryReader
	// Index is the private subject index question and answer entries are indexed in.
	Index  SubjectIndex
	Ledger Appender
	// Policy gives the policy version the entries name.
	Policy *policy.Engine
	// IndexKey (32 bytes) keys pseudonyms and the digests of the texts.
	IndexKey []byte
	// IndexKeys, if set, is the rotating index key ring (subject.Ring, indexkeys.go) used instead
	// of IndexKey.
	IndexKeys *subject.Ring
	Officials *usecase.Officials
	// Keys and Master give the citizen's data key, under which the question's and the answer's
	// texts are sealed at rest (so erasing the key erases them, and a database dump shows none).
	Keys   KeyReader
	Master MasterKeys
	// Deadline is how long an answer may take before the question is overdue
	// (0: DefaultQuestionDeadline).
	Deadline time.Duration
}

// Questions lets citizens question the accesses to their data and the departments answer. Every
// question and answer is a ledger entry (the texts off the ledger, as keyed digests), appended
// before the question or answer is stored. It is safe for concurrent use.
type Questions struct {
	core
	store    QuestionStore
	refs     SubjectRefReader
	entries  SequencedEntryReader
	policy   *policy.Engine
	deadline time.Duration
	keys     keyring
}

// NewQuestions checks cfg and returns a Questions.
func NewQuestions(cfg QuestionsConfig, opts ...Option) (*Questions, error) {
	if cfg.Questions == nil || cfg.Refs == nil || cfg.Entries == nil || cfg.Policy == nil || cfg.Keys == nil || cfg.Master == nil {
		return nil, errors.New("hub: NewQuestions needs a question store, the subject index, the ledger's entries, a policy engine, data keys and the master key")
	}
	if cfg.Deadline < 0 {
		return nil, fmt.Errorf("hub: question deadline %v", cfg.Deadline)
	}
	c, err := newCore(cfg.Ledger, cfg.Index, cfg.IndexKeys, cfg.IndexKey, cfg.Officials, opts)
	if err != nil {
		return nil, err
	}
	d := cfg.Deadline
	if d == 0 {
		d = DefaultQuestionDeadline
	}
	return &Questions{core: c, store: cfg.Questions, refs: cfg.Refs, entries: cfg.Entries, policy: cfg.Policy, deadline: d,
		keys: keyring{keys: cfg.Keys, master: cfg.Master}}, nil
}

// questionsDataset names question texts in their seals' associated data: dataset "questions",
// field "<question id>.message" or "<question id>.answer", version 0.
const questionsDataset = "questions"

// sealText seals a question's text (field message or answer) under the citizen's data key, as
// base64 for the store.
func (qs *Questions) sealText(ctx context.Context, citizen, id, field, text string) (string, error) {
	dk, err := qs.keys.dataKey(ctx, citizen)
	if err != nil {
		return "", fmt.Errorf("%w: sealing the %s: %v", ErrUnavailable, field, err)
	}
	b, err := dk.Seal(seal.AD{Citizen: citizen, Dataset: questionsDataset, Field: id + "." + field}, []byte(text))
	if err != nil {
		return "", fmt.Errorf("%w: sealing the %s: %v", ErrUnavailable, field, err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// openTexts replaces a stored question's sealed texts with their plaintexts. dks caches the data
// keys of one listing.
func (qs *Questions) openTexts(ctx context.Context, q store.Question, dks map[string]*seal.DataKey) (store.Question, error) {
	dk, ok := dks[q.Citizen]
	if !ok {
		var err error
		if dk, err = qs.keys.dataKey(ctx, q.Citizen); err != nil {
			return q, fmt.Errorf("%w: opening question %s: %v", ErrUnavailable, q.ID, err)
		}
		dks[q.Citizen] = dk
	}
	open := func(field, sealed string) (string, error) {
		if sealed == "" {
			return "", nil
		}
		b, err := base64.StdEncoding.DecodeString(sealed)
		if err == nil {
			b, err = dk.Open(seal.AD{Citizen: q.Citizen, Dataset: questionsDataset, Field: q.ID + "." + field}, b)
		}
		if err != nil {
			// Altered or moved behind the hub's back: refused, never served.
			return "", fmt.Errorf("hub: question %s's %s does not open: %w", q.ID, field, err)
		}
		return string(b), nil
	}
	var err error
	if q.Message, err = open("message", q.Message); err != nil {
		return q, err
	}
	q.Answer, err = open("answer", q.Answer)
	return q, err
}

// Question is a citizen's question and, once given, the department's answer.
type Question struct {
	ID          string
	AccessIndex uint64 // the access questioned
	Department  string // the department that made it, which must answer
	Asked       time.Time
	Message     string
	Answered    bool
	Overdue     bool      // open past DueBy
	DueBy       time.Time // Asked + the deadline
	Basis       string    // BasisLegal, BasisCase or BasisMisuse, once answered
	Answer      string
	AnsweredAt  time.Time
	// QuestionIndex and AnswerIndex are the ledger indexes of the question and answer entries.
	QuestionIndex uint64
	AnswerIndex   uint64
}

func (qs *Questions) view(q store.Question, now time.Time) Question {
	v := Question{ID: q.ID, AccessIndex: q.AccessIndex, Department: q.Department, Asked: q.Asked, Message: q.Message,
		Answered: q.Status == store.QuestionAnswered, DueBy: q.Asked.Add(qs.deadline), QuestionIndex: q.Entry}
	if v.Answered {
		v.Basis, v.Answer, v.AnsweredAt, v.AnswerIndex = q.Basis, q.Answer, q.Answered, q.AnswerEntry
	} else {
		v.Overdue = now.After(v.DueBy)
	}
	return v
}

// checkText validates a question's or an answer's text.
func checkText(what, s string) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: the %s is not valid UTF-8", ErrInvalid, what)
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: the %s is empty", ErrInvalid, what)
	case utf8.RuneCountInString(s) > MaxQuestionLength:
		return fmt.Errorf("%w: the %s has more than %d characters", ErrInvalid, what, MaxQuestionLength)
	}
	return nil
}

// textDigest is the keyed digest of a question's or an answer's text on its entry: the request
// digest under the index key of "govhub/<kind>/v1", the question id and the text, each ended by
// a 0 byte (the text last), so that nobody without the key can test guesses, and the hub can show
// later which text an entry was made for.
func (c *core) textDigest(kind ledger.Kind, id, text string) []byte {
	return c.requestDigest([]byte("govhub/" + string(kind) + "/v1\x00" + id + "\x00" + text))
}

// Ask records a citizen's question about the entry at index, which must concern them (otherwise,
// and for an index that does not exist, ErrNoEntry) and be a department's access or update
// (ErrInvalid otherwise). The question entry (actor citizen/citizen, about index, the digest of
// the message, a fresh commitment of the citizen) is appended and indexed for the citizen before
// the question is stored.
func (qs *Questions) Ask(ctx context.Context, p auth.Principal, index uint64, message string) (Question, error) {
	if p.Kind != auth.KindCitizen || p.Subject == "" {
		return Question{}, fmt.Errorf("%w: questions are asked by citizens, about their own accesses", ErrForbidden)
	}
	if err := checkText("message", message); err != nil {
		return Question{}, err
	}
	pseudonym, err := qs.pseudonym(ctx, p.Subject)
	if err != nil {
		return Question{}, err
	}
	if _, err := qs.refs.SubjectRef(ctx, pseudonym, index); errors.Is(err, store.ErrNotFound) {
		return Question{}, fmt.Errorf("%w: %d", ErrNoEntry, index)
	} else if err != nil {
		return Question{}, fmt.Errorf("%w: reading the subject index: %v", ErrUnavailable, err)
	}
	raw, err := qs.entries.SequencedEntry(ctx, index)
	if err != nil {
		return Question{}, ledgerErr(err)
	}
	access, err := ledger.ParseEntry(raw)
	if err != nil {
		return Question{}, fmt.Errorf("hub: ledger entry %d: %w", index, err)
	}
	if (access.Kind != ledger.KindAccess && access.Kind != ledger.KindUpdate) || access.Department == string(auth.KindCitizen) {
		return Question{}, fmt.Errorf("%w: entry %d is not a department's access (it is a %s by %s)", ErrInvalid, index, access.Kind, access.Department)
	}
	dept, role, official, err := qs.actor(ctx, p)
	if err != nil {
		return Question{}, err
	}
	salt, commitment, err := qs.subject(p.Subject)
	if err != nil {
		return Question{}, err
	}
	now := qs.now().UTC().Truncate(time.Millisecond)
	q := store.Question{ID: usecase.RandomID(qs.rand), Citizen: p.Subject, Pseudonym: pseudonym, Department: access.Department,
		AccessIndex: index, Message: message, Asked: now, Status: store.QuestionOpen}
	r, err := qs.appendFor(ctx, ledger.Entry{Kind: ledger.KindQuestion, Time: now, Department: dept, Role: role, Official: official,
		Policy: qs.policy.Snapshot().Version(), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Record: qs.textDigest(ledger.KindQuestion, q.ID, message),
		About: index, Subjects: [][]byte{commitment}}, p.Subject, salt)
	if err != nil {
		return Question{}, err
	}
	q.Entry = r.Index
	stored := q
	if stored.Message, err = qs.sealText(ctx, p.Subject, q.ID, "message", message); err != nil {
		return Question{}, err
	}
	if err := qs.store.AddQuestion(ctx, stored); err != nil {
		return Question{}, fmt.Errorf("%w: storing the question (entry %d): %v", ErrUnavailable, r.Index, err)
	}
	return qs.view(q, now), nil
}

// mayAnswer reports whether officer p answers (and sees) the questions of department.
func mayAnswer(p auth.Principal, department string) bool {
	return p.Kind == auth.KindOfficer && (p.Department == department || p.Department == PrivacyOffice)
}

// Answer records the answer of an officer of the questioned access's department (or of the
// privacy office) to question id: the answer entry (the officer's actor and official lines, about
// the question entry, reason basis, the digest of the text, a fresh commitment of the citizen) is
// appended and indexed for the citizen before the answer is stored. A question answered already
// fails with ErrConflict; an unknown one with ErrNoQuestion.
func (qs *Questions) Answer(ctx context.Context, p auth.Principal, id, basis, text string) (Question, error) {
	if p.Kind != auth.KindOfficer {
		return Question{}, fmt.Errorf("%w: questions are answered by officers", ErrForbidden)
	}
	if basis != BasisLegal && basis != BasisCase && basis != BasisMisuse {
		return Question{}, fmt.Errorf("%w: answer basis %q", ErrInvalid, basis)
	}
	if err := checkText("answer", text); err != nil {
		return Question{}, err
	}
	q, err := qs.store.Question(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Question{}, ErrNoQuestion
	} else if err != nil {
		return Question{}, fmt.Errorf("%w: reading the question: %v", ErrUnavailable, err)
	}
	if !mayAnswer(p, q.Department) {
		return Question{}, fmt.Errorf("%w: the question is for %s's officers or the privacy office", ErrForbidden, q.Department)
	}
	if q, err = qs.openTexts(ctx, q, map[string]*seal.DataKey{}); err != nil {
		return Question{}, err
	}
	if q.Status != store.QuestionOpen {
		return Question{}, fmt.Errorf("%w: the question was answered already", ErrConflict)
	}
	dept, role, official, err := qs.actor(ctx, p)
	if err != nil {
		return Question{}, err
	}
	salt, commitment, err := qs.subject(q.Citizen)
	if err != nil {
		return Question{}, err
	}
	now := qs.now().UTC().Truncate(time.Millisecond)
	r, err := qs.appendFor(ctx, ledger.Entry{Kind: ledger.KindAnswer, Time: now, Department: dept, Role: role, Official: official,
		Policy: qs.policy.Snapshot().Version(), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Reason: basis,
		Record: qs.textDigest(ledger.KindAnswer, q.ID, text), About: q.Entry, Subjects: [][]byte{commitment}}, q.Citizen, salt)
	if err != nil {
		return Question{}, err
	}
	// The officer is named by their official pseudonym (as on the entry), not their token subject:
	// only their department can resolve it.
	q.Status, q.Basis, q.Answer, q.AnsweredBy, q.Answered, q.AnswerEntry = store.QuestionAnswered, basis, text, hex.EncodeToString(official), now, r.Index
	stored := q
	if stored.Message, err = qs.sealText(ctx, q.Citizen, q.ID, "message", q.Message); err != nil {
		return Question{}, err
	}
	if stored.Answer, err = qs.sealText(ctx, q.Citizen, q.ID, "answer", text); err != nil {
		return Question{}, err
	}
	switch err := qs.store.AnswerQuestion(ctx, stored); {
	case errors.Is(err, store.ErrConflict):
		return Question{}, fmt.Errorf("%w: the question was answered meanwhile (entry %d stays on the ledger)", ErrConflict, r.Index)
	case err != nil:
		return Question{}, fmt.Errorf("%w: storing the answer (entry %d): %v", ErrUnavailable, r.Index, err)
	}
	return qs.view(q, now), nil
}

// Mine returns the citizen's own questions, newest first (the newest store.MaxQuestions). Their
// texts are sealed under the citizen's data key, so handing them out is a release like any other:
// when there is any, a self-access entry (reason my-questions, indexed in the citizen's log, where
// it shows as SELF) is appended first.
func (qs *Questions) Mine(ctx context.Context, p auth.Principal) ([]Question, error) {
	if p.Kind != auth.KindCitizen || p.Subject == "" {
		return nil, fmt.Errorf("%w: for citizens", ErrForbidden)
	}
	name, err := qs.pseudonym(ctx, p.Subject)
	if err != nil {
		return nil, err
	}
	list, err := qs.store.Questions(ctx, store.QuestionQueueCitizen(name), store.MaxQuestions)
	if err != nil {
		return nil, fmt.Errorf("%w: reading questions: %v", ErrUnavailable, err)
	}
	if slices.ContainsFunc(list, func(q store.Question) bool { return q.Citizen == p.Subject }) {
		salt, subj, err := qs.subject(p.Subject)
		if err != nil {
			return nil, err
		}
		e := ledger.Entry{Kind: ledger.KindAccess, Time: qs.now(), Department: string(auth.KindCitizen), Role: string(auth.KindCitizen),
			Policy: qs.policy.Snapshot().Version(), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Reason: "my-questions",
			Subjects: [][]byte{subj}}
		if _, err := qs.appendFor(ctx, e, p.Subject, salt); err != nil {
			return nil, err
		}
	}
	now := qs.now()
	out := make([]Question, 0, len(list))
	dks := map[string]*seal.DataKey{}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Citizen == p.Subject {
			q, err := qs.openTexts(ctx, list[i], dks)
			if err != nil {
				return nil, err
			}
			out = append(out, qs.view(q, now))
		}
	}
	return out, nil
}

// Queue returns the questions an officer answers, oldest first: their department's, or every
// department's for the privacy office (the newest store.MaxQuestions of the queue); only the open
// or only the answered ones when status is store.QuestionOpen or store.QuestionAnswered ("" for
// all).
func (qs *Questions) Queue(ctx context.Context, p auth.Principal, status string) ([]Question, error) {
	if p.Kind != auth.KindOfficer {
		return nil, fmt.Errorf("%w: questions are for officers", ErrForbidden)
	}
	if status != "" && status != store.QuestionOpen && status != store.QuestionAnswered {
		return nil, fmt.Errorf("%w: question status %q", ErrInvalid, status)
	}
	queue := store.QuestionQueueDepartment(p.Department)
	if p.Department == PrivacyOffice {
		queue = store.QuestionQueueAll
	}
	list, err := qs.store.Questions(ctx, queue, store.MaxQuestions)
	if err != nil {
		return nil, fmt.Errorf("%w: reading questions: %v", ErrUnavailable, err)
	}
	now := qs.now()
	out := make([]Question, 0, len(list))
	dks := map[string]*seal.DataKey{}
	for _, q := range list {
		if mayAnswer(p, q.Department) && (status == "" || q.Status == status) {
			q, err := qs.openTexts(ctx, q, dks)
			if err != nil {
				return nil, err
			}
			out = append(out, qs.view(q, now))
		}
	}
	slices.SortStableFunc(out, func(a, b Question) int { return a.Asked.Compare(b.Asked) })
	return out, nil
}

// Deadline is how long a department has to answer.
func (qs *Questions) Deadline() time.Duration { return qs.deadline }
