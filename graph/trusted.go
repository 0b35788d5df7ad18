package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/govhub/govhub/auth"
)

// Codes of the trusted-documents mode (HandlerConfig.TrustedDocuments).
const (
	// CodeUntrustedDocument: the principal may only run registered documents, and this one (sent
	// as text, or named by a hash) is not registered. Nothing was run.
	CodeUntrustedDocument = "UNTRUSTED_DOCUMENT"
	// CodePersistedQueryNotFound: a principal who may run any document sent only the hash of one
	// the hub does not hold; send the text with it (Apollo's automatic persisted queries do).
	CodePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"
)

// registerProtocolCodes makes gqlgen answer the refusals of the trusted-documents mode with the
// HTTP status of a document that does not validate: 400 for application/graphql-response+json,
// 200 for application/json (gqlgen's 422, which requestErrors makes 200). gqlgen keeps that
// mapping in a registry of its own, once per process.
var registerProtocolCodes = sync.OnceFunc(func() {
	errcode.RegisterErrorType(CodeUntrustedDocument, errcode.KindProtocol)
	errcode.RegisterErrorType(CodePersistedQueryNotFound, errcode.KindProtocol)
})

// TrustedDocuments is the set of GraphQL documents a hub in trusted-documents mode runs for the
// principals it restricts, each registered by the SHA-256 of its exact text, in lowercase hex.
//
// A request names its document in one of two ways: by the hash alone, in Apollo's persisted-query
// extension, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}, and the
// hub runs the registered text; or by the full text ("query"), which must hash to a registered
// document, byte for byte (whitespace included). Both together must agree. For a restricted
// principal anything else is refused with CodeUntrustedDocument before it is parsed, and the
// refusal is put on the ledger as a denied access with the reason "untrusted-document" (the
// request digest covers "sha256:<hex>" of the document). A principal the mode does not restrict
// runs any document, and may name registered ones by hash.
//
// The set is filled before the handler is built (ParseTrustedDocuments, Register) and only read
// afterwards, so it is safe for concurrent use by the handler.
type TrustedDocuments struct {
	docs  map[string]string
	kinds []auth.Kind // restricted kinds; empty: every kind
}

// DocumentHash returns the SHA-256 of a document's text in lowercase hex, the name it is
// registered under: "{ me { kind subject } }" is registered as
// "515f1858c0075a086a5732fdd358f9f43bc7bf018ae2f924871b26eb99f84549".
func DocumentHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// ParseTrustedDocuments reads a trusted-documents file: one JSON object whose keys are the
// SHA-256 (lowercase hex) of the exact document text that is their value,
//
//	{"2c5b…e1": "{ me { kind department role subject } }", …}
//
// Every key must be 64 lowercase hex digits and the hash of its text: the error names the first
// entry that is not.
func ParseTrustedDocuments(data []byte) (*TrustedDocuments, error) {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("trusted documents: want one JSON object of hash to document text: %w", err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t := &TrustedDocuments{docs: make(map[string]string, len(m))}
	for _, k := range keys {
		if !isHash(k) {
			return nil, fmt.Errorf("trusted documents: entry %q: the key is not a SHA-256 in lowercase hex", k)
		}
		if got := DocumentHash(m[k]); got != k {
			return nil, fmt.Errorf("trusted documents: entry %q: its text hashes to %s", k, got)
		}
		t.docs[k] = m[k]
	}
	return t, nil
}

// isHash reports whether s is a SHA-256 in lowercase hex.
func isHash(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size && hex.EncodeToString(b) == s
}

// Register adds documents, each under its own hash (web.Operations, the pages' own documents, say).
func (t *TrustedDocuments) Register(texts ...string) {
	if t.docs == nil {
		t.docs = make(map[string]string, len(texts))
	}
	for _, s := range texts {
		t.docs[DocumentHash(s)] = s
	}
}

// Restrict limits the mode to principals of the given kinds; without a call (or with none) it
// restricts every principal. Departments are restricted whatever the list says.
func (t *TrustedDocuments) Restrict(kinds ...auth.Kind) {
	t.kinds = slices.Clone(kinds)
	if len(kinds) > 0 && !slices.Contains(kinds, auth.KindDepartment) {
		t.kinds = append(t.kinds, auth.KindDepartment)
	}
}

// Len returns the number of registered documents.
func (t *TrustedDocuments) Len() int { return len(t.docs) }

// Lookup returns the document registered under hash, and reports whether there is one.
func (t *TrustedDocuments) Lookup(hash string) (string, bool) {
	s, ok := t.docs[hash]
	return s, ok
}

// restricts reports whether a request with this principal (ok: there is one) may only run
// registered documents.
func (t *TrustedDocuments) restricts(p auth.Principal, ok bool) bool {
	return !ok || len(t.kinds) == 0 || slices.Contains(t.kinds, p.Kind)
}

// trustedDocuments is the handler extension that enforces the mode: it runs before the document
// is parsed, for every transport (POST, GET, SSE and websocket).
type trustedDocuments struct {
	docs *TrustedDocuments
	res  *Resolver
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = trustedDocuments{}

func (trustedDocuments) ExtensionName() string                   { return "TrustedDocuments" }
func (trustedDocuments) Validate(graphql.ExecutableSchema) error { return nil }

func (e trustedDocuments) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	hash, gerr := persistedQueryHash(raw.Extensions)
	if gerr != nil {
		return gerr
	}
	p, known := auth.FromContext(ctx)
	restricted := e.docs.restricts(p, known)
	if hash != "" && raw.Query == "" {
		text, ok := e.docs.Lookup(hash)
		switch {
		case ok:
			raw.Query = text
			return nil
		case restricted:
			return e.refuse(ctx, p, known, hash, "the document with this hash is not registered: this hub runs only trusted documents")
		default:
			return &gqlerror.Error{Message: "PersistedQueryNotFound", Extensions: map[string]any{"code": CodePersistedQueryNotFound}}
		}
	}
	if hash != "" && DocumentHash(raw.Query) != hash {
		return &gqlerror.Error{Message: "the persistedQuery sha256Hash is not the hash of the query", Extensions: map[string]any{"code": CodeBadUserInput}}
	}
	if !restricted {
		return nil
	}
	if hash == "" {
		hash = DocumentHash(raw.Query)
	}
	if _, ok := e.docs.Lookup(hash); !ok {
		return e.refuse(ctx, p, known, hash, "the document is not registered: this hub runs only trusted documents, sent as registered, byte for byte, or by their hash")
	}
	return nil
}

// refuse logs the refusal of a known principal on the ledger and returns the error.
func (e trustedDocuments) refuse(ctx context.Context, p auth.Principal, known bool, hash, msg string) *gqlerror.Error {
	if known && e.res.Reader != nil {
		if _, err := e.res.Reader.LogRefusal(ctx, p, "untrusted-document", []byte("sha256:"+hash)); err != nil {
			e.res.Logger.ErrorContext(ctx, "could not log a refused request", slog.String("error", err.Error()))
		}
	}
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": CodeUntrustedDocument, "sha256Hash": hash}}
}

// persistedQueryHash returns the sha256Hash of the request's persistedQuery extension, "" without
// one.
func persistedQueryHash(ext map[string]any) (string, *gqlerror.Error) {
	raw, ok := ext["persistedQuery"]
	if !ok || raw == nil {
		return "", nil
	}
	bad := func(msg string) (string, *gqlerror.Error) {
		return "", &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": CodeBadUserInput}}
	}
	pq, ok := raw.(map[string]any)
	if !ok {
		return bad("extensions.persistedQuery must be an object")
	}
	if v, ok := pq["version"]; !ok || fmt.Sprint(v) != "1" {
		return bad("extensions.persistedQuery.version must be 1")
	}
	h, _ := pq["sha256Hash"].(string)
	if !isHash(h) {
		return bad("extensions.persistedQuery.sha256Hash must be a SHA-256 in lowercase hex")
	}
	return h, nil
}
