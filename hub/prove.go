package hub

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Proofs: the prove level (package policy). A read may ask, of a sensitive integer or date field, whether a
// catalogued predicate holds ("socialInsurance.contributionMonths ≥ 60"), by putting the key
// ProofKey(field, predicate) in its Fields. The hub decides each asked predicate once, with the
// field (Snapshot.Proves: the predicate must be catalogued for that field, and either a prove rule
// allow it or the field be at reveal); names the field on the access entry with its level and the
// predicates answered (proved:) and refused (refused:), never the value nor whether a predicate
// held; and only after the decision, and before the entry is appended, opens the sealed value and
// computes, for each granted predicate that holds, a range proof (crypto/rangeproof) over the
// field's commitment. The proof's context is the request's id, which the same entry carries on
// its request-id line, so a proof cannot be passed off as the answer to another access: no request
// id, no proof (the read fails). A predicate that does not hold is answered Holds false, without a
// proof; asking it is logged as any other.
//
// A department cannot choose its thresholds: a predicate that is not catalogued for the field, or
// not granted, is refused and logged, whatever its name.
//
// Age predicates. A predicate on a sensitive date (policy.StatementAgeAtLeast, e.g. adult:
// identity.birthDate at least 18 years) holds when the date is on or before the day asked, that
// many years back: the day asked is the UTC date of the hub's clock when it decides the request
// (UTC is never later than the local date east of Greenwich, so near midnight the answer errs
// towards "not yet"). AgeThreshold gives the latest such date (a 29 February that the year back
// lacks becomes the 28th), and the proof is an atMost range proof on the date's day number
// (crypto/commit's scheme v2), with that threshold. Its context binds the day as well as the
// request (AgeContext):
//
//	govhub/age/v1 on 2026-12-06 request 01JEXAMPLE
//
// so it cannot be replayed on another day, and the statement, which the transcript binds, carries
// the threshold. A date still committed as a hash (scheme v1, before govhub migrate dates) cannot be
// proven about: asking fails (ErrUnavailable), it is never answered "does not hold".

// ProofKey is the key of ReadRequest.Fields (and ListRequest.Fields) asking whether predicate, a
// catalogued predicate's name, holds of field, a "dataset.field" name: "dataset.field:predicate".
// The key's Want is ignored.
func ProofKey(field, predicate string) string { return policy.ProofObject(field, predicate) }

// Proof is the answer to one asked predicate about one released field value.
type Proof struct {
	// Predicate is the catalogued predicate, statement included.
	Predicate policy.Predicate
	// Holds says whether the statement holds of the value.
	Holds bool
	// Proof is the range proof (crypto/rangeproof) when Holds; nil otherwise.
	Proof []byte
	// Context is what the proof is bound to: the request id, on the access entry's request-id line;
	// for an age predicate, AgeContext(On, request id).
	Context []byte
	// On is, for an age predicate, the day it was asked on (YYYY-MM-DD, UTC); empty otherwise.
	On string
}

// AgeContextVersion opens the context of a proof about a date (see AgeContext).
const AgeContextVersion = certificate.AgeContextVersion

// AgeContext is the context a proof about a date asked on day on (YYYY-MM-DD) for the request
// requestID is bound to: "govhub/age/v1 on <day> request <id>" (certificate.AgeContext: a
// certificate's age proof is bound to the certificate id, the request id of its gathering).
func AgeContext(on, requestID string) []byte { return certificate.AgeContext(on, requestID) }

// ParseAgeContext splits a context made by AgeContext into the day asked on and the request id.
func ParseAgeContext(context []byte) (on, requestID string, err error) {
	rest, ok := strings.CutPrefix(string(context), AgeContextVersion+" on ")
	if !ok {
		return "", "", fmt.Errorf("%w: the context of a proof about a date begins %q", ErrInvalid, AgeContextVersion+" on ")
	}
	on, requestID, ok = strings.Cut(rest, " request ")
	if !ok || requestID == "" {
		return "", "", fmt.Errorf("%w: the context of a proof about a date names no request", ErrInvalid)
	}
	if _, err := commit.DayNumber(on); err != nil {
		return "", "", fmt.Errorf("%w: the context's day is not a date YYYY-MM-DD", ErrInvalid)
	}
	return on, requestID, nil
}

// AgeThreshold returns the latest date (as a day number, crypto/commit) of birth of someone at
// least years old on day on (YYYY-MM-DD): the same day and month, years earlier, and 28 February
// for a 29 February that the earlier year lacks.
func AgeThreshold(on string, years int64) (int64, error) {
	d, err := certificate.AgeThresholdDate(on, years)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return commit.DayNumber(d)
}

// StatementOn returns the range-proof statement predicate p is proven with when asked on day on:
// Statement(p) for a predicate about integers (on unused), and for an age predicate an atMost
// statement on the day number, at AgeThreshold(on, years).
func StatementOn(p policy.Predicate, on string) (rangeproof.Statement, error) {
	if !p.Statement.OnDates() {
		return Statement(p), nil
	}
	t, err := AgeThreshold(on, p.Statement.Min)
	if err != nil {
		return rangeproof.Statement{}, err
	}
	return rangeproof.AtMost(t), nil
}

// Statement returns the rangeproof statement of a policy predicate.
func Statement(p policy.Predicate) rangeproof.Statement {
	return rangeproof.Statement{Kind: rangeproof.Kind(p.Statement.Kind), Min: p.Statement.Min, Max: p.Statement.Max}
}

// askedProof is one asked predicate, from a Fields key.
type askedProof struct{ field, predicate string }

// splitProofKey parses a Fields key naming a predicate; ok is false for a plain field key. A
// predicate name that is not an ASCII identifier (letters, digits, underscores, at most 64 bytes)
// is an error: it could not even be logged.
func splitProofKey(key string) (askedProof, bool, error) {
	field, pred, ok := strings.Cut(key, ":")
	if !ok {
		return askedProof{}, false, nil
	}
	if !isPredicateName(pred) {
		return askedProof{}, true, fmt.Errorf("%w: predicate %q is not a name (letters, digits and underscores, at most 64 bytes)", ErrInvalid, pred)
	}
	return askedProof{field: field, predicate: pred}, true, nil
}

func isPredicateName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// errNoRequestID refuses a proof that could not be bound to its access.
var errNoRequestID = errors.New("a proof needs the request's id, and this request has none")

// proofContext is the context proofs for the request ctx serves are bound to: its request id.
func proofContext(ctx context.Context) ([]byte, error) {
	id := requestID(ctx)
	if id == "" {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, errNoRequestID)
	}
	return []byte(id), nil
}

// openInt opens a sealed integer value with its blinding, and checks that they open its commitment.
// A date committed as its day number (scheme v2) opens as that day number.
func openInt(dk *seal.DataKey, citizen string, ds *dataset.Dataset, f *dataset.Field, item int, sf store.SealedField) (int64, commit.Commitment, commit.Blinding, error) {
	var r commit.Blinding
	switch {
	case f.Kind == dataset.Date && sf.Scheme != commit.SchemeV2:
		return 0, commit.Commitment{}, r, fmt.Errorf("proving about %s (%s): %w", f.Path(), schemeName(sf), ErrNotMigrated)
	case f.Kind != dataset.Int && f.Kind != dataset.Date:
		return 0, commit.Commitment{}, r, fmt.Errorf("proving about %s: a %v field has no provable commitment", f.Path(), f.Kind)
	}
	plain, err := dk.Open(sealAD(citizen, ds, f.Name, item, sf.Version), sf.Ciphertext)
	if err != nil {
		return 0, commit.Commitment{}, r, fmt.Errorf("unsealing %s of %s: %w", f.Path(), citizen, err)
	}
	v, r, err := decodeOpening(f.Kind, plain)
	if err != nil {
		return 0, commit.Commitment{}, r, fmt.Errorf("unsealing %s of %s: %w", f.Path(), citizen, err)
	}
	var n int64
	if f.Kind == dataset.Date {
		if n, err = commit.DayNumber(v.(string)); err != nil { // decodeOpening returns a string for a date
			return 0, commit.Commitment{}, r, fmt.Errorf("the sealed %s of %s: %w", f.Path(), citizen, err)
		}
	} else {
		n = v.(int64) // decodeOpening returns an int64 for an integer field
	}
	c, err := commit.ParseCommitmentBytes(sf.Commitment)
	if err != nil {
		return 0, commit.Commitment{}, r, fmt.Errorf("stored commitment of %s: %w", f.Path(), err)
	}
	if err := commit.Verify(c, commit.Int(n), r); err != nil {
		return 0, commit.Commitment{}, r, fmt.Errorf("the sealed %s of %s does not open its commitment: %w", f.Path(), citizen, err)
	}
	return n, c, r, nil
}

// prove answers the granted predicates about one sealed integer or date value; on is the day asked
// (age predicates).
func prove(dk *seal.DataKey, citizen string, ds *dataset.Dataset, f *dataset.Field, item int, sf store.SealedField, preds []policy.Predicate, context []byte, on string) (map[string]Proof, error) {
	if dk == nil {
		return nil, fmt.Errorf("citizen %s has sealed values but no data key", citizen)
	}
	v, c, r, err := openInt(dk, citizen, ds, f, item, sf)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Proof, len(preds))
	for _, p := range preds {
		if p.Statement.OnDates() != (f.Kind == dataset.Date) {
			return nil, fmt.Errorf("proving %s of %s: a %s statement does not apply to a %v field", p.Name, f.Path(), p.Statement.Kind, f.Kind)
		}
		st, err := StatementOn(p, on)
		if err != nil {
			return nil, fmt.Errorf("proving %s of %s: %w", p.Name, f.Path(), err)
		}
		pr := Proof{Predicate: p, Holds: st.Holds(v), Context: slices.Clone(context)}
		if p.Statement.OnDates() {
			pr.Context, pr.On = AgeContext(on, string(context)), on
		}
		if pr.Holds {
			if pr.Proof, err = rangeproof.Prove(rand.Reader, c, v, r, st, pr.Context); err != nil {
				return nil, fmt.Errorf("proving %s of %s: %w", p.Name, f.Path(), err)
			}
		}
		out[p.Name] = pr
	}
	return out, nil
}
