package hub

import (
	"sync"
	"testing"

	"github.com/govhub/govhub/internal/usecase"
	"github.com/govhub/govhub/policy"
)

// countingMetrics records Decided calls.
type countingMetrics struct {
	mu     sync.Mutex
	levels map[policy.Level]int
}

func (m *countingMetrics) Decided(l policy.Level, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.levels[l] += n
}

// A read counts one decision per requested field, at the level it was decided, and its entry
// carries the request id of its context.
func TestReadMetricsAndRequestID(t *testing.T) {
	f := newFixture(t)
	f.newCitizen(t, citizenA)
	m := &countingMetrics{levels: map[policy.Level]int{}}
	rd, err := NewReader(f.readerConfig(), WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	req := ReadRequest{Citizen: citizenA, Purpose: "identity-verification", Request: []byte("q"),
		Fields: map[string]Want{"identity.name": WantValue, "identity.nationalId": WantCommitment, "tax.annualIncome": WantValue}}
	view, err := rd.ReadCitizen(usecase.WithRequestID(t.Context(), "req-7"), policeClerk, req)
	if err != nil {
		t.Fatalf("ReadCitizen = %v", err)
	}
	want := map[policy.Level]int{}
	for _, l := range view.Levels {
		want[l]++
	}
	if len(m.levels) != len(want) {
		t.Errorf("decisions = %v, want %v", m.levels, want)
	}
	for l, n := range want {
		if m.levels[l] != n {
			t.Errorf("decisions at %v = %d, want %d", l, m.levels[l], n)
		}
	}
	if e := f.entry(t, view.Receipt.Index); e.RequestID != "req-7" {
		t.Errorf("entry request-id = %q, want req-7", e.RequestID)
	}
	// Without an id in the context, none is written.
	view, err = rd.ReadCitizen(t.Context(), policeClerk, req)
	if err != nil {
		t.Fatal(err)
	}
	if e := f.entry(t, view.Receipt.Index); e.RequestID != "" {
		t.Errorf("entry request-id = %q, want none", e.RequestID)
	}
}
