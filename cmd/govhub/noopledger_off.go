//go:build !govhub_noopledger

package main

import "github.com/govhub/govhub/hub"

// noopLedgerBuild is false in every build but the benchmark-only one (noopledger_on.go): reads are
// logged on the ledger, and nothing at run time can change that.
const noopLedgerBuild = false

// readLedger is the ledger reads append to: the hub's ledger (appends timed for /metrics).
func (a *app) readLedger() hub.Appender { return a.ledger() }
