package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/govhub/govhub/governance"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/policy"
)

// Sealed accesses (hub/sealed.go, docs/SEALED.md): the hub's --oversight-key, the unseal job, the
// public counts at /sealed/counts, and the oversight body's commands.

// sealedCountsPath serves the public counts of sealed accesses per department.
const sealedCountsPath = "/sealed/counts"

// defaultUnsealInterval is how often the sequencing instance looks for sealed accesses due.
const defaultUnsealInterval = time.Minute

// parseOversightKey checks an --oversight-key: an age X25519 recipient (age1…).
func parseOversightKey(s string) (age.Recipient, error) {
	r, err := age.ParseX25519Recipient(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("--oversight-key: want an age X25519 recipient (age1…, as govhub sealed keygen prints): %w", err)
	}
	return r, nil
}

// sealer keeps sealed reads' details, or is nil without an oversight key: reads under a sealed
// purpose then fail closed.
func (a *app) sealer() (*hub.Sealer, error) {
	if a.cfg.OversightKey == "" {
		return nil, nil
	}
	r, err := parseOversightKey(a.cfg.OversightKey)
	if err != nil {
		return nil, err
	}
	return hub.NewSealer(a.storage.store, a.keys.master, r)
}

// openSealed builds the sealed accesses' capability and the early-unseal workflow, and starts the
// unseal job.
func (a *app) openSealed(life context.Context, engine *policy.Engine) error {
	var err error
	if a.sealed, err = hub.NewSealed(hub.SealedConfig{Reader: a.reader, Log: a.storage.store, Entries: a.log.Reader()}); err != nil {
		return err
	}
	if a.unseals, err = governance.NewEarlyUnseals(governance.EarlyUnsealsConfig{Sealed: a.sealed, Proposals: a.storage.store,
		Ledger: a.ledger(), Policy: engine, Officials: a.officials}); err != nil {
		return err
	}
	if a.cfg.OversightKey != "" {
		go a.unsealPeriodically(life)
	}
	return nil
}

// unsealPeriodically discloses the sealed accesses whose date has come, on the instance that
// sequences the ledger (any instance could: UnsealDue is idempotent; one keeps the ledger free of
// duplicates).
func (a *app) unsealPeriodically(ctx context.Context) {
	every := a.cfg.UnsealInterval
	if every <= 0 {
		every = defaultUnsealInterval
	}
	for {
		if a.log.Leading() {
			n, err := a.sealed.UnsealDue(ctx)
			if err != nil && ctx.Err() == nil {
				a.cfg.Logger.WarnContext(ctx, "unsealing sealed accesses", slog.String("error", err.Error()))
			}
			if n > 0 {
				a.cfg.Logger.InfoContext(ctx, "sealed accesses unsealed", slog.Int("count", n))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// sealedCounts serves the public counts: {"format": "govhub/sealed-counts/v1", "departments":
// [{"department": "public-security", "count": 3}, …]}. Counts only: no dates, no indexes.
func (a *app) sealedCounts(w http.ResponseWriter, r *http.Request) {
	counts, err := a.sealed.Counts(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		a.cfg.Logger.WarnContext(r.Context(), "sealed access counts", slog.String("error", err.Error()))
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": "sealed access counts are not available"})
		return
	}
	json.NewEncoder(w).Encode(struct {
		Format      string                `json:"format"`
		Departments []hub.DepartmentCount `json:"departments"`
	}{"govhub/sealed-counts/v1", counts})
}

const sealedUsage = `usage: govhub sealed <subcommand> [flags]

subcommands:
  keygen --out FILE
                  write the oversight body's age identity (mode 0600) and print its recipient,
                  the hub's --oversight-key
  read --identity FILE
                  the oversight body reads every sealed access's details before unsealing (the
                  hub's database, read-only), one JSON object a line; an access whose citizen
                  was erased shows "erased": true and no details (they were destroyed)

Run 'govhub sealed <subcommand> -h' for its flags.
`

// cmdSealed runs the oversight body's commands.
func cmdSealed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, sealedUsage)
		return &exitError{2, errors.New("sealed needs a subcommand: keygen or read")}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, sealedUsage)
		return nil
	case "keygen":
		return cmdSealedKeygen(args[1:], stdout, stderr)
	case "read":
		return cmdSealedRead(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, sealedUsage)
	return &exitError{2, fmt.Errorf("unknown sealed subcommand %q", args[0])}
}

func cmdSealedKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sealed keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "file to write the identity to (created, mode 0600; an existing file is refused)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return &exitError{2, errors.New("sealed keygen needs --out FILE")}
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing the oversight identity: %w", err)
	}
	if _, err := fmt.Fprintf(f, "# govhub oversight body identity; public key: %s\n%s\n", id.Recipient(), id); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, id.Recipient())
	return err
}

// sealedLine is one line of govhub sealed read.
type sealedLine struct {
	Index       *uint64 `json:"index"` // null: its request failed before the entry was acknowledged
	UnsealOn    string  `json:"unsealOn"`
	Unsealed    bool    `json:"unsealed"`
	UnsealIndex *uint64 `json:"unsealIndex,omitempty"`
	ID          string  `json:"id"`
	Salt        string  `json:"salt,omitempty"`
	Details     string  `json:"details,omitempty"`
	// Erased: its citizen's data was lawfully erased, and its details and salt with it.
	Erased bool `json:"erased,omitempty"`
}

func cmdSealedRead(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sealed read", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	identity := fs.String("identity", "", "the oversight body's age identity file (govhub sealed keygen)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *identity == "" {
		return &exitError{2, errors.New("sealed read needs --identity FILE")}
	}
	f, err := os.Open(*identity)
	if err != nil {
		return fmt.Errorf("reading the oversight identity: %w", err)
	}
	ids, err := age.ParseIdentities(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("reading the oversight identity %s: %w", *identity, err)
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
	all, err := st.store.SealedAccesses(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, a := range all {
		if a.Erased {
			line := sealedLine{UnsealOn: a.UnsealOn.Format(time.DateOnly), Unsealed: a.Unsealed, ID: a.ID, Erased: true}
			if a.Indexed {
				line.Index = &a.Index
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
			continue
		}
		rec, err := hub.OpenOversight(a.Oversight, ids...)
		if err != nil {
			fmt.Fprintf(stderr, "sealed access %s: %v\n", a.ID, err)
			failed++
			continue
		}
		line := sealedLine{UnsealOn: a.UnsealOn.Format(time.DateOnly), Unsealed: a.Unsealed, ID: rec.ID, Salt: rec.Salt, Details: rec.Details}
		if a.Indexed {
			line.Index = &a.Index
		}
		if a.Unsealed {
			line.UnsealIndex = &a.UnsealIndex
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d sealed accesses could not be read with this identity", failed, len(all))
	}
	return nil
}
