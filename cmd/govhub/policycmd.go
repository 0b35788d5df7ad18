package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

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
  export          print the policy in force as Casbin CSV [--purposes F.json] [--predicates F.json] [--version N]
  import FILE     propose the policy of a CSV file as a change to the running hub, as the
                  officer whose token is given (--token T or $GOVHUB_TOKEN, --reason TEXT),
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
	predicates := fs.String("predicates", "", "also write the predicate catalogue (what prove rules grant), as JSON, to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	st, err := openReader(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.closeReader(context.WithoutCancel(ctx))
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
	if *predicates != "" {
		var b bytes.Buffer
		if err := policy.FormatPredicates(&b, info.Predicates); err != nil {
			return err
		}
		if err := os.WriteFile(*predicates, b.Bytes(), 0o644); err != nil {
			return err
		}
	} else if len(info.Predicates) > 0 {
		fmt.Fprintf(stderr, "note: version %d has a predicate catalogue (%d) its prove rules need: write it with --predicates F.json\n", v, len(info.Predicates))
	}
	return nil
}

// cmdPolicyImport proposes the policy of a CSV file as a change against the version in force, to
// the running hub, as the officer whose token it is given (another must approve it); or, into a
// store that holds no policy yet (no hub has run on it), imports it as version 1.
func cmdPolicyImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	var af adminFlags
	af.register(fs)
	purposesFile := fs.String("purposes", "", "the purpose registry to import with the rules (JSON; default: keep the registry in force)")
	predicatesFile := fs.String("predicates", "", "the predicate catalogue to import with the rules (JSON, as policy export --predicates writes it; default: keep the catalogue in force)")
	officerID := fs.String("officer", "", "no longer accepted: the proposal is made as the officer whose token is given")
	reason := fs.String("reason", "", "why (required for a proposal)")
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return &exitError{2, errors.New("usage: govhub policy import FILE.csv [--purposes F.json] [--predicates F.json] --reason TEXT [--token T | $" + tokenEnv + "]")}
	}
	if *officerID != "" {
		return &exitError{2, fmt.Errorf("--officer is no longer accepted: the proposal is made as the officer whose token is given (--token or $%s; govhub token --kind officer mints one)", tokenEnv)}
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
	var predicates []policy.Predicate
	if *predicatesFile != "" {
		f, err := os.Open(*predicatesFile)
		if err != nil {
			return err
		}
		predicates, err = policy.ParsePredicates(f)
		f.Close()
		if err != nil {
			return &exitError{1, fmt.Errorf("%s: %w", *predicatesFile, err)}
		}
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	if af.hub == "" {
		st, err := openReader(ctx, cfg, io.Discard)
		if err != nil {
			return err
		}
		latest, err := st.store.LatestVersion(ctx, 0)
		st.closeReader(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		if latest == 0 {
			return importFirstPolicy(ctx, cfg, files[0], policy.Set{Rules: rules, Groupings: groups, Purposes: purposes, Predicates: predicates}, stdout)
		}
	}
	if *reason == "" {
		return &exitError{2, errors.New("the store holds a policy: importing proposes a change, which needs --reason")}
	}
	if cfg.MongoURI != "" && af.hub == "" {
		return &exitError{2, errors.New("with --mongo-uri, give --hub URL: the proposal is made to a hub on that database")}
	}
	hc, err := af.client(cfg.DataDir, nil)
	if err != nil {
		return err
	}
	return proposeThroughHub(ctx, hc, policy.Set{Rules: rules, Groupings: groups, Purposes: purposes, Predicates: predicates}, *reason, stdout)
}

// importFirstPolicy imports set into a store that holds no policy, as version 1, through the
// policy files of the data directory (which openApp imports and puts on the ledger).
func importFirstPolicy(ctx context.Context, cfg config, file string, set policy.Set, stdout io.Writer) error {
	if set.Purposes == nil {
		set.Purposes = policy.Demo().Purposes
	}
	set.Version = 1
	if err := policy.WriteDir(cfg.path("policy"), set); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close(context.WithoutCancel(ctx))
	fmt.Fprintf(stdout, "imported %s as policy version 1 (%d rules)\n", file, len(set.Rules))
	return nil
}

// wireRule, wireGrouping and wireChange are the GraphQL shapes of policy.Rule, Grouping and Change.
type wireRule struct {
	Role       string `json:"role"`
	Department string `json:"department"`
	Object     string `json:"object"`
	Action     string `json:"action"`
	Purpose    string `json:"purpose"`
	Effect     string `json:"effect"`
}

type wireGrouping struct {
	Member     string `json:"member"`
	Role       string `json:"role"`
	Department string `json:"department"`
}

type wireChange struct {
	AddRules        []wireRule       `json:"addRules"`
	RemoveRules     []wireRule       `json:"removeRules"`
	AddGroupings    []wireGrouping   `json:"addGroupings"`
	RemoveGroupings []wireGrouping   `json:"removeGroupings"`
	AddPurposes     []policy.Purpose `json:"addPurposes"`
	RetirePurposes  []string         `json:"retirePurposes"`
	// policy.Predicate's JSON is the GraphQL input's shape (name, field, statement {kind min max}).
	AddPredicates    []policy.Predicate `json:"addPredicates"`
	RetirePredicates []string           `json:"retirePredicates"`
}

func toWireRules(rs []policy.Rule) []wireRule {
	out := make([]wireRule, len(rs))
	for i, r := range rs {
		out[i] = wireRule{r.Role, r.Department, r.Object, string(r.Action), r.Purpose, string(r.Effect)}
	}
	return out
}

func toWireGroupings(gs []policy.Grouping) []wireGrouping {
	out := make([]wireGrouping, len(gs))
	for i, g := range gs {
		out[i] = wireGrouping{g.Member, g.Role, g.Department}
	}
	return out
}

// The GraphQL documents govhub policy import sends; registered with every trusted-documents set
// (cliDocuments), so the command works whichever principals the mode restricts.
const (
	policyInForceDoc = `{ policyVersion { version predicates { name field statement { kind min max } } } policyRules { role department object action purpose effect }
  policyGroupings { member role department } purposes { code titleZh titleEn legalBasis } }`
	proposeDoc = `mutation($change: PolicyChangeInput!, $reason: String!) { proposePolicyChange(change: $change, reason: $reason) {
  id baseVersion proposedBy impact { department role purpose field before after } } }`
)

// cliDocuments are the GraphQL documents the govhub commands send to a hub as officers.
func cliDocuments() []string { return []string{policyInForceDoc, proposeDoc} }

// proposeThroughHub reads the policy in force from the hub, and proposes the difference to want
// (purposes nil: the registry stays as it is; predicates nil: the catalogue stays as it is) as the
// token's officer.
func proposeThroughHub(ctx context.Context, hc *hubClient, want policy.Set, reason string, stdout io.Writer) error {
	var cur struct {
		PolicyVersion struct {
			Version    uint64
			Predicates []policy.Predicate
		}
		PolicyRules     []wireRule
		PolicyGroupings []wireGrouping
		Purposes        []policy.Purpose
	}
	err := hc.query(ctx, policyInForceDoc, nil, &cur)
	if err != nil {
		return err
	}
	in := policy.Set{Version: cur.PolicyVersion.Version, Purposes: cur.Purposes, Predicates: cur.PolicyVersion.Predicates}
	for _, r := range cur.PolicyRules {
		in.Rules = append(in.Rules, policy.Rule{Role: r.Role, Department: r.Department, Object: r.Object,
			Action: policy.Action(r.Action), Purpose: r.Purpose, Effect: policy.Effect(r.Effect)})
	}
	for _, g := range cur.PolicyGroupings {
		in.Groupings = append(in.Groupings, policy.Grouping{Member: g.Member, Role: g.Role, Department: g.Department})
	}
	if want.Purposes == nil {
		want.Purposes = in.Purposes
	}
	if want.Predicates == nil {
		want.Predicates = in.Predicates
	}
	change := policy.Diff(in, want)
	if change.IsZero() {
		fmt.Fprintf(stdout, "the file holds the policy in force (version %d): nothing to propose\n", in.Version)
		return nil
	}
	wc := wireChange{AddRules: toWireRules(change.AddRules), RemoveRules: toWireRules(change.RemoveRules),
		AddGroupings: toWireGroupings(change.AddGroupings), RemoveGroupings: toWireGroupings(change.RemoveGroupings),
		AddPurposes: change.AddPurposes, RetirePurposes: change.RetirePurposes,
		AddPredicates: change.AddPredicates, RetirePredicates: change.RetirePredicates}
	var res struct {
		ProposePolicyChange struct {
			ID          string
			BaseVersion uint64
			ProposedBy  string
			Impact      []struct{ Department, Role, Purpose, Field, Before, After string }
		}
	}
	err = hc.query(ctx, proposeDoc, map[string]any{"change": wc, "reason": reason}, &res)
	if err != nil {
		return &exitError{1, err}
	}
	prop := res.ProposePolicyChange
	fmt.Fprintf(stdout, "proposal %s by %s against version %d: +%d −%d rules, +%d −%d groupings; %d decisions move. Another officer must approve it.\n",
		prop.ID, prop.ProposedBy, prop.BaseVersion, len(change.AddRules), len(change.RemoveRules), len(change.AddGroupings), len(change.RemoveGroupings), len(prop.Impact))
	for i, f := range prop.Impact {
		if i == 20 {
			fmt.Fprintf(stdout, "  … and %d more\n", len(prop.Impact)-20)
			break
		}
		fmt.Fprintf(stdout, "  %s/%s %s %s: %s → %s\n", f.Department, f.Role, f.Purpose, f.Field, f.Before, f.After)
	}
	return nil
}
