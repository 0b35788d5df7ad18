package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/hub"
)

func TestPresentError(t *testing.T) {
	verr := &dataset.ValidationError{Field: "identity.nationalId", Reason: "check character is 5, want X"}
	secret := errors.New(`mongo: write to 10.0.0.3 failed for citizen C000042 (nationalId 110105194912310021)`)
	tests := []struct {
		name      string
		err       error
		code      string
		message   string         // "" means: don't check
		ext       map[string]any // further extensions wanted
		noExt     []string       // extensions that must be absent
		logged    bool
		keepsPath bool
	}{
		{name: "forbidden", err: fmt.Errorf("updating tax for C000042: %w", hub.ErrForbidden), code: CodeForbidden,
			message: "forbidden: the access policy does not allow this for the stated purpose", keepsPath: true},
		{name: "validation error", err: fmt.Errorf("%w: %w", hub.ErrInvalid, verr), code: CodeBadUserInput,
			message: "identity.nationalId: check character is 5, want X", ext: map[string]any{"field": "identity.nationalId"}, keepsPath: true},
		{name: "bare validation error", err: verr, code: CodeBadUserInput,
			message: verr.Error(), ext: map[string]any{"field": "identity.nationalId"}},
		{name: "validation error without field", err: &dataset.ValidationError{Reason: "too long"}, code: CodeBadUserInput,
			message: "too long", ext: map[string]any{"field": ""}},
		{name: "invalid", err: fmt.Errorf("%w: no dataset %q", hub.ErrInvalid, "salary"), code: CodeBadUserInput, noExt: []string{"field"}},
		{name: "unknown purpose", err: fmt.Errorf("%w: %q", hub.ErrUnknownPurpose, "curiosity"), code: CodeBadUserInput,
			message: `purpose is not registered: "curiosity"; see the purposes query for the registered codes`},
		{name: "not found", err: fmt.Errorf("reading C000042: %w", hub.ErrNotFound), code: CodeNotFound, message: "no such citizen", keepsPath: true},
		{name: "busy", err: fmt.Errorf("appending: %w", hub.ErrBusy), code: CodeUnavailable, message: hub.ErrBusy.Error(),
			ext: map[string]any{"retryable": true}},
		{name: "unavailable", err: fmt.Errorf("%w: %w", hub.ErrUnavailable, secret), code: CodeUnavailable, message: hub.ErrUnavailable.Error(),
			noExt: []string{"retryable"}, logged: true},
		{name: "unknown error", err: secret, code: CodeInternal, message: "internal error", logged: true, keepsPath: true},
		{name: "wrapped unknown error", err: fmt.Errorf("loading records: %w", secret), code: CodeInternal, message: "internal error", logged: true},
		{name: "context canceled", err: context.Canceled, code: CodeInternal, message: "internal error", logged: true},
		{name: "gqlerror wrapping a hub error", err: gqlerror.WrapPath(ast.Path{ast.PathName("citizen")}, hub.ErrNotFound),
			code: CodeNotFound, message: "no such citizen", keepsPath: true},
		{name: "gqlerror wrapping an unknown error", err: gqlerror.WrapPath(ast.Path{ast.PathName("citizen")}, secret),
			code: CodeInternal, message: "internal error", logged: true, keepsPath: true},
		// A resolver's error arrives wrapped with the query's position; the message says what the
		// hub said, without "input:1:12: updateTax".
		{name: "gqlerror wrapping invalid input", err: atPosition(fmt.Errorf("%w: applying a change: unknown action %q", hub.ErrInvalid, "read")),
			code: CodeBadUserInput, message: `invalid input: applying a change: unknown action "read"`, keepsPath: true},
		{name: "gqlerror wrapping an unknown purpose", err: atPosition(hub.ErrUnknownPurpose),
			code: CodeBadUserInput, message: "purpose is not registered; see the purposes query for the registered codes", keepsPath: true},
		{name: "gqlerror wrapping a conflict", err: atPosition(fmt.Errorf("%w: version 3 is not the latest", hub.ErrConflict)),
			code: CodeConflict, message: hub.ErrConflict.Error() + ": version 3 is not the latest", keepsPath: true},
		{name: "gqlerror with a code", err: &gqlerror.Error{Message: "unauthenticated", Extensions: map[string]any{"code": CodeUnauthenticate}},
			code: CodeUnauthenticate, message: "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			present := presentError(slog.New(slog.NewTextHandler(&logs, nil)))
			ctx := fieldContext(t.Context(), "Query", "citizen", "")
			got := present(ctx, tt.err)
			if got == nil {
				t.Fatalf("presentError(%v) = nil", tt.err)
			}
			if code := got.Extensions["code"]; code != tt.code {
				t.Errorf("presentError(%v) code = %v, want %s", tt.err, code, tt.code)
			}
			if tt.message != "" && got.Message != tt.message {
				t.Errorf("presentError(%v) message = %q, want %q", tt.err, got.Message, tt.message)
			}
			for k, v := range tt.ext {
				if got.Extensions[k] != v {
					t.Errorf("presentError(%v) extensions.%s = %v, want %v", tt.err, k, got.Extensions[k], v)
				}
			}
			for _, k := range tt.noExt {
				if v, ok := got.Extensions[k]; ok {
					t.Errorf("presentError(%v) extensions.%s = %v, want none", tt.err, k, v)
				}
			}
			// Nothing of an unexpected cause reaches the client.
			for _, s := range []string{"10.0.0.3", "C000042", "110105194912310021", "mongo", "loading records", "context canceled"} {
				if strings.Contains(got.Message, s) {
					t.Errorf("presentError(%v) message = %q, leaks %q", tt.err, got.Message, s)
				}
			}
			if tt.keepsPath && got.Path.String() != "citizen" {
				t.Errorf("presentError(%v) path = %q, want citizen", tt.err, got.Path.String())
			}
			records := strings.Count(logs.String(), "\n")
			if tt.logged && (records != 1 || !strings.Contains(logs.String(), strings.SplitN(tt.err.Error(), ":", 2)[0])) {
				t.Errorf("presentError(%v) logged %q, want the cause once", tt.err, logs.String())
			}
			if !tt.logged && records != 0 {
				t.Errorf("presentError(%v) logged %q, want nothing (an expected outcome)", tt.err, logs.String())
			}
		})
	}
}

// atPosition wraps err as gqlgen wraps a resolver's error: at a path, with the query's position.
func atPosition(err error) error {
	gerr := gqlerror.WrapPath(ast.Path{ast.PathName("citizen")}, err)
	gerr.Locations = []gqlerror.Location{{Line: 1, Column: 12}}
	return gerr
}
