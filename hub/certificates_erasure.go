package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

// maxErasedApplications bounds how many of a citizen's applications an erasure looks through.
const maxErasedApplications = 10_000

// ErasedCertificates is the CertificateRevoker of a hub that issues certificates (cs).
func ErasedCertificates(cs *Certificates) CertificateRevoker { return certificateEraser{cs} }

type certificateEraser struct{ cs *Certificates }

// RevokeCitizenCertificates implements CertificateRevoker (erasure.go): every certificate issued
// to citizen is revoked because of the erasure entry at index erasure (a revoke entry, actor
// privacy-office/erasure, reason "erased", about the certificate's issue entry, on the ledger
// before the stored status changes), and its public link is turned off, so that
// /verify/<id>.json no longer serves the credential's claims. A certificate revoked already keeps
// its revocation. Then the citizen's applications are deleted and the certificates' credentials
// emptied (ApplicationStore.EraseApplications). It returns nil only once all that is done; it is
// safe to call again (Erasure.Resume).
func (ce certificateEraser) RevokeCitizenCertificates(ctx context.Context, citizen string, erasure uint64) error {
	cs := ce.cs
	name, err := cs.rd.pseudonym(ctx, citizen)
	if err != nil {
		return err
	}
	apps, err := cs.apps.Applications(ctx, name, maxErasedApplications)
	if err != nil {
		return fmt.Errorf("listing the citizen's certificates: %w", err)
	}
	for _, app := range apps {
		if app.Certificate == "" {
			continue
		}
		c, err := cs.store.Certificate(ctx, app.Certificate)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !c.Revoked {
			now := cs.rd.now().UTC().Truncate(time.Second)
			e := ledger.Entry{Kind: ledger.KindRevoke, Time: now, Department: "privacy-office", Role: "erasure",
				Policy: cs.rd.policy.Snapshot().Version(), Outcome: ledger.OutcomeAllowed, Reason: "erased",
				About: c.IssueIndex, Certificate: c.ID}
			r, err := cs.rd.appendEntry(ctx, e)
			if err != nil {
				return err
			}
			c.Revoked, c.RevokedAt, c.RevokeReason, c.RevokeIndex = true, now, "erased", r.Index
			if err := cs.store.RevokeCertificate(ctx, c); err != nil && !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("storing the revocation of %s (entry %d, erasure %d): %w", c.ID, r.Index, erasure, err)
			}
		}
		if !c.LinkDisabled {
			if err := cs.store.SetCertificateLink(ctx, c.ID, true); err != nil {
				return fmt.Errorf("turning off the link of %s: %w", c.ID, err)
			}
		}
	}
	// Then nothing in the store names the citizen or states their claims: the applications (which
	// name the citizen) go, and the certificates keep only their revocation.
	if err := cs.apps.EraseApplications(ctx, name); err != nil {
		return fmt.Errorf("erasing the citizen's applications: %w", err)
	}
	return nil
}
