package main

// Sealed access in the demo (docs/SEALED.md): the demo keeps an oversight body's key in its data
// directory, registers a sealed purpose through the officers' maker-checker workflow (a policy
// file may not register one), and prints a token for a public-security investigator who may read
// under it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// demoOversightFile is the demo's oversight body identity, in its data directory (mode 0600). A
// real oversight body keeps its identity away from the hub; the demo keeps it here so that
// govhub sealed read works on a fresh demo.
const demoOversightFile = "oversight-demo.key"

// demoSealedPurpose is the sealed purpose the demo registers, for at most demoMaxSealDays.
const (
	demoSealedPurpose = "criminal-investigation"
	demoMaxSealDays   = 365
)

// demoInvestigator may read under the sealed purpose: identity and property in clear, income as a
// commitment.
var demoInvestigator = auth.Principal{Kind: auth.KindDepartment, Department: "public-security", Role: "investigator", Subject: "investigator-1"}

// demoOversightKey returns the recipient of the demo's oversight identity in dataDir, creating the
// identity (mode 0600) on first start, and the identity file's path.
func demoOversightKey(dataDir string) (string, string, error) {
	path := filepath.Join(dataDir, demoOversightFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return "", "", fmt.Errorf("creating data directory: %w", err)
		}
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return "", "", err
		}
		text := fmt.Sprintf("# govhub demo oversight body identity; public key: %s\n%s\n", id.Recipient(), id)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", "", fmt.Errorf("writing the demo's oversight identity: %w", err)
		}
		if _, err := io.WriteString(f, text); err != nil {
			f.Close()
			return "", "", err
		}
		if err := f.Close(); err != nil {
			return "", "", err
		}
		return id.Recipient().String(), path, nil
	}
	if err != nil {
		return "", "", fmt.Errorf("reading the demo's oversight identity: %w", err)
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(b)))
	if err != nil || len(ids) != 1 {
		return "", "", fmt.Errorf("the demo's oversight identity %s: want one age X25519 identity (%v)", path, err)
	}
	x, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return "", "", fmt.Errorf("the demo's oversight identity %s is not an X25519 identity", path)
	}
	return x.Recipient().String(), path, nil
}

// demoSealedMeta marks, in the store's meta documents, a demo whose sealed purpose was registered
// once: an officer who retires it later does not see it come back at the next start.
const demoSealedMeta = "demo-sealed-purpose"

// registerDemoSealedPurpose registers the demo's sealed purpose and the investigator's rules
// through the officers' workflow (officer-1 proposes, officer-2 approves), once per store: not if
// the policy in force has the purpose, nor if it was registered before (and retired since).
func registerDemoSealedPurpose(ctx context.Context, a *app) error {
	var done struct {
		Version uint64 `bson:"version"`
	}
	switch err := a.storage.store.Meta(ctx, demoSealedMeta, &done); {
	case err == nil:
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("reading whether the demo's sealed purpose was registered: %w", err)
	}
	if _, ok := a.reader.Policy().Purpose(demoSealedPurpose); ok {
		return a.storage.store.PutMeta(ctx, demoSealedMeta, done)
	}
	change := demoSealedChange()
	proposer := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-1"}
	approver := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-2"}
	p, err := a.officers.ProposePolicyChange(ctx, proposer, change, "demo: court-ordered criminal investigations, sealed for at most a year")
	if err != nil {
		return fmt.Errorf("proposing the demo's sealed purpose: %w", err)
	}
	v, err := a.officers.ApprovePolicyChange(ctx, approver, p.ID)
	if err != nil {
		return fmt.Errorf("approving the demo's sealed purpose: %w", err)
	}
	done.Version = v.Version
	if err := a.storage.store.PutMeta(ctx, demoSealedMeta, done); err != nil {
		return fmt.Errorf("recording that the demo's sealed purpose was registered: %w", err)
	}
	a.cfg.Logger.InfoContext(ctx, "demo sealed purpose registered through the officers' workflow", slog.String("purpose", demoSealedPurpose))
	return nil
}

// demoSealedQuery is the investigator's sealed read the demo prints.
const demoSealedQuery = `query Sealed($id: ID!, $order: String!, $unseal: Date!) { citizen(id: $id, purpose: "criminal-investigation", courtOrder: $order, unsealOn: $unseal) { id identity { name address { value } } property { city area } tax { annualIncome { commitment { point } } } } }`

// demoCourtOrder is the court-order reference of the printed sealed read.
const demoCourtOrder = "(2026)京0105刑侦字第1号"

// printDemoSealed prints where the oversight identity is and the investigator's example.
func printDemoSealed(w io.Writer, base, oversightFile string, now time.Time) {
	if oversightFile != "" {
		fmt.Fprintf(w, "Sealed access: the oversight body's identity (private, mode 0600) is %s;\n", oversightFile)
		fmt.Fprintf(w, "  sealed reads' details are encrypted to it. Read them before unsealing with\n  govhub sealed read --data-dir %s --identity %s\n\n", filepath.Dir(oversightFile), oversightFile)
	}
	unseal := now.UTC().AddDate(0, 0, 90).Format(time.DateOnly)
	body := fmt.Sprintf(`{"query":%q,"variables":{"id":%q,"order":%q,"unseal":%q}}`, demoSealedQuery, exampleCitizen, demoCourtOrder, unseal)
	fmt.Fprintf(w, "Example: a sealed read under a court order (purpose %s, sealed for at most %d days); %s's log\nshows only \"a sealed access under a court order\" until %s\n\n", demoSealedPurpose, demoMaxSealDays, exampleCitizen, unseal)
	fmt.Fprintf(w, "curl -s %s/graphql -H \"Authorization: Bearer $INVESTIGATOR_TOKEN\" -H 'Content-Type: application/json' \\\n  -d '%s'\n\n", base, body)
}

// demoSealedChange is the policy change that registers the demo's sealed purpose and what the
// investigator may read under it.
func demoSealedChange() policy.Change {
	rule := func(object string, action policy.Action) policy.Rule {
		return policy.Rule{Role: demoInvestigator.Role, Department: demoInvestigator.Department, Object: object, Action: action,
			Purpose: demoSealedPurpose, Effect: policy.EffectAllow}
	}
	return policy.Change{
		AddPurposes: []policy.Purpose{{Code: demoSealedPurpose, TitleZh: "刑事侦查（密封）", TitleEn: "Criminal investigation (sealed)",
			LegalBasis: "《中华人民共和国刑事诉讼法》第一百五十条、第一百五十四条；法院令 (Criminal Procedure Law of the PRC, arts. 150 and 154; a court order)",
			Sealed:     true, MaxSealDays: demoMaxSealDays}},
		AddRules: []policy.Rule{rule("identity.*", policy.ActionReveal), rule("property.*", policy.ActionReveal),
			rule("tax.annualIncome", policy.ActionCommit)},
	}
}
