package graph

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/govhub/govhub/graph/model"
	"github.com/govhub/govhub/hub"
)

// The citizen's view (hub.Citizens): myAccesses, myAccessProof, myRecords, myOpening,
// myAccessesExport and the accessAdded subscription. Every one is for citizen tokens alone; the hub
// refuses (and logs) any other.

// accessPollInterval is how often accessAdded looks at the caller's log for new accesses.
const accessPollInterval = 500 * time.Millisecond

func accessModel(a hub.Access) *model.Access {
	m := &model.Access{
		Index: int64(a.Index), Time: fmtTime(a.Time), Kind: model.AccessKind(a.Kind),
		Department: &model.Department{Code: a.Department.Code, NameZh: a.Department.NameZh, NameEn: a.Department.NameEn},
		Role:       a.Role, Official: optString(a.Official), Purpose: a.Purpose, PolicyVersion: int64(a.PolicyVersion),
		Outcome: a.Outcome, Reason: optString(a.Reason), EntryVersion: a.EntryVersion, Fields: make([]model.AccessField, len(a.Fields)),
	}
	if a.UnsealOn != nil {
		d := a.UnsealOn.Format(time.DateOnly)
		m.UnsealOn = &d
	}
	m.About = optUint64(a.About, a.About != 0 || a.Kind == hub.AccessUnseal)
	for i, f := range a.Fields {
		m.Fields[i] = model.AccessField{Name: f.Name, Level: model.FieldLevel(f.Level),
			Proved: append([]string{}, f.Proved...), Refused: append([]string{}, f.Refused...)}
	}
	return m
}

func (r *queryResolver) myAccesses(ctx context.Context, first *int, after *string) (*model.AccessConnection, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	n, cursor := 20, ""
	if first != nil {
		n = *first
	}
	if after != nil {
		cursor = *after
	}
	page, err := r.CitizenLog.Accesses(ctx, p, n, cursor)
	if err != nil {
		return nil, err
	}
	out := &model.AccessConnection{Edges: make([]model.AccessEdge, len(page.Accesses)), PageInfo: &model.PageInfo{HasNextPage: page.HasNext}}
	for i, a := range page.Accesses {
		out.Edges[i] = model.AccessEdge{Cursor: a.Cursor, Node: accessModel(a)}
	}
	out.PageInfo.EndCursor = optString(page.EndCursor)
	return out, nil
}

func (r *queryResolver) myAccessProof(ctx context.Context, i int64) (*model.AccessProof, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	ix, err := index("index", i)
	if err != nil {
		return nil, err
	}
	pr, err := r.CitizenLog.AccessProof(ctx, p, ix)
	if err != nil {
		return nil, err
	}
	out := &model.AccessProof{
		Index: int64(pr.Index), Entry: base64.StdEncoding.EncodeToString(pr.Entry), LeafHash: hashText(pr.LeafHash),
		Salt: hex.EncodeToString(pr.Salt), TreeSize: int64(pr.TreeSize), Proof: b64(pr.Proof),
		Checkpoint: string(pr.Checkpoint), Receipt: string(pr.Receipt.Marshal()),
	}
	if pr.Page != nil {
		sp := &model.SubjectPath{Position: pr.Page.Position, Hashes: make([]string, len(pr.Page.Hashes))}
		for j, h := range pr.Page.Hashes {
			sp.Hashes[j] = base64.StdEncoding.EncodeToString(h)
		}
		out.SubjectPath = sp
	}
	return out, nil
}

func (r *queryResolver) myRecords(ctx context.Context) (*model.Citizen, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	view, err := r.CitizenLog.Records(ctx, p, requestedFields(ctx), requestBytes(ctx))
	if err != nil {
		return nil, err
	}
	registerReceipt(ctx, view.Receipt)
	return citizenModel(view)
}

func (r *queryResolver) myOpening(ctx context.Context, field string, item *int) (*model.CommitmentOpening, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	it := 0
	if item != nil {
		it = *item
	}
	o, rc, err := r.CitizenLog.Opening(ctx, p, field, it)
	if err != nil {
		return nil, err
	}
	registerReceipt(ctx, rc)
	return &model.CommitmentOpening{
		Field: field, Item: it, Value: fmt.Sprint(o.Value), Blinding: hex.EncodeToString(o.Blinding[:]),
		Commitment: &model.Commitment{Scheme: o.Scheme, Point: o.Commitment.String(), Version: int64(o.Version)},
		Receipt:    &rc,
	}, nil
}

func (r *queryResolver) myAccessesExport(ctx context.Context) (string, error) {
	p, err := principal(ctx)
	if err != nil {
		return "", err
	}
	b, err := r.CitizenLog.Export(ctx, p)
	return string(b), err
}

func (r *subscriptionResolver) accessAdded(ctx context.Context) (<-chan *model.Access, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	in, err := r.CitizenLog.Watch(ctx, p, accessPollInterval)
	if err != nil {
		return nil, err
	}
	out := make(chan *model.Access)
	go func() {
		defer close(out)
		for a := range in {
			select {
			case out <- accessModel(a):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
