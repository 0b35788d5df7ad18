package embedded_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/govhub/govhub/store/embedded"
)

func TestErrorsOnly(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(embedded.ErrorsOnly(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l = l.With(slog.String("component", "ferretdb")).WithGroup("g")
	l.Debug("statement", slog.String("doc", "secret"))
	l.Warn("response dump", slog.String("doc", "secret"))
	if buf.Len() != 0 {
		t.Fatalf("below error level, the handler wrote %q", buf.String())
	}
	l.Error("broken", slog.Int("n", 1))
	got := buf.String()
	for _, want := range []string{"level=ERROR", "msg=broken", "component=ferretdb", "g.n=1"} {
		if !strings.Contains(got, want) {
			t.Errorf("error record %q lacks %q", got, want)
		}
	}
}

// spy is a handler that records what reaches it.
type spy struct {
	withAttrs *int
	attrs     []slog.Attr
	groups    []string
	handled   *[]string
}

func (s spy) Enabled(context.Context, slog.Level) bool { return true }
func (s spy) Handle(_ context.Context, r slog.Record) error {
	line := strings.Join(s.groups, ".") + "|" + r.Message
	for _, a := range s.attrs {
		line += " " + a.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	*s.handled = append(*s.handled, line)
	return nil
}
func (s spy) WithAttrs(as []slog.Attr) slog.Handler {
	*s.withAttrs++
	s.attrs = append(slices.Clone(s.attrs), as...)
	return s
}
func (s spy) WithGroup(name string) slog.Handler {
	s.groups = append(slices.Clone(s.groups), name)
	return s
}

// TestErrorsOnlyIsLazy: FerretDB builds a logger with attributes for every statement; below error
// level none of that may reach the wrapped handler (the cost ErrorsOnly exists to avoid).
func TestErrorsOnlyIsLazy(t *testing.T) {
	var calls int
	var handled []string
	l := slog.New(embedded.ErrorsOnly(spy{withAttrs: &calls, handled: &handled})).With("component", "ferretdb")
	for i := range 3 {
		l.With("args", i).DebugContext(t.Context(), "statement") // FerretDB's pattern
	}
	l.Warn("warning")
	if calls != 0 || len(handled) != 0 {
		t.Errorf("below error level: %d WithAttrs calls reached the handler and %q was handled, want none", calls, handled)
	}
	l.WithGroup("g").With("n", 1).Error("failed", "err", "boom")
	want := []string{"g|failed component=ferretdb n=1 err=boom"}
	if !slices.Equal(handled, want) {
		t.Errorf("handled %q, want %q", handled, want)
	}
}
