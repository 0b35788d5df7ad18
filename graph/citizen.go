package graph

import (
	"context"
	"encoding/base64"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
)

// principal is the authenticated caller, put in the context by auth.Middleware.
func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, &gqlerror.Error{Message: "unauthenticated", Extensions: map[string]any{"code": CodeUnauthenticate}}
	}
	return p, nil
}

// registerReceipt adds extensions.ledger {index, leafHash, signature} to the response: the receipt
// as LedgerReceipt shows it (its field resolvers give the same text).
func registerReceipt(ctx context.Context, r ledger.Receipt) {
	graphql.RegisterExtension(ctx, "ledger", map[string]any{
		"index":     int64(r.Index),
		"leafHash":  hashText(r.LeafHash),
		"signature": base64.StdEncoding.EncodeToString(r.Signature),
	})
}

func (r *queryResolver) readCitizen(ctx context.Context, id, purpose string, courtOrder, unsealOn *string) (*model.Citizen, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	seal, err := sealRequest(courtOrder, unsealOn)
	if err != nil {
		return nil, err
	}
	view, err := r.Reader.ReadCitizen(ctx, p, hub.ReadRequest{
		Citizen: id, Purpose: purpose, Fields: requestedFields(ctx), Request: requestBytes(ctx), Seal: seal,
	})
	if err != nil {
		return nil, err
	}
	registerReceipt(ctx, view.Receipt)
	return citizenModel(view)
}

// update writes items (from the dataset's generated …Items function) to a citizen's record of ds.
func (r *mutationResolver) update(ctx context.Context, ds, citizen, purpose string, items []map[string]any) (*model.UpdateResult, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	res, err := r.Updater.Update(ctx, p, hub.UpdateRequest{Citizen: citizen, Dataset: ds, Purpose: purpose, Items: items, Request: requestBytes(ctx)})
	if err != nil {
		return nil, err
	}
	registerReceipt(ctx, res.Receipt)
	out := &model.UpdateResult{CitizenID: citizen, Dataset: ds, Version: int64(res.Version), Receipt: &res.Receipt, Commitments: []model.FieldCommitment{}}
	for _, c := range res.Commitments {
		out.Commitments = append(out.Commitments, model.FieldCommitment{Field: c.Field, Commitment: commitmentModel(&c.Commitment)})
	}
	return out, nil
}

func (r *queryResolver) citizens(ctx context.Context, purpose string, filter *model.CitizenFilter, first *int, after *string) (*model.CitizenConnection, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	req := hub.ListRequest{Purpose: purpose, First: 20, Fields: requestedListFields(ctx), Request: requestBytes(ctx)}
	if first != nil {
		req.First = *first
	}
	if after != nil {
		req.After = *after
	}
	if filter != nil {
		req.Filter = &hub.ListFilter{Field: filter.Field, Equals: filter.Equals}
	}
	res, err := r.Reader.ListCitizens(ctx, p, req)
	if err != nil {
		return nil, err
	}
	registerReceipt(ctx, res.Receipt)
	out := &model.CitizenConnection{Edges: []model.CitizenEdge{}, PageInfo: &model.PageInfo{HasNextPage: res.HasNext}}
	for _, v := range res.Citizens {
		c, err := citizenModel(v)
		if err != nil {
			return nil, err
		}
		out.Edges = append(out.Edges, model.CitizenEdge{Cursor: v.ID, Node: c})
	}
	if n := len(res.Citizens); n > 0 {
		end := res.Citizens[n-1].ID
		out.PageInfo.EndCursor = &end
	}
	return out, nil
}
