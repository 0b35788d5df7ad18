package embedded

import (
	"context"
	"log/slog"
)

// ErrorsOnly wraps h so that only records of error level and above reach it: FerretDB reports every
// connection at info level and dumps protocol messages (which can hold data) at warning level.
//
// It is lazy: FerretDB calls Logger.With(args…).DebugContext(…) around every SQL statement, with
// the statement's arguments (whole documents), and a text or JSON handler formats attributes in
// WithAttrs, before the level is known; under load that formatting cost about 15 % of the
// process's CPU (a CPU profile from bench/cmd/ledgerload -cpuprofile, with the plain handler in
// place of this one). So attributes and groups are only recorded, and applied when a record is
// handled.
func ErrorsOnly(h slog.Handler) slog.Handler { return errorsOnly{h: h} }

type errorsOnly struct {
	h   slog.Handler
	ops []func(slog.Handler) slog.Handler // WithAttrs and WithGroup calls, in order
}

func (e errorsOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && e.h.Enabled(ctx, l)
}

func (e errorsOnly) Handle(ctx context.Context, r slog.Record) error {
	h := e.h
	for _, op := range e.ops {
		h = op(h)
	}
	return h.Handle(ctx, r)
}

func (e errorsOnly) WithAttrs(as []slog.Attr) slog.Handler {
	return e.with(func(h slog.Handler) slog.Handler { return h.WithAttrs(as) })
}

func (e errorsOnly) WithGroup(name string) slog.Handler {
	return e.with(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (e errorsOnly) with(op func(slog.Handler) slog.Handler) errorsOnly {
	ops := make([]func(slog.Handler) slog.Handler, len(e.ops), len(e.ops)+1)
	copy(ops, e.ops)
	return errorsOnly{h: e.h, ops: append(ops, op)}
}
