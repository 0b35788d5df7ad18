package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
)

const verifyProofUsage = `usage: govhub verify-proof FILE [--context ID] [--on YYYY-MM-DD]
       govhub verify-proof --commitment HEX --kind atLeast|atMost|between|ageAtLeast [--min N] [--max N] --context ID --proof HEX`

const verifyProofHelp = `
Checks, offline, the range proofs a GovHub answer carries: that the value committed to in a
Pedersen commitment satisfies a predicate's statement (package crypto/rangeproof), for the access
named by the proof's context (the request id on the access entry's request-id line).

FILE is a GraphQL response saved as JSON (or one PredicateProof object): every object in it with
"holds", "predicate", "commitment" and "context" is checked, e.g. from

  { citizen(id: "C000001", purpose: "home-purchase-eligibility") { socialInsurance {
      contributionMonths { proof(predicate: "atLeast60") {
        holds proof context commitment { point } predicate { name statement { kind min max } } } } } } }

A predicate about a date (kind ageAtLeast, e.g. adult: identity.birthDate at least 18 years) is
proven on the day it was asked: its context is "govhub/age/v1 on YYYY-MM-DD request ID", and the
proof shows that the committed date (a day number, commitment scheme pedersen-bls12381-g1/v2) is on
or before that day, min years back. The day is printed; --on requires it.

Without FILE, the flags give one proof. With FILE, --context requires every proof's context to be
that request id (take it from the access entry the citizen or an auditor sees).

Prints one line per proof, OK or FAIL with the reason; exits 0 when every proof is valid, 1 when
one is not (or when the answer was that a predicate does not hold: there is no proof of that to
check), 2 on a usage error.

flags:`

// provenClaim is one proof to check: what the hub claimed, as a PredicateProof in its JSON form.
type provenClaim struct {
	where      string
	name       string
	holds      bool
	commitment string
	statement  rangeproof.Statement
	context    string
	proof      string
	// age is the predicate's own statement when it is about a date (kind ageAtLeast): the proven
	// statement is then derived from the day in the context (see ageStatement).
	age *policy.Statement
	// on and requestID are the parts of an age proof's context.
	on, requestID string
}

// ageStatement turns an age predicate's statement into the range-proof statement, from the day
// asked that its context names.
func (c *provenClaim) ageStatement() error {
	on, id, err := hub.ParseAgeContext([]byte(c.context))
	if err != nil {
		return err
	}
	st, err := hub.StatementOn(policy.Predicate{Statement: *c.age}, on)
	if err != nil {
		return err
	}
	c.on, c.requestID, c.statement = on, id, st
	return nil
}

func cmdVerifyProof(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-proof", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), verifyProofUsage)
		fmt.Fprintln(fs.Output(), verifyProofHelp)
		fs.PrintDefaults()
	}
	commitment := fs.String("commitment", "", "the commitment (compressed G1 point, 96 hex digits)")
	kind := fs.String("kind", "", "the statement's kind: atLeast (value ≥ min), atMost (value ≤ max) or between (min ≤ value ≤ max)")
	lo := fs.Int64("min", 0, "the statement's minimum (atLeast, between)")
	hi := fs.Int64("max", 0, "the statement's maximum (atMost, between)")
	context := fs.String("context", "", "the proof's context: the request id on the access entry (with a FILE; without, an age proof's whole context)")
	on := fs.String("on", "", "require age proofs to have been asked on this day (YYYY-MM-DD)")
	proofHex := fs.String("proof", "", "the proof, hex")
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	var claims []provenClaim
	switch {
	case len(files) == 1 && *commitment == "" && *kind == "" && *proofHex == "":
		data, err := os.ReadFile(files[0])
		if err != nil {
			return err
		}
		if claims, err = claimsOf(data); err != nil {
			return &exitError{1, fmt.Errorf("%s: %w", files[0], err)}
		}
		if len(claims) == 0 {
			fmt.Fprintf(stdout, "FAIL: %s holds no proof (no object with holds, predicate, commitment and context)\n", files[0])
			return &exitError{1, errors.New("no proof found")}
		}
	case len(files) == 0 && *commitment != "" && *kind != "" && *proofHex != "":
		c := provenClaim{where: "flags", holds: true, commitment: *commitment,
			statement: rangeproof.Statement{Kind: rangeproof.Kind(*kind), Min: *lo, Max: *hi}, context: *context, proof: *proofHex}
		if *kind == policy.StatementAgeAtLeast {
			c.age = &policy.Statement{Kind: *kind, Min: *lo, Max: *hi}
			if err := c.ageStatement(); err != nil {
				return &exitError{2, fmt.Errorf("--context: %w", err)}
			}
		}
		claims = []provenClaim{c}
	default:
		return &exitError{2, errors.New(verifyProofUsage)}
	}
	failed := 0
	for _, c := range claims {
		if err := c.check(*context, *on, len(files) == 1); err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL: %s: %v\n", c.label(), err)
			continue
		}
		if c.age != nil {
			born, _ := commit.DateOfDay(c.statement.Max)
			fmt.Fprintf(stdout, "OK: %s: the date committed to in %s… is on or before %s: %s on %s (asked on that day, UTC); the proof is bound to request %q\n",
				c.label(), c.commitment[:16], born, c.age, c.on, c.requestID)
			continue
		}
		fmt.Fprintf(stdout, "OK: %s: the value committed to in %s… satisfies %s; the proof is bound to context %q\n",
			c.label(), c.commitment[:16], c.statement, c.context)
	}
	if failed > 0 {
		return &exitError{1, fmt.Errorf("%d of %d proofs did not verify", failed, len(claims))}
	}
	return nil
}

func (c provenClaim) label() string {
	if c.name == "" {
		return c.where
	}
	return c.where + " (" + c.name + ")"
}

// check verifies one claim; wantContext, if set, must be its context (an age proof's request id),
// and wantOn, if set, the day an age proof was asked on.
func (c provenClaim) check(wantContext, wantOn string, fromFile bool) error {
	bound := c.context
	if c.age != nil {
		bound = c.requestID
		if wantOn != "" && c.on != wantOn {
			return fmt.Errorf("the proof was asked on %s, not %s: it is another day's answer", c.on, wantOn)
		}
	} else if wantOn != "" {
		return fmt.Errorf("--on applies to proofs about dates; this predicate (%s) is about an integer", c.statement)
	}
	if fromFile && wantContext != "" && bound != wantContext {
		return fmt.Errorf("the proof is bound to context %q, not %q: it answers another access", bound, wantContext)
	}
	if !c.holds {
		return fmt.Errorf("the answer is that the predicate (%s) does not hold: there is no proof to check", c.statement)
	}
	if c.proof == "" {
		return errors.New("the answer says the predicate holds but carries no proof")
	}
	cm, err := commit.ParseCommitment(c.commitment)
	if err != nil {
		return fmt.Errorf("the commitment: %w", err)
	}
	if err := c.statement.Validate(); err != nil {
		return fmt.Errorf("the statement: %w", err)
	}
	proof, err := hex.DecodeString(c.proof)
	if err != nil {
		return fmt.Errorf("the proof is not hex: %w", err)
	}
	if err := rangeproof.Verify(cm, c.statement, []byte(c.context), proof); err != nil {
		switch {
		case errors.Is(err, rangeproof.ErrMalformed):
			return fmt.Errorf("the proof is malformed: %w", err)
		case errors.Is(err, rangeproof.ErrRejected):
			return fmt.Errorf("the proof does not verify for this commitment, statement and context (any of them changed, or a forged proof): %w", err)
		}
		return err
	}
	return nil
}

// claimsOf finds every PredicateProof object in a JSON document, depth first, keys in order.
func claimsOf(data []byte) ([]provenClaim, error) {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	var out []provenClaim
	var walk func(v any, path string) error
	walk = func(v any, path string) error {
		switch v := v.(type) {
		case map[string]any:
			if c, ok, err := claimOf(v, path); ok || err != nil {
				if err != nil {
					return err
				}
				out = append(out, c)
				return nil
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if err := walk(v[k], strings.TrimPrefix(path+"."+k, ".")); err != nil {
					return err
				}
			}
		case []any:
			for i, x := range v {
				if err := walk(x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(doc, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// claimOf reads a PredicateProof object; ok is false for any other object.
func claimOf(m map[string]any, path string) (provenClaim, bool, error) {
	holds, ok1 := m["holds"].(bool)
	pred, ok2 := m["predicate"].(map[string]any)
	cm, ok3 := m["commitment"].(map[string]any)
	ctx, ok4 := m["context"].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return provenClaim{}, false, nil
	}
	c := provenClaim{where: path, holds: holds, context: ctx}
	c.name, _ = pred["name"].(string)
	if c.commitment, _ = cm["point"].(string); c.commitment == "" {
		return c, true, fmt.Errorf("%s: the commitment has no point", path)
	}
	st, ok := pred["statement"].(map[string]any)
	if !ok {
		return c, true, fmt.Errorf("%s: the predicate has no statement (select predicate { statement { kind min max } })", path)
	}
	kind, _ := st["kind"].(string)
	c.statement.Kind = rangeproof.Kind(kind)
	var err error
	if c.statement.Min, err = jsonInt(st["min"]); err != nil {
		return c, true, fmt.Errorf("%s: statement min: %w", path, err)
	}
	if c.statement.Max, err = jsonInt(st["max"]); err != nil {
		return c, true, fmt.Errorf("%s: statement max: %w", path, err)
	}
	c.proof, _ = m["proof"].(string)
	if kind == policy.StatementAgeAtLeast {
		c.age = &policy.Statement{Kind: kind, Min: c.statement.Min, Max: c.statement.Max}
		if err := c.ageStatement(); err != nil {
			return c, true, fmt.Errorf("%s: %w", path, err)
		}
	}
	if len(c.commitment) < 16 {
		return c, true, fmt.Errorf("%s: the commitment %q is too short", path, c.commitment)
	}
	return c, true, nil
}

// jsonInt reads an Int64 as GraphQL writes it (a number, or a string for large values).
func jsonInt(v any) (int64, error) {
	switch v := v.(type) {
	case nil:
		return 0, nil
	case float64:
		if v != float64(int64(v)) {
			return 0, fmt.Errorf("%v is not an integer", v)
		}
		return int64(v), nil
	case string:
		var n int64
		_, err := fmt.Sscan(v, &n)
		return n, err
	}
	return 0, fmt.Errorf("%v is not a number", v)
}
