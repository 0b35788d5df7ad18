package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
)

const myAccessesQuery = `query Mine($first: Int, $after: String) {
  myAccesses(first: $first, after: $after) {
    edges { cursor node { index time kind role official policyVersion outcome reason entryVersion
      department { code nameZh nameEn } purpose { code titleZh titleEn legalBasis } fields { name level } } }
    pageInfo { hasNextPage endCursor }
  }
}`

const myProofQuery = `query Proof($index: Int64!) {
  myAccessProof(index: $index) { index entry leafHash salt subjectPath { position hashes } treeSize proof checkpoint receipt }
}`

func citizenP(id string) auth.Principal { return auth.Principal{Kind: auth.KindCitizen, Subject: id} }

// accesses pages through a citizen's whole log, first at a time, and returns the nodes in order.
func (h *testHub) accesses(tok string, first int) []any {
	h.t.Helper()
	var all []any
	vars := map[string]any{"first": first}
	for range 1000 {
		res := h.query(tok, myAccessesQuery, vars)
		if len(res.Errors) > 0 {
			h.t.Fatalf("myAccesses: %+v", res.Errors)
		}
		edges, _ := get(res.Data, "myAccesses", "edges").([]any)
		for _, e := range edges {
			all = append(all, get(e, "node"))
		}
		if get(res.Data, "myAccesses", "pageInfo", "hasNextPage") != true {
			return all
		}
		vars = map[string]any{"first": first, "after": get(res.Data, "myAccesses", "pageInfo", "endCursor")}
	}
	h.t.Fatal("myAccesses did not end")
	return nil
}

func idx(v any) uint64 {
	switch n := v.(type) {
	case float64:
		return uint64(n)
	case json.Number:
		i, _ := n.Int64()
		return uint64(i)
	case int64:
		return uint64(n)
	}
	return ^uint64(0)
}

func receiptIndex(r result) uint64 {
	l, _ := r.Extensions["ledger"].(map[string]any)
	return idx(l["index"])
}

// proofOf asks for a proof until the entry is published, and verifies it in Go.
func (h *testHub) proofOf(tok, citizen string, index uint64) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := h.query(tok, myProofQuery, map[string]any{"index": index})
		if len(res.Errors) == 0 {
			p, _ := get(res.Data, "myAccessProof").(map[string]any)
			h.verifyProof(citizen, index, p)
			return p
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("myAccessProof(%d): %+v", index, res.Errors)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func decodeHash(t testing.TB, s string) tlog.Hash {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("hash %q: %v", s, err)
	}
	return tlog.Hash(b)
}

// verifyProof checks a myAccessProof as a citizen would: leaf hash, their subject commitment (or
// their path in the page's subject tree), inclusion under the signed checkpoint, and the receipt.
func (h *testHub) verifyProof(citizen string, index uint64, p map[string]any) {
	t := h.t
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(p["entry"].(string))
	if err != nil {
		t.Fatal(err)
	}
	leaf := ledger.LeafHash(raw)
	if decodeHash(t, p["leafHash"].(string)) != leaf {
		t.Errorf("leafHash is not the entry's")
	}
	e, err := ledger.ParseEntry(raw)
	if err != nil {
		t.Fatal(err)
	}
	salt, _ := hex.DecodeString(p["salt"].(string))
	mine := subject.Commit(salt, citizen)
	if e.SubjectRoot != nil {
		sp, _ := p["subjectPath"].(map[string]any)
		if sp == nil {
			t.Fatalf("a list page without the citizen's subject path")
		}
		var path []tlog.Hash
		for _, s := range sp["hashes"].([]any) {
			path = append(path, decodeHash(t, s.(string)))
		}
		if err := ledger.CheckSubjectPath(tlog.Hash(e.SubjectRoot), mine, int(idx(sp["position"])), path); err != nil {
			t.Errorf("CheckSubjectPath = %v", err)
		}
	} else if !bytes.Contains(raw, []byte("subject "+hex.EncodeToString(mine)+"\n")) {
		t.Errorf("entry %d does not carry the citizen's commitment", index)
	}
	cp, err := ledger.ParseCheckpoint([]byte(p["checkpoint"].(string)), h.app.keys.log.Verifier)
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	var proof []tlog.Hash
	for _, s := range p["proof"].([]any) {
		proof = append(proof, decodeHash(t, s.(string)))
	}
	if cp.Size != idx(p["treeSize"]) {
		t.Errorf("treeSize %v, checkpoint size %d", p["treeSize"], cp.Size)
	}
	if err := ledger.CheckInclusion(proof, cp, index, leaf); err != nil {
		t.Errorf("CheckInclusion = %v", err)
	}
	if !strings.Contains(p["receipt"].(string), base64.StdEncoding.EncodeToString(raw)[:16]) && len(p["receipt"].(string)) == 0 {
		t.Errorf("empty receipt")
	}
}

// A citizen sees the housing clerk's reads of their record, newest first, with department,
// official, purpose, fields and levels, page by page; proves one in Go; cannot reach anyone
// else's log, proofs or records; other tokens are refused and the refusal logged.
func TestCitizenAccesses(t *testing.T) {
	const n = 12
	h := startHub(t, n)
	c := h.findCitizen(n, "identity", "marriage", "property", "socialInsurance", "tax", "health")
	other := h.gen.Citizen(1)
	if other.ID == c.ID {
		other = h.gen.Citizen(2)
	}
	mine, theirs := h.token(citizenP(c.ID)), h.token(citizenP(other.ID))
	housing := h.token(housingClerk)

	seeded := h.accesses(mine, 100)
	if len(seeded) == 0 || get(seeded[0], "kind") != "UPDATE" {
		t.Fatalf("a seeded citizen's log = %v, want their import updates", seeded)
	}
	r1 := h.query(housing, eligibilityQuery, map[string]any{"id": c.ID})
	r2 := h.query(housing, eligibilityQuery, map[string]any{"id": c.ID})
	rOther := h.query(housing, eligibilityQuery, map[string]any{"id": other.ID})
	i1, i2, iOther := receiptIndex(r1), receiptIndex(r2), receiptIndex(rOther)

	all := h.accesses(mine, 1)
	if len(all) != len(seeded)+2 {
		t.Fatalf("paged log of %d accesses, want %d", len(all), len(seeded)+2)
	}
	if idx(get(all[0], "index")) != i2 || idx(get(all[1], "index")) != i1 {
		t.Fatalf("newest accesses = %v, %v, want %d then %d", get(all[0], "index"), get(all[1], "index"), i2, i1)
	}
	a := all[0]
	if get(a, "kind") != "READ" || get(a, "department", "code") != "housing" || get(a, "department", "nameEn") == "housing" ||
		get(a, "role") != "clerk" || len(get(a, "official").(string)) != 64 || get(a, "entryVersion") != float64(2) ||
		get(a, "purpose", "code") != "home-purchase-eligibility" || get(a, "purpose", "titleEn") == "" || get(a, "purpose", "legalBasis") == "" {
		t.Errorf("access = %v", a)
	}
	levels := map[string]string{}
	for _, f := range get(a, "fields").([]any) {
		levels[get(f, "name").(string)] = get(f, "level").(string)
	}
	if levels["identity.name"] != "REVEALED" || levels["tax.annualIncome"] != "COMMITMENT" || levels["health.bloodType"] != "DENIED" {
		t.Errorf("levels = %v", levels)
	}
	for _, x := range all {
		if idx(get(x, "index")) == iOther {
			t.Errorf("another citizen's read %d is in the log", iOther)
		}
	}

	// Cursors: tampered and foreign ones are refused.
	first := h.query(mine, myAccessesQuery, map[string]any{"first": 1})
	cur := get(first.Data, "myAccesses", "pageInfo", "endCursor").(string)
	b, _ := base64.RawURLEncoding.DecodeString(cur)
	b[8] ^= 1
	for name, bad := range map[string]string{"tampered": base64.RawURLEncoding.EncodeToString(b), "garbage": "xyz", "numeric": "5"} {
		res := h.query(mine, myAccessesQuery, map[string]any{"first": 1, "after": bad})
		if e := res.errorAt("myAccesses"); e == nil || e.Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("%s cursor: %+v", name, res.Errors)
		}
	}
	res := h.query(theirs, myAccessesQuery, map[string]any{"first": 1, "after": cur})
	if e := res.errorAt("myAccesses"); e == nil || e.Extensions["code"] != "BAD_USER_INPUT" {
		t.Errorf("another citizen's cursor: %+v", res.Errors)
	}

	// Proofs: their own verifies; someone else's index is refused exactly like a missing one.
	h.proofOf(mine, c.ID, i2)
	foreign := h.query(mine, myProofQuery, map[string]any{"index": iOther})
	missing := h.query(mine, myProofQuery, map[string]any{"index": 1 << 40})
	if len(foreign.Errors) != 1 || len(missing.Errors) != 1 || foreign.Errors[0].Message != missing.Errors[0].Message ||
		foreign.Errors[0].Extensions["code"] != missing.Errors[0].Extensions["code"] || foreign.Data["myAccessProof"] != nil {
		t.Errorf("foreign proof %+v, missing proof %+v: want the same refusal", foreign.Errors, missing.Errors)
	}

	// Their own records in clear, logged as a self-access; an opening.
	rec := h.query(mine, `{ myRecords { id identity { name nationalId { value } } tax { annualIncome { value commitment { point } } } } }`, nil)
	if len(rec.Errors) > 0 || get(rec.Data, "myRecords", "identity", "name") != c.Records["identity"][0]["name"] ||
		get(rec.Data, "myRecords", "identity", "nationalId", "value") != c.Records["identity"][0]["nationalId"] || get(rec.Data, "myRecords", "tax", "annualIncome", "value") == nil {
		t.Errorf("myRecords = %v %+v", rec.Data, rec.Errors)
	}
	e, _ := h.receiptEntry(rec)
	if e.Department != "citizen" || e.Role != "citizen" || e.Official != nil || len(e.Subjects) != 1 {
		t.Errorf("myRecords entry = %+v, want a self-access", e)
	}
	op := h.query(mine, `{ myOpening(field: "tax.annualIncome") { value blinding commitment { point } } }`, nil)
	if len(op.Errors) > 0 || len(get(op.Data, "myOpening", "blinding").(string)) != 64 {
		t.Errorf("myOpening = %v %+v", op.Data, op.Errors)
	}
	latest := h.query(mine, myAccessesQuery, map[string]any{"first": 2})
	edges := get(latest.Data, "myAccesses", "edges").([]any)
	if get(edges[0], "node", "kind") != "SELF" || get(edges[1], "node", "kind") != "SELF" {
		t.Errorf("the self-accesses are not the newest: %v", edges)
	}

	// The export holds every access with its index.
	ex := h.query(mine, `{ myAccessesExport }`, nil)
	var doc struct {
		Format   string `json:"format"`
		Accesses []struct {
			Index uint64 `json:"index"`
		} `json:"accesses"`
	}
	if err := json.Unmarshal([]byte(get(ex.Data, "myAccessesExport").(string)), &doc); err != nil || doc.Format != "govhub/access-export/v1" ||
		len(doc.Accesses) != len(all)+2 || doc.Accesses[2].Index != i2 {
		t.Errorf("export = %+v, %v", doc, err)
	}

	// Other tokens are refused on every field, and the refusal is on the ledger.
	for _, p := range []auth.Principal{housingClerk, {Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "o1"},
		{Kind: auth.KindAuditor, Subject: "a1"}} {
		tok := h.token(p)
		for _, q := range []string{`{ myAccesses { edges { cursor } } }`, `{ myAccessProof(index: 1) { index } }`, `{ myRecords { id } }`,
			`{ myOpening(field: "tax.annualIncome") { value } }`, `{ myAccessesExport }`} {
			before, _ := h.entries()
			res := h.query(tok, q, nil)
			if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "FORBIDDEN" {
				t.Errorf("%s %s: %+v", p.Kind, q, res.Errors)
				continue
			}
			var after []ledger.Entry
			for range 100 {
				if after, _ = h.entries(); len(after) > len(before) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(after) != len(before)+1 || after[len(after)-1].Outcome != ledger.OutcomeDenied || after[len(after)-1].Reason != "forbidden" {
				t.Errorf("%s %s: the refusal is not on the ledger", p.Kind, q)
			}
		}
	}
}

// A list page shows, for each citizen on it, one LIST access whose proof shows their membership
// in the page's subject tree, and nothing about the others; a citizen not on the page sees nothing.
func TestCitizenListPage(t *testing.T) {
	h := startHub(t, 8)
	res := h.query(h.token(policeClerk), listQuery, map[string]any{"first": 3})
	if len(res.Errors) > 0 {
		t.Fatalf("list: %+v", res.Errors)
	}
	page := receiptIndex(res)
	for i := 1; i <= 4; i++ {
		c := h.gen.Citizen(i)
		tok := h.token(citizenP(c.ID))
		top := h.query(tok, myAccessesQuery, map[string]any{"first": 1})
		node := get(top.Data, "myAccesses", "edges").([]any)[0]
		onPage := idx(get(node, "node", "index")) == page
		if onPage != (i <= 3) {
			t.Errorf("citizen %d: newest access %v, page %d", i, get(node, "node", "index"), page)
			continue
		}
		if !onPage {
			continue
		}
		if get(node, "node", "kind") != "LIST" {
			t.Errorf("citizen %d: kind %v, want LIST", i, get(node, "node", "kind"))
		}
		p := h.proofOf(tok, c.ID, page)
		raw, _ := base64.StdEncoding.DecodeString(p["entry"].(string))
		if bytes.Contains(raw, []byte("\nsubject ")) || !bytes.Contains(raw, []byte("\nsubjects ")) {
			t.Errorf("the page entry names subjects one by one:\n%s", raw)
		}
	}
}

// Entries written as govhub/entry/v1 (before v2) still show, with their version.
func TestCitizenV1Entry(t *testing.T) {
	h := startHub(t, 2)
	c := h.gen.Citizen(1)
	salt := make([]byte, 32)
	rand.Read(salt)
	r, err := h.app.log.Append(t.Context(), ledger.Entry{Version: 1, Kind: ledger.KindAccess, Time: time.Now(), Department: "tax", Role: "clerk",
		Purpose: "tax-assessment", Policy: 1, Outcome: ledger.OutcomeAllowed, Subjects: [][]byte{subject.Commit(salt, c.ID)},
		Fields: []ledger.Field{{Name: "tax.annualIncome", Level: "reveal"}}})
	if err != nil {
		t.Fatal(err)
	}
	ps := subject.Pseudonym(h.app.keys.index, c.ID)
	if _, err := h.app.storage.store.AppendSubjectLog(t.Context(), store.LogRef{Pseudonym: ps, Index: r.Index, Salt: salt, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tok := h.token(citizenP(c.ID))
	top := h.query(tok, myAccessesQuery, map[string]any{"first": 1})
	node := get(get(top.Data, "myAccesses", "edges").([]any)[0], "node")
	if idx(get(node, "index")) != r.Index || get(node, "entryVersion") != float64(1) || get(node, "official") != nil || get(node, "kind") != "READ" {
		t.Errorf("v1 access = %v %+v", node, top.Errors)
	}
	h.proofOf(tok, c.ID, r.Index)
}

// The access log's copy of an entry is shown only when its leaf hash is the ledger's: a copy
// altered in the store fails the page instead of showing what the ledger does not say.
func TestCitizenLogCopyChecked(t *testing.T) {
	h := startHub(t, 2)
	c := h.gen.Citizen(1)
	ps := subject.Pseudonym(h.app.keys.index, c.ID)
	appendWithCopy := func(purpose string, copyOf func(raw []byte) []byte) uint64 {
		salt := make([]byte, 32)
		rand.Read(salt)
		e := ledger.Entry{Kind: ledger.KindAccess, Time: time.Now(), Department: "tax", Role: "clerk",
			Purpose: purpose, Policy: 1, Outcome: ledger.OutcomeAllowed, Subjects: [][]byte{subject.Commit(salt, c.ID)},
			Fields: []ledger.Field{{Name: "tax.annualIncome", Level: "reveal"}}}
		r, err := h.app.log.Append(t.Context(), e)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ledger.FormatEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.app.storage.store.AppendSubjectLog(t.Context(), store.LogRef{Pseudonym: ps, Index: r.Index, Salt: salt, Time: time.Now(), Entry: copyOf(raw)}); err != nil {
			t.Fatal(err)
		}
		if err := h.app.log.WaitCaughtUp(t.Context()); err != nil {
			t.Fatal(err)
		}
		return r.Index
	}
	tok := h.token(citizenP(c.ID))
	good := appendWithCopy("tax-assessment", func(raw []byte) []byte { return raw })
	top := h.query(tok, myAccessesQuery, map[string]any{"first": 1})
	if len(top.Errors) > 0 || idx(get(get(top.Data, "myAccesses", "edges").([]any)[0], "node", "index")) != good {
		t.Fatalf("myAccesses with a true copy = %v %+v", top.Data, top.Errors)
	}
	// Another purpose in the copy: still a well-formed entry naming the citizen, but not the ledger's.
	appendWithCopy("tax-assessment", func(raw []byte) []byte {
		return bytes.Replace(raw, []byte("purpose tax-assessment"), []byte("purpose tax-collection"), 1)
	})
	top = h.query(tok, myAccessesQuery, map[string]any{"first": 2})
	if len(top.Errors) == 0 || top.Errors[0].Extensions["code"] != "UNAVAILABLE" {
		t.Errorf("myAccesses with an altered copy = %v %+v; want an error", top.Data, top.Errors)
	}
}

const accessAddedSub = `subscription { accessAdded { index kind department { code } } }`

// accessAdded delivers, over a websocket authenticated by its connection_init payload and over SSE
// with the Authorization header, a read made through a second hub sharing the store, within 2 s,
// and never another citizen's.
func TestCitizenAccessAdded(t *testing.T) {
	h1, h2 := twoHubs(t, 6)
	c, other := h1.gen.Citizen(1), h1.gen.Citizen(2)
	tok := h1.token(citizenP(c.ID))

	type msg = map[string]any
	// The websocket, with no Authorization header, through the real /graphql route.
	ws := client.New(h1.handler, client.Path("/graphql")).WebsocketWithPayload(accessAddedSub, map[string]any{"Authorization": "Bearer " + tok})
	defer ws.Close()
	sse := sseSubscribe(t, h1, tok, accessAddedSub)
	time.Sleep(700 * time.Millisecond) // both subscriptions have read the log's end

	housing := h2.token(housingClerk)
	h2.query(housing, eligibilityQuery, map[string]any{"id": other.ID}) // not theirs
	start := time.Now()
	res := h2.query(housing, eligibilityQuery, map[string]any{"id": c.ID})
	want := int64(receiptIndex(res))

	for name, next := range map[string]func(any) error{"websocket": ws.Next, "sse": sse} {
		got := make(chan msg, 1)
		errc := make(chan error, 1)
		go func() {
			m := msg{}
			if err := next(&m); err != nil {
				errc <- err
				return
			}
			got <- m
		}()
		select {
		case m := <-got:
			if int64(idx(get(m, "accessAdded", "index"))) != want || get(m, "accessAdded", "kind") != "READ" {
				t.Errorf("%s: accessAdded = %+v, want index %d (not another citizen's)", name, m, want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s: delivered after %v", name, d)
			}
		case err := <-errc:
			t.Errorf("%s: %v", name, err)
		case <-time.After(3 * time.Second):
			t.Errorf("%s: nothing within 3 s", name)
		}
	}

	// A websocket without any token is refused; so is a department token.
	bad := client.New(h1.handler, client.Path("/graphql")).WebsocketWithPayload(accessAddedSub, nil)
	m := msg{}
	if err := bad.Next(&m); err == nil {
		t.Errorf("a websocket without a token subscribed")
	}
	bad.Close()
	dept := client.New(h1.handler, client.Path("/graphql")).WebsocketWithPayload(accessAddedSub, map[string]any{"Authorization": "Bearer " + h1.token(housingClerk)})
	err := dept.Next(&m)
	if err == nil || !strings.Contains(fmt.Sprint(err), "forbidden") && !strings.Contains(fmt.Sprint(err), "FORBIDDEN") {
		t.Errorf("a department's subscription: %v, %+v", err, m)
	}
	dept.Close()
}

// sseSubscribe starts a subscription over SSE (a POST with Accept: text/event-stream and the
// Authorization header, as a browser's fetch sends it) against the real handler on a live server,
// and returns a function reading the next event's data into v.
func sseSubscribe(t *testing.T, h *testHub, tok, query string) func(v any) error {
	srv := httptest.NewServer(h.handler)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(func() { cancel(); srv.Close() })
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("SSE subscription: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	return func(v any) error {
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var r struct {
				Data   json.RawMessage
				Errors json.RawMessage
			}
			if err := json.Unmarshal([]byte(data), &r); err != nil {
				return err
			}
			if len(r.Errors) > 0 && string(r.Errors) != "null" {
				return fmt.Errorf("errors: %s", r.Errors)
			}
			return json.Unmarshal(r.Data, v)
		}
		if err := sc.Err(); err != nil {
			return err
		}
		return io.EOF
	}
}
