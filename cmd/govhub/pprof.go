package main

import (
	"net/http"
	"net/http/pprof"

	"github.com/govhub/govhub/auth"
)

// pprofPrefix is where the Go profiler's endpoints are served when the hub runs with --pprof: for
// operator tokens only (a profile shows no citizen data, but it shows what the process does and
// costs to take).
const pprofPrefix = "/debug/pprof/"

// mountPprof serves net/http/pprof's handlers under pprofPrefix, behind the operator check.
func (a *app) mountPprof(mux *http.ServeMux) {
	h := http.NewServeMux()
	h.HandleFunc(pprofPrefix, pprof.Index) // heap, goroutine, allocs, block, mutex, threadcreate
	h.HandleFunc(pprofPrefix+"cmdline", pprof.Cmdline)
	h.HandleFunc(pprofPrefix+"profile", pprof.Profile)
	h.HandleFunc(pprofPrefix+"symbol", pprof.Symbol)
	h.HandleFunc(pprofPrefix+"trace", pprof.Trace)
	mux.Handle(pprofPrefix, auth.Middleware(a.verifier, onlyKind(auth.KindOperator, h)))
}
