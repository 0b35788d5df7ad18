package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
)

// runMainEnv makes the test binary run the govhub command instead of the tests.
const runMainEnv = "GOVHUB_TEST_MAIN"

// govhubProcess runs the govhub command (this test binary, re-executed) in the background.
func govhubProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("last process output:\n%s", tail(logs.String(), 2000))
		}
	})
	return cmd
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// hubBase waits for the hub process cmd to leave its address in dataDir (hub.addr, naming its pid:
// a file left by an earlier process is not it) and returns its URL. A hub given --addr 127.0.0.1:0
// takes a port of its own, which no other test can take between a check and the hub's bind.
func hubBase(t *testing.T, dataDir string, cmd *exec.Cmd) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var a hubAddr
		b, err := os.ReadFile(filepath.Join(dataDir, hubAddrFile))
		if err == nil && json.Unmarshal(b, &a) == nil && a.PID == cmd.Process.Pid && a.URL != "" {
			return strings.TrimSuffix(a.URL, "/")
		}
	}
	t.Fatalf("the hub (pid %d) left no address in %s", cmd.Process.Pid, dataDir)
	return ""
}

func waitHealthy(t *testing.T, base string, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the hub did not come up at %s", base)
}

// acked is a request the hub answered: its receipt, and for an update the version it made.
type acked struct {
	index    uint64
	leafHash []byte
	citizen  string
	update   bool
	round    int
}

// post sends one GraphQL request and returns the receipt of a successful answer.
func post(client *http.Client, base, token, query string, vars map[string]any) (*acked, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err // the answer did not arrive whole: not acknowledged
	}
	var r struct {
		Errors     []any `json:"errors"`
		Extensions struct {
			Ledger *struct {
				Index    uint64 `json:"index"`
				LeafHash string `json:"leafHash"`
			} `json:"ledger"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if len(r.Errors) > 0 || r.Extensions.Ledger == nil {
		return nil, fmt.Errorf("refused: %s", b)
	}
	lh, _ := base64.StdEncoding.DecodeString(r.Extensions.Ledger.LeafHash)
	return &acked{index: r.Extensions.Ledger.Index, leafHash: lh}, nil
}

// The crash test: concurrent reads and updates through the real hub process, killed with SIGKILL
// at random moments 20 times and restarted. Every acknowledged request must be in the tree
// afterwards, `govhub ledger verify` must pass (tree, checkpoints, and every record against the
// update entry that wrote it), and no acknowledged update may be lost.
func TestCrashSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: 20 kills and restarts")
	}
	const citizens, kills = 12, 20
	dir := t.TempDir()

	tokenOf := func(args ...string) string {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), append([]string{"token", "--data-dir", dir, "--ttl", "1h"}, args...), &out, &errOut); err != nil {
			t.Fatalf("token: %v %s", err, errOut.String())
		}
		return strings.TrimSpace(out.String())
	}
	var taxTok, housingTok string // minted once the first hub has created the issuer key

	var (
		mu   sync.Mutex
		acks []acked
	)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round <= kills; round++ {
		cmd := govhubProcess(t, "demo", "--data-dir", dir, "--addr", "127.0.0.1:0", "--citizens", fmt.Sprint(citizens), "--log-level", "warn")
		base := hubBase(t, dir, cmd)
		waitHealthy(t, base, cmd)
		if round == 0 {
			taxTok = tokenOf("--kind", "department", "--department", "tax", "--role", "clerk")
			housingTok = tokenOf("--kind", "department", "--department", "housing", "--role", "clerk")
		}
		ctx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 10 * time.Second}
				for i := 0; ctx.Err() == nil; i++ {
					id := fmt.Sprintf("C%06d", 1+(w*7+i)%citizens)
					var a *acked
					var err error
					if w%2 == 0 {
						income := 100000 + round*1000 + i
						a, err = post(client, base, taxTok, `mutation($id: ID!, $inc: Int64!, $paid: Int64!) {
						  updateTax(citizenId: $id, purpose: "tax-administration", input: {annualIncome: $inc, taxPaid: $paid}) { version } }`,
							map[string]any{"id": id, "inc": income, "paid": income / 10})
						if a != nil {
							a.update = true
						}
					} else {
						a, err = post(client, base, housingTok, `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { identity { name } tax { annualIncome { commitment { version } } } } }`,
							map[string]any{"id": id})
					}
					if err != nil {
						continue // not acknowledged (the hub is dying, or refused)
					}
					a.citizen, a.round = id, round
					mu.Lock()
					acks = append(acks, *a)
					mu.Unlock()
				}
			}()
		}
		if round < kills {
			time.Sleep(time.Duration(150+rng.IntN(700)) * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
		} else {
			// The last round runs until the load has shown itself (the checks below), for at most
			// 30 s on a loaded machine, then stops the hub cleanly.
			time.Sleep(500 * time.Millisecond)
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				mu.Lock()
				n, u := len(acks), 0
				for _, a := range acks {
					if a.update {
						u++
					}
				}
				mu.Unlock()
				if n >= 100 && u >= 20 && n-u >= 20 {
					break
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
		}
		cmd.Wait()
		stop()
		wg.Wait()
	}
	// The checks below hold vacuously for requests that were never acknowledged: the load must have
	// run, reads and updates alike, and the hub must have served again after at least half of its restarts.
	updates, rounds := 0, map[int]bool{}
	for _, a := range acks {
		if a.update {
			updates++
		}
		rounds[a.round] = true
	}
	if len(acks) < 100 || updates < 20 || len(acks)-updates < 20 || len(rounds) < (kills+1)/2 {
		t.Fatalf("%d requests acknowledged (%d updates) in %d of %d rounds: the load did not run", len(acks), updates, len(rounds), kills+1)
	}

	// The ledger and every record verify.
	out, err := runVerify(t, dir)
	if err != nil {
		t.Fatalf("govhub ledger verify after %d kills = %v:\n%s", kills, err, out)
	}
	t.Logf("%d acknowledged requests (%d updates) in %d of %d rounds, over %d kills; %s", len(acks), updates, len(rounds), kills+1, kills, strings.TrimSpace(out))

	// Every acknowledged request is in the tree at its index, and no acknowledged update is lost.
	h := &testHub{t: t, dir: dir}
	h.open()
	if err := h.app.log.WaitCaughtUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	size := h.app.log.Integrated().Size
	latest := map[string]uint64{}
	for _, a := range acks {
		if a.index >= size {
			t.Fatalf("acknowledged entry %d is not in the tree of size %d", a.index, size)
		}
		raw, err := h.app.log.Reader().Entry(t.Context(), a.index)
		if err != nil {
			t.Fatalf("acknowledged entry %d: %v", a.index, err)
		}
		if lh := ledger.LeafHash(raw); !bytes.Equal(lh[:], a.leafHash) {
			t.Fatalf("entry %d is not the one acknowledged", a.index)
		}
		if a.update && a.index > latest[a.citizen] {
			latest[a.citizen] = a.index
		}
	}
	for citizen, v := range latest {
		rec, err := h.app.storage.store.Record(t.Context(), citizen, "tax")
		if err != nil || rec.Version < v {
			t.Errorf("%s's tax record is at version %d (%v), but an update at %d was acknowledged", citizen, rec.Version, err, v)
		}
	}

	// Every acknowledged read is in its citizen's access log, as myAccesses pages it.
	logged := map[string]map[uint64]bool{}
	for i := 1; i <= citizens; i++ {
		id := fmt.Sprintf("C%06d", i)
		logged[id] = map[uint64]bool{}
		p := auth.Principal{Kind: auth.KindCitizen, Subject: id}
		for after := ""; ; {
			page, err := h.app.citizens.Accesses(t.Context(), p, hub.MaxAccessPage, after)
			if err != nil {
				t.Fatalf("the access log of %s: %v", id, err)
			}
			for _, a := range page.Accesses {
				logged[id][a.Index] = true
			}
			if !page.HasNext {
				break
			}
			after = page.EndCursor
		}
	}
	reads := 0
	for _, a := range acks {
		if a.update {
			continue
		}
		reads++
		if !logged[a.citizen][a.index] {
			t.Errorf("acknowledged read %d of %s is not in their access log", a.index, a.citizen)
		}
	}
	t.Logf("%d acknowledged reads, each in its citizen's access log", reads)
}
