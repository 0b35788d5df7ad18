// Package webtest runs GovHub's browser tests: it finds Debian's Chromium, starts one headless
// instance for a test binary, opens tabs in it (each in the browser's default context, or in a
// fresh one with its own cookies and storage, like a second person's browser), and saves
// screenshots of failed tests where the failure message says.
//
// Without Chromium a test is skipped with a message naming the package, unless the environment
// says CI=true: there the browser tests must run, so a missing Chromium fails them. CI runs as
// root, so Chromium is started with --no-sandbox.
//
// A test binary keeps one Browser and closes it at the end:
//
//	var browser webtest.Browser
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		browser.Close()
//		os.Exit(code)
//	}
//
//	func TestPage(t *testing.T) {
//		tab := browser.Tab(t, "web")
//		webtest.Navigate(t, tab, srv.URL+"/console")
//	}
package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium returns the path of Chromium, or skips the test with a message naming pkg (fails it
// under CI=true).
func Chromium(t testing.TB, pkg string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: chromium not installed (apt-get install chromium); the browser tests must run under CI=true", pkg)
	}
	t.Skipf("%s: chromium not installed (apt-get install chromium); skipping the browser tests", pkg)
	return ""
}

// Browser is a headless Chromium shared by the tests of one binary, started by the first Tab and
// stopped by Close. The zero value is ready to use; it is safe for concurrent use.
type Browser struct {
	tabs   atomic.Int64 // tabs opened, to name their screenshots
	once   sync.Once
	ctx    context.Context
	err    error
	cancel func()
}

// start launches Chromium with a temporary profile, once.
func (b *Browser) start(bin string) error {
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "govhub-chromium-")
		if err != nil {
			b.err = err
			return
		}
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(bin),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(dir),
		)
		bctx, cancelBrowser := chromedp.NewContext(actx)
		b.ctx = bctx
		b.cancel = func() { cancelBrowser(); cancelAlloc(); os.RemoveAll(dir) }
		// The first Run starts the browser, which lives as long as bctx.
		b.err = chromedp.Do(bctx, chromedp.Navigate("about:blank"))
	})
	return b.err
}

// Close stops Chromium, if it was started.
func (b *Browser) Close() {
	if b.cancel != nil {
		b.cancel()
	}
}

// Tab opens a tab in the browser's default context (skipping the test without Chromium, see
// Chromium), logs the page's exceptions and console messages to t, saves a screenshot if the test
// fails (as <test name>-tab<N>-at-end.png in ArtifactsDir), and closes the tab when the test ends.
func (b *Browser) Tab(t testing.TB, pkg string) context.Context {
	return b.tab(t, pkg)
}

// IsolatedTab is Tab in a new browser context: its own cookies, local and session storage, as in
// another person's browser (an incognito window).
func (b *Browser) IsolatedTab(t testing.TB, pkg string) context.Context {
	return b.tab(t, pkg, chromedp.WithNewBrowserContext())
}

func (b *Browser) tab(t testing.TB, pkg string, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	bin := Chromium(t, pkg)
	if err := b.start(bin); err != nil {
		t.Fatalf("starting Chromium %s: %v", bin, err)
	}
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("opening a tab in Chromium: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			if d.Exception != nil {
				t.Logf("browser exception: %s %s", d.Text, d.Exception.Description)
			} else {
				t.Logf("browser exception: %s", d.Text)
			}
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			t.Logf("browser console.%s: %s", ev.Type, strings.Join(args, " "))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	label := fmt.Sprintf("tab%d-at-end", b.tabs.Add(1))
	t.Cleanup(func() {
		if t.Failed() {
			Screenshot(t, ctx, label)
		}
	})
	return ctx
}

// AcceptLanguage makes the tab's browser prefer langs (an Accept-Language value, e.g.
// "zh-CN,zh;q=0.9"), in its requests and in navigator.languages, from the next navigation on.
func AcceptLanguage(langs string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		ua, err := chromedp.Evaluate[string]("navigator.userAgent")(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		_, err = cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: langs})
		return chromedp.Void{}, err
	}
}

// ArtifactsDir is where screenshots are saved: $GOVHUB_TEST_ARTIFACTS, or govhub-test-artifacts
// in the system's temporary directory.
func ArtifactsDir() string {
	if d := os.Getenv("GOVHUB_TEST_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "govhub-test-artifacts")
}

// Screenshot saves the whole page as ArtifactsDir()/<test name>-<label>.png and returns the path
// ("" if it could not; the reason is logged).
func Screenshot(t testing.TB, ctx context.Context, label string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot: %v", err)
		return ""
	}
	dir := ArtifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot: %v", err)
		return ""
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name() + "-" + label)
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
		return ""
	}
	t.Logf("screenshot saved to %s", p)
	return p
}

// Navigate loads url in the tab and waits for its load event.
func Navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("loading %s in Chromium: %v", url, err)
	}
}

// Eval evaluates a JavaScript expression in the tab (a promise is awaited) and decodes its JSON
// value into out (which may be nil).
func Eval(t testing.TB, ctx context.Context, expr string, out any) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating in Chromium: %v\n%s", err, expr[:min(len(expr), 400)])
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
}

// WaitFor evaluates the JavaScript expression cond until it is true, failing the test after
// timeout with what. Evaluation errors are retried too: one can fail while the page's
// JavaScript context is being replaced ("Cannot find context with specified id").
func WaitFor(t testing.TB, ctx context.Context, cond string, timeout time.Duration, what string) {
	t.Helper()
	if err := Poll(ctx, cond, timeout); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Poll is WaitFor returning an error rather than failing a test.
func Poll(ctx context.Context, cond string, timeout time.Duration) error {
	var lastErr error
	for deadline := time.Now().Add(timeout); ; {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				return fmt.Errorf("not true after %v (last error: %w): %s", timeout, lastErr, cond)
			}
			return fmt.Errorf("not true after %v: %s", timeout, cond)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
