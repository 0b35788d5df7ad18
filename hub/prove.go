package hub

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
	"github.com/govhub/govhub/crypto/seal"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Proofs: the prove level (package policy). A read may ask, of a sensitive integer field, whether a
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
	// Context is what the proof is bound to: the request id, on the access entry's request-id line.
	Context []byte
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
func openInt(dk *seal.DataKey, citizen string, ds *dataset.Dataset, f *dataset.Field, item int, sf store.SealedField) (int64, commit.Commitment, commit.Blinding, error) {
	var r commit.Blinding
	if f.Kind != dataset.Int {
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
	n := v.(int64) // decodeOpening returns an int64 for an integer field
	c, err := commit.ParseCommitmentBytes(sf.Commitment)
	if err != nil {
		return 0, commit.Commitment{}, r, fmt.Errorf("stored commitment of %s: %w", f.Path(), err)
	}
	if err := commit.Verify(c, commit.Int(n), r); err != nil {
		return 0, commit.Commitment{}, r, fmt.Errorf("the sealed %s of %s does not open its commitment: %w", f.Path(), citizen, err)
	}
	return n, c, r, nil
}

// prove answers the granted predicates about one sealed integer value.
func prove(dk *seal.DataKey, citizen string, ds *dataset.Dataset, f *dataset.Field, item int, sf store.SealedField, preds []policy.Predicate, context []byte) (map[string]Proof, error) {
	if dk == nil {
		return nil, fmt.Errorf("citizen %s has sealed values but no data key", citizen)
	}
	v, c, r, err := openInt(dk, citizen, ds, f, item, sf)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Proof, len(preds))
	for _, p := range preds {
		st := Statement(p)
		pr := Proof{Predicate: p, Holds: st.Holds(v), Context: slices.Clone(context)}
		if pr.Holds {
			if pr.Proof, err = rangeproof.Prove(rand.Reader, c, v, r, st, context); err != nil {
				return nil, fmt.Errorf("proving %s of %s: %w", p.Name, f.Path(), err)
			}
		}
		out[p.Name] = pr
	}
	return out, nil
}
