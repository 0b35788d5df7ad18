package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/policy"
)

func cmdPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return &exitError{2, errors.New("policy needs a subcommand: export or import")}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, policyUsage)
		return nil
	case "export":
		return cmdPolicyExport(ctx, args[1:], stdout, stderr)
	case "import":
		return cmdPolicyImport(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, policyUsage)
	return &exitError{2, fmt.Errorf("unknown policy subcommand %q (want export or import)", args[0])}
}

const policyUsage = `usage: govhub policy <subcommand> [flags]

subcommands:
  export          print the policy in force as Casbin CSV [--purposes F.json] [--version N]
  import FILE     propose the policy of a CSV file as a change (--officer ID --reason TEXT),
                  or import it into an empty store

Run 'govhub policy <subcommand> -h' for its flags.
`

// cmdPolicyExport writes the rules and groupings in force as Casbin CSV (and the purposes as JSON).
func cmdPolicyExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	version := fs.Uint64("version", 0, "the version to export (default: the latest)")
	purposes := fs.String("purposes", "", "also write the purpose registry, as JSON, to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	if cfg.MongoURI == "" {
		if err := requireDataDir(cfg.DataDir); err != nil {
			return err
		}
	}
	st, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.close(context.WithoutCancel(ctx))
	v := *version
	if v == 0 {
		if v, err = st.store.LatestVersion(ctx, 0); err != nil {
			return err
		}
		if v == 0 {
			return errors.New("the store holds no policy yet (start the hub once to import the policy files)")
		}
	}
	info, err := st.store.VersionInfo(ctx, v)
	if err != nil {
		return err
	}
	rules, err := st.store.AllRules(ctx, v)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# GovHub policy version %d (%d rules), exported from the store\n# version: %d\n", v, len(rules), v)
	if err := policy.FormatCSV(stdout, rules, info.Groupings); err != nil {
		return err
	}
	if *purposes != "" {
		var b bytes.Buffer
		if err := policy.FormatPurposes(&b, info.Purposes); err != nil {
			return err
		}
		if err := os.WriteFile(*purposes, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// cmdPolicyImport proposes the policy of a CSV file as a change against the version in force (an
// officer names themselves; another must approve), or imports it directly into an empty store.
func cmdPolicyImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	purposesFile := fs.String("purposes", "", "the purpose registry to import with the rules (JSON; default: keep the registry in force)")
	officerID := fs.String("officer", "", "the privacy officer proposing the change")
	reason := fs.String("reason", "", "why (required for a proposal)")
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return &exitError{2, errors.New("usage: govhub policy import FILE.csv [--purposes F.json] --officer ID --reason TEXT")}
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	rules, groups, err := policy.ParseCSV(bytes.NewReader(data))
	if err != nil {
		return &exitError{1, fmt.Errorf("%s: %w", files[0], err)}
	}
	var purposes []policy.Purpose
	if *purposesFile != "" {
		f, err := os.Open(*purposesFile)
		if err != nil {
			return err
		}
		purposes, err = policy.ParsePurposes(f)
		f.Close()
		if err != nil {
			return &exitError{1, fmt.Errorf("%s: %w", *purposesFile, err)}
		}
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	// An empty store takes the file as its first version, through the files of the data directory
	// (which openApp imports).
	st, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	latest, err := st.store.LatestVersion(ctx, 0)
	st.close(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	if latest != 0 && (*officerID == "" || *reason == "") {
		return &exitError{2, errors.New("the store holds a policy: importing proposes a change, which needs --officer and --reason")}
	}
	if latest == 0 {
		if purposes == nil {
			purposes = policy.Demo().Purposes
		}
		if err := policy.WriteDir(cfg.path("policy"), policy.Set{Version: 1, Rules: rules, Groupings: groups, Purposes: purposes}); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close(context.WithoutCancel(ctx))
	if latest == 0 {
		fmt.Fprintf(stdout, "imported %s as policy version 1 (%d rules)\n", files[0], len(rules))
		return nil
	}
	cur, err := a.officers.PolicyRules(ctx, auth.Principal{Kind: auth.KindAuditor, Subject: "cli"}, 0)
	if err != nil {
		return err
	}
	if purposes == nil { // the file names no purposes: the registry stays as it is
		purposes = cur.Purposes
	}
	change := policy.Diff(cur, policy.Set{Rules: rules, Groupings: groups, Purposes: purposes})
	if change.IsZero() {
		fmt.Fprintln(stdout, "the file holds the policy in force: nothing to propose")
		return nil
	}
	officer := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: *officerID}
	prop, err := a.officers.ProposePolicyChange(ctx, officer, change, *reason)
	if err != nil {
		return &exitError{1, err}
	}
	fmt.Fprintf(stdout, "proposal %s against version %d: +%d −%d rules, +%d −%d groupings; %d decisions move. Another officer must approve it.\n",
		prop.ID, prop.Base, len(change.AddRules), len(change.RemoveRules), len(change.AddGroupings), len(change.RemoveGroupings), len(prop.Impact))
	for i, f := range prop.Impact {
		if i == 20 {
			fmt.Fprintf(stdout, "  … and %d more\n", len(prop.Impact)-20)
			break
		}
		fmt.Fprintf(stdout, "  %s/%s %s %s: %s → %s\n", f.Department, f.Role, f.Purpose, f.Field, f.Before, f.After)
	}
	return nil
}
