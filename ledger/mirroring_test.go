package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/store/storetest"
)

// refusingMirror never holds anything.
type refusingMirror struct{}

func (refusingMirror) Name() string { return "mirror.test" }
func (refusingMirror) Cosign(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("not stored")
}

// Once an acknowledged entry has waited longer than the bound for the mirror quorum, the holder
// sequences nothing more: not its own appends, and not those another instance forwards to it.
func TestMirrorsBehindRefuseForwardedAppends(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	set := ledger.NewMirrorSet([]ledger.MirrorCosigner{refusingMirror{}, refusingMirror{}}, 2, 200*time.Millisecond)
	a, b := leaderAndFollower(t, env, s, v, time.Second, ledger.WithMirrors(set))
	if _, err := a.Append(t.Context(), entry(0)); err != nil {
		t.Fatalf("the first append = %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := a.Append(t.Context(), entry(1)); !errors.Is(err, ledger.ErrMirrorsBehind) {
		t.Errorf("the holder's append with the mirrors behind = %v, want ErrMirrorsBehind", err)
	}
	if err := set.Behind(); !errors.Is(err, ledger.ErrMirrorsBehind) {
		t.Errorf("MirrorSet.Behind = %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if r, err := b.Append(ctx, entry(2)); err == nil {
		t.Errorf("an append forwarded to the holder with the mirrors behind was sequenced at %d", r.Index)
	}
	if err := a.WaitCaughtUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := a.Integrated().Size; n != 1 {
		t.Errorf("the log holds %d entries, want only the one acknowledged before the bound", n)
	}
}
