package governance

import (
	"context"
	"fmt"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/policy"
)

// Certificate types are part of the policy (policy.CertificateType): officers add, replace and
// retire them with the same proposals, approvals and ledger entries as rules. A proposed version
// is refused, with the reason, when a type's rule or claims do not compile or read a value the
// issuing role's policy does not grant in that same version (certificate.Rule.Grants): a change
// that takes away what a type needs is refused as well as a type that asks for too much, so no
// certificate is ever refused at issue time for want of a grant.

// checkCertificateTypes checks every certificate type of after against after's own grants.
func checkCertificateTypes(ctx context.Context, after policy.Set) error {
	if len(after.CertificateTypes) == 0 {
		return nil
	}
	e, err := policy.New(after, policy.Config{Sensitive: dataset.Sensitive})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := certificate.CheckTypes(ctx, e.Snapshot()); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// CertificateImpact is how a proposed change of one certificate type moves the citizens held
// (hub.Certificates.PreviewTypes): counts only.
type CertificateImpact struct {
	Type       string
	Citizens   int  // evaluated
	Truncated  bool // the store holds more than were evaluated
	Eligible   int  // turned eligible
	Ineligible int  // turned ineligible
}

// CertificatePreview computes the impact of changing the certificate types before into after, as
// the officer p; it logs its own aggregate access entry. hub.Certificates provides it (cmd wires
// it: governance does not import hub).
type CertificatePreview func(ctx context.Context, p auth.Principal, before, after []policy.CertificateType) ([]CertificateImpact, error)

// WithCertificatePreview makes proposals that change certificate types carry the counts of
// citizens each change turns eligible or ineligible.
func WithCertificatePreview(f CertificatePreview) Option {
	return func(o *Officers) { o.certPreview = f }
}

// touchesTypes reports whether c edits certificate types.
func touchesTypes(c policy.Change) bool {
	return len(c.AddCertificateTypes)+len(c.ReplaceCertificateTypes)+len(c.RetireCertificateTypes) > 0
}
