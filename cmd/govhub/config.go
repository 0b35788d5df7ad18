package main

// Configuration of serve and demo: every flag can also be set in the environment or in a JSON file.
//
// Precedence, highest first: the command line, then the environment, then the config file, then the
// flag's default. A flag's environment variable is GOVHUB_ followed by its name upper-cased with
// '-' as '_' (--data-dir: GOVHUB_DATA_DIR; --rate-limit-department: GOVHUB_RATE_LIMIT_DEPARTMENT).
// The config file is named by --config FILE or GOVHUB_CONFIG; it is one JSON object whose keys are
// flag names and whose values are strings, numbers or booleans, or lists of them for the repeatable
// flags:
//
//	{"data-dir": "/var/lib/govhub", "request-timeout": "10s", "pprof": true,
//	 "witness": ["https://w1.example/=KEY1", "https://w2.example/=KEY2"]}
//
// A key that names no flag is refused. In the environment a repeatable flag takes a list separated
// by commas or newlines (blank items are skipped). A value given on the command line replaces the
// environment's and the file's entirely, repeatable flags included: lists are never merged.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// configFlag names the config file; it is read from the command line or the environment only.
	configFlag = "config"
	envPrefix  = "GOVHUB_"
)

// envName is the environment variable of the flag called name: GOVHUB_DATA_DIR for data-dir.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// repeatable reports whether f collects a value each time it is given.
func repeatable(f *flag.Flag) bool {
	switch f.Value.(type) {
	case *stringList, *departmentRateLimits:
		return true
	}
	return false
}

// registerConfig adds --config to fs and a usage message that names each flag's environment
// variable and states the precedence. applyConfig, called after parsing, does the rest.
func registerConfig(fs *flag.FlagSet) {
	fs.String(configFlag, "", `a JSON file of settings, {"flag-name": value, …}: strings, numbers, booleans, or lists for repeatable flags`)
	named := false
	fs.Usage = func() {
		if !named {
			fs.VisitAll(func(f *flag.Flag) { f.Usage += " [$" + envName(f.Name) + "]" })
			named = true
		}
		out := fs.Output()
		fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		fmt.Fprint(out, configHelp)
	}
}

const configHelp = `
Every flag can also be set as GOVHUB_<NAME> (the flag's name upper-cased, '-' as '_': --data-dir is
GOVHUB_DATA_DIR) or in --config FILE (also GOVHUB_CONFIG), a JSON object whose keys are flag names.
Precedence: flag > environment > config file > default. Repeatable flags take a comma- or
newline-separated list in the environment and a JSON list in the file.
`

// applyConfig sets every flag of fs that the command line did not set: from its GOVHUB_ variable
// if that is set (even to the empty string), otherwise from the config file if it has the key.
// fs must have been parsed. A bad value or an unknown key in the file is an error naming its
// source, with exit status 2.
func applyConfig(fs *flag.FlagSet) error {
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })

	var file map[string]json.RawMessage
	path, source := "", ""
	if f := fs.Lookup(configFlag); f != nil {
		path = f.Value.String()
		source = "--" + configFlag + " " + path
		if !onCommandLine[configFlag] {
			if v, ok := os.LookupEnv(envName(configFlag)); ok {
				path = v
				source = envName(configFlag) + "=" + v
			}
		}
	}
	if path != "" {
		var err error
		if file, err = readConfigFile(fs, path); err != nil {
			return &exitError{2, fmt.Errorf("%s: %w", source, err)}
		}
	}

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == configFlag || onCommandLine[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if err := setFromEnv(fs, f, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%s: %w", envName(f.Name), v, err))
			}
			return
		}
		if raw, ok := file[f.Name]; ok {
			if err := setFromFile(fs, f, raw); err != nil {
				errs = append(errs, fmt.Errorf("%s: %q: %w", path, f.Name, err))
			}
		}
	})
	if len(errs) > 0 {
		return &exitError{2, errors.Join(errs...)}
	}
	return nil
}

// readConfigFile reads the JSON object at path and refuses keys that name no flag of fs.
func readConfigFile(fs *flag.FlagSet, path string) (map[string]json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("want one JSON object of settings: %w", err)
	}
	if m == nil {
		return nil, errors.New("want one JSON object of settings, not null")
	}
	var unknown []string
	for k := range m {
		if k == configFlag || fs.Lookup(k) == nil {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("unknown setting %s (keys are the flag names of govhub %s -h, such as \"data-dir\"; %q cannot be set in the file)",
			strings.Join(unknown, ", "), fs.Name(), configFlag)
	}
	return m, nil
}

// setFromEnv sets f from an environment value: a list separated by commas or newlines for a
// repeatable flag, otherwise the value as it is.
func setFromEnv(fs *flag.FlagSet, f *flag.Flag, v string) error {
	if !repeatable(f) {
		return set(fs, f, v)
	}
	for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if err := set(fs, f, item); err != nil {
			return err
		}
	}
	return nil
}

// setFromFile sets f from a config file value: a string, number or boolean, or for a repeatable
// flag also a list of them.
func setFromFile(fs *flag.FlagSet, f *flag.Flag, raw json.RawMessage) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber() // 0.5 stays "0.5", 1000 stays "1000"
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	if list, ok := v.([]any); ok {
		if !repeatable(f) {
			return fmt.Errorf("a list, but --%s takes one value", f.Name)
		}
		for _, item := range list {
			s, err := scalar(item)
			if err != nil {
				return err
			}
			if err := set(fs, f, s); err != nil {
				return err
			}
		}
		return nil
	}
	s, err := scalar(v)
	if err != nil {
		return err
	}
	return set(fs, f, s)
}

// scalar formats a decoded JSON string, number or boolean as it would be written on the command
// line.
func scalar(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "", errors.New("null is not a value")
	default:
		return "", errors.New("want a string, number or boolean")
	}
}

func set(fs *flag.FlagSet, f *flag.Flag, v string) error {
	if err := fs.Set(f.Name, v); err != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			if _, ok := g.Get().(time.Duration); ok {
				return fmt.Errorf("invalid value %q for --%s: %w (want a duration such as \"30s\" or \"1h30m\")", v, f.Name, err)
			}
		}
		return fmt.Errorf("invalid value %q for --%s: %w", v, f.Name, err)
	}
	return nil
}
