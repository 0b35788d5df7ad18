package embedded_test

import (
	"bytes"
	"log/slog"
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
