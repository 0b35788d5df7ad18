package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
)

// statusPath is the operators' endpoint: the hub's operational status, for operator tokens only.
const statusPath = "/admin/status"

// hubStatus is what the operators' endpoint answers: how the hub runs, nothing about citizens, the
// policy or the entries' contents.
type hubStatus struct {
	Started time.Time `json:"started"`
	// Store is "embedded" (FerretDB in the hub's process) or "mongodb" (--mongo-uri).
	Store string `json:"store"`
	// Leading: this instance sequences and integrates the ledger (the others forward to it).
	Leading    bool             `json:"leading"`
	Integrated checkpointStatus `json:"integrated"`
	Published  checkpointStatus `json:"published"`
	// Cosignatures counts the signatures on the published checkpoint besides the hub's own.
	Cosignatures  int      `json:"cosignatures"`
	Witnesses     []string `json:"witnesses"`
	WitnessQuorum int      `json:"witnessQuorum"`
	// Mirrors: the department mirrors (--mirror) and what their quorum holds; nil without any.
	Mirrors *mirrorsStatus `json:"mirrors,omitempty"`
	// LedgerFailure is why the ledger stopped accepting appends ("" while it works).
	LedgerFailure string `json:"ledgerFailure,omitempty"`
	// NoopLedger: the benchmark-only build, whose reads are not logged (noopledger_on.go).
	NoopLedger bool `json:"noopLedger,omitempty"`
}

type mirrorsStatus struct {
	URLs   []string `json:"urls"`
	Quorum int      `json:"quorum"`
	// Mirrored is the size the quorum holds; OldestSeconds how long the oldest acknowledged entry
	// beyond it has waited; WindowP50/P99Seconds the recent acknowledgement-to-quorum times.
	Mirrored         uint64  `json:"mirrored"`
	OldestSeconds    float64 `json:"oldestUnmirroredSeconds"`
	WindowP50Seconds float64 `json:"windowP50Seconds"`
	WindowP99Seconds float64 `json:"windowP99Seconds"`
	RefusingAppends  string  `json:"refusingAppends,omitempty"`
}

type checkpointStatus struct {
	Size uint64 `json:"size"`
	Root string `json:"root"`
}

func checkpointOf(cp ledger.Checkpoint) checkpointStatus {
	return checkpointStatus{Size: cp.Size, Root: base64.StdEncoding.EncodeToString(cp.Root[:])}
}

// statusHandler serves hubStatus as JSON (mount it behind the auth middleware and onlyKind).
func (a *app) statusHandler(started time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := hubStatus{Started: started.UTC(), Store: "mongodb", Leading: a.log.Leading(),
			Integrated: checkpointOf(a.log.Integrated()), Published: checkpointOf(a.log.Latest()),
			WitnessQuorum: a.witnessQuorum, Witnesses: []string{}, NoopLedger: noopLedgerBuild}
		if a.storage.store.Embedded() {
			st.Store = "embedded"
		}
		// Signature lines of a signed note start with "— "; the first is the hub's own.
		if n := strings.Count(string(a.log.Latest().Note), "\n— "); n > 1 {
			st.Cosignatures = n - 1
		}
		for _, w := range a.cfg.Witnesses {
			st.Witnesses = append(st.Witnesses, w.URL)
		}
		if a.mirrors != nil {
			ms := a.mirrors.Status()
			st.Mirrors = &mirrorsStatus{Quorum: ms.Quorum, Mirrored: ms.Mirrored, OldestSeconds: ms.Oldest.Seconds(),
				WindowP50Seconds: ms.P50.Seconds(), WindowP99Seconds: ms.P99.Seconds()}
			for _, m := range a.cfg.Mirrors {
				st.Mirrors.URLs = append(st.Mirrors.URLs, m.URL)
			}
			if err := a.mirrors.Behind(); err != nil {
				st.Mirrors.RefusingAppends = err.Error()
			}
		}
		if err := a.log.Failed(); err != nil {
			st.LedgerFailure = err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(st)
	})
}

const statusUsage = `usage: govhub status [--data-dir D | --hub URL] [--token T] [--json]

Prints the running hub's operational status (ledger sizes, checkpoint, witnesses, store), asked of
the hub's operator endpoint with an operator token: --token, $GOVHUB_TOKEN, or one minted for the
moment with the data directory's issuer key.

flags:
`

// cmdStatus prints a running hub's status.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), statusUsage)
		fs.PrintDefaults()
	}
	dataDir := fs.String("data-dir", defaultDataDir, "the hub's data directory (to find the hub and its issuer key)")
	var af adminFlags
	af.register(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := af.client(*dataDir, mintToken(*dataDir, auth.Principal{Kind: auth.KindOperator, Subject: cliSubject()}))
	if err != nil {
		return err
	}
	var st hubStatus
	if err := c.do(ctx, http.MethodGet, statusPath, nil, &st); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(st)
	}
	role := "follower (forwards appends to the leading instance)"
	if st.Leading {
		role = "leading (sequences and integrates the ledger)"
	}
	fmt.Fprintf(stdout, "hub:          %s, up %s, %s store\n", c.url, time.Since(st.Started).Round(time.Second), st.Store)
	fmt.Fprintf(stdout, "instance:     %s\n", role)
	fmt.Fprintf(stdout, "integrated:   %d entries, root %s\n", st.Integrated.Size, st.Integrated.Root)
	fmt.Fprintf(stdout, "published:    %d entries, %d cosignatures (quorum %d of %d witnesses)\n", st.Published.Size, st.Cosignatures, st.WitnessQuorum, len(st.Witnesses))
	for _, w := range st.Witnesses {
		fmt.Fprintf(stdout, "  witness     %s\n", w)
	}
	if m := st.Mirrors; m != nil {
		fmt.Fprintf(stdout, "mirrored:     %d entries held by %d of %d mirrors; acknowledgement to quorum p50 %.2f s, p99 %.2f s\n",
			m.Mirrored, m.Quorum, len(m.URLs), m.WindowP50Seconds, m.WindowP99Seconds)
		for _, u := range m.URLs {
			fmt.Fprintf(stdout, "  mirror      %s\n", u)
		}
		if m.RefusingAppends != "" {
			fmt.Fprintf(stdout, "MIRRORS BEHIND: %s\n", m.RefusingAppends)
		}
	}
	if st.NoopLedger {
		fmt.Fprintln(stdout, "BENCHMARK BUILD: reads are not logged on the ledger (built with -tags govhub_noopledger)")
	}
	if st.LedgerFailure != "" {
		fmt.Fprintf(stdout, "LEDGER FAILED: %s\n", st.LedgerFailure)
		return &exitError{1, fmt.Errorf("the hub's ledger has failed")}
	}
	return nil
}
