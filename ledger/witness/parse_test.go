package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestParseRequest(t *testing.T) {
	h := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	const cp = "example.gov/log\n1\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" + "\n\n— example.gov/log AAAAAAA=\n"
	tests := []struct {
		name      string
		in        string
		wantOld   uint64
		wantProof int
		wantErr   string
	}{
		{"no proof", "old 0\n\n" + cp, 0, 0, ""},
		{"two proof lines", "old 7\n" + h(1) + "\n" + h(2) + "\n\n" + cp, 7, 2, ""},
		{"largest old size", "old 18446744073709551615\n\n" + cp, 1<<64 - 1, 0, ""},
		{"63 proof lines", "old 1\n" + strings.Repeat(h(3)+"\n", 63) + "\n" + cp, 1, 63, ""},
		{"64 proof lines", "old 1\n" + strings.Repeat(h(3)+"\n", 64) + "\n" + cp, 0, 0, "more than 63"},
		{"empty", "", 0, 0, "not terminated"},
		{"no newline", "old 0", 0, 0, "not terminated"},
		{"wrong keyword", "new 0\n\n" + cp, 0, 0, `"old "`},
		{"two spaces", "old  0\n\n" + cp, 0, 0, "canonical"},
		{"leading zero", "old 00\n\n" + cp, 0, 0, "canonical"},
		{"plus sign", "old +1\n\n" + cp, 0, 0, "canonical"},
		{"overflow", "old 18446744073709551616\n\n" + cp, 0, 0, "canonical"},
		{"trailing space", "old 1 \n\n" + cp, 0, 0, "canonical"},
		{"short hash", "old 1\nAAAA\n\n" + cp, 0, 0, "base64"},
		{"unpadded hash", "old 1\n" + strings.TrimSuffix(h(4), "=") + "A\n\n" + cp, 0, 0, "base64"},
		{"URL alphabet", "old 1\n" + strings.ReplaceAll(h(0xfb), "+", "-") + "\n\n" + cp, 0, 0, "base64"},
		{"no separator", "old 1\n" + h(1) + "\n", 0, 0, "empty line"},
		{"no checkpoint", "old 1\n\n", 0, 0, "no checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRequest([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRequest(%.40q) = %v, want error containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRequest(%.40q) = %v", tt.in, err)
			}
			if r.OldSize != tt.wantOld || len(r.Proof) != tt.wantProof || string(r.Checkpoint) != cp {
				t.Errorf("parseRequest(%.40q) = old %d, %d proof lines, checkpoint %q, want %d, %d, %q",
					tt.in, r.OldSize, len(r.Proof), r.Checkpoint, tt.wantOld, tt.wantProof, cp)
			}
			if got := formatRequest(r); string(got) != tt.in {
				t.Errorf("formatRequest(parseRequest(x)) = %q, want %q", got, tt.in)
			}
		})
	}
}

func TestParseSpecExample(t *testing.T) {
	b, err := os.ReadFile("testdata/spec-example.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseRequest(b)
	if err != nil {
		t.Fatalf("parseRequest(spec example) = %v", err)
	}
	if r.OldSize != 20852014 || len(r.Proof) != 4 {
		t.Errorf("parseRequest(spec example) = old %d, %d proof lines, want 20852014, 4", r.OldSize, len(r.Proof))
	}
	cp, err := checkpointOf(r.Checkpoint)
	if err != nil {
		t.Fatalf("checkpoint of spec example: %v", err)
	}
	want := checkpoint{Origin: "example.com/behind-the-sofa", Size: 20852163}
	if cp.Origin != want.Origin || cp.Size != want.Size || cp.Root.String() != "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=" {
		t.Errorf("checkpoint of spec example = %+v, want %+v", cp, want)
	}
}

func TestParseCheckpointText(t *testing.T) {
	const root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
	tests := []struct {
		name    string
		in      string
		want    uint64
		wantErr bool
	}{
		{"plain", "o\n20852163\n" + root + "\n", 20852163, false},
		{"zero", "o\n0\n" + root + "\n", 0, false},
		{"extension lines", "o\n1\n" + root + "\nx\ny\n", 1, false},
		{"empty origin", "\n1\n" + root + "\n", 0, true},
		{"two lines", "o\n1\n", 0, true},
		{"leading zero", "o\n01\n" + root + "\n", 0, true},
		{"plus", "o\n+1\n" + root + "\n", 0, true},
		{"short root", "o\n1\nAAAA\n", 0, true},
		{"non-canonical root", "o\n1\n" + root[:42] + "J=\n", 0, true},
		{"empty extension line", "o\n1\n" + root + "\n\nx\n", 0, true},
		{"empty line after extension", "o\n1\n" + root + "\nx\n\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp, err := parseCheckpointText(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseCheckpointText(%q) = %+v, %v, want error %v", tt.in, cp, err, tt.wantErr)
			}
			if err == nil && cp.Size != tt.want {
				t.Errorf("parseCheckpointText(%q).Size = %d, want %d", tt.in, cp.Size, tt.want)
			}
		})
	}
}

// checkpointOf parses the unverified checkpoint of a note, as the server does before it
// knows which key to check.
func checkpointOf(signed []byte) (checkpoint, error) {
	var unverified *note.UnverifiedNoteError
	if _, err := note.Open(signed, note.VerifierList()); !errors.As(err, &unverified) {
		return checkpoint{}, errors.New("malformed note")
	}
	return parseCheckpointText(unverified.Note.Text)
}

// FuzzParseRequest checks that the request parser never panics, that whatever it accepts
// formats back to the same bytes, and that the checkpoint text parser is canonical too.
func FuzzParseRequest(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("old 0\n\nx\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseRequest(body)
		if err != nil {
			return
		}
		if len(r.Proof) > MaxProofLines {
			t.Fatalf("parseRequest() accepted %d proof lines", len(r.Proof))
		}
		if again := formatRequest(r); !bytes.Equal(again, body) {
			t.Fatalf("formatRequest(parseRequest(%q)) = %q", body, again)
		}
		var unverified *note.UnverifiedNoteError
		if _, err := note.Open(r.Checkpoint, note.VerifierList()); !errors.As(err, &unverified) {
			return
		}
		text := unverified.Note.Text
		cp, err := parseCheckpointText(text)
		if err != nil {
			return
		}
		head := cp.Origin + "\n" + strconv.FormatUint(cp.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(cp.Root[:]) + "\n"
		if !strings.HasPrefix(text, head) || strings.Contains(text, "\n\n") {
			t.Fatalf("parseCheckpointText(%q) = %+v, which formats to %q: not canonical", text, cp, head)
		}
	})
}
