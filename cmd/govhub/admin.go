package main

// Administration beside a running hub.
//
// The embedded store keeps its writers apart by locks inside the hub's process, and opening the app
// runs recovery as if it were the only hub, so no second process ever opens a hub's data directory
// for writing. Commands run beside a hub therefore either read, or ask the hub:
//
//   - Read-only commands (policy export, ledger verify, ledger receipt, official resolve) open the
//     store read-only (openReader): through the running hub's database socket when a hub holds the
//     data directory (embedded.Attach), otherwise by starting the embedded database themselves as
//     before. None opens a ledger for writing; they read it with ledger.NewReader.
//   - Commands that change something go through the hub's HTTP API with a bearer token: policy
//     import proposes as the officer whose token it is given (never one the command mints), and
//     status asks the operator endpoint, minting itself a short-lived operator token when it can
//     read the data directory's issuer key.
//
// A running hub leaves its address in <data-dir>/hub.addr (JSON: {"url": …, "pid": …}, mode 0600),
// written once it listens and removed when it stops; a file left by a hub that died is recognised
// because no process holds the directory's lock any more.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/store/embedded"
	"github.com/govhub/govhub/store/mongostore"
)

// hubAddrFile is the file, in the data directory, where a running hub leaves its address.
const hubAddrFile = "hub.addr"

// tokenEnv is the environment variable commands read a bearer token from when --token is not given.
const tokenEnv = "GOVHUB_TOKEN"

type hubAddr struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
	// Audience is the "aud" the hub requires in its tokens ("": auth.DefaultAudience).
	Audience string `json:"audience,omitempty"`
}

// publishAddress writes the hub's address into its data directory and returns the function that
// removes it (only if it is still ours).
func publishAddress(dataDir, url, audience string) (remove func(), err error) {
	path := filepath.Join(dataDir, hubAddrFile)
	b, err := json.Marshal(hubAddr{URL: url, PID: os.Getpid(), Audience: audience})
	if err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("writing the hub's address: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("writing the hub's address: %w", err)
	}
	return func() {
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(bytes.TrimSpace(cur), b) {
			os.Remove(path)
		}
	}, nil
}

// runningHub returns the address of the hub that holds dataDir's embedded database, if one does.
// ok is false when none does (a hub.addr file left by a hub that died is ignored).
func runningHub(dataDir string) (a hubAddr, ok bool, err error) {
	if _, _, err := embedded.Attach(filepath.Join(dataDir, "db")); errors.Is(err, fs.ErrNotExist) {
		return a, false, nil
	} else if err != nil {
		return a, false, err
	}
	b, err := os.ReadFile(filepath.Join(dataDir, hubAddrFile))
	if errors.Is(err, fs.ErrNotExist) {
		return a, false, fmt.Errorf("a process holds %s but left no %s: is it a hub that is still starting? (or pass --hub URL)", dataDir, hubAddrFile)
	}
	if err != nil {
		return a, false, err
	}
	if err := json.Unmarshal(b, &a); err != nil || a.URL == "" {
		return a, false, fmt.Errorf("%s: not a hub address file", filepath.Join(dataDir, hubAddrFile))
	}
	return a, true, nil
}

// openReader opens the store for a command that only reads. With --mongo-uri it connects as usual
// but creates nothing (and the result is shared: other hubs may be writing). On the embedded store it reads through the running hub's database socket
// when a hub holds the data directory (and says so on stderr), and otherwise starts the embedded
// database itself, holding the directory while it runs. The data directory must exist.
func openReader(ctx context.Context, cfg config, stderr io.Writer) (*storage, error) {
	if cfg.MongoURI == "" {
		if err := requireDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
		uri, pid, err := embedded.Attach(cfg.path("db"))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return openStorage(ctx, cfg) // nobody else holds it: ours while we run
		case err != nil:
			return nil, err
		}
		fmt.Fprintf(stderr, "a hub (pid %s) holds %s: reading through its database, read-only\n", pid, cfg.DataDir)
		cfg.MongoURI = uri
	}
	s := &storage{shared: true}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var err error
	opts := []mongostore.Option{mongostore.ReadOnly()}
	if s.client, s.store, err = connectStore(startCtx, cfg.MongoURI, cfg.MongoDB, nil, opts); err != nil {
		return nil, err
	}
	s.ledgerClient, s.ledgerStore = s.client, s.store
	return s, nil
}

// closeReader closes what openReader opened.
func (s *storage) closeReader(ctx context.Context) error {
	if s.ledgerClient == s.client {
		s.ledgerClient = nil
	}
	err := s.close(ctx)
	if errors.Is(err, mongo.ErrClientDisconnected) {
		return nil
	}
	return err
}

// hubClient calls a running hub's HTTP API with a bearer token.
type hubClient struct {
	url   string
	token string
	http  *http.Client
}

// adminFlags are the flags of commands that talk to a running hub.
type adminFlags struct {
	hub, token string
}

func (f *adminFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	fs.StringVar(&f.hub, "hub", "", "the running hub's URL (default: the address the hub left in the data directory)")
	fs.StringVar(&f.token, "token", "", "bearer token (default: $"+tokenEnv+")")
}

// client returns a client of the hub: --hub, or the hub running on dataDir. token is --token, or
// $GOVHUB_TOKEN, or what mint returns for the hub's audience (nil mint: a token is required).
func (f *adminFlags) client(dataDir string, mint func(audience string) (string, error)) (*hubClient, error) {
	url, audience := f.hub, ""
	if url == "" {
		a, ok, err := runningHub(dataDir)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("no hub is running on %s: start it (govhub serve --data-dir %s), or give --hub URL", dataDir, dataDir)
		}
		url, audience = a.URL, a.Audience
	}
	tok := strings.TrimSpace(f.token)
	if tok == "" {
		tok = strings.TrimSpace(os.Getenv(tokenEnv))
	}
	if tok == "" {
		if mint == nil {
			return nil, fmt.Errorf("a bearer token is needed: --token T or $%s", tokenEnv)
		}
		var err error
		if tok, err = mint(audience); err != nil {
			return nil, err
		}
	}
	return &hubClient{url: strings.TrimRight(url, "/"), token: tok, http: &http.Client{Timeout: time.Minute}}, nil
}

// mintToken returns a function minting a token for p and an audience ("": the default), valid for
// a few minutes, with the issuer key of dataDir (for whoever can read the data directory's keys,
// who could run the hub anyway).
func mintToken(dataDir string, p auth.Principal) func(audience string) (string, error) {
	return func(audience string) (string, error) {
		priv, err := readHubKey(dataDir, "issuer.key", keys.ReadEd25519)
		if err != nil {
			return "", fmt.Errorf("minting a %s token: %w (or give --token)", p.Kind, err)
		}
		var opts []auth.IssuerOption
		if audience != "" {
			opts = append(opts, auth.WithIssuerAudience(audience))
		}
		iss, err := auth.NewIssuer(priv, tokenIssuer, opts...)
		if err != nil {
			return "", err
		}
		return iss.Issue(p, 5*time.Minute)
	}
}

// cliSubject names the person at the shell in a token the command mints: "cli-" and their user
// name (characters a token subject may not hold replaced by "-").
func cliSubject() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return "cli-" + strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '_' || r == '@' || r == '+' || r == ':' || r == '-' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return r
		}
		return '-'
	}, name)
}

// graphQLError is one error of a GraphQL response.
type graphQLError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// query runs a GraphQL operation and decodes its data into out. GraphQL errors come back as one
// error, in the hub's words.
func (c *hubClient) query(ctx context.Context, q string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		return err
	}
	var res struct {
		Data   json.RawMessage `json:"data"`
		Errors []graphQLError  `json:"errors"`
	}
	if err := c.do(ctx, http.MethodPost, "/graphql", body, &res); err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		msgs := make([]string, len(res.Errors))
		for i, e := range res.Errors {
			msgs[i] = e.Message
			if e.Extensions.Code != "" {
				msgs[i] += " (" + e.Extensions.Code + ")"
			}
		}
		return errors.New("the hub refused: " + strings.Join(msgs, "; "))
	}
	return json.Unmarshal(res.Data, out)
}

// do sends a request to the hub and decodes its JSON answer into out.
func (c *hubClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("reaching the hub at %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading the hub's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 && !(path == "/graphql" && resp.StatusCode == http.StatusUnprocessableEntity) {
		return fmt.Errorf("the hub answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the hub's answer is not JSON: %w", err)
	}
	return nil
}
