package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/demo"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store"
	"github.com/govhub/govhub/store/storetest"
)

const (
	proposeErasureQuery = `mutation($id: ID!, $basis: String!, $reason: String!) {
  proposeErasure(citizenId: $id, basis: $basis, reason: $reason) { id citizenId basis status ledgerIndex }
}`
	approveErasureQuery = `mutation($id: ID!) {
  approveErasure(id: $id) { id citizenId status reason decidedBy decisionLedgerIndex erasureLedgerIndex }
}`
	rejectErasureQuery    = `mutation($id: ID!, $reason: String!) { rejectErasure(id: $id, reason: $reason) { id status decisionReason } }`
	erasureRequestsQuery  = `query($status: String) { erasureRequests(status: $status) { id citizenId status } }`
	myErasureReceiptQuery = `{ myErasureReceipt }`
)

// startHubLogging is startHub with the hub's log (debug level and up) written to logs.
func startHubLogging(t *testing.T, citizens int, logs io.Writer) *testHub {
	t.Helper()
	h := &testHub{t: t, dir: t.TempDir(), gen: demo.NewGenerator(testSeed)}
	cfg := h.config()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := openApp(t.Context(), cfg)
	if err != nil {
		t.Fatalf("openApp = %v", err)
	}
	h.app, h.handler = a, a.handler()
	t.Cleanup(h.close)
	if err := seedDemo(t.Context(), h.app, citizens, testSeed); err != nil {
		t.Fatalf("seedDemo = %v", err)
	}
	return h
}

// propose proposes erasing citizen as officer1 and returns the request id.
func (h *testHub) proposeErasure(citizen string) string {
	h.t.Helper()
	res := h.query(h.token(officer1), proposeErasureQuery, map[string]any{"id": citizen, "basis": "consent-withdrawn", "reason": "the citizen withdrew consent (case 17)"})
	if len(res.Errors) > 0 {
		h.t.Fatalf("proposeErasure: %+v", res.Errors)
	}
	if get(res.Data, "proposeErasure", "status") != "pending" || get(res.Data, "proposeErasure", "citizenId") != citizen {
		h.t.Fatalf("proposeErasure = %v", res.Data)
	}
	return get(res.Data, "proposeErasure", "id").(string)
}

// erase proposes (officer1) and approves (officer2) the erasure of citizen, and returns the erasure
// entry's index.
func (h *testHub) erase(citizen string) uint64 {
	h.t.Helper()
	id := h.proposeErasure(citizen)
	res := h.query(h.token(officer2), approveErasureQuery, map[string]any{"id": id})
	if len(res.Errors) > 0 {
		h.t.Fatalf("approveErasure: %+v", res.Errors)
	}
	a := get(res.Data, "approveErasure")
	if get(a, "status") != "applied" || get(a, "citizenId") != nil || get(a, "reason") != nil || get(a, "erasureLedgerIndex") == nil {
		h.t.Fatalf("approveErasure = %v, want applied, no citizen, no reason, an erasure entry", a)
	}
	return uint64(get(a, "erasureLedgerIndex").(float64))
}

// pubkey is the log's verifier key, as govhub ledger pubkey prints it.
func (h *testHub) pubkey() string {
	h.t.Helper()
	var out bytes.Buffer
	if err := run(h.t.Context(), []string{"ledger", "pubkey", "--data-dir", h.dir}, &out, io.Discard); err != nil {
		h.t.Fatalf("ledger pubkey = %v", err)
	}
	return strings.TrimSpace(out.String())
}

// checkErasure runs govhub ledger check-erasure on receipt and returns its output and error.
func (h *testHub) checkErasure(receipt []byte, args ...string) (string, error) {
	f := filepath.Join(h.t.TempDir(), "erasure.receipt")
	if err := os.WriteFile(f, receipt, 0o600); err != nil {
		h.t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(h.t.Context(), append([]string{"ledger", "check-erasure", f, "--log-key", h.pubkey()}, args...), &out, io.Discard)
	return out.String(), err
}

// verifyLedger runs govhub ledger verify (entries and records) on the closed hub's data directory.
func verifyLedger(t *testing.T, dir string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "verify", "--data-dir", dir, "--quiet"}, &out, io.Discard); err != nil {
		t.Fatalf("ledger verify = %v\n%s", err, out.String())
	}
	return out.String()
}

// needles are what must not be found anywhere once citizen c is erased: their id and those of
// their values that no other of the n demo citizens has (an enum or a city many share says
// nothing), as text.
func needles(gen *demo.Generator, n int, c demo.Citizen) []string {
	values := func(x demo.Citizen) []string {
		var out []string
		for _, items := range x.Records {
			for _, item := range items {
				for _, v := range item {
					out = append(out, fmt.Sprint(v))
				}
			}
		}
		return out
	}
	shared := map[string]bool{}
	for i := 1; i <= n; i++ {
		if x := gen.Citizen(i); x.ID != c.ID {
			shared[x.ID] = true
			for _, v := range values(x) {
				shared[v] = true
			}
		}
	}
	out := []string{c.ID}
	for _, v := range values(c) {
		if len(v) >= 4 && !shared[v] && !byChance(v) {
			out = append(out, v)
		}
	}
	return out
}

// byChance reports whether v is short and made only of characters that hex digests and base64
// ciphertexts are made of (a number like 28300), so that it could occur in them by chance.
func byChance(v string) bool {
	return len(v) < 16 && strings.Trim(v, "0123456789abcdefABCDEF+/=.") == ""
}

// storeDump is every document of the hub's store, as extended JSON, one per line.
func (h *testHub) storeDump() string {
	h.t.Helper()
	var b strings.Builder
	err := h.app.storage.store.Export(h.t.Context(), func(coll string, doc bson.Raw) error {
		fmt.Fprintf(&b, "%s %s\n", coll, doc.String())
		// A citizen's records are BSON bytes in their document, packed (store/mongostore/heads.go):
		// dump what they hold too.
		if coll != "record_heads" {
			return nil
		}
		recs, err := storetest.CitizenRecords(doc)
		if err != nil {
			return err
		}
		for _, ds := range slices.Sorted(maps.Keys(recs)) {
			fmt.Fprintf(&b, "%s record %s\n", coll, bson.Raw(recs[ds]).String())
		}
		return nil
	}, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return b.String()
}

func TestErasure(t *testing.T) {
	const n = 8
	var logs syncBuffer
	h := startHubLogging(t, n, &logs)
	c := h.findCitizen(n, "identity", "tax", "health")
	other := h.gen.Citizen(1)
	if other.ID == c.ID {
		other = h.gen.Citizen(2)
	}
	housing, mine := h.token(housingClerk), h.token(citizenP(c.ID))

	// Before: readable, with a log and openable commitments.
	before := h.query(housing, eligibilityQuery, map[string]any{"id": c.ID})
	if get(before.Data, "citizen", "identity", "name") == nil {
		t.Fatalf("read before erasure: %+v", before.Errors)
	}
	formerIndex := receiptIndex(before)
	if len(h.accesses(mine, 100)) == 0 {
		t.Fatal("the citizen has no log before erasure")
	}
	pseudonym := subject.Pseudonym(h.app.keys.index, c.ID)
	ref, err := h.app.storage.store.SubjectRef(t.Context(), pseudonym, formerIndex)
	if err != nil {
		t.Fatalf("SubjectRef before erasure = %v", err)
	}
	all, _ := h.entries()
	if !bytes.Equal(all[formerIndex].Subjects[0], subject.Commit(ref.Salt, c.ID)) {
		t.Fatal("the former entry does not open to the citizen before erasure")
	}

	// The citizen questions the read; the question's text is theirs and goes with the erasure.
	const question = "为什么住房部门查询我的收入？ question-7f3a"
	if res := h.query(mine, askMutation, map[string]any{"i": formerIndex, "m": question}); len(res.Errors) > 0 {
		t.Fatalf("questionAccess: %+v", res.Errors)
	}
	// What the leak check looks for is there before (the id, the question and plain values, in clear).
	leaks := append(needles(h.gen, n, c), question)
	dumpBefore := h.storeDump()
	plainBefore := 0
	for _, needle := range leaks {
		if strings.Contains(dumpBefore, needle) {
			plainBefore++
		}
	}
	if len(leaks) < 3 || !strings.Contains(dumpBefore, c.ID) || plainBefore < 2 {
		t.Fatalf("the leak check looks for %q, of which %d are in the store before erasure", leaks, plainBefore)
	}

	index := h.erase(c.ID)

	// Reads, the citizen's own records and openings, and updates are refused: ERASED, not INTEGRITY.
	after := h.query(housing, eligibilityQuery, map[string]any{"id": c.ID})
	if e := after.errorAt("citizen"); e == nil || e.Extensions["code"] != "ERASED" {
		t.Errorf("read after erasure: %+v, want ERASED", after.Errors)
	}
	if get(after.Data, "citizen") != nil {
		t.Errorf("read after erasure released %v", get(after.Data, "citizen"))
	}
	last, raw := h.entries()
	refusal := last[len(last)-1]
	if refusal.Kind != ledger.KindAccess || refusal.Outcome != ledger.OutcomeDenied || refusal.Reason != "erased" || len(refusal.Subjects) != 0 {
		t.Errorf("the refused read's entry = %+v, want a denied access, reason erased, about no subject", refusal)
	}
	own := h.query(mine, `{ myRecords { identity { name } } }`, nil)
	if e := own.errorAt("myRecords"); e == nil || e.Extensions["code"] != "ERASED" {
		t.Errorf("myRecords after erasure: %+v, want ERASED", own.Errors)
	}
	opening := h.query(mine, `{ myOpening(field: "tax.annualIncome") { value blinding } }`, nil)
	if e := opening.errorAt("myOpening"); e == nil || e.Extensions["code"] != "ERASED" {
		t.Errorf("myOpening after erasure: %v %+v, want ERASED (the former commitments cannot be opened)", opening.Data, opening.Errors)
	}
	upd := h.query(h.token(policeClerk), `mutation($id: ID!) { updateIdentity(citizenId: $id, purpose: "identity-verification", input: {name: "王五"}) { version } }`, map[string]any{"id": c.ID})
	if e := upd.errorAt("updateIdentity"); e == nil || e.Extensions["code"] != "ERASED" {
		t.Errorf("an identity update of the erased citizen: %v %+v, want ERASED", upd.Data, upd.Errors)
	}
	if res := h.query(mine, myProofQuery, map[string]any{"index": formerIndex}); res.errorAt("myAccessProof") == nil {
		t.Errorf("the citizen's former entry %d still resolves to them: %v", formerIndex, res.Data)
	}
	if got := h.accesses(mine, 100); len(got) != 0 {
		t.Errorf("the erased citizen's log still lists %d entries", len(got))
	}
	// Other citizens are untouched.
	if res := h.query(housing, eligibilityQuery, map[string]any{"id": other.ID}); get(res.Data, "citizen", "identity", "name") == nil {
		t.Errorf("another citizen after the erasure: %+v", res.Errors)
	}

	// The erasure entry: the citizen's commitment under a fresh salt, the keyed digest, no id.
	e := last[index]
	if e.Kind != ledger.KindErasure || e.Reason != hub.ErasureReason || e.Department != "privacy-office" ||
		!bytes.Equal(e.Record, hub.ErasureDigest(h.app.keys.index, c.ID)) || len(e.Subjects) != 1 {
		t.Errorf("erasure entry %d = %+v", index, e)
	}
	// The former entries no longer resolve to the citizen: no salt, no reference, no key.
	st := h.app.storage.store
	if _, err := st.SubjectRef(t.Context(), pseudonym, formerIndex); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SubjectRef after erasure = %v, want not found", err)
	}
	if _, err := st.DataKey(t.Context(), c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DataKey after erasure = %v, want not found", err)
	}
	if recs, err := st.Records(t.Context(), c.ID, []string{"identity", "tax", "health"}); err != nil || len(recs) != 0 {
		t.Errorf("Records after erasure = %d records, %v", len(recs), err)
	}
	if ok, err := st.CitizenExists(t.Context(), c.ID); ok || err != nil {
		t.Errorf("CitizenExists after erasure = %v, %v", ok, err)
	}

	// The receipt: the citizen's, verifying offline; refused for anyone else's id or when altered.
	rr := h.query(mine, myErasureReceiptQuery, nil)
	if len(rr.Errors) > 0 {
		t.Fatalf("myErasureReceipt: %+v", rr.Errors)
	}
	receipt := []byte(get(rr.Data, "myErasureReceipt").(string))
	if out, err := h.checkErasure(receipt, "--citizen", c.ID); err != nil || !strings.HasPrefix(out, "OK: entry "+fmt.Sprint(index)) || !strings.Contains(out, "data-key") {
		t.Errorf("check-erasure --citizen %s = %q, %v", c.ID, out, err)
	}
	if out, err := h.checkErasure(receipt, "--citizen", other.ID); err == nil || !strings.HasPrefix(out, "FAIL") {
		t.Errorf("check-erasure for another citizen = %q, %v; want FAIL", out, err)
	}
	bad := bytes.Replace(receipt, []byte("index "), []byte("index 1"), 1)
	if out, err := h.checkErasure(bad); err == nil || !strings.HasPrefix(out, "FAIL") {
		t.Errorf("check-erasure of an altered receipt = %q, %v; want FAIL", out, err)
	}
	if res := h.query(h.token(citizenP(other.ID)), myErasureReceiptQuery, nil); res.errorAt("myErasureReceipt") == nil ||
		res.errorAt("myErasureReceipt").Extensions["code"] != "NOT_FOUND" {
		t.Errorf("a citizen not erased got a receipt: %v %+v", res.Data, res.Errors)
	}
	if res := h.query(housing, myErasureReceiptQuery, nil); res.errorAt("myErasureReceipt") == nil ||
		res.errorAt("myErasureReceipt").Extensions["code"] != "FORBIDDEN" {
		t.Errorf("a department asked for an erasure receipt: %v %+v", res.Data, res.Errors)
	}

	// Leak: neither the id nor any value is left in the store, the ledger or the logs; the only
	// trace is the keyed digest.
	dump := h.storeDump()
	for _, needle := range leaks {
		if strings.Contains(dump, needle) {
			t.Errorf("the store still holds %q", needle)
		}
		for i, r := range raw {
			if bytes.Contains(r, []byte(needle)) {
				t.Errorf("ledger entry %d holds %q", i, needle)
			}
		}
		if strings.Contains(logs.String(), needle) {
			t.Errorf("the hub's log holds %q", needle)
		}
	}
	if !strings.Contains(dump, hex.EncodeToString(hub.ErasureDigest(h.app.keys.index, c.ID))) {
		t.Error("the store holds no tombstone under the keyed digest")
	}

	// The ledger verifies, and the record audit passes and counts the erasure.
	h.close()
	out := verifyLedger(t, h.dir)
	if !strings.Contains(out, "erased: 1 citizens") {
		t.Errorf("ledger verify = %q, want the erasure counted", out)
	}
}

func TestErasureMakerChecker(t *testing.T) {
	h := startHub(t, 3)
	c := h.gen.Citizen(2)
	o1, o2 := h.token(officer1), h.token(officer2)

	for name, p := range map[string]auth.Principal{"department": housingClerk, "citizen": citizenP(c.ID), "auditor": {Kind: auth.KindAuditor, Subject: "a1"}} {
		res := h.query(h.token(p), proposeErasureQuery, map[string]any{"id": c.ID, "basis": "court-order", "reason": "x"})
		if e := res.errorAt("proposeErasure"); e == nil || e.Extensions["code"] != "FORBIDDEN" {
			t.Errorf("%s proposing: %+v", name, res.Errors)
		}
	}
	for name, vars := range map[string]map[string]any{
		"no reason":     {"id": c.ID, "basis": "court-order", "reason": " "},
		"bad basis":     {"id": c.ID, "basis": "Court Order!", "reason": "x"},
		"no such one":   {"id": "C999999", "basis": "court-order", "reason": "x"},
		"basis with id": {"id": c.ID, "basis": "", "reason": "x"},
	} {
		res := h.query(o1, proposeErasureQuery, vars)
		if e := res.errorAt("proposeErasure"); e == nil || e.Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("%s: %+v", name, res.Errors)
		}
	}

	before, _ := h.entries()
	id := h.proposeErasure(c.ID)
	// The proposer cannot approve; the request stays pending and the citizen readable.
	self := h.query(o1, approveErasureQuery, map[string]any{"id": id})
	if e := self.errorAt("approveErasure"); e == nil || e.Extensions["code"] != "FORBIDDEN" || !strings.Contains(e.Message, "another officer") {
		t.Errorf("self-approval: %+v", self.Errors)
	}
	if res := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID}); get(res.Data, "citizen", "identity", "name") == nil {
		t.Errorf("read after a refused self-approval: %+v", res.Errors)
	}
	// Another officer rejects it; it cannot be approved afterwards.
	rej := h.query(o2, rejectErasureQuery, map[string]any{"id": id, "reason": "no legal basis shown"})
	if get(rej.Data, "rejectErasure", "status") != "rejected" {
		t.Fatalf("rejectErasure: %v %+v", rej.Data, rej.Errors)
	}
	late := h.query(o2, approveErasureQuery, map[string]any{"id": id})
	if e := late.errorAt("approveErasure"); e == nil || e.Extensions["code"] != "CONFLICT" {
		t.Errorf("approving a rejected request: %+v", late.Errors)
	}
	// Proposal and rejection are on the ledger, by digest only.
	after, raw := h.entries()
	var kinds []string
	for i := len(before); i < len(after); i++ {
		if after[i].Reason == "erasure" {
			kinds = append(kinds, string(after[i].Kind))
		}
		if bytes.Contains(raw[i], []byte(c.ID)) {
			t.Errorf("entry %d names the citizen", i)
		}
	}
	if strings.Join(kinds, ",") != "proposal,rejection" {
		t.Errorf("erasure entries = %v, want proposal, rejection", kinds)
	}
	// Only officers list requests; a pending one names its citizen to them.
	id2 := h.proposeErasure(c.ID)
	list := h.query(o2, erasureRequestsQuery, map[string]any{"status": "pending"})
	reqs, _ := get(list.Data, "erasureRequests").([]any)
	if len(reqs) != 1 || get(reqs[0], "id") != id2 || get(reqs[0], "citizenId") != c.ID {
		t.Errorf("pending erasure requests = %v", list.Data)
	}
	if res := h.query(h.token(auth.Principal{Kind: auth.KindAuditor, Subject: "a1"}), erasureRequestsQuery, nil); res.errorAt("erasureRequests") == nil {
		t.Errorf("an auditor listed erasure requests: %v", res.Data)
	}
	h.erase(h.gen.Citizen(3).ID)
}

// TestErasureResumesAfterCrash interrupts an erasure at each of its steps (by failing the store or
// the ledger there, as a crash would stop it) and checks that the next start finishes it: one
// erasure entry, the citizen erased, the ledger and records verifying.
func TestErasureResumesAfterCrash(t *testing.T) {
	for _, stop := range []string{"before-entry", "lost-ack", "after-entry", "after-tombstone", "after-head", "after-data-key"} {
		t.Run(stop, func(t *testing.T) {
			h := startHub(t, 4)
			c := h.gen.Citizen(3)
			id := h.proposeErasure(c.ID)
			crash := &crashingShredder{Shredder: h.app.storage.store, stop: stop}
			st := h.app.storage.store
			sealed, err := hub.NewSealedEraser(st, h.app.keys.master)
			if err != nil {
				t.Fatal(err)
			}
			er, err := hub.NewErasure(hub.ErasureConfig{Requests: st, Tombstones: crash.tombstones(st), Shred: crash, Questions: st,
				Certificates: hub.NoCertificates{}, Sealed: sealed, Ledger: crash.ledger(h.app.ledger()), Leaves: h.app.log.Reader(), Published: h.app.log,
				Proofs: h.app.log.Reader(), LogSigner: h.app.logSigner, IndexKey: h.app.keys.index, Integrity: h.app.integrity, Reader: h.app.reader})
			if err != nil {
				t.Fatal(err)
			}
			h.app.erasure = er // the officers' approval applies it through this
			res := h.query(h.token(officer2), approveErasureQuery, map[string]any{"id": id})
			if len(res.Errors) == 0 {
				t.Fatalf("approveErasure with a crash %s succeeded: %v", stop, res.Data)
			}
			h.close()
			h.open() // the start finishes it
			got := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID})
			if e := got.errorAt("citizen"); e == nil || e.Extensions["code"] != "ERASED" {
				t.Errorf("read after resume: %+v", got.Errors)
			}
			all, _ := h.entries()
			n := 0
			for _, e := range all {
				if e.Kind == ledger.KindErasure {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d erasure entries, want 1", n)
			}
			req, err := h.app.storage.store.Erasure(t.Context(), id)
			if err != nil || req.Status != store.ErasureApplied || req.Citizen != "" {
				t.Errorf("request after resume = %+v, %v", req, err)
			}
			rr := h.query(h.token(citizenP(c.ID)), myErasureReceiptQuery, nil)
			if out, err := h.checkErasure([]byte(fmt.Sprint(get(rr.Data, "myErasureReceipt"))), "--citizen", c.ID); err != nil {
				t.Errorf("receipt after resume: %q, %v", out, err)
			}
			h.close()
			verifyLedger(t, h.dir)
		})
	}
}

var errCrash = errors.New("simulated crash")

// crashingShredder fails the erasure at one step, as a crash there would stop it.
type crashingShredder struct {
	hub.Shredder
	stop string
}

func (c *crashingShredder) DeleteRecordHead(ctx context.Context, citizen string) error {
	if c.stop == "after-tombstone" {
		return errCrash
	}
	return c.Shredder.DeleteRecordHead(ctx, citizen)
}

func (c *crashingShredder) DeleteDataKey(ctx context.Context, citizen string) error {
	if c.stop == "after-head" {
		return errCrash
	}
	return c.Shredder.DeleteDataKey(ctx, citizen)
}

func (c *crashingShredder) DeleteRecords(ctx context.Context, citizen string, datasets []string) error {
	if c.stop == "after-data-key" {
		return errCrash
	}
	return c.Shredder.DeleteRecords(ctx, citizen, datasets)
}

// tombstones fails adding the tombstone when the crash is after the entry.
func (c *crashingShredder) tombstones(st hub.TombstoneStore) hub.TombstoneStore {
	return crashingTombstones{st, c.stop == "after-entry"}
}

// ledger fails around the erasure entry's append (crashingLedger).
func (c *crashingShredder) ledger(lg hub.Appender) hub.Appender {
	return crashingLedger{lg, c.stop}
}

type crashingTombstones struct {
	hub.TombstoneStore
	fail bool
}

func (c crashingTombstones) AddTombstone(ctx context.Context, t store.Tombstone) error {
	if c.fail {
		return errCrash
	}
	return c.TombstoneStore.AddTombstone(ctx, t)
}

// crashingLedger fails the erasure entry's append before it ("before-entry": not durable), or
// after it ("lost-ack": durable, but the erasure never learns its index).
type crashingLedger struct {
	hub.Appender
	stop string
}

func (c crashingLedger) Append(ctx context.Context, e ledger.Entry) (ledger.Receipt, error) {
	if e.Kind != ledger.KindErasure {
		return c.Appender.Append(ctx, e)
	}
	switch c.stop {
	case "before-entry":
		return ledger.Receipt{}, errCrash
	case "lost-ack":
		if _, err := c.Appender.Append(ctx, e); err != nil {
			return ledger.Receipt{}, err
		}
		return ledger.Receipt{}, errCrash
	}
	return c.Appender.Append(ctx, e)
}

// Back up, erase, lose the hub, restore the old backup and the ledger from the mirrors: the
// erasure is applied again (the citizen stays erased, the request the backup holds no longer names
// them), the ledger and the record audit pass, and the receipt issued before the loss verifies
// against the restored log.
func TestErasureSurvivesRestore(t *testing.T) {
	mh := startMirroredHub(t)
	h := mh.testHub
	c := h.gen.Citizen(2)
	work := t.TempDir()
	var out, errOut bytes.Buffer
	share := splitKeys(t, h.dir, work)
	id := h.proposeErasure(c.ID) // pending in the backup, naming the citizen
	export := filepath.Join(work, "hub.backup")
	if err := run(t.Context(), []string{"backup", "--data-dir", h.dir, "--out", export}, &out, &errOut); err != nil {
		t.Fatalf("backup = %v\n%s", err, errOut.String())
	}
	res := h.query(h.token(officer2), approveErasureQuery, map[string]any{"id": id})
	if get(res.Data, "approveErasure", "status") != "applied" {
		t.Fatalf("approveErasure: %v %+v", res.Data, res.Errors)
	}
	index := uint64(get(res.Data, "approveErasure", "erasureLedgerIndex").(float64))
	rr := h.query(h.token(citizenP(c.ID)), myErasureReceiptQuery, nil)
	receipt := []byte(fmt.Sprint(get(rr.Data, "myErasureReceipt")))
	mh.waitMirrored(t, index)
	backupOut, restored := mh.loseAndRestore(t, work, export, share)
	if !strings.Contains(backupOut, "erasures: 0 on the ledger") {
		t.Errorf("backup restore (a ledger from before the erasure):\n%s", backupOut)
	}
	if !strings.Contains(restored, "erasures: 1 on the ledger; 1 citizens in the restored records were erased again") ||
		!strings.Contains(restored, "records match") || !strings.Contains(restored, "erased: 1 citizens") {
		t.Errorf("ledger restore did not replay the erasure, or the audit did not pass:\n%s", restored)
	}

	h.open()
	got := h.query(h.token(housingClerk), eligibilityQuery, map[string]any{"id": c.ID})
	if e := got.errorAt("citizen"); e == nil || e.Extensions["code"] != "ERASED" {
		t.Errorf("read of the erased citizen after the restore: %v %+v", got.Data, got.Errors)
	}
	req, err := h.app.storage.store.Erasure(t.Context(), id)
	if err != nil || req.Status != store.ErasureApplied || req.Citizen != "" || req.ErasedEntry != index {
		t.Errorf("the backup's erasure request after the restore = %+v, %v", req, err)
	}
	if out, err := h.checkErasure(receipt, "--citizen", c.ID, "--witness-key", mh.witnessKey, "--quorum", "1"); err != nil {
		t.Errorf("a receipt issued before the loss, against the restored log, cosigned by the witness: %q, %v", out, err)
	}
	if strings.Contains(h.storeDump(), c.ID) {
		t.Error("the restored store names the erased citizen")
	}
}

// Two hubs on one database, both caching records and data keys: an erasure applied on hub 1 is
// refused at once on hub 2, whose caches still hold the citizen (the read finds no head, then the
// tombstone).
func TestErasureAcrossHubs(t *testing.T) {
	h1, h2 := twoHubsCaching(t, 6, 100)
	c := h1.findCitizen(6, "tax")
	read := func(h *testHub) result {
		t.Helper()
		return h.query(h.token(taxClerk), taxQuery, map[string]any{"id": c.ID})
	}
	read(h2)
	hits := h2.app.integrity.CacheHits()
	if res := read(h2); len(res.Errors) > 0 || h2.app.integrity.CacheHits() <= hits {
		t.Fatalf("hub 2 does not serve the citizen from its cache: %+v", res.Errors)
	}
	h1.erase(c.ID)
	res := read(h2)
	if e := res.errorAt("citizen"); e == nil || e.Extensions["code"] != "ERASED" {
		t.Errorf("hub 2 after the erasure on hub 1: %v %+v, want ERASED", res.Data, res.Errors)
	}
}

// The record audit tells a record of an erased citizen (left by a restore that did not replay the
// erasure) from a record changed behind the hub's back.
func TestAuditTellsErasedFromTampered(t *testing.T) {
	h := startHub(t, 4)
	erased, other := h.gen.Citizen(2).ID, h.gen.Citizen(3).ID
	st := h.app.storage.store
	old, err := st.Record(t.Context(), erased, "identity")
	if err != nil {
		t.Fatal(err)
	}
	index := h.erase(erased)
	// Put the erased citizen's record back, and change another citizen's behind the hub's back.
	if err := st.CreateRecord(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	rec, err := st.Record(t.Context(), other, "identity")
	if err != nil {
		t.Fatal(err)
	}
	rec.Items[0].Plain["name"] = "篡改"
	if err := st.ReplaceRecord(t.Context(), rec, rec.Version); err != nil {
		t.Fatal(err)
	}
	h.close()
	var out bytes.Buffer
	err = run(t.Context(), []string{"ledger", "verify", "--data-dir", h.dir, "--quiet"}, &out, io.Discard)
	if err == nil {
		t.Fatalf("ledger verify passed with a leftover and a tampered record:\n%s", out.String())
	}
	wantErased := fmt.Sprintf("FAIL: identity record of %s at version %d: erased at entry %d", erased, old.Version, index)
	if !strings.Contains(out.String(), wantErased) {
		t.Errorf("ledger verify does not report the erased citizen's record as erased (%q):\n%s", wantErased, out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, other) && (!strings.HasPrefix(line, "FAIL") || strings.Contains(line, "erased")) {
			t.Errorf("the tampered record is reported as %q", line)
		}
	}
	if !strings.Contains(out.String(), "FAIL: identity record of "+other) {
		t.Errorf("the tampered record is not reported:\n%s", out.String())
	}
}
