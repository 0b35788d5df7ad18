package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/policy/policytest"
)

// The policy at scale, on the embedded store, through the hub (issue 4):
//
//	GOVHUB_BENCH_RULES=100000 go test ./cmd/govhub -run '^$' -bench 'Policy' -benchtime 20x -timeout 30m
//
// A hub starts with a synthetic policy of GOVHUB_BENCH_RULES rules (default 10,000; 200
// departments, 10 roles, 20 purposes, 5 % deny) imported into the store.

func policyBenchHub(b *testing.B) (*testHub, policy.Set) {
	n := 10_000
	if s := os.Getenv("GOVHUB_BENCH_RULES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	set := policytest.Synthetic(n)
	dir := b.TempDir()
	if err := policy.WriteDir(dir+"/policy", set); err != nil {
		b.Fatal(err)
	}
	h := &testHub{t: b, dir: dir}
	start := time.Now()
	h.open()
	b.Logf("imported %d rules into the store and opened the hub in %s", n, time.Since(start).Round(time.Millisecond))
	return h, set
}

// BenchmarkPolicyApprove: an officer's approval of a one-rule change at that size, through
// governance.Officers.ApprovePolicyChange: read the version, apply and validate the change, recompute the impact,
// ledger the approval, store the new version, and reload it (the time a change takes to apply).
func BenchmarkPolicyApprove(b *testing.B) {
	h, _ := policyBenchHub(b)
	o1 := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-1"}
	o2 := o1
	o2.Subject = "officer-2"
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		c := policy.Change{AddRules: []policy.Rule{{Role: "role-0", Department: fmt.Sprintf("bench-%d", i), Object: "identity.name",
			Action: policy.ActionReveal, Purpose: "pur-0", Effect: policy.EffectAllow}}}
		prop, err := h.app.officers.ProposePolicyChange(b.Context(), o1, c, "bench")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := h.app.officers.ApprovePolicyChange(b.Context(), o2, prop.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPolicyColdQuery: the decisions of the first 20-field query under a version just loaded
// (a fresh engine and adapter, as an instance has after a reload): the partitions it needs are read
// from the store, one document each.
func BenchmarkPolicyColdQuery(b *testing.B) {
	h, _ := policyBenchHub(b)
	st := h.app.storage.store
	version, err := st.LatestVersion(b.Context(), 0)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.VersionInfo(b.Context(), version)
	if err != nil {
		b.Fatal(err)
	}
	datasets := []string{"identity", "marriage", "socialInsurance", "tax", "property", "health"}
	var split querySplit
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		e, err := policy.New(policy.Set{}, policy.Config{Sensitive: dataset.Sensitive})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Load(b.Context(), info, st.PolicyAdapter()); err != nil {
			b.Fatal(err)
		}
		snap := e.Snapshot()
		sub := policy.Subject{Department: fmt.Sprintf("dept-%d", i%200), Role: "role-1"}
		b.StartTimer()
		split.query(b, snap, sub, datasets)
	}
	split.report(b)
}

// BenchmarkPolicyFirstQueryAfterChange: the decisions of the first 20-field query after an approval,
// on the hub that reloaded it (its adapter is the one it always uses): the new version's partitions
// are read from the store, one document each.
func BenchmarkPolicyFirstQueryAfterChange(b *testing.B) {
	h, _ := policyBenchHub(b)
	o1 := auth.Principal{Kind: auth.KindOfficer, Department: "privacy-office", Role: auth.RoleOfficer, Subject: "officer-1"}
	o2 := o1
	o2.Subject = "officer-2"
	datasets := []string{"identity", "marriage", "socialInsurance", "tax", "property", "health"}
	var split querySplit
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		c := policy.Change{AddRules: []policy.Rule{{Role: "role-0", Department: fmt.Sprintf("bench-%d", i), Object: "identity.name",
			Action: policy.ActionReveal, Purpose: "pur-0", Effect: policy.EffectAllow}}}
		prop, err := h.app.officers.ProposePolicyChange(b.Context(), o1, c, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.app.officers.ApprovePolicyChange(b.Context(), o2, prop.ID); err != nil {
			b.Fatal(err)
		}
		snap := h.app.reader.Policy()
		sub := policy.Subject{Department: fmt.Sprintf("dept-%d", i%200), Role: "role-1"}
		b.StartTimer()
		split.query(b, snap, sub, datasets)
	}
	split.report(b)
}

// querySplit times the decisions of one 20-field query in two parts, reported as metrics beside
// the total: reading the department's rules (Prepare) and deciding (Decide builds the Casbin
// enforcers the query's purpose needs).
type querySplit struct {
	prepare, decide time.Duration
	n               int
}

func (q *querySplit) query(b *testing.B, snap *policy.Snapshot, sub policy.Subject, datasets []string) {
	t0 := time.Now()
	if err := snap.Prepare(b.Context(), sub, datasets); err != nil {
		b.Fatal(err)
	}
	t1 := time.Now()
	for _, f := range benchFields {
		snap.Decide(sub, f, "pur-3")
	}
	q.prepare += t1.Sub(t0)
	q.decide += time.Since(t1)
	q.n++
}

func (q *querySplit) report(b *testing.B) {
	b.ReportMetric(float64(q.prepare.Microseconds())/float64(q.n), "prepare-µs/op")
	b.ReportMetric(float64(q.decide.Microseconds())/float64(q.n), "decide-µs/op")
}

// benchFields are the 20 fields of the query whose decisions the policy benchmarks time.
var benchFields = []string{
	"identity.name", "identity.gender", "identity.hukouCity", "identity.nationalId", "identity.birthDate",
	"identity.address", "marriage.maritalStatus", "marriage.spouseCitizenId", "marriage.registeredOn",
	"socialInsurance.contributionMonths", "socialInsurance.monthlyBase", "tax.year", "tax.annualIncome",
	"tax.taxPaid", "property.certificateNo", "property.city", "property.area", "property.address",
	"property.acquiredOn", "health.bloodType",
}
