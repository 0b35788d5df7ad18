package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// MaxPage is the most citizens a list request returns.
const MaxPage = 100

// Lister finds pages of citizens.
type Lister interface {
	ListCitizens(ctx context.Context, after string, limit int, filter *store.ListFilter) ([]string, error)
}

// ListFilter keeps the citizens whose plain field Field ("dataset.field") equals Equals.
type ListFilter struct {
	Field, Equals string
}

// ListRequest asks for a page of citizens.
type ListRequest struct {
	Purpose string
	Filter  *ListFilter
	First   int    // 1 … MaxPage
	After   string // a citizen id: the page starts after it
	Fields  map[string]Want
	Request []byte
}

// ListResult is one page.
type ListResult struct {
	Citizens      []*CitizenView
	HasNext       bool
	Receipt       ledger.Receipt
	PolicyVersion uint64
}

// ListCitizens returns a page of citizens with the requested fields, decided as for ReadCitizen.
// Enumerating citizens is its own permission: the principal needs `list` on every dataset the
// selection or the filter touches, for the purpose, and must be able to see the filter's field;
// otherwise the request is refused and logged. The page is one access entry whose subjects line is
// the root of the page's subject tree; each citizen on it gets their path in their access log.
func (rd *Reader) ListCitizens(ctx context.Context, p auth.Principal, req ListRequest) (*ListResult, error) {
	if req.First < 1 || req.First > MaxPage {
		return nil, fmt.Errorf("%w: first must be between 1 and %d", ErrInvalid, MaxPage)
	}
	if req.After != "" {
		if err := dataset.CheckCitizenID(req.After); err != nil {
			return nil, fmt.Errorf("%w: after is not a cursor of this list", ErrInvalid)
		}
	}
	snap := rd.policy.Snapshot()
	d, err := rd.decide(ctx, snap, p, req.Fields, req.Purpose)
	if err != nil {
		return nil, err
	}
	var filter *store.ListFilter
	if req.Filter != nil {
		if filter, err = listFilter(req.Filter); err != nil {
			return nil, err
		}
	}
	dept, role, official, err := rd.actor(ctx, p)
	if err != nil {
		return nil, err
	}
	entry := ledger.Entry{
		Kind: ledger.KindAccess, Time: rd.now(), Department: dept, Role: role, Official: official, Purpose: req.Purpose,
		Policy: snap.Version(), Request: rd.requestDigest(req.Request), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed,
	}
	refuse := func(reason string, cause error) (*ListResult, error) {
		entry.Outcome, entry.Reason, entry.Fields = ledger.OutcomeDenied, reason, d.denied()
		if _, err := rd.appendEntry(ctx, entry); err != nil {
			return nil, err
		}
		return nil, cause
	}
	if !d.purposeKnown {
		entry.Purpose = ""
		return refuse("unknown-purpose", ErrUnknownPurpose)
	}
	if pu, _ := snap.Purpose(req.Purpose); pu.Sealed { // sealed.go: one citizen a read, each under its court order
		return refuse("sealed-purpose", fmt.Errorf("%w: purpose %q is sealed: read citizens one at a time, naming the court order", ErrInvalid, req.Purpose))
	}
	// The list permission, on every dataset touched. A page that touches no dataset (only ids
	// selected, no filter) would still enumerate citizens, so it is refused like any list without
	// the permission: deny by default.
	sub := policy.Subject{Department: p.Department, Role: p.Role}
	touched := datasetsOf(d.fields)
	if filter != nil && !slices.Contains(touched, filter.Dataset) {
		touched = append(touched, filter.Dataset)
	}
	if p.Kind != auth.KindDepartment && p.Kind != auth.KindOfficer {
		return refuse("no-list-permission", fmt.Errorf("%w: listing citizens is for departments' officials", ErrForbidden))
	}
	if len(touched) == 0 {
		return refuse("no-list-permission", fmt.Errorf("%w: listing citizens needs the list permission on a dataset: select or filter on one of its fields", ErrForbidden))
	}
	if err := snap.Prepare(ctx, sub, touched); err != nil {
		return nil, fmt.Errorf("%w: loading the policy: %v", ErrUnavailable, err)
	}
	for _, ds := range touched {
		if !snap.Allowed(sub, policy.ActionList, ds, req.Purpose) {
			return refuse("no-list-permission", fmt.Errorf("%w: listing citizens by %s needs the list permission for %s", ErrForbidden, ds, req.Purpose))
		}
	}
	// Filtering on a field discloses it: the caller must be able to see it.
	if filter != nil && snap.Decide(sub, req.Filter.Field, req.Purpose) != policy.Reveal {
		return refuse("forbidden", fmt.Errorf("%w: filtering on %s needs to see it", ErrForbidden, req.Filter.Field))
	}

	ids, err := rd.lister.ListCitizens(ctx, req.After, req.First+1, filter)
	if err != nil {
		return nil, fmt.Errorf("listing citizens: %w", err)
	}
	res := &ListResult{PolicyVersion: snap.Version()}
	if len(ids) > req.First {
		ids, res.HasNext = ids[:req.First], true
	}
	// Load and release each citizen's records, a few at a time.
	res.Citizens = make([]*CitizenView, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res.Citizens[i], errs[i] = rd.releaseCitizen(ctx, id, d)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if errors.Is(err, ErrIntegrity) {
			return refuse("integrity", err) // nothing of the page is released
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// One entry for the page, naming its citizens by the root of a subject tree (appendForPage).
	entry.Fields = d.entryFields()
	r, err := rd.appendForPage(ctx, entry, ids)
	if err != nil {
		return nil, err
	}
	res.Receipt = r
	for _, v := range res.Citizens {
		v.Receipt = r
	}
	return res, nil
}

// listFilter checks a filter and converts its value to the field's kind.
func listFilter(f *ListFilter) (*store.ListFilter, error) {
	df, err := fieldOf(f.Field)
	if err != nil {
		return nil, fmt.Errorf("%w: filter: %v", ErrInvalid, err)
	}
	if df.field.Sensitive {
		return nil, fmt.Errorf("%w: filter: %s is sensitive; only plain fields can be filtered on", ErrInvalid, f.Field)
	}
	var v any = f.Equals
	switch df.field.Kind {
	case dataset.Int:
		n, err := strconv.ParseInt(f.Equals, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: filter: %s takes an integer", ErrInvalid, f.Field)
		}
		v = n
	case dataset.Float:
		x, err := strconv.ParseFloat(f.Equals, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: filter: %s takes a number", ErrInvalid, f.Field)
		}
		v = x
	case dataset.Bool:
		b, err := strconv.ParseBool(f.Equals)
		if err != nil {
			return nil, fmt.Errorf("%w: filter: %s takes true or false", ErrInvalid, f.Field)
		}
		v = b
	case dataset.StringList:
		return nil, fmt.Errorf("%w: filter: %s is a list", ErrInvalid, f.Field)
	}
	if err := df.field.Validate(v); err != nil {
		return nil, fmt.Errorf("%w: filter: %w", ErrInvalid, err)
	}
	return &store.ListFilter{Dataset: df.dataset.Name, Field: df.field.Name, Value: v}, nil
}
