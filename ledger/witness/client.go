package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// maxReplySize bounds how much of a witness's reply the client reads.
const maxReplySize = 64 << 10

// Client submits checkpoints to one witness. It is safe for concurrent use.
type Client struct {
	url string
	v   note.Verifier
	hc  *http.Client
}

// NewClient returns a client of the witness whose submission prefix is url (the client
// appends "/add-checkpoint") and whose cosignature/v1 verifier is v (as made by
// github.com/transparency-dev/formats/note.NewVerifierForCosignatureV1). A nil hc means
// http.DefaultClient; deadlines come from the context given to AddCheckpoint and from hc.
func NewClient(url string, v note.Verifier, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{url: strings.TrimSuffix(url, "/"), v: v, hc: hc}
}

// Name returns the witness's name: the key name of its cosignatures.
func (c *Client) Name() string { return c.v.Name() }

// AddCheckpoint submits checkpoint (a signed note) with a consistency proof from oldSize,
// the size the caller believes the witness last cosigned (0 if unknown: the witness then
// answers with its size in a *ConflictError, unless it has none).
//
// It returns the witness's cosignature lines ("— <name> <base64>\n" each), only those made
// by the witness key, each verified against the checkpoint and carrying a non-zero
// timestamp; appended to checkpoint they give the cosigned checkpoint.
//
// Refusals are a *ConflictError for 409 (retry with a proof from its Size), and errors
// wrapping ErrUnknownLog (404), ErrBadSignature (403), ErrInconsistent (422) or
// ErrBadRequest (400, 413, or more than MaxProofLines proof hashes). A 200 reply
// without a valid cosignature from the witness key is ErrBadCosignature.
func (c *Client) AddCheckpoint(ctx context.Context, oldSize uint64, proof [][32]byte, checkpoint []byte) ([]byte, error) {
	if len(proof) > MaxProofLines {
		return nil, fmt.Errorf("adding checkpoint to witness %s: %w: %d proof hashes, at most %d",
			c.Name(), ErrBadRequest, len(proof), MaxProofLines)
	}
	split := bytes.LastIndex(checkpoint, []byte("\n\n"))
	if split < 0 {
		return nil, fmt.Errorf("adding checkpoint to witness %s: %w: checkpoint is not a signed note", c.Name(), ErrBadRequest)
	}
	text := checkpoint[:split+1]

	req := request{OldSize: oldSize, Proof: make([]tlog.Hash, len(proof)), Checkpoint: checkpoint}
	for i, h := range proof {
		req.Proof[i] = h
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+addCheckpointPath, bytes.NewReader(formatRequest(req)))
	if err != nil {
		return nil, fmt.Errorf("adding checkpoint to witness %s: %w", c.Name(), err)
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("adding checkpoint to witness %s: %w", c.Name(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplySize))
	if err != nil {
		return nil, fmt.Errorf("adding checkpoint to witness %s: reading reply: %w", c.Name(), err)
	}

	var refused error
	switch resp.StatusCode {
	case http.StatusOK:
		cosigs, err := c.verifyCosignatures(text, body)
		if err != nil {
			return nil, fmt.Errorf("adding checkpoint to witness %s: %w", c.Name(), err)
		}
		return cosigs, nil
	case http.StatusConflict:
		size, ok := bytes.CutSuffix(body, []byte("\n"))
		n, err := parseSize(size)
		if !ok || err != nil {
			return nil, fmt.Errorf("adding checkpoint to witness %s: malformed 409 reply %q", c.Name(), truncate(body))
		}
		return nil, fmt.Errorf("adding checkpoint to witness %s: %w", c.Name(), &ConflictError{Size: n})
	case http.StatusNotFound:
		refused = ErrUnknownLog
	case http.StatusForbidden:
		refused = ErrBadSignature
	case http.StatusUnprocessableEntity:
		refused = ErrInconsistent
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		refused = ErrBadRequest
	default:
		return nil, fmt.Errorf("adding checkpoint to witness %s: unexpected status %s: %q",
			c.Name(), resp.Status, truncate(bytes.TrimSpace(body)))
	}
	return nil, fmt.Errorf("adding checkpoint to witness %s: %w: %q", c.Name(), refused, truncate(bytes.TrimSpace(body)))
}

// verifyCosignatures returns the lines of a 200 reply that are valid cosignatures of text
// by c's witness key. Lines from other keys are ignored, as the protocol requires.
func (c *Client) verifyCosignatures(text, reply []byte) ([]byte, error) {
	if len(reply) == 0 || reply[len(reply)-1] != '\n' {
		return nil, fmt.Errorf("%w: reply is not newline-terminated signature lines", ErrBadCosignature)
	}
	var out []byte
	for line := range bytes.Lines(reply) {
		if !bytes.HasPrefix(line, []byte("— ")) {
			return nil, fmt.Errorf("%w: reply line %q is not a signature line", ErrBadCosignature, truncate(line))
		}
		// Each line on its own, so an older cosignature already on the checkpoint cannot
		// stand in for the fresh one.
		msg := make([]byte, 0, len(text)+1+len(line))
		msg = append(append(append(msg, text...), '\n'), line...)
		n, err := note.Open(msg, note.VerifierList(c.v))
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			continue // another key's signature
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCosignature, err)
		}
		ts, err := fnote.CoSigV1Timestamp(n.Sigs[0])
		if err != nil || ts.Unix() <= 0 {
			return nil, fmt.Errorf("%w: cosignature has no timestamp", ErrBadCosignature)
		}
		if !bytes.Contains(out, line) {
			out = append(out, line...)
		}
	}
	if out == nil {
		return nil, fmt.Errorf("%w: no signature by %s", ErrBadCosignature, c.Name())
	}
	return out, nil
}
