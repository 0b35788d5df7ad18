package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"

	"github.com/govhub/govhub/graph/scalar"
)

// DefaultMaxBodyBytes is the default bound on a request body.
const DefaultMaxBodyBytes = 1 << 20

// CodeRequestTooLarge is the code of a request whose body is over the limit (HTTP 413).
const CodeRequestTooLarge = "REQUEST_TOO_LARGE"

// literalsRule refuses, at validation, a literal argument value that cannot be read as its type:
// an integer or float literal out of range (gqlparser reads literals with strconv, and panics on
// the error when resolving arguments), and for Int64 anything but an integer from -2^63 to 2^63-1.
// The error names the argument (extensions.argument, or extensions.variable for a variable's
// default value); presentError gives it the code BAD_USER_INPUT.
var literalsRule = core.Rule{Name: "GovHubLiterals", RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
	seen := map[*ast.Position]bool{} // a fragment's fields are walked at each spread too
	check := func(where string, args ast.ArgumentList) {
		for _, arg := range args {
			if msg, at := badLiteral(arg.Value); msg != "" && !seen[at] {
				seen[at] = true
				addError(core.Message(`argument "%s" of %s: %s`, arg.Name, where, msg), core.At(at),
					func(e *gqlerror.Error) {
						if e.Extensions == nil {
							e.Extensions = map[string]any{}
						}
						e.Extensions["argument"] = arg.Name
					})
			}
		}
	}
	observers.OnField(func(_ *core.Walker, f *ast.Field) { check(`field "`+f.Name+`"`, f.Arguments) })
	observers.OnDirective(func(_ *core.Walker, d *ast.Directive) { check(`directive "@`+d.Name+`"`, d.Arguments) })
	observers.OnOperation(func(_ *core.Walker, op *ast.OperationDefinition) {
		for _, v := range op.VariableDefinitions {
			if v.DefaultValue == nil {
				continue
			}
			if msg, at := badLiteral(v.DefaultValue); msg != "" {
				addError(core.Message(`default value of variable "$%s": %s`, v.Variable, msg), core.At(at),
					func(e *gqlerror.Error) {
						if e.Extensions == nil {
							e.Extensions = map[string]any{}
						}
						e.Extensions["variable"] = v.Variable
					})
			}
		}
	})
}}

// badLiteral returns why the literal v (or a value inside it) cannot be read as its type, and
// where, or "" if it can.
func badLiteral(v *ast.Value) (string, *ast.Position) {
	if v == nil {
		return "", nil
	}
	switch v.Kind {
	case ast.Variable, ast.NullValue:
		return "", nil
	case ast.ListValue, ast.ObjectValue:
		for _, c := range v.Children {
			if msg, at := badLiteral(c.Value); msg != "" {
				return msg, at
			}
		}
		return "", nil
	}
	isInt64 := v.Definition != nil && v.Definition.Name == "Int64"
	val, err := v.Value(nil)
	switch {
	case err != nil && isInt64:
		return "an Int64 must be an integer from -2^63 to 2^63-1", v.Position
	case err != nil:
		return "the number is out of range", v.Position
	case isInt64:
		if _, err := scalar.UnmarshalInt64(val); err != nil {
			var gerr *gqlerror.Error
			if errors.As(err, &gerr) {
				return gerr.Message, v.Position
			}
			return err.Error(), v.Position
		}
	}
	return "", nil
}

// guardRequest checks what the transports would otherwise take on trust, before they read a byte:
// a body over maxBytes is refused with 413 (REQUEST_TOO_LARGE); a JSON body must be one JSON
// object (a batch array is refused, never echoed back: the transport's own decoding error quotes
// the whole body); and the body, and the query string of a GET, must be valid UTF-8 (encoding/json
// would otherwise turn each bad byte into U+FFFD, which would then be stored). Refusals are
// GraphQL-shaped JSON errors with a short fixed message, naming the field where it can.
func guardRequest(maxBytes int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if field := invalidQueryString(r); field != "" {
			refuse(w, http.StatusBadRequest, CodeBadUserInput, "the request is not valid UTF-8 in "+field, field)
			return
		}
		if r.Body == nil || r.Body == http.NoBody || r.Method == http.MethodGet || r.Method == http.MethodHead ||
			strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > maxBytes {
			refuse(w, http.StatusRequestEntityTooLarge, CodeRequestTooLarge, fmt.Sprintf("the request body is over %d bytes", maxBytes), "")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
		if err != nil {
			refuse(w, http.StatusBadRequest, CodeBadUserInput, "the request body could not be read", "")
			return
		}
		if int64(len(body)) > maxBytes {
			refuse(w, http.StatusRequestEntityTooLarge, CodeRequestTooLarge, fmt.Sprintf("the request body is over %d bytes", maxBytes), "")
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" || mt == "application/graphql-response+json" {
			if msg, field := checkJSONBody(body); msg != "" {
				refuse(w, http.StatusBadRequest, CodeBadUserInput, msg, field)
				return
			}
		} else if !utf8.Valid(body) {
			refuse(w, http.StatusBadRequest, CodeBadUserInput, "the request body is not valid UTF-8", "")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// invalidQueryString returns the name of the first URL query parameter (or "the query string")
// that is not valid UTF-8 once decoded, or "".
func invalidQueryString(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "the query string"
	}
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return "the query string"
		}
		for _, v := range vs {
			if utf8.ValidString(v) {
				continue
			}
			if k == "variables" || k == "extensions" {
				_, field := invalidUTF8([]byte(v), k)
				return field
			}
			return k
		}
	}
	return ""
}

// checkJSONBody checks that body is one JSON object in valid UTF-8 whose members the transports
// read have the right JSON types; it returns a message and the field at fault, or "".
func checkJSONBody(body []byte) (msg, field string) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return "batched requests are not supported: send one operation per request", ""
	}
	if !utf8.Valid(body) {
		if _, field := invalidUTF8(body, ""); field != "" {
			return "the request is not valid UTF-8 in " + field, field
		}
		return "the request body is not valid UTF-8", ""
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return "the request body must be one JSON object: {\"query\", \"operationName\", \"variables\", \"extensions\"}", ""
	}
	for name, want := range map[string]byte{"query": '"', "operationName": '"', "variables": '{', "extensions": '{'} {
		raw, ok := top[name]
		if !ok || string(raw) == "null" {
			continue
		}
		if raw = bytes.TrimLeft(raw, " \t\r\n"); len(raw) == 0 || raw[0] != want {
			kind := "a string"
			if want == '{' {
				kind = "an object"
			}
			return fmt.Sprintf("%q must be %s", name, kind), name
		}
	}
	return "", ""
}

// invalidUTF8 finds the member of the JSON value raw holding bytes that are not UTF-8 and returns
// its path (e.g. variables.input.name), prefixed by path; found reports whether raw holds any.
// Members and elements are walked as raw JSON, which encoding/json leaves unchanged; a bad byte in
// an object's key is reported at the object.
func invalidUTF8(raw []byte, path string) (found bool, field string) {
	if utf8.Valid(raw) {
		return false, ""
	}
	join := func(p, k string) string {
		if p == "" {
			return k
		}
		return p + "." + k
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil && obj != nil {
		for k, v := range obj {
			if found, f := invalidUTF8(v, join(path, k)); found {
				return true, f
			}
		}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for i, v := range list {
			if found, f := invalidUTF8(v, fmt.Sprintf("%s[%d]", path, i)); found {
				return true, f
			}
		}
	}
	if path == "" {
		path = "the request body"
	}
	return true, path
}

// refuse writes a GraphQL-shaped error response: {"errors":[{"message":…,"extensions":{"code":…}}]}.
func refuse(w http.ResponseWriter, status int, code, msg, field string) {
	ext := map[string]any{"code": code}
	if field != "" {
		ext["field"] = field
	}
	b, err := json.Marshal(&graphql.Response{Errors: gqlerror.List{{Message: msg, Extensions: ext}}})
	if err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}
