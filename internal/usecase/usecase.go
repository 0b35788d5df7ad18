// Package usecase holds what GovHub's use-case packages (hub and governance) share, so that
// neither re-implements it nor reaches into the other: the error sentinels their callers test,
// how an entry names the principal acting, and appending an entry so that a ledger failure fails
// the request closed.
//
// The sentinels are re-exported by hub and governance (hub.ErrForbidden and
// governance.ErrForbidden are the same value), so callers test them through the package they
// call and graph maps them in one place.
package usecase

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
)

// Errors callers test for.
var (
	// ErrForbidden: the policy, or the workflow, does not allow the action.
	ErrForbidden = errors.New("forbidden by policy")
	// ErrInvalid: an input value is invalid.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict: the state the request was built on changed before it could take effect.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the ledger could not record the request, so nothing was released or written.
	ErrUnavailable = errors.New("the ledger could not record this request; nothing was released or changed")
	// ErrBusy: too many requests are waiting for the ledger; retry shortly.
	ErrBusy = errors.New("the ledger is saturated; retry shortly")
)

// Appender is the ledger as use cases write to it. Append returns once the entry is durable;
// it is safe for concurrent use (ledger.Log is one).
type Appender interface {
	Append(ctx context.Context, e ledger.Entry) (ledger.Receipt, error)
}

// Append appends e, mapping a full ledger queue to ErrBusy and every other ledger failure to
// ErrUnavailable (the cause is kept as text, for the log, not as a wrapped error). An entry the
// ledger refuses as malformed is a programming error of the caller and is returned as such.
func Append(ctx context.Context, lg Appender, e ledger.Entry) (ledger.Receipt, error) {
	r, err := lg.Append(ctx, e)
	return r, AppendError(err)
}

// AppendError maps a ledger append's failure as Append does (nil stays nil): for callers that
// append otherwise (several entries together, ledger.AppendAll).
func AppendError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ledger.ErrQueueFull):
		return fmt.Errorf("%w: %v", ErrBusy, err)
	case errors.Is(err, ledger.ErrInvalidEntry):
		return fmt.Errorf("hub: building the ledger entry: %w", err)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// Actor names the principal in an entry: department and role, or the principal's kind for
// principals outside departments (citizens, auditors). Never the person.
func Actor(p auth.Principal) (department, role string) {
	department, role = p.Department, p.Role
	if department == "" {
		department = string(p.Kind)
	}
	if role == "" {
		role = string(p.Kind)
	}
	if department == "" {
		department, role = "unknown", "unknown"
	}
	return department, role
}

// RandomID is 16 bytes of r, hex (of crypto/rand if r fails): the id of a pending update or a
// proposal.
func RandomID(r io.Reader) string {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		_, _ = rand.Read(b)
	}
	return hex.EncodeToString(b)
}
