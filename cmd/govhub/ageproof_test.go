package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/hub"
)

// nationalIDFor is a valid GB 11643 national id of a woman born on born (YYYY-MM-DD) in Beijing.
func nationalIDFor(born string) string {
	s := "110105" + strings.ReplaceAll(born, "-", "") + "002"
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return s + string("10X98765432"[sum%11])
}

// The acceptance of age proofs through the real handler on the embedded store, under the demo
// policy (public-security's clerk is granted adult on identity.birthDate): a demo citizen (an adult)
// and a minor registered by the clerk. The adult's proof verifies offline with govhub verify-proof
// on the day asked; the same answer with another day in its context, or any byte of the proof
// flipped, fails. The minor's answer is holds false with no proof. Neither answer nor entry holds
// a birth date. A department not granted the predicate is FORBIDDEN, and the refusal is logged.
func TestAgeProofAcceptance(t *testing.T) {
	h := startHub(t, 4)
	adult := h.gen.Citizen(1)
	today := time.Now().UTC()
	minorBorn := today.AddDate(-17, 0, 0).Format(time.DateOnly)
	const minorID = "C900001"
	r := h.query(h.token(policeClerk), fmt.Sprintf(`mutation { updateIdentity(citizenId: %q, purpose: "identity-verification",
		input: {name: "李小明", gender: FEMALE, hukouCity: "北京市", nationalId: %q, birthDate: %q, address: "北京市朝阳区建国路1号"}) {
		version commitments { field commitment { scheme } } } }`, minorID, nationalIDFor(minorBorn), minorBorn), nil)
	if len(r.Errors) > 0 {
		t.Fatalf("registering the minor: %+v", r.Errors)
	}
	if !strings.Contains(fmt.Sprint(r.Data), "pedersen-bls12381-g1/v2") {
		t.Errorf("the new birth date is not committed under v2: %v", r.Data)
	}

	ask := func(tok, id string) (result, []byte) {
		t.Helper()
		r := h.query(tok, adultQuery, map[string]any{"id": id, "purpose": "identity-verification"})
		if len(r.Errors) > 0 {
			t.Fatalf("adult of %s: %+v", id, r.Errors)
		}
		_, raw := h.receiptEntry(r)
		return r, raw
	}
	police := h.token(policeClerk)
	r, entry := ask(police, adult.ID)
	answer, _ := json.Marshal(map[string]any{"data": r.Data})
	p := get(r.Data, "citizen", "identity", "birthDate", "proof")
	if get(p, "holds") != true || get(p, "proof") == nil {
		t.Fatalf("the adult's answer = %v", p)
	}
	on := today.Format(time.DateOnly)
	if !strings.HasPrefix(get(p, "context").(string), hub.AgeContextVersion+" on "+on+" request ") {
		t.Errorf("context %q does not bind the day asked", get(p, "context"))
	}
	if !bytes.Contains(entry, []byte("field identity.birthDate prove ")) || !bytes.Contains(entry, []byte(" proved:adult")) {
		t.Errorf("entry lacks the proved predicate:\n%s", entry)
	}
	for _, leak := range []string{adult.Records["identity"][0]["birthDate"].(string), minorBorn} {
		if bytes.Contains(answer, []byte(leak)) || bytes.Contains(entry, []byte(leak)) {
			t.Errorf("a birth date (%s) is in the answer or the entry", leak)
		}
	}

	verify := func(file string, args ...string) (string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(t.Context(), append([]string{"verify-proof", file}, args...), &out, &errOut); err != nil {
			return out.String(), exitCode(err)
		}
		return out.String(), 0
	}
	file := writeRaw(t, answer)
	if out, code := verify(file, "--on", on); code != 0 || !strings.Contains(out, "OK:") || !strings.Contains(out, "age ≥ 18 years on "+on) {
		t.Fatalf("verify-proof of the adult's answer: exit %d, %q", code, out)
	}
	if out, code := verify(file, "--on", "2000-01-01"); code != 1 || !strings.Contains(out, "asked on "+on+", not 2000-01-01") {
		t.Errorf("verify-proof --on another day: exit %d, %q", code, out)
	}
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"verify-proof", "--commitment", get(p, "commitment", "point").(string), "--kind", "ageAtLeast", "--min", "18",
		"--context", get(p, "context").(string), "--proof", get(p, "proof").(string)}, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "OK:") {
		t.Errorf("verify-proof by flags = %v: %q", err, out.String())
	}
	yesterday := today.AddDate(0, 0, -1).Format(time.DateOnly)
	replayed := bytes.Replace(answer, []byte(" on "+on+" "), []byte(" on "+yesterday+" "), 1)
	if out, code := verify(writeRaw(t, replayed)); code != 1 || !strings.Contains(out, "does not verify") {
		t.Errorf("the answer with another day in its context: exit %d, %q", code, out)
	}
	proofHex := get(p, "proof").(string)
	for _, i := range []int{0, len(proofHex) / 2, len(proofHex) - 1} {
		flipped := []byte(proofHex)
		if flipped[i] == '0' {
			flipped[i] = '1'
		} else {
			flipped[i] = '0'
		}
		bad := bytes.Replace(answer, []byte(proofHex), flipped, 1)
		if out, code := verify(writeRaw(t, bad)); code != 1 || !strings.Contains(out, "FAIL") {
			t.Errorf("proof hex digit %d changed: exit %d, %q", i, code, out)
		}
	}

	r, entry = ask(police, minorID)
	p = get(r.Data, "citizen", "identity", "birthDate", "proof")
	if get(p, "holds") != false || get(p, "proof") != nil {
		t.Errorf("the minor's answer = %v, want holds false and no proof", p)
	}
	raw, _ := json.Marshal(r.Data)
	if bytes.Contains(raw, []byte(minorBorn)) || bytes.Contains(entry, []byte(minorBorn)) {
		t.Errorf("the minor's birth date is in the answer or the entry")
	}

	// Housing is not granted adult: FORBIDDEN, and the refusal is on the ledger.
	r = h.query(h.token(housingClerk), `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") {
		identity { name birthDate { proof(predicate: "adult") { holds proof } } } } }`, map[string]any{"id": adult.ID})
	// (Housing may not see the field at all, so the whole field is FORBIDDEN, the name still served.)
	if e := r.errorAt("citizen", "identity", "birthDate"); e == nil || e.Extensions["code"] != "FORBIDDEN" || get(r.Data, "citizen", "identity", "name") == nil {
		t.Errorf("housing asking adult: %v %+v, want FORBIDDEN at the birth date and the name served", r.Data, r.Errors)
	}
	e, _ := h.receiptEntryOrLast(r)
	var refused []string
	for _, f := range e.Fields {
		if f.Name == "identity.birthDate" {
			refused = f.Refused
		}
	}
	if !slices.Equal(refused, []string{"adult"}) {
		t.Errorf("housing's entry %+v, want identity.birthDate refused:adult", e.Fields)
	}
}
