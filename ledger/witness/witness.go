// Package witness implements both ends of the C2SP tlog-witness protocol
// (https://c2sp.org/tlog-witness) for GovHub: a [Server] that follows other
// departments' logs and cosigns their checkpoints, and a [Client] that a log
// uses to push its checkpoints to a witness.
//
// # Contract
//
// A witness cosigns a checkpoint only if it is signed by the key it trusts for
// the checkpoint's origin and is an append-only extension of the latest
// checkpoint it cosigned for that origin. Its cosignature is a
// cosignature/v1 (Ed25519, timestamped) note signature, which states "as of
// this time, this is the largest consistent tree I have seen for this log".
// The witness keeps, per origin, only its latest cosigned checkpoint; it
// persists it (file written, synced, renamed, directory synced) before it
// answers, and the compare of the submitted old size with that record and
// the update are one atomic step per origin, so concurrent submissions never
// roll the record back. A checkpoint that contradicts the record (a split
// view at the same size, or a larger tree that does not extend it) is refused
// and logged: it is signed evidence that the log misbehaved.
//
// The package does not know what the log holds; it only checks Merkle
// consistency (RFC 6962, via golang.org/x/mod/sumdb/tlog) and signatures
// (signed notes, via golang.org/x/mod/sumdb/note).
//
// # Wire format
//
// The client POSTs to <submission prefix>/add-checkpoint a body made of an
// old size line, zero to 63 consistency proof lines (one base64 RFC 6962 hash
// each), an empty line, and the signed checkpoint. Every line ends in "\n";
// numbers are decimal without leading zeroes (the empty tree is "0"); the
// base64 is standard, padded and canonical. For example, a log at size 4
// that the witness last cosigned at size 3 (this is the test vector
// testdata/add-checkpoint-3-4.txt: the log key's Ed25519 seed is 32 bytes of
// 0x01 and the leaves are "leaf 0" to "leaf 3"):
//
//	old 3
//	qze6NNHf4pAV3nF6bVdkqPsCnDp6D1tkuTtUNRiFv3w=
//	WL0UluFoSqySAcLmh+565PUclqiw2B7zWDYouT0800U=
//	/F9riP+FVPdbsvnm85wxsZNtRLaSdu33sSBalVuXYeM=
//
//	example.gov/tax-log
//	4
//	T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=
//
//	— example.gov/tax-log Bee0lhffV6S1UOpshS+apnCxuY5Cc9GVyUPFNSmcK/SLzPR2iN2RwqPguOGh3h6YOHJ79+zprFOM2s8TDqOL+RUZ3w4=
//
// The witness answers with one of:
//
//	200  its cosignature line(s) (text/plain; see below)
//	400  malformed body, more than 63 proof lines, or old size > checkpoint size
//	403  no signature from the key trusted for the origin, or such a signature does not verify
//	404  the origin is not a log this witness follows
//	409  the old size is not the latest cosigned size; the body is that size, e.g. "3\n"
//	     (Content-Type text/x.tlog.size), and the client retries with a proof from there
//	413  the body is larger than [MaxBodySize]
//	422  the checkpoint is inconsistent: a size-0 checkpoint whose root is not the empty
//	     tree's, a proof sent with old size 0, a consistency proof that does not verify,
//	     or the same size with a different root hash (a split view)
//
// A 200 body is cosignature lines as in the signed-note format: an em dash
// (U+2014), a space, the witness's key name, a space, and base64 of the
// 4-byte key hash, the 8-byte big-endian Unix time and the Ed25519
// signature. The witness of testdata/witness.vkey answered the request above
// with
//
//	— witness.example.gov/w1 TFfVTQAAAABrAbcSvtWdHd7b5IZ2Mse15j/ioaFDqlTbjRWf+mmLn3tPv/Bz8LfzmoVx8fXUEpQmNErkR6jyhnRz+S93s6UBCqrgAg==
//
// whose time is 1795274514 and whose signature is over
//
//	cosignature/v1
//	time 1795274514
//	example.gov/tax-log
//	4
//	T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=
//
// Appending the lines to the checkpoint gives a cosigned checkpoint.
package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	// MaxProofLines is the most consistency proof lines a request may carry.
	MaxProofLines = 63
	// MaxBodySize is the largest add-checkpoint request body the server reads.
	MaxBodySize = 64 << 10

	// sizeContentType is the media type of a 409 answer's body.
	sizeContentType = "text/x.tlog.size"
	// addCheckpointPath is appended to the submission prefix.
	addCheckpointPath = "/add-checkpoint"
)

var (
	// ErrUnknownLog: the witness does not follow the checkpoint's origin (HTTP 404).
	ErrUnknownLog = errors.New("witness: unknown log origin")
	// ErrBadSignature: the checkpoint carries no valid signature from the key the witness
	// trusts for its origin (HTTP 403).
	ErrBadSignature = errors.New("witness: checkpoint not signed by the trusted log key")
	// ErrInconsistent: the checkpoint contradicts what the witness cosigned before, or the
	// consistency proof does not verify (HTTP 422).
	ErrInconsistent = errors.New("witness: checkpoint inconsistent with the witnessed log")
	// ErrBadRequest: the request was malformed, or its old size exceeds the checkpoint size
	// (HTTP 400 or 413).
	ErrBadRequest = errors.New("witness: bad request")
	// ErrBadCosignature: the witness answered 200, but its reply holds no valid cosignature
	// from the witness key on the checkpoint, or is malformed.
	ErrBadCosignature = errors.New("witness: reply carries no valid cosignature")
)

// ConflictError is a 409 answer: the old size sent is not the latest size the witness
// cosigned for the log. Retry with a consistency proof from Size.
type ConflictError struct {
	Size uint64 // the witness's latest cosigned size for the log
}

func (e *ConflictError) Error() string {
	return "witness: conflict: latest cosigned size is " + strconv.FormatUint(e.Size, 10)
}

// request is a parsed add-checkpoint body.
type request struct {
	OldSize    uint64
	Proof      []tlog.Hash
	Checkpoint []byte // the signed note, not yet verified
}

// parseRequest parses an add-checkpoint body strictly: every accepted body is the one
// formatRequest produces from the result.
func parseRequest(body []byte) (request, error) {
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	if !ok {
		return request{}, errors.New("old size line not terminated")
	}
	num, ok := bytes.CutPrefix(line, []byte("old "))
	if !ok {
		return request{}, errors.New(`first line does not start with "old "`)
	}
	old, err := parseSize(num)
	if err != nil {
		return request{}, fmt.Errorf("old size: %w", err)
	}
	var proof []tlog.Hash
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return request{}, errors.New("no empty line before the checkpoint")
		}
		if len(line) == 0 {
			break
		}
		if len(proof) == MaxProofLines {
			return request{}, fmt.Errorf("more than %d consistency proof lines", MaxProofLines)
		}
		h, err := parseHash(line)
		if err != nil {
			return request{}, fmt.Errorf("consistency proof line %d: %w", len(proof)+1, err)
		}
		proof = append(proof, h)
	}
	if len(rest) == 0 {
		return request{}, errors.New("no checkpoint")
	}
	return request{OldSize: old, Proof: proof, Checkpoint: rest}, nil
}

// formatRequest encodes r as an add-checkpoint body.
func formatRequest(r request) []byte {
	b := make([]byte, 0, 24+len(r.Proof)*45+len(r.Checkpoint))
	b = append(b, "old "...)
	b = strconv.AppendUint(b, r.OldSize, 10)
	b = append(b, '\n')
	for _, h := range r.Proof {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, r.Checkpoint...)
}

// parseSize parses a tree size: ASCII decimal, no sign, no leading zeroes except "0".
func parseSize(b []byte) (uint64, error) {
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || (len(b) > 1 && b[0] == '0') {
		return 0, fmt.Errorf("%q is not a canonical decimal size", truncate(b))
	}
	return n, nil
}

// parseHash decodes a canonical, padded standard base64 encoding of a 32-byte hash.
func parseHash(b []byte) (tlog.Hash, error) {
	var h tlog.Hash
	if len(b) != base64.StdEncoding.EncodedLen(tlog.HashSize) {
		return h, fmt.Errorf("%q is not a base64 hash", truncate(b))
	}
	// Decode may write up to DecodedLen bytes (33 for 44 characters without padding).
	var buf [33]byte
	n, err := base64.StdEncoding.Strict().Decode(buf[:], b)
	if err != nil || n != tlog.HashSize {
		return h, fmt.Errorf("%q is not a canonical base64 hash", truncate(b))
	}
	copy(h[:], buf[:n])
	if base64.StdEncoding.EncodeToString(h[:]) != string(b) {
		return tlog.Hash{}, fmt.Errorf("%q is not a canonical base64 hash", truncate(b))
	}
	return h, nil
}

// checkpoint is the text of a tlog-checkpoint note.
type checkpoint struct {
	Origin string
	Size   uint64
	Root   tlog.Hash
}

// parseCheckpointText parses the text of a checkpoint note (the note text, without the
// signatures) strictly: origin, canonical size, canonical base64 32-byte root hash, then
// optional non-empty extension lines.
func parseCheckpointText(text string) (checkpoint, error) {
	var c log.Checkpoint
	ext, err := c.Unmarshal([]byte(text))
	if err != nil {
		return checkpoint{}, err
	}
	if len(c.Hash) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("root hash has %d bytes, want %d", len(c.Hash), tlog.HashSize)
	}
	// Unmarshal accepts leading zeroes and non-canonical base64; the text must be exactly what
	// Marshal writes, followed by the extension lines.
	if canon := c.Marshal(); !bytes.HasPrefix([]byte(text), canon) || len(canon)+len(ext) != len(text) {
		return checkpoint{}, errors.New("checkpoint text is not canonical")
	}
	if len(ext) > 0 && (ext[0] == '\n' || bytes.Contains(ext, []byte("\n\n")) || ext[len(ext)-1] != '\n') {
		return checkpoint{}, errors.New("checkpoint has an empty extension line")
	}
	cp := checkpoint{Origin: c.Origin, Size: c.Size}
	copy(cp.Root[:], c.Hash)
	return cp, nil
}

// truncate shortens hostile input before it goes into an error message or a log line.
func truncate[T ~string | ~[]byte](s T) string {
	const max = 128
	if len(s) > max {
		return string(s[:max]) + "…"
	}
	return string(s)
}
