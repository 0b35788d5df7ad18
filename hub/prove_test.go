package hub

import (
	"errors"
	"slices"
	"testing"

	"github.com/govhub/govhub/crypto/commit"
	"github.com/govhub/govhub/crypto/rangeproof"
	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

const income = "tax.annualIncome"

// proveFixture is the fixture under the demo policy plus income predicates: housing clerks may ask
// incomeBand (100,000 … 500,000) for home-purchase eligibility; incomeOver1m is catalogued and
// granted to nobody.
func proveFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	set := policy.Demo()
	set.Version++
	set.Predicates = append(set.Predicates, []policy.Predicate{
		{Name: "incomeBand", Field: income, Statement: policy.Statement{Kind: "between", Min: 100000, Max: 500000}},
		{Name: "incomeOver1m", Field: income, Statement: policy.Statement{Kind: "atLeast", Min: 1000000}},
	}...)
	set.Rules = append(set.Rules, policy.Rule{Role: "clerk", Department: "housing", Object: policy.ProofObject(income, "incomeBand"),
		Action: policy.ActionProve, Purpose: "home-purchase-eligibility", Effect: policy.EffectAllow})
	if err := f.engine.Replace(set); err != nil {
		t.Fatal(err)
	}
	f.newCitizen(t, "C000001")
	return f
}

func TestProveNeedsARequestID(t *testing.T) {
	f := proveFixture(t)
	_, before := f.last(t)
	_, err := f.reader.ReadCitizen(t.Context(), housingClerk, ReadRequest{Citizen: "C000001", Purpose: "home-purchase-eligibility",
		Fields: map[string]Want{ProofKey(income, "incomeBand"): 0}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ReadCitizen without a request id = %v, want ErrUnavailable", err)
	}
	if _, after := f.last(t); after != before {
		t.Errorf("an entry was appended for a read that released nothing")
	}
}

func TestProveLevels(t *testing.T) {
	f := proveFixture(t)
	ctx := usecase.WithRequestID(t.Context(), "req-7")

	// At prove: the band is answered (the income, 180,000, is in it), the other predicate refused.
	v, err := f.reader.ReadCitizen(ctx, housingClerk, ReadRequest{Citizen: "C000001", Purpose: "home-purchase-eligibility",
		Fields: map[string]Want{ProofKey(income, "incomeBand"): 0, ProofKey(income, "incomeOver1m"): 0, "tax.year": WantValue}})
	if err != nil {
		t.Fatal(err)
	}
	fv := v.Datasets["tax"].Items[0]["annualIncome"]
	if fv.Value != nil || fv.Commitment == nil {
		t.Fatalf("released %+v, want the commitment only", fv)
	}
	p, ok := fv.Proofs["incomeBand"]
	if !ok || !p.Holds || p.Proof == nil || string(p.Context) != "req-7" {
		t.Fatalf("proof = %+v", p)
	}
	if _, ok := fv.Proofs["incomeOver1m"]; ok {
		t.Errorf("a refused predicate was answered")
	}
	c, err := commit.ParseCommitment(fv.Commitment.Point)
	if err != nil {
		t.Fatal(err)
	}
	if err := rangeproof.Verify(c, rangeproof.Between(100000, 500000), []byte("req-7"), p.Proof); err != nil {
		t.Errorf("Verify = %v", err)
	}
	if v.Levels[income] != policy.Prove {
		t.Errorf("level %v, want prove", v.Levels[income])
	}
	e, _ := f.last(t)
	var line ledger.Field
	for _, fl := range e.Fields {
		if fl.Name == income {
			line = fl
		}
	}
	if line.Level != "prove" || !slices.Equal(line.Proved, []string{"incomeBand"}) || !slices.Equal(line.Refused, []string{"incomeOver1m"}) || e.RequestID != "req-7" {
		t.Errorf("entry field %+v (request id %q), want prove proved:incomeBand refused:incomeOver1m", line, e.RequestID)
	}

	// At reveal (the tax clerk), any catalogued predicate of the field may be asked.
	v, err = f.reader.ReadCitizen(ctx, taxClerk, ReadRequest{Citizen: "C000001", Purpose: "tax-administration",
		Fields: map[string]Want{income: WantValue, ProofKey(income, "incomeOver1m"): 0}})
	if err != nil {
		t.Fatal(err)
	}
	fv = v.Datasets["tax"].Items[0]["annualIncome"]
	if p := fv.Proofs["incomeOver1m"]; fv.Value != int64(180000) || p.Holds || p.Proof != nil {
		t.Errorf("tax clerk: value %v, proof %+v; want the value and a false predicate without proof", fv.Value, p)
	}
	e, _ = f.last(t)
	if got := fieldLevels(e)[income]; got != "reveal" {
		t.Errorf("tax clerk: level %s, want reveal", got)
	}

	// An unknown purpose: everything denied, every predicate refused.
	_, err = f.reader.ReadCitizen(ctx, housingClerk, ReadRequest{Citizen: "C000001", Purpose: "curiosity",
		Fields: map[string]Want{ProofKey(income, "incomeBand"): 0}})
	if !errors.Is(err, ErrUnknownPurpose) {
		t.Fatalf("unknown purpose: %v", err)
	}
	e, _ = f.last(t)
	if len(e.Fields) != 1 || e.Fields[0].Level != "deny" || !slices.Equal(e.Fields[0].Refused, []string{"incomeBand"}) {
		t.Errorf("unknown purpose: fields %+v", e.Fields)
	}

	// A name that is not a name is invalid, before anything.
	if _, err := f.reader.ReadCitizen(ctx, housingClerk, ReadRequest{Citizen: "C000001", Purpose: "home-purchase-eligibility",
		Fields: map[string]Want{ProofKey(income, "x y"): 0}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("malformed predicate name: %v, want ErrInvalid", err)
	}
}
