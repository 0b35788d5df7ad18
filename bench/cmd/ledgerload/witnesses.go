package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/witness"
)

// witnesses are tlog-witness servers run in this process, each with its own fresh key and state
// directory, serving HTTP on a loopback port, as `govhub witness` does; the log reaches them
// through witness.Client over real HTTP.
type witnesses struct {
	clients   []ledger.Cosigner
	verifiers []note.Verifier // cosignature/v1 verifiers of their keys
	servers   []*http.Server
	served    []chan error
}

// startWitnesses starts n witnesses of the log whose checkpoint key is logKey, keeping their state
// under dir.
func startWitnesses(n int, logKey note.Verifier, dir string, logger *slog.Logger) (*witnesses, error) {
	ws := &witnesses{}
	hc := &http.Client{Timeout: ledger.DefaultWitnessTimeout}
	for i := range n {
		name := fmt.Sprintf("witness-%d.ledgerload.local", i+1)
		skey, vkey, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			return nil, errors.Join(err, ws.close(context.Background()))
		}
		signer, err := fnote.NewSignerForCosignatureV1(skey)
		if err != nil {
			return nil, errors.Join(err, ws.close(context.Background()))
		}
		verifier, err := fnote.NewVerifierForCosignatureV1(vkey)
		if err != nil {
			return nil, errors.Join(err, ws.close(context.Background()))
		}
		srv, err := witness.NewServer(witness.Config{
			Signer:   signer,
			Logs:     []witness.Log{{Origin: logKey.Name(), Verifier: logKey}},
			StateDir: filepath.Join(dir, fmt.Sprintf("witness-%d", i+1)),
			Logger:   logger.With(slog.String("witness", name)),
		})
		if err != nil {
			return nil, errors.Join(err, ws.close(context.Background()))
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, errors.Join(err, ws.close(context.Background()))
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
		served := make(chan error, 1)
		go func() { served <- hs.Serve(ln) }()
		ws.servers = append(ws.servers, hs)
		ws.served = append(ws.served, served)
		ws.verifiers = append(ws.verifiers, verifier)
		ws.clients = append(ws.clients, witness.NewClient("http://"+ln.Addr().String(), verifier, hc))
	}
	return ws, nil
}

// close stops the servers.
func (ws *witnesses) close(ctx context.Context) error {
	var errs []error
	for i, hs := range ws.servers {
		errs = append(errs, hs.Shutdown(ctx))
		if err := <-ws.served[i]; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	ws.servers, ws.served = nil, nil
	return errors.Join(errs...)
}
