package main

import (
	"testing"

	"github.com/govhub/govhub/ledger"
)

// The default build logs every read: the no-op ledger exists only under the benchmark build tag,
// and no flag, variable or file of this build reaches it. A read's receipt names an entry the
// ledger holds, and /admin/status does not claim the benchmark build.
func TestDefaultBuildLogsReads(t *testing.T) {
	if noopLedgerBuild {
		t.Skip("the benchmark-only build (-tags govhub_noopledger): reads are not logged by design")
	}
	if l, ok := any(readLedgerOf(nil)).(timedLedger); !ok || l.Log == nil {
		t.Fatalf("reads append to %T, want the hub's *ledger.Log (timed)", readLedgerOf(nil))
	}
	h := startHub(t, 2)
	c := h.gen.Citizen(1)
	res := h.query(h.token(housingClerk), `query($id: ID!) { citizen(id: $id, purpose: "home-purchase-eligibility") { identity { name } } }`, map[string]any{"id": c.ID})
	if _, raw := h.receiptEntry(res); len(raw) == 0 {
		t.Fatalf("the read's receipt names no entry on the ledger: %+v", res)
	}
}

// readLedgerOf is app.readLedger for an app with no ledger open (the type is what matters).
func readLedgerOf(a *app) any {
	if a == nil {
		a = &app{log: &ledger.Log{}}
	}
	return a.readLedger()
}
