package hub

import (
	"slices"
	"testing"
)

// rest is what a read's group leaves its caller: all of it before the read appended, what a
// failed append left after (the access entry, the read's own, never).
func TestEntryGroupRest(t *testing.T) {
	step := func(s string) pendingEntry { return pendingEntry{status: s} }
	access := pendingEntry{status: "access"} // stands for the read's entry, as appendGrouped places it
	g := entryGroup{before: []pendingEntry{step("received"), step("b2")}, after: []pendingEntry{step("family")}}
	all := []pendingEntry{g.before[0], g.before[1], access, g.after[0]}
	for k, want := range [][]string{
		{"received", "b2", "family"}, // nothing appended
		{"b2", "family"},             // the first appended, then a failure
		{"family"},                   // both before, not the access entry
		{"family"},                   // the access entry too
		{},                           // everything
	} {
		g.appended = all[:k]
		var got []string
		for _, p := range g.rest() {
			got = append(got, p.status)
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%d appended: rest %v, want %v", k, got, want)
		}
	}
	if !(*entryGroup)(nil).empty() || !(&entryGroup{}).empty() || g.empty() {
		t.Error("empty: wrong for a nil group, an empty one or a full one")
	}
}
