package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// configFlags is a flag set with one flag of each kind configuration handles.
type configFlags struct {
	fs      *flag.FlagSet
	dir     *string
	timeout *time.Duration
	pprof   *bool
	witness stringList
}

func newConfigFlags() *configFlags {
	c := &configFlags{fs: flag.NewFlagSet("serve", flag.ContinueOnError)}
	c.fs.SetOutput(io.Discard)
	c.dir = c.fs.String("data-dir", "default-dir", "")
	c.timeout = c.fs.Duration("request-timeout", 30*time.Second, "")
	c.pprof = c.fs.Bool("pprof", false, "")
	c.fs.Var(&c.witness, "witness", "(repeat)")
	registerConfig(c.fs)
	return c
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A flag beats the environment, which beats the config file, which beats the default, for a
// string, a duration, a bool and a repeatable flag.
func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `{"data-dir": "file-dir", "request-timeout": "3s", "pprof": false, "witness": ["file-w1", "file-w2"]}`)
	type want struct {
		dir     string
		timeout time.Duration
		pprof   bool
		witness []string
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{name: "default", want: want{"default-dir", 30 * time.Second, false, nil}},
		{name: "file", args: []string{"--config", file}, want: want{"file-dir", 3 * time.Second, false, []string{"file-w1", "file-w2"}}},
		{name: "file from the environment", env: map[string]string{"GOVHUB_CONFIG": file}, want: want{"file-dir", 3 * time.Second, false, []string{"file-w1", "file-w2"}}},
		{
			name: "environment beats file",
			args: []string{"--config", file},
			env:  map[string]string{"GOVHUB_DATA_DIR": "env-dir", "GOVHUB_REQUEST_TIMEOUT": "2s", "GOVHUB_PPROF": "true", "GOVHUB_WITNESS": "env-w1, env-w2\nenv-w3"},
			want: want{"env-dir", 2 * time.Second, true, []string{"env-w1", "env-w2", "env-w3"}},
		},
		{
			name: "flag beats environment",
			args: []string{"--config", file, "--data-dir", "flag-dir", "--request-timeout", "1s", "--pprof=false", "--witness", "flag-w1"},
			env:  map[string]string{"GOVHUB_DATA_DIR": "env-dir", "GOVHUB_REQUEST_TIMEOUT": "2s", "GOVHUB_PPROF": "true", "GOVHUB_WITNESS": "env-w1"},
			want: want{"flag-dir", 1 * time.Second, false, []string{"flag-w1"}},
		},
		{
			name: "environment unset for some",
			args: []string{"--config", file, "--pprof"},
			env:  map[string]string{"GOVHUB_REQUEST_TIMEOUT": "2s"},
			want: want{"file-dir", 2 * time.Second, true, []string{"file-w1", "file-w2"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c := newConfigFlags()
			if err := c.fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := applyConfig(c.fs); err != nil {
				t.Fatalf("applyConfig = %v, want nil", err)
			}
			got := want{*c.dir, *c.timeout, *c.pprof, c.witness}
			if got.dir != tc.want.dir || got.timeout != tc.want.timeout || got.pprof != tc.want.pprof || !slices.Equal(got.witness, tc.want.witness) {
				t.Errorf("settings = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Bad configuration is refused naming the setting and where it came from.
func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string // config file text; empty: no file
		env  map[string]string
		want []string
	}{
		{name: "unknown key", file: `{"data-dir": "d", "data_dir": "d", "colour": "red"}`, want: []string{`unknown setting "colour", "data_dir"`}},
		{name: "config key in the file", file: `{"config": "other.json"}`, want: []string{`unknown setting "config"`}},
		{name: "bad duration in file", file: `{"request-timeout": 30}`, want: []string{`config.json: "request-timeout": invalid value "30" for --request-timeout`, `want a duration such as "30s"`}},
		{name: "list for a single flag", file: `{"data-dir": ["a", "b"]}`, want: []string{`"data-dir": a list, but --data-dir takes one value`}},
		{name: "null", file: `{"pprof": null}`, want: []string{`"pprof": null is not a value`}},
		{name: "object", file: `{"witness": [{"url": "x"}]}`, want: []string{`"witness": want a string, number or boolean`}},
		{name: "not an object", file: `["data-dir"]`, want: []string{"config.json: want one JSON object"}},
		{name: "bad bool in environment", env: map[string]string{"GOVHUB_PPROF": "maybe"}, want: []string{`GOVHUB_PPROF=maybe: invalid value "maybe" for --pprof`}},
		{
			name: "every bad variable named",
			env:  map[string]string{"GOVHUB_PPROF": "maybe", "GOVHUB_REQUEST_TIMEOUT": "soon"},
			want: []string{"GOVHUB_PPROF=maybe", "GOVHUB_REQUEST_TIMEOUT=soon"},
		},
		{name: "missing file", env: map[string]string{"GOVHUB_CONFIG": "/nonexistent/govhub.json"}, want: []string{"GOVHUB_CONFIG=/nonexistent/govhub.json: open"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var args []string
			if tc.file != "" {
				args = []string{"--config", writeConfig(t, tc.file)}
			}
			c := newConfigFlags()
			if err := c.fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			err := applyConfig(c.fs)
			if code := exitCode(err); code != 2 {
				t.Fatalf("applyConfig = %v (exit status %d), want exit status 2", err, code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("applyConfig = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// Every flag whose help says it repeats takes a list in the environment and the file.
func TestConfigRepeatableFlags(t *testing.T) {
	for _, cmd := range []string{"serve", "demo"} {
		var help bytes.Buffer
		if err := run(t.Context(), []string{cmd, "-h"}, io.Discard, &help); exitCode(err) != 0 {
			t.Fatalf("%s -h: %v", cmd, err)
		}
		var flags []string
		for _, line := range strings.Split(help.String(), "\n") {
			if strings.HasPrefix(line, "  -") {
				flags = append(flags, strings.Fields(line)[0][1:])
			}
			if strings.Contains(line, "(repeat)") && len(flags) > 0 {
				name := flags[len(flags)-1]
				if name != "witness" && name != "mirror" && name != "rate-limit-department" && name != "oidc-issuer" {
					t.Errorf("%s --%s repeats, but the configuration does not know it", cmd, name)
				}
			}
		}
		if len(flags) < 20 {
			t.Fatalf("%s -h lists %d flags, want them all:\n%s", cmd, len(flags), help.String())
		}
		for _, name := range flags {
			if !strings.Contains(help.String(), "[$"+envName(name)+"]") {
				t.Errorf("%s -h does not name $%s", cmd, envName(name))
			}
		}
		for _, w := range []string{"GOVHUB_<NAME>", "--config FILE", "Precedence: flag > environment > config file > default"} {
			if !strings.Contains(help.String(), w) {
				t.Errorf("%s -h lacks %q", cmd, w)
			}
		}
	}
}

// serve reads its settings from the environment and the file, and a bad one stops it at start-up
// with exit status 2, before it listens.
func TestServeConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		file string
		want string
	}{
		{name: "bad rate limit", env: map[string]string{"GOVHUB_RATE_LIMIT": "abc"}, want: "GOVHUB_RATE_LIMIT=abc: invalid value"},
		{name: "environment reaches the checks", env: map[string]string{"GOVHUB_REQUEST_TIMEOUT": "-1s"}, want: "--request-timeout must be positive"},
		{name: "file reaches the checks", file: `{"question-deadline": "-1h"}`, want: "--question-deadline must be positive"},
		{name: "demo key in serve's file", file: `{"citizens": 10}`, want: `unknown setting "citizens"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := []string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}
			if tc.file != "" {
				args = append(args, "--config", writeConfig(t, tc.file))
			}
			var stderr bytes.Buffer
			err := run(t.Context(), args, io.Discard, &stderr)
			if code := exitCode(err); code != 2 {
				t.Fatalf("serve = %v (exit status %d), want exit status 2", err, code)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Any config file is applied or refused with exit status 2, never a panic; an accepted file sets
// only flags it names.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{`{}`, `{"data-dir": "x", "pprof": true, "request-timeout": "5s", "witness": ["http://w=K"]}`,
		`{"nope": 1}`, `{"pprof": "maybe"}`, `{"request-timeout": 30}`, `{"witness": "a,b"}`, `[]`, `null`, `{"data-dir": null}`, `{`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c := newConfigFlags()
		if err := c.fs.Parse([]string{"--config", path}); err != nil {
			t.Fatal(err)
		}
		if err := applyConfig(c.fs); err != nil {
			if exitCode(err) != 2 {
				t.Fatalf("applyConfig(%q) = %v with exit %d, want 2", text, err, exitCode(err))
			}
			return
		}
		if *c.dir != "default-dir" && !strings.Contains(text, "data-dir") {
			t.Fatalf("applyConfig(%q) set --data-dir to %q though the file does not name it", text, *c.dir)
		}
	})
}
