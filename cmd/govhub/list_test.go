package main

import (
	"strings"
	"testing"

	"github.com/govhub/govhub/ledger"
)

const listQuery = `query($first: Int, $after: String, $filter: CitizenFilter) {
  citizens(purpose: "identity-verification", first: $first, after: $after, filter: $filter) {
    edges { cursor node { id identity { name hukouCity } } }
    pageInfo { hasNextPage endCursor }
  }
}`

// Listing citizens is its own permission (list), separate from reading one by id; a page is one
// ledger entry naming every citizen on it; without the permission the list is refused and logged.
func TestListCitizens(t *testing.T) {
	const n = 12
	h := startHub(t, n)
	police := h.token(policeClerk)

	res := h.query(police, listQuery, map[string]any{"first": 5})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	edges, _ := get(res.Data, "citizens", "edges").([]any)
	if len(edges) != 5 || get(edges[0], "node", "id") != "C000001" || get(edges[4], "cursor") != "C000005" {
		t.Fatalf("first page = %v", edges)
	}
	if get(res.Data, "citizens", "pageInfo", "hasNextPage") != true {
		t.Errorf("hasNextPage = false on a page of 5 of %d", n)
	}
	if get(edges[0], "node", "identity", "name") != h.gen.Citizen(1).Records["identity"][0]["name"] {
		t.Errorf("first citizen's name = %v", get(edges[0], "node", "identity", "name"))
	}
	e, raw := h.receiptEntry(res)
	if len(e.Subjects) != 0 || len(e.SubjectRoot) != 32 || e.Outcome != ledger.OutcomeAllowed || strings.Join(fieldLines(e), ",") != "identity.hukouCity reveal,identity.name reveal" {
		t.Errorf("page entry = %+v, want a subject tree root (no subject lines) and the two fields revealed", e)
	}
	if strings.Contains(string(raw), "C00000") {
		t.Errorf("the page entry names citizens in clear")
	}

	// The next pages, to the end.
	seen := 5
	after := get(res.Data, "citizens", "pageInfo", "endCursor")
	for after != nil {
		res = h.query(police, listQuery, map[string]any{"first": 5, "after": after})
		page, _ := get(res.Data, "citizens", "edges").([]any)
		seen += len(page)
		after = nil
		if get(res.Data, "citizens", "pageInfo", "hasNextPage") == true {
			after = get(res.Data, "citizens", "pageInfo", "endCursor")
		}
	}
	if seen != n {
		t.Errorf("paged through %d citizens, want %d", seen, n)
	}

	// A filter on a field the clerk may see.
	city := h.gen.Citizen(1).Records["identity"][0]["hukouCity"].(string)
	res = h.query(police, listQuery, map[string]any{"first": 100, "filter": map[string]any{"field": "identity.hukouCity", "equals": city}})
	filtered, _ := get(res.Data, "citizens", "edges").([]any)
	if len(filtered) == 0 || get(filtered[0], "node", "id") != "C000001" {
		t.Errorf("filtered on C000001's city %s: %v %+v, want C000001 first", city, filtered, res.Errors)
	}
	for _, e := range filtered {
		if get(e, "node", "identity", "hukouCity") != city {
			t.Errorf("filtered on %s, got %v", city, get(e, "node", "identity", "hukouCity"))
		}
	}

	for _, tc := range []struct {
		name, token, query string
		vars               map[string]any
		code, reason       string
	}{
		{"no list permission", h.token(housingClerk), strings.Replace(listQuery, "identity-verification", "home-purchase-eligibility", 1),
			map[string]any{"first": 5}, "FORBIDDEN", "no-list-permission"},
		{"a dataset it may not list", police, `{ citizens(purpose: "identity-verification") { edges { node { tax { year } } } } }`,
			nil, "FORBIDDEN", "no-list-permission"},
		{"page too large", police, listQuery, map[string]any{"first": 101}, "BAD_USER_INPUT", ""},
		{"filter on a sensitive field", police, listQuery,
			map[string]any{"filter": map[string]any{"field": "identity.nationalId", "equals": "x"}}, "BAD_USER_INPUT", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := h.entries()
			res := h.query(tc.token, tc.query, tc.vars)
			if get(res.Data, "citizens") != nil || len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != tc.code {
				t.Fatalf("data %v errors %+v, want no data and %s", res.Data, res.Errors, tc.code)
			}
			after, _ := h.entries()
			if tc.reason == "" {
				return
			}
			if len(after) != len(before)+1 || after[len(after)-1].Reason != tc.reason || after[len(after)-1].Outcome != ledger.OutcomeDenied {
				t.Errorf("ledger after the refusal: %d new entries, last %+v; want one denial, reason %s", len(after)-len(before), after[len(after)-1], tc.reason)
			}
		})
	}
}
