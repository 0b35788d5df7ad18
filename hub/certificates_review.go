package hub

import (
	"context"
	"fmt"
	"slices"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
)

// MaxReviewQueue is the most applications WaitingForReview returns at once.
const MaxReviewQueue = 100

// WaitingForReview returns up to limit (1 to MaxReviewQueue; 0: MaxReviewQueue) of the applications
// waiting for the review of p's department, oldest first, for an official of that department to
// decide with Certificates.Review. An application joins its department's queue when its type's
// rule holds and the type needs review.
//
// Each application names the citizen and the certificate they applied for, so the page is an
// access like a list page: before it is returned, one access entry per purpose among the page's
// certificate types (reason "review-queue", no field) names its citizens by a subject tree
// (appendForPage), in each of their access logs.
func WaitingForReview(ctx context.Context, cs *Certificates, p auth.Principal, limit int) ([]Application, error) {
	if p.Kind != auth.KindDepartment || p.Department == "" {
		return nil, fmt.Errorf("%w: a department's officials read its review queue", ErrForbidden)
	}
	if limit < 0 || limit > MaxReviewQueue {
		return nil, fmt.Errorf("%w: a review queue page holds 1 to %d applications", ErrInvalid, MaxReviewQueue)
	}
	if limit == 0 {
		limit = MaxReviewQueue
	}
	apps, err := cs.apps.ReviewQueue(ctx, p.Department, limit)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the review queue: %v", ErrUnavailable, err)
	}
	if len(apps) == 0 {
		return nil, nil
	}
	dept, role, official, err := cs.rd.actor(ctx, p)
	if err != nil {
		return nil, err
	}
	byPurpose := map[string][]string{}
	var purposes []string
	for _, a := range apps {
		purpose := "" // a type retired since: the entry names no purpose
		if t, err := cs.certType(a.Type); err == nil {
			purpose = t.Purpose
		}
		if _, ok := byPurpose[purpose]; !ok {
			purposes = append(purposes, purpose)
		}
		if !slices.Contains(byPurpose[purpose], a.Citizen) {
			byPurpose[purpose] = append(byPurpose[purpose], a.Citizen)
		}
	}
	version := cs.rd.policy.Snapshot().Version()
	for _, purpose := range purposes {
		e := ledger.Entry{Kind: ledger.KindAccess, Time: cs.rd.now(), Department: dept, Role: role, Official: official, Purpose: purpose,
			Policy: version, RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Reason: "review-queue"}
		if _, err := cs.rd.appendForPage(ctx, e, byPurpose[purpose]); err != nil {
			return nil, err
		}
	}
	return apps, nil
}
