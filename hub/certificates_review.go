package hub

import (
	"context"
	"fmt"

	"github.com/govhub/govhub/auth"
)

// MaxReviewQueue is the most applications WaitingForReview returns at once.
const MaxReviewQueue = 100

// WaitingForReview returns up to limit (1 to MaxReviewQueue; 0: MaxReviewQueue) of the applications
// waiting for the review of p's department, oldest first, for an official of that department to
// decide with Certificates.Review. An application joins its department's queue when its type's
// rule holds and the type needs review.
//
// The queue is the department's own work list: each application names the citizen and the type
// they applied for (which the department needs to review it) and its steps, whose entries are on
// the ledger and in the citizen's access log already; it holds no record value, so listing it is
// not a logged access.
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
	return apps, nil
}
