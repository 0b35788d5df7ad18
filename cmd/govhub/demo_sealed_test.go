package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/policy"
)

// TestDemoSealedRead: on a fresh demo, the printed sealed read runs as printed with the
// investigator's token, shows in the citizen's log as a sealed access and nothing more, and the
// oversight body reads its details with the identity the demo kept (0600, never printed).
func TestDemoSealedRead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo")
	}
	addr, dir := "127.0.0.1:0", t.TempDir() // the demo prints the port it took
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--addr", addr, "--data-dir", dir, "--citizens", "3", "--log-level", "warn"}, &out, &errOut)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo = %v", err)
		}
	}()
	curl := regexp.MustCompile(`(?s)curl -s (\S+) -H "Authorization: Bearer \$INVESTIGATOR_TOKEN".*?-d '([^\n]*)'\n`)
	var m []string
	for deadline := time.Now().Add(2 * time.Minute); m == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("the demo printed no sealed example:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
		m = curl.FindStringSubmatch(out.String())
	}
	idFile := regexp.MustCompile(`oversight body's identity \(private, mode 0600\) is (\S+);`).FindStringSubmatch(out.String())
	if idFile == nil {
		t.Fatalf("the demo does not say where the oversight identity is:\n%s", out.String())
	}
	if fi, err := os.Stat(idFile[1]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("oversight identity %s: %v, %v, want mode 0600", idFile[1], fi, err)
	}
	if strings.Contains(out.String()+errOut.String(), "AGE-SECRET-KEY") {
		t.Fatal("the demo printed the oversight body's private key")
	}
	file := regexp.MustCompile(`are in (\S+) \(mode 0600`).FindStringSubmatch(out.String())
	if file == nil {
		t.Fatalf("the demo names no tokens file:\n%s", out.String())
	}
	tokens, err := os.ReadFile(file[1])
	if err != nil {
		t.Fatal(err)
	}
	token := func(name string) string {
		tok := regexp.MustCompile(name + `=(\S+)`).FindStringSubmatch(string(tokens))
		if tok == nil {
			t.Fatalf("no %s in %s", name, file[1])
		}
		return tok[1]
	}
	post := func(tok, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, m[1], strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}

	// The sealed read, as printed.
	res := post(token("INVESTIGATOR_TOKEN"), m[2])
	if res["errors"] != nil || get(res["data"], "citizen", "identity", "name") == nil || get(res["data"], "citizen", "identity", "address", "value") == nil {
		t.Fatalf("the printed sealed read answered %v", res)
	}
	index := get(res["extensions"], "ledger", "index")
	if index == nil {
		t.Fatalf("the sealed read carries no receipt: %v", res)
	}
	// A clerk of the same department may not read under the sealed purpose.
	if r := post(token("POLICE_TOKEN"), m[2]); get(r["data"], "citizen", "identity") != nil {
		t.Errorf("the police clerk read under the sealed purpose: %v", r)
	}

	// The citizen's log: a sealed access, nothing more.
	q, _ := json.Marshal(map[string]any{"query": `{ myAccesses(first: 5) { edges { node { index kind department { code } official purpose { code } fields { name } unsealOn } } } }`})
	r := post(token("CITIZEN_TOKEN"), string(q))
	edges, _ := get(r["data"], "myAccesses", "edges").([]any)
	var node any
	for _, e := range edges {
		if n := get(e, "node"); get(n, "index") == index {
			node = n
		}
	}
	if node == nil || get(node, "kind") != "SEALED" || get(node, "department", "code") != "sealed" || get(node, "official") != nil ||
		get(node, "purpose") != nil || len(get(node, "fields").([]any)) != 0 || get(node, "unsealOn") == nil {
		t.Fatalf("the citizen's log = %v, want entry %v as a sealed access and nothing more", r, index)
	}

	// The oversight body reads the details with the demo's identity.
	var sout, serr bytes.Buffer
	if err := run(t.Context(), []string{"sealed", "read", "--data-dir", dir, "--identity", idFile[1]}, &sout, &serr); err != nil {
		t.Fatalf("govhub sealed read = %v (%s)", err, serr.String())
	}
	if !strings.Contains(sout.String(), `court-order `+demoCourtOrder) || !strings.Contains(sout.String(), "actor public-security/investigator") {
		t.Errorf("govhub sealed read = %s", sout.String())
	}
}

// The demo registers its sealed purpose once per store: retired by the officers, it does not come
// back at the next start.
func TestDemoSealedPurposeOnce(t *testing.T) {
	h := startHub(t, 4)
	ctx := t.Context()
	registered := func() bool {
		_, ok := h.app.reader.Policy().Purpose(demoSealedPurpose)
		return ok
	}
	waitPolicy := func(want bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); registered() != want && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		}
		if registered() != want {
			t.Fatalf("the sealed purpose registered: %v, want %v", !want, want)
		}
	}
	if err := registerDemoSealedPurpose(ctx, h.app); err != nil {
		t.Fatal(err)
	}
	waitPolicy(true)
	officerA := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-a"}
	officerB := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-b"}
	p, err := h.app.officers.ProposePolicyChange(ctx, officerA, policy.Change{RemoveRules: demoSealedChange().AddRules, RetirePurposes: []string{demoSealedPurpose}}, "no more sealed reads in this demo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.officers.ApprovePolicyChange(ctx, officerB, p.ID); err != nil {
		t.Fatal(err)
	}
	waitPolicy(false)
	latest := func() uint64 {
		t.Helper()
		v, err := h.app.storage.store.LatestVersion(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := latest()
	if err := registerDemoSealedPurpose(ctx, h.app); err != nil {
		t.Fatal(err)
	}
	// No new policy version: the purpose was not proposed and approved again.
	if after := latest(); after != before || registered() {
		t.Errorf("the retired sealed purpose came back at the next start (policy version %d → %d)", before, after)
	}
}
