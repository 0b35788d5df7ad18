package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// MetaStore keeps small documents of hub state.
type MetaStore interface {
	Meta(ctx context.Context, key string, v any) error
	PutMeta(ctx context.Context, key string, v any) error
}

type policyState struct {
	Version int64  `bson:"version"`
	Digest  []byte `bson:"digest"`
}

// PolicyDigest is SHA-256 over the policy's canonical CSV and purposes JSON.
func PolicyDigest(set policy.Set) ([]byte, error) {
	var b bytes.Buffer
	if err := policy.FormatCSV(&b, set.Rules, set.Groupings); err != nil {
		return nil, err
	}
	b.WriteString("\x00")
	if err := policy.FormatPurposes(&b, set.Purposes); err != nil {
		return nil, err
	}
	d := sha256.Sum256(b.Bytes())
	return d[:], nil
}

// AdoptPolicy puts a policy loaded at start-up on the ledger when it differs from the one last in
// force, and returns it with the version it is in force under: the version last in force when the
// content is the same, otherwise the greater of the set's own version and the last one plus one. The
// policy entry records the new version and the policy's digest, so every later access entry names a
// version the ledger explains.
func AdoptPolicy(ctx context.Context, meta MetaStore, lg Ledger, set policy.Set, now time.Time) (policy.Set, error) {
	digest, err := PolicyDigest(set)
	if err != nil {
		return set, err
	}
	var st policyState
	err = meta.Meta(ctx, "policy", &st)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return set, fmt.Errorf("reading the policy in force: %w", err)
	}
	if err == nil && bytes.Equal(st.Digest, digest) {
		set.Version = uint64(st.Version)
		return set, nil
	}
	if last := uint64(st.Version); set.Version <= last {
		set.Version = last + 1
	}
	if set.Version == 0 {
		set.Version = 1
	}
	_, err = lg.Append(ctx, ledger.Entry{
		Kind: ledger.KindPolicy, Time: now, Department: "hub", Role: "system", Policy: set.Version,
		Outcome: ledger.OutcomeAllowed, Record: digest,
	})
	if err != nil {
		return set, fmt.Errorf("recording policy version %d on the ledger: %w", set.Version, err)
	}
	if err := meta.PutMeta(ctx, "policy", policyState{Version: int64(set.Version), Digest: digest}); err != nil {
		return set, fmt.Errorf("recording policy version %d: %w", set.Version, err)
	}
	return set, nil
}
