package graph

import (
	"context"
	"errors"

	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// Certificates (hub.Certificates): the resolvers of requestCertificate, applyForCertificate,
// revokeCertificate, setCertificateLink, myApplications and myCertificate call these. A refusal
// by the rule is not an error: the application comes back refused, with its reason.

func toCertificate(c store.Certificate) *model.Certificate {
	out := &model.Certificate{ID: c.ID, Type: c.Type, RuleVersion: c.RuleVersion, Issued: fmtTime(c.Issued), IssueEntry: int64(c.IssueIndex),
		Credential: string(c.Credential), VerifyPath: "/verify/" + c.ID, Revoked: c.Revoked, Verifications: c.Verifications, LinkEnabled: !c.LinkDisabled,
		VerifiedAt: make([]string, len(c.VerifiedAt))}
	for i, at := range c.VerifiedAt {
		out.VerifiedAt[i] = fmtTime(at)
	}
	if c.Revoked {
		at, reason := fmtTime(c.RevokedAt), c.RevokeReason
		out.RevokedAt, out.RevokeReason = &at, &reason
	}
	return out
}

func toApplication(a hub.Application, cert *store.Certificate) *model.CertificateApplication {
	out := &model.CertificateApplication{ID: a.ID, Type: a.Type, Status: a.Status, Steps: make([]model.ApplicationStep, len(a.Steps))}
	for i, st := range a.Steps {
		out.Steps[i] = model.ApplicationStep{Name: st.Name, Time: fmtTime(st.Time), Index: int64(st.Index)}
	}
	if a.Reason != "" {
		reason := a.Reason
		out.Reason = &reason
	}
	if cert != nil {
		out.Certificate = toCertificate(*cert)
	}
	return out
}

// applied returns the application a run ended with; a refusal by the rule is an answer.
func applied(a hub.Application, cert *store.Certificate, err error) (*model.CertificateApplication, error) {
	if err != nil && !errors.Is(err, hub.ErrRefused) {
		return nil, err
	}
	return toApplication(a, cert), nil
}

func (r *Resolver) requestCertificate(ctx context.Context, typ, citizen string) (*model.CertificateApplication, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return applied(r.Certificates.Request(ctx, p, typ, citizen))
}

func (r *Resolver) applyForCertificate(ctx context.Context, typ string) (*model.CertificateApplication, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return applied(r.Certificates.Apply(ctx, p, typ))
}

func (r *Resolver) revokeCertificate(ctx context.Context, id, reason string) (*model.Certificate, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.Certificates.Revoke(ctx, p, id, reason)
	if err != nil {
		return nil, err
	}
	return toCertificate(c), nil
}

func (r *Resolver) setCertificateLink(ctx context.Context, id string, enabled bool) (*model.Certificate, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.Certificates.SetLink(ctx, p, id, !enabled)
	if err != nil {
		return nil, err
	}
	return toCertificate(c), nil
}

func (r *Resolver) myApplications(ctx context.Context) ([]model.CertificateApplication, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	apps, certs, err := r.Certificates.MyApplications(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]model.CertificateApplication, len(apps))
	for i, a := range apps {
		var cert *store.Certificate
		if c, ok := certs[a.Certificate]; ok {
			cert = &c
		}
		out[i] = *toApplication(a, cert)
	}
	return out, nil
}

func (r *Resolver) myCertificate(ctx context.Context, id string) (*model.Certificate, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.Certificates.MyCertificate(ctx, p, id)
	if errors.Is(err, hub.ErrNoCertificate) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return toCertificate(c), nil
}

func (r *Resolver) certificateTypes(ctx context.Context) ([]policy.CertificateType, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	return r.Certificates.Types(), nil
}

func (r *Resolver) reviewApplication(ctx context.Context, id string, approve bool, reason *string) (*model.CertificateApplication, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	why := ""
	if reason != nil {
		why = *reason
	}
	return applied(r.Certificates.Review(ctx, p, id, approve, why))
}

func (r *Resolver) reviewQueue(ctx context.Context, limit *int) ([]model.CertificateApplication, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	n := 0
	if limit != nil {
		n = *limit
	}
	apps, err := hub.WaitingForReview(ctx, r.Certificates, p, n)
	if err != nil {
		return nil, err
	}
	out := make([]model.CertificateApplication, len(apps))
	for i, a := range apps {
		out[i] = *toApplication(a, nil)
		citizen := a.Citizen
		out[i].CitizenID = &citizen
	}
	return out, nil
}
