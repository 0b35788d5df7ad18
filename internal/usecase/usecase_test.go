package usecase

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/ledger"
)

type failingLedger struct{ err error }

func (l failingLedger) Append(context.Context, ledger.Entry) (ledger.Receipt, error) {
	return ledger.Receipt{Index: 3}, l.err
}

func TestAppendMapsLedgerFailures(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		want      error
		notWanted error
	}{
		{"ok", nil, nil, nil},
		{"queue full", fmt.Errorf("append: %w", ledger.ErrQueueFull), ErrBusy, ErrUnavailable},
		{"invalid entry", fmt.Errorf("append: %w", ledger.ErrInvalidEntry), ledger.ErrInvalidEntry, ErrUnavailable},
		{"database down", errors.New("connection refused"), ErrUnavailable, ErrBusy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Append(t.Context(), failingLedger{tt.err}, ledger.Entry{})
			if tt.want == nil {
				if err != nil || r.Index != 3 {
					t.Errorf("Append = %v, %v, want the receipt", r, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || errors.Is(err, tt.notWanted) {
				t.Errorf("Append with %v = %v, want %v and not %v", tt.err, err, tt.want, tt.notWanted)
			}
		})
	}
}

func TestActor(t *testing.T) {
	tests := []struct {
		name       string
		p          auth.Principal
		dept, role string
	}{
		{"department clerk", auth.Principal{Kind: auth.KindDepartment, Department: "tax", Role: "clerk", Subject: "t1"}, "tax", "clerk"},
		{"citizen", auth.Principal{Kind: auth.KindCitizen, Subject: "C000001"}, "citizen", "citizen"},
		{"auditor", auth.Principal{Kind: auth.KindAuditor, Subject: "a1"}, "auditor", "auditor"},
		{"nobody", auth.Principal{}, "unknown", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d, r := Actor(tt.p); d != tt.dept || r != tt.role {
				t.Errorf("Actor(%+v) = %s, %s, want %s, %s", tt.p, d, r, tt.dept, tt.role)
			}
		})
	}
}
