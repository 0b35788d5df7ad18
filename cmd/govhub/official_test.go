package main

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/ledger"
)

// Every entry a department's official causes names that person by a pseudonym their own
// department resolves (govhub official resolve) and no other department can; a citizen's own
// entries name no official (their subject is their citizen id).
func TestEntriesNameTheOfficial(t *testing.T) {
	h := startHub(t, 20)
	defer h.close()
	c := h.findCitizen(20, "identity")
	r := h.query(h.token(housingClerk), `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { identity { name } } }`,
		map[string]any{"id": c.ID})
	if len(r.Errors) > 0 {
		t.Fatalf("housing read: %+v", r.Errors)
	}
	e, raw := h.receiptEntry(r)
	if !bytes.HasPrefix(raw, []byte(ledger.EntryHeaderV2+"\n")) {
		t.Fatalf("new entry is not %s:\n%s", ledger.EntryHeaderV2, raw)
	}
	key, _, err := keys.Symmetric(h.config().path("keys", "officials.key"))
	if err != nil {
		t.Fatal(err)
	}
	want := subject.Official(key, "housing", housingClerk.Subject)
	if got := hex.EncodeToString(e.Official); got != want {
		t.Fatalf("entry official = %q, want %q (housing's pseudonym of %s)", got, want, housingClerk.Subject)
	}
	if bytes.Contains(raw, []byte(housingClerk.Subject)) {
		t.Errorf("entry names the token subject %q in clear:\n%s", housingClerk.Subject, raw)
	}

	// Another official of the same department gets another pseudonym.
	other := housingClerk
	other.Subject = "h2"
	r2 := h.query(h.token(other), `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { identity { name } } }`,
		map[string]any{"id": c.ID})
	e2, _ := h.receiptEntry(r2)
	if bytes.Equal(e2.Official, e.Official) || len(e2.Official) != 32 {
		t.Errorf("second clerk's official = %x, want 32 bytes other than the first's %x", e2.Official, e.Official)
	}

	// Beside the running hub: read through its database.
	resolve := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append([]string{"official", "resolve", "--data-dir", h.dir}, args...), &out, &errOut)
		return strings.TrimSpace(out.String()), err
	}
	if got, err := resolve("--department", "housing", want); err != nil || got != housingClerk.Subject {
		t.Errorf("official resolve --department housing = %q, %v; want %q", got, err, housingClerk.Subject)
	}
	if got, err := resolve("--department", "tax", want); err == nil {
		t.Errorf("official resolve --department tax (housing's pseudonym) = %q, want an error", got)
	}
	if got, err := resolve("--department", "housing", strings.Repeat("ab", 32)); err == nil {
		t.Errorf("official resolve (unknown pseudonym) = %q, want an error", got)
	}
	if _, err := resolve(want); err == nil {
		t.Error("official resolve without --department = nil error, want one")
	}
}
