package governance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// catalog is the dataset catalog as policy validation needs it, field kinds included (only
// sensitive integer fields may have predicates).
type catalog struct{ dataset.Catalog }

// FieldKind implements policy.FieldKinds.
func (catalog) FieldKind(path string) string {
	ds, f, _ := strings.Cut(path, ".")
	if d, ok := dataset.Lookup(ds); ok {
		if fl, ok := d.Field(f); ok {
			return fl.Kind.String()
		}
	}
	return ""
}

// ImportPolicy stores set as the first policy version when the store holds none, and puts it on the
// ledger (a policy entry naming its digest). It returns the version in force afterwards.
func ImportPolicy(ctx context.Context, versions policy.Storage, lg Ledger, set policy.Set, source string, now time.Time) (uint64, error) {
	latest, err := versions.LatestVersion(ctx, 0)
	if err != nil || latest > 0 {
		return latest, err
	}
	if err := set.ValidateWith(catalog{}); err != nil {
		return 0, fmt.Errorf("importing the policy: %w", err)
	}
	for _, p := range set.Purposes {
		if p.Sealed { // ARCHITECTURE §1.2: a sealed purpose comes only by proposal and approval
			return 0, fmt.Errorf("importing the policy: %w: purpose %q is sealed; sealed purposes are added only by an officer's proposal that another officer approves",
				policy.ErrInvalidPolicy, p.Code)
		}
	}
	set.Version = 1
	info, err := set.Info()
	if err != nil {
		return 0, err
	}
	info.Created, info.Reason = now, "imported from "+source
	if _, err := lg.Append(ctx, ledger.Entry{Kind: ledger.KindPolicy, Time: now, Department: "hub", Role: "system",
		Policy: 1, Outcome: ledger.OutcomeAllowed, Record: info.Digest}); err != nil {
		return 0, fmt.Errorf("recording the policy import on the ledger: %w", err)
	}
	if err := versions.SaveVersion(ctx, info, set.Rules); err != nil && !errors.Is(err, policy.ErrVersionExists) {
		return 0, fmt.Errorf("storing the imported policy: %w", err)
	}
	return versions.LatestVersion(ctx, 0)
}
