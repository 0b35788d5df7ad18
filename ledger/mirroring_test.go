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
	opts := []ledger.Option{ledger.WithLeaseTTL(time.Second), ledger.WithIntegrationInterval(5 * time.Millisecond)}
	a, err := ledger.New(t.Context(), ledger.Config{Storage: env.Store, Signer: s, Verifier: v},
		append(opts, ledger.WithInstance("a"), ledger.WithMirrors(set))...)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	b, err := ledger.New(t.Context(), ledger.Config{Storage: secondStore(t, env), Signer: s, Verifier: v}, append(opts, ledger.WithInstance("b"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown(context.Background())
	if !a.Leading() || b.Leading() {
		t.Fatalf("leading: a %v, b %v; want a only", a.Leading(), b.Leading())
	}
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
