package graph

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/hub"
)

// Error codes in extensions.code.
const (
	CodeForbidden      = "FORBIDDEN"
	CodeBadUserInput   = "BAD_USER_INPUT"
	CodeNotFound       = "NOT_FOUND"
	CodeUnavailable    = "UNAVAILABLE"
	CodeInternal       = "INTERNAL_SERVER_ERROR"
	CodeUnauthenticate = "UNAUTHENTICATED"
	CodeConflict       = "CONFLICT"
	// CodeIntegrity: a stored record did not match what the hub wrote; nothing of it was released.
	CodeIntegrity = "INTEGRITY"
	// CodeErased: the citizen's data was erased under a lawful erasure.
	CodeErased = "ERASED"
)

// forbidden is the error of a field the policy denies, at that field's path.
func forbidden(ctx context.Context) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    "forbidden: the access policy does not allow this field for the stated purpose",
		Path:       graphql.GetPath(ctx),
		Extensions: map[string]any{"code": CodeForbidden},
	}
}

// presentError maps the hub's errors to GraphQL errors with a code and a safe message, and logs
// the cause of unexpected ones once.
func presentError(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gerr *gqlerror.Error
		if errors.As(err, &gerr) && gerr.Extensions["code"] != nil {
			_, arg := gerr.Extensions["argument"]
			_, variable := gerr.Extensions["variable"]
			if (arg || variable) && gerr.Extensions["code"] == errcode.ValidationFailed {
				gerr.Extensions["code"] = CodeBadUserInput // literalsRule's: a value the caller can fix
			}
			return gerr
		}
		out := graphql.DefaultErrorPresenter(ctx, err)
		// What the hub said, in its own words: a resolver's error arrives wrapped in a
		// *gqlerror.Error whose Error() prefixes the query's position ("input:1:12: updateTax …");
		// its Message is the hub's error alone.
		msg := err.Error()
		if gerr != nil && gerr.Err != nil {
			msg = gerr.Message
		}
		set := func(code, msg string) *gqlerror.Error {
			if out.Extensions == nil {
				out.Extensions = map[string]any{}
			}
			out.Extensions["code"] = code
			out.Message = msg
			return out
		}
		switch verrs := validationErrors(err); {
		case len(verrs) > 0:
			msgs := make([]string, len(verrs))
			fields := make([]string, len(verrs))
			for i, v := range verrs {
				msgs[i], fields[i] = v.Error(), v.Field
			}
			out = set(CodeBadUserInput, strings.Join(msgs, "; "))
			out.Extensions["field"] = fields[0]
			out.Extensions["fields"] = fields
			return out
		case errors.Is(err, governance.ErrSelfApproval):
			return set(CodeForbidden, governance.ErrSelfApproval.Error())
		case errors.Is(err, governance.ErrOfficersOnly):
			return set(CodeForbidden, governance.ErrOfficersOnly.Error())
		case errors.Is(err, hub.ErrForbidden):
			return set(CodeForbidden, "forbidden: the access policy does not allow this for the stated purpose")
		case errors.Is(err, hub.ErrUnknownPurpose):
			return set(CodeBadUserInput, msg+"; see the purposes query for the registered codes")
		case errors.Is(err, hub.ErrInvalid):
			return set(CodeBadUserInput, msg)
		case errors.Is(err, hub.ErrNoEntry):
			return set(CodeNotFound, hub.ErrNoEntry.Error())
		case errors.Is(err, hub.ErrNoCertificate):
			return set(CodeNotFound, hub.ErrNoCertificate.Error())
		case errors.Is(err, hub.ErrNoQuestion):
			return set(CodeNotFound, hub.ErrNoQuestion.Error())
		case errors.Is(err, hub.ErrErased):
			return set(CodeErased, hub.ErrErased.Error())
		case errors.Is(err, hub.ErrNoErasureReceipt):
			return set(CodeNotFound, hub.ErrNoErasureReceipt.Error())
		case errors.Is(err, hub.ErrIntegrity):
			return set(CodeIntegrity, hub.ErrIntegrity.Error()) // the hub logged the alert with its cause
		case errors.Is(err, hub.ErrNotFound):
			return set(CodeNotFound, "no such citizen")
		case errors.Is(err, hub.ErrConflict):
			return set(CodeConflict, msg)
		case errors.Is(err, hub.ErrNoAccess):
			return set(CodeNotFound, hub.ErrNoAccess.Error())
		case errors.Is(err, hub.ErrNotPublished):
			out = set(CodeNotFound, hub.ErrNotPublished.Error())
			out.Extensions["retryable"] = true
			return out
		case errors.Is(err, hub.ErrBusy):
			out = set(CodeUnavailable, hub.ErrBusy.Error())
			out.Extensions["retryable"] = true
			return out
		case errors.Is(err, context.DeadlineExceeded):
			logger.WarnContext(ctx, "request ran out of time", slog.String("error", err.Error()))
			out = set(CodeUnavailable, "the request ran out of time")
			out.Extensions["retryable"] = true
			return out
		case errors.Is(err, hub.ErrNotMigrated):
			return set(CodeUnavailable, hub.ErrNotMigrated.Error())
		case errors.Is(err, hub.ErrUnavailable):
			logger.ErrorContext(ctx, "request failed closed", slog.String("error", err.Error()))
			return set(CodeUnavailable, hub.ErrUnavailable.Error())
		}
		if gerr != nil && gerr.Err == nil {
			return gerr // built as a GraphQL error, with nothing underneath to hide
		}
		logger.ErrorContext(ctx, "request failed", slog.String("error", err.Error()))
		return set(CodeInternal, "internal error")
	}
}

// validationErrors collects every *dataset.ValidationError in err's tree, in order.
func validationErrors(err error) []*dataset.ValidationError {
	var out []*dataset.ValidationError
	var walk func(error)
	walk = func(e error) {
		if v, ok := e.(*dataset.ValidationError); ok {
			out = append(out, v)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}
