// Package graph is GovHub's GraphQL edge: the gqlgen-generated executor (generated.go, from
// schema.graphql), thin resolvers that translate GraphQL to hub calls, the field middleware that
// answers denied fields with FORBIDDEN, the @sensitive directive, limits and the error presenter.
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/graph/model"
)

// HandlerConfig holds the handler's limits.
type HandlerConfig struct {
	// MaxComplexity bounds a query's complexity (default DefaultMaxComplexity), in which a page's
	// selection counts once per item asked for (listComplexity); a query over it is refused before
	// it runs, with the code COMPLEXITY_LIMIT_EXCEEDED and both numbers in the message.
	MaxComplexity int
	// MaxTokens bounds the number of tokens of a query's text (default DefaultMaxTokens).
	MaxTokens int
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes); a larger one is refused
	// with HTTP 413 and the code REQUEST_TOO_LARGE. It bounds each websocket message too.
	MaxBodyBytes int64
	// RequestTimeout bounds the resolution of a query or mutation, from the start of the operation
	// (0: no bound): the resolvers' contexts, and so the store and ledger calls they make, carry
	// the deadline, and running out of time is the error UNAVAILABLE. Subscriptions are not bound.
	RequestTimeout time.Duration
	// Introspection allows schema introspection (GraphiQL needs it).
	Introspection bool
	// TrustedDocuments, when set, lets the principals it restricts run only the documents it
	// holds (trusted.go); nil runs any document.
	TrustedDocuments *TrustedDocuments
	// Authenticate verifies a bearer token (auth.Verifier.Verify). With it, a websocket may carry
	// its token in the connection_init payload ({"Authorization": "Bearer …"}), as a browser,
	// which cannot set headers on a WebSocket, must; without it only the upgrade request's
	// principal counts. An error wrapping ErrRateLimited refuses the connection with its message.
	Authenticate func(token string) (auth.Principal, error)
}

// CodeRateLimited is the code of a request refused because its principal is over its rate limit
// (HTTP 429 with Retry-After); the request was not executed.
const CodeRateLimited = "RATE_LIMITED"

// ErrRateLimited is what HandlerConfig.Authenticate returns, wrapped, for a principal over its
// rate limit: the websocket connection is then refused saying so, not as an invalid token.
var ErrRateLimited = errors.New("rate limited")

// DefaultMaxComplexity is the default bound on query complexity, counted with list sizes
// (listComplexity): a page of 100 citizens with a few fields each (about 1,000), the portal's page
// of accesses (about 900) and the console's policy proposals (about 3,000) pass; a page of 100
// citizens with every field (about 29,500), or of more than 16, does not. TestListComplexity
// checks these numbers.
const DefaultMaxComplexity = 5000

// DefaultMaxTokens is the default bound on the tokens of a query. Validation, which runs before the
// complexity limit, takes time quadratic in the number of fields (a field repeated under one
// selection is compared with every other), so the text itself must be bounded: TestParserTokenLimit
// logs what the worst query under this bound costs, and checks that GraphiQL's introspection query
// passes.
const DefaultMaxTokens = 2000

// NewHandler returns the GraphQL HTTP handler. Before any transport reads a request, guardRequest
// bounds its body and refuses batches and bytes that are not UTF-8. The caller puts authentication in front of it: every
// request must carry an auth.Principal in its context.
func NewHandler(res *Resolver, cfg HandlerConfig) http.Handler {
	if res.Logger == nil {
		res.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxComplexity == 0 {
		cfg.MaxComplexity = DefaultMaxComplexity
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	srv := handler.New(newListComplexity(NewExecutableSchema(Config{
		Resolvers:  res,
		Directives: DirectiveRoot{Sensitive: sensitive},
	})))
	srv.SetParserTokenLimit(cfg.MaxTokens)
	srv.SetQueryCache(newQueryCache())
	srv.SetValidationRulesFn(func() *rules.Rules {
		r := rules.NewDefaultRules()
		r.AddRule(literalsRule.Name, literalsRule.RuleFunc)
		return r
	})
	srv.AddTransport(transport.Options{})
	// The response's media type follows Accept: application/graphql-response+json when the client
	// names it first (or names neither JSON type), application/json when it names that first, and
	// application/json for an absent Accept, */* or application/*, which the graphql-http audit
	// (TestGraphQLHTTPAudit) still asks of a server (UseGrapQLResponseJsonByDefault would answer
	// those with application/graphql-response+json, and the audit warns).
	srv.AddTransport(transport.GET{})
	// SSE before POST: a subscription POSTed with Accept: text/event-stream is SSE's, and POST's
	// Supports would claim it first (and hold it as one never-ending response).
	srv.AddTransport(transport.SSE{})
	srv.AddTransport(transport.POST{})
	srv.AddTransport(transport.Websocket{KeepAlivePingInterval: 10 * time.Second, InitFunc: websocketInit(cfg.Authenticate),
		PayloadReadLimit: &cfg.MaxBodyBytes})
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	if cfg.TrustedDocuments != nil {
		registerProtocolCodes()
		srv.Use(trustedDocuments{docs: cfg.TrustedDocuments, res: res})
	}
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	srv.AroundOperations(oneCitizenPerRequest)
	if cfg.RequestTimeout > 0 {
		srv.AroundRootFields(withDeadline(cfg.RequestTimeout))
	}
	srv.AroundFields(denyFields)
	srv.SetErrorPresenter(presentError(res.Logger))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		res.Logger.ErrorContext(ctx, "resolver panic", slog.Any("panic", p))
		return &gqlerror.Error{Message: "internal error", Extensions: map[string]any{"code": CodeInternal}}
	})
	return guardRequest(cfg.MaxBodyBytes, requestErrors(srv))
}

// requestErrors brings gqlgen's answer to a request error (a document that does not parse or
// validate, variables that do not coerce, a refused trusted document: nothing was executed) in line
// with GraphQL over HTTP, which gqlgen's transports offer no option for:
//   - under application/json, HTTP 200 where gqlgen writes 422 (the spec's SHOULD: with
//     application/json the status says only that the request was well-formed; 422 is not among its
//     codes); under application/graphql-response+json gqlgen's 400 stands;
//   - no "data" entry: graphql.Response always writes "data", null here, where the GraphQL
//     specification wants it absent for a request error.
//
// Upgrades (websockets) and event streams pass untouched: their status is theirs.
func requestErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&requestErrorWriter{ResponseWriter: w}, r)
	})
}

// requestErrorWriter is requestErrors' http.ResponseWriter.
type requestErrorWriter struct {
	http.ResponseWriter
	wrote        bool // WriteHeader or Write was called
	requestError bool // the status says a request error: the body's "data": null goes
}

func (w *requestErrorWriter) WriteHeader(code int) {
	if w.wrote {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.wrote = true
	if code == http.StatusUnprocessableEntity || code == http.StatusBadRequest {
		w.requestError = true
		if mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type")); code == http.StatusUnprocessableEntity && mt == "application/json" {
			code = http.StatusOK
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *requestErrorWriter) Write(b []byte) (int, error) {
	w.wrote = true
	if !w.requestError {
		return w.ResponseWriter.Write(b)
	}
	// gqlgen writes a request error's body in one Write; anything else passes as it is.
	var body map[string]json.RawMessage
	if json.Unmarshal(b, &body) != nil || string(body["data"]) != "null" {
		return w.ResponseWriter.Write(b)
	}
	delete(body, "data")
	out, err := json.Marshal(body)
	if err != nil {
		return w.ResponseWriter.Write(b)
	}
	if _, err := w.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *requestErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// websocketInit authenticates a websocket connection: by the bearer token of the connection_init
// payload when there is one (verified by authenticate), otherwise by the principal of the upgrade
// request; a connection with neither is refused. Then untilTokenExpires bounds it.
func websocketInit(authenticate func(string) (auth.Principal, error)) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if h := payload.Authorization(); h != "" && authenticate != nil {
			scheme, token, _ := strings.Cut(strings.TrimSpace(h), " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				return ctx, nil, errors.New("unauthorized: the connection_init Authorization is not a bearer token")
			}
			p, err := authenticate(strings.TrimSpace(token))
			if errors.Is(err, ErrRateLimited) {
				return ctx, nil, err
			}
			if err != nil {
				return ctx, nil, errors.New("unauthorized: invalid token")
			}
			ctx = auth.NewContext(ctx, p)
		}
		if _, ok := auth.FromContext(ctx); !ok {
			return ctx, nil, errors.New("unauthorized: missing bearer token")
		}
		return untilTokenExpires(ctx, payload)
	}
}

// untilTokenExpires ends a websocket connection when the token that opened it expires: the
// principal is checked once, on the upgrade request, and every operation on the connection runs
// as that principal.
func untilTokenExpires(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Expires.IsZero() {
		return ctx, nil, nil
	}
	if !time.Now().Before(p.Expires) {
		return ctx, nil, errors.New("token expired")
	}
	ctx, cancel := context.WithDeadline(ctx, p.Expires)
	context.AfterFunc(ctx, cancel) // the connection closes when ctx is done; release the timer then
	return ctx, nil, nil
}

// withDeadline gives each root field of a query or mutation a context with the operation's
// deadline, d after the operation started. It is set here rather than on the request's context:
// gqlgen answers a request whose context is already done with an empty body ("null"), where the
// client should get an error. A root field's subtree is resolved before its resolver returns (no
// @defer), so cancelling on return cuts nothing short.
func withDeadline(d time.Duration) graphql.RootFieldMiddleware {
	return func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		op := graphql.GetOperationContext(ctx)
		if op.Operation != nil && op.Operation.Operation == ast.Subscription {
			return next(ctx)
		}
		start := op.Stats.OperationStart
		if start.IsZero() {
			start = time.Now()
		}
		ctx, cancel := context.WithDeadline(ctx, start.Add(d))
		defer cancel()
		return next(ctx)
	}
}

// citizenDataFields are the root fields that read or write citizen data; each appends one entry.
var citizenDataFields = map[string]bool{
	"citizen": true, "citizens": true, "updateIdentity": true, "updateMarriage": true, "updateSocialInsurance": true,
	"updateTax": true, "updateProperty": true, "updateBusinessLicense": true, "updateHealth": true, "myRecords": true,
}

// oneCitizenPerRequest refuses an operation that touches citizen data more than once (aliases):
// each request is one ledger entry and carries one receipt.
func oneCitizenPerRequest(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx)
	n := 0
	for _, f := range graphql.CollectFields(op, op.Operation.SelectionSet, []string{"Query", "Mutation"}) {
		if citizenDataFields[f.Name] {
			n++
		}
	}
	if n > 1 {
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    "one citizen read or update per request: each is a ledger entry with its own receipt",
			Extensions: map[string]any{"code": CodeBadUserInput},
		}}})
	}
	return next(ctx)
}

// denyFields answers a field the policy denied with null and a FORBIDDEN error at its path, without
// resolving it. The parent object (a dataset object, or the citizen for a whole dataset) says which.
func denyFields(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Parent != nil {
		if a, ok := fc.Parent.Result.(interface{ IsDenied(string) bool }); ok && a.IsDenied(fc.Field.Name) {
			return nil, forbidden(ctx)
		}
	}
	return next(ctx)
}

// sensitive guards @sensitive fields: whatever a resolver returned, a value leaves only when the
// policy revealed the field; otherwise only the commitment does.
func sensitive(ctx context.Context, obj any, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil || res == nil {
		return res, err
	}
	a, _ := obj.(interface{ IsRevealed(string) bool })
	if a != nil && a.IsRevealed(graphql.GetFieldContext(ctx).Field.Name) {
		return res, nil
	}
	switch s := res.(type) {
	case *model.SealedString:
		if s == nil {
			return s, nil
		}
		c := *s
		c.Value = nil
		return &c, nil
	case *model.SealedInt:
		if s == nil {
			return s, nil
		}
		c := *s
		c.Value = nil
		return &c, nil
	case *model.SealedDate:
		if s == nil {
			return s, nil
		}
		c := *s
		c.Value = nil
		return &c, nil
	}
	return nil, fmt.Errorf("graph: @sensitive on an unexpected type %T", res) // the presenter logs it; the client sees "internal error"
}
