//go:build govhub_noopledger

package main

// The benchmark-only build: go build -tags govhub_noopledger ./cmd/govhub. Reads (hub.Reader) do
// not append their entry to the ledger; the entry is still built and formatted, and its receipt
// signed, for an index far beyond the ledger's, so that a run measures what logging costs as the
// ratio of two builds' throughput (govhub bench). Updates, governance and questions still append.
// Such a hub breaks the first invariant (log before release) and says so at start-up and in
// /admin/status; no flag, variable or file turns it on in any other build.

import (
	"context"
	"sync/atomic"

	"github.com/govhub/govhub/hub"
	"github.com/govhub/govhub/ledger"
)

const noopLedgerBuild = true

// noopIndexBase is where the no-op ledger's indexes start: far beyond any real ledger's.
const noopIndexBase = 1 << 48

type noopAppender struct {
	log  *ledger.Log
	next atomic.Uint64
}

func (n *noopAppender) Append(ctx context.Context, e ledger.Entry) (ledger.Receipt, error) {
	data, err := ledger.FormatEntry(e)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return n.log.Sign(noopIndexBase+n.next.Add(1), ledger.LeafHash(data))
}

func (a *app) readLedger() hub.Appender { return &noopAppender{log: a.log} }
