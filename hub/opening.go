package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// Opening is what is needed to check a commitment to a value: the value and the blinding.
type Opening struct {
	Value      any
	Blinding   commit.Blinding
	Commitment commit.Commitment
	// Version is the ledger index of the update entry that carries the commitment.
	Version uint64
	// Scheme names the commitment's scheme, which says how Value maps to what is committed
	// (package crypto/commit: dates are hashed under v1, day numbers under v2).
	Scheme string
}

// OpenOwn gives a citizen the opening of one of their own committed values ("dataset.field", and
// the item for list datasets), so that they can check any commitment a department was given. Only
// the citizen themselves may ask, and like every release it is on the ledger first.
func (rd *Reader) OpenOwn(ctx context.Context, p auth.Principal, field string, item int) (Opening, ledger.Receipt, error) {
	var o Opening
	var r ledger.Receipt
	if p.Kind != auth.KindCitizen || p.Subject == "" {
		if _, err := rd.LogRefusal(ctx, p, "forbidden", []byte("open "+field)); err != nil {
			return o, r, err
		}
		return o, r, fmt.Errorf("%w: only the citizen may open their own commitments", ErrForbidden)
	}
	df, err := fieldOf(field)
	if err != nil || !df.field.Sensitive {
		return o, r, fmt.Errorf("%w: %s is not a sensitive field", ErrInvalid, field)
	}
	name := df.dataset.Name + "." + sealKey(df.dataset, df.field.Name, item)
	loaded, err := rd.integ.load(ctx, rd.records, p.Subject, []string{df.dataset.Name})
	if errors.Is(err, ErrIntegrity) {
		// A record changed behind the hub's back: refused, and the refusal is on the ledger.
		salt, subj, serr := rd.subject(p.Subject)
		if serr != nil {
			return o, r, errors.Join(err, serr)
		}
		if _, aerr := rd.appendFor(ctx, ledger.Entry{
			Kind: ledger.KindAccess, Time: rd.now(), Department: string(auth.KindCitizen), Role: string(auth.KindCitizen),
			Policy: rd.policy.Snapshot().Version(), RequestID: requestID(ctx), Outcome: ledger.OutcomeDenied, Reason: "integrity", Subjects: [][]byte{subj},
			Fields: []ledger.Field{{Name: name, Level: policy.Deny.String()}},
		}, p.Subject, salt); aerr != nil {
			return o, r, errors.Join(err, aerr)
		}
		return o, r, err
	}
	if err != nil {
		return o, r, err
	}
	rec, ok := loaded.records[df.dataset.Name]
	if !ok {
		return o, r, ErrNotFound
	}
	if item < 0 || item >= len(rec.Items) {
		return o, r, fmt.Errorf("%w: no item %d in %s", ErrInvalid, item, df.dataset.Name)
	}
	sf, ok := rec.Items[item].Sealed[df.field.Name]
	if !ok {
		return o, r, ErrNotFound
	}
	dk, err := rd.keys.dataKey(ctx, p.Subject)
	if err != nil {
		return o, r, err
	}
	plain, err := dk.Open(sealAD(p.Subject, df.dataset, df.field.Name, item, sf.Version), sf.Ciphertext)
	if err != nil {
		return o, r, fmt.Errorf("unsealing %s: %w", field, err)
	}
	// The opening stays in locals until its entry is durable: no error path hands it out.
	value, blinding, err := decodeOpening(df.field.Kind, plain)
	if err != nil {
		return o, r, err
	}
	c, err := commit.ParseCommitmentBytes(sf.Commitment)
	if err != nil {
		return o, r, err
	}
	salt, subj, err := rd.subject(p.Subject)
	if err != nil {
		return o, r, err
	}
	r, err = rd.appendFor(ctx, ledger.Entry{
		Kind: ledger.KindAccess, Time: rd.now(), Department: string(auth.KindCitizen), Role: string(auth.KindCitizen),
		Policy: rd.policy.Snapshot().Version(), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Subjects: [][]byte{subj},
		Fields: []ledger.Field{{Name: name, Level: policy.Reveal.String()}},
	}, p.Subject, salt)
	if err != nil {
		return o, r, err
	}
	return Opening{Value: value, Blinding: blinding, Commitment: c, Version: sf.Version, Scheme: schemeName(sf)}, r, nil
}
