package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// ErrNotStored: the mirror has not (yet) stored the contents of the checkpoint it was asked to
// cosign (HTTP 503); ask again later.
var ErrNotStored = errors.New("mirror: the checkpoint's contents are not stored yet")

// Client asks a mirror for its cosignature on a log's checkpoints (POST /<origin hash>/cosign),
// for a log that counts mirror cosignatures. It is safe for concurrent use.
type Client struct {
	base   string // the mirror's URL, without a trailing slash
	mirror note.Verifier
	http   *http.Client
}

// NewClient returns a client of the mirror at baseURL (its monitoring prefix, e.g.
// http://mirror.tax.example:8094) for a log, checking the mirror's answers with its verifier key
// (the cosignature/v1 vkey `govhub mirror` prints). A nil httpClient uses one with a timeout a
// little over CosignTimeout. Each checkpoint is posted under the hash of its own origin, so a
// client goes on across a rotation of the log key.
func NewClient(baseURL string, mirrorKey note.Verifier, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: CosignTimeout + 10*time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), mirror: mirrorKey, http: httpClient}
}

// Name is the mirror key's name.
func (c *Client) Name() string { return c.mirror.Name() }

// Cosign sends the checkpoint (the log's signed note, with the witnesses' cosignatures) and
// returns the mirror's cosignature line(s), checked against the mirror's key: append them to the
// note. The errors are ErrNotStored (503: retry later), ErrFork (409), ErrQuorum (403: the
// checkpoint lacks the mirror's witness quorum, or its log signature), or another failure.
func (c *Client) Cosign(ctx context.Context, checkpoint []byte) ([]byte, error) {
	url := c.base + "/" + originHash(originOf(checkpoint)) + "/cosign"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(checkpoint))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mirror %s: %w", c.Name(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCheckpoint))
	if err != nil {
		return nil, fmt.Errorf("mirror %s: %w", c.Name(), err)
	}
	msg := strings.TrimSpace(string(body[:min(len(body), 500)]))
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		return nil, fmt.Errorf("%w: mirror %s: %s", ErrNotStored, c.Name(), msg)
	case http.StatusConflict:
		return nil, fmt.Errorf("%w: mirror %s: %s", ErrFork, c.Name(), msg)
	case http.StatusForbidden:
		return nil, fmt.Errorf("%w: mirror %s: %s", ErrQuorum, c.Name(), msg)
	default:
		return nil, fmt.Errorf("mirror %s: %s: %s", c.Name(), resp.Status, msg)
	}
	// Keep the lines signed by the mirror's key, and require one.
	var out []byte
	for _, line := range strings.SplitAfter(string(body), "\n") {
		if !strings.HasPrefix(line, "— "+c.mirror.Name()+" ") || !strings.HasSuffix(line, "\n") {
			continue
		}
		if _, err := note.Open(append(bytes.Clone(checkpoint), line...), note.VerifierList(c.mirror)); err != nil {
			continue
		}
		out = append(out, line...)
	}
	if out == nil {
		return nil, fmt.Errorf("mirror %s answered no valid cosignature on the checkpoint", c.Name())
	}
	return out, nil
}
