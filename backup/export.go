package backup

// The export of a store (ExportWriter, ExportReader): every document of every collection, so that
// a hub whose database is lost can be restored into an empty one.
//
//	age(scrypt, passphrase) ∘ gzip ∘ BSON documents, one after another:
//	  {format: "govhub-backup/v1", created: <date>}                     the header
//	  {c: "<collection>", d: <the document, as stored>}                  one per document
//	  {end: true, documents: <int64>}                                     the trailer
//
// age (filippo.io/age) encrypts and authenticates the stream in chunks and detects a truncated
// one; the trailer's count is checked too. The passphrase is derived from the hub's master key
// (ExportPassphrase: base64 of HKDF-SHA256(master key, no salt, info "govhub/backup/v1", 32
// bytes)), so an export opens with the keys restored from the officers' shares and with nothing
// else, and a database dump does not need a passphrase of its own kept somewhere. The scrypt work
// factor is 2^15 (about 0.1 s to open).
//
// The sealed values stay sealed inside the export (they are stored sealed, ARCHITECTURE §1.4), and
// the export holds the store's ledger copy too, whose entries carry only commitments.

import (
	"bufio"
	"compress/gzip"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
	"go.mongodb.org/mongo-driver/v2/bson"
)

const (
	exportFormat = "govhub-backup/v1"
	// ExportInfo is the HKDF info of the export passphrase.
	ExportInfo = "govhub/backup/v1"
	scryptWork = 15
	// maxExportDoc bounds one framed document (a stored document is at most 16 MiB).
	maxExportDoc = 17 << 20
)

// ExportPassphrase derives an export's passphrase from the hub's master key.
func ExportPassphrase(masterKey []byte) (string, error) {
	if len(masterKey) < 32 {
		return "", errors.New("backup: the master key is too short")
	}
	k, err := hkdf.Key(sha256.New, masterKey, nil, ExportInfo, 32)
	if err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(k), nil
}

// ExportWriter writes an export.
type ExportWriter struct {
	age  io.WriteCloser
	gz   *gzip.Writer
	docs int64
}

// NewExportWriter starts an export on w, encrypted under passphrase.
func NewExportWriter(w io.Writer, passphrase string) (*ExportWriter, error) {
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(scryptWork)
	aw, err := age.Encrypt(w, r)
	if err != nil {
		return nil, err
	}
	ew := &ExportWriter{age: aw, gz: gzip.NewWriter(aw)}
	if err := ew.write(bson.D{{Key: "format", Value: exportFormat}, {Key: "created", Value: time.Now().UTC()}}); err != nil {
		return nil, err
	}
	return ew, nil
}

func (w *ExportWriter) write(v any) error {
	b, err := bson.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.gz.Write(b)
	return err
}

// Add writes one stored document of collection.
func (w *ExportWriter) Add(collection string, doc bson.Raw) error {
	if err := doc.Validate(); err != nil {
		return fmt.Errorf("backup: a document of %s: %w", collection, err)
	}
	w.docs++
	return w.write(bson.D{{Key: "c", Value: collection}, {Key: "d", Value: doc}})
}

// Documents is how many documents were added.
func (w *ExportWriter) Documents() int64 { return w.docs }

// Close writes the trailer and finishes the stream (it does not close the underlying writer).
func (w *ExportWriter) Close() error {
	if err := w.write(bson.D{{Key: "end", Value: true}, {Key: "documents", Value: w.docs}}); err != nil {
		return err
	}
	if err := w.gz.Close(); err != nil {
		return err
	}
	return w.age.Close()
}

// ExportReader reads an export.
type ExportReader struct {
	r       *bufio.Reader
	docs    int64
	Created time.Time
	done    bool
}

// NewExportReader opens an export with passphrase and reads its header.
func NewExportReader(r io.Reader, passphrase string) (*ExportReader, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, err
	}
	id.SetMaxWorkFactor(scryptWork)
	ar, err := age.Decrypt(r, id)
	if err != nil {
		return nil, fmt.Errorf("backup: opening the export (is it from this hub, with its master key?): %w", err)
	}
	gz, err := gzip.NewReader(ar)
	if err != nil {
		return nil, fmt.Errorf("backup: the export is damaged: %w", err)
	}
	er := &ExportReader{r: bufio.NewReader(gz)}
	var h struct {
		Format  string    `bson:"format"`
		Created time.Time `bson:"created"`
	}
	raw, err := er.read()
	if err == nil {
		err = bson.Unmarshal(raw, &h)
	}
	if err != nil || h.Format != exportFormat {
		return nil, errors.New("backup: not a GovHub export")
	}
	er.Created = h.Created
	return er, nil
}

func (r *ExportReader) read() (bson.Raw, error) {
	var n [4]byte
	if _, err := io.ReadFull(r.r, n[:]); err != nil {
		return nil, err
	}
	size := binary.LittleEndian.Uint32(n[:])
	if size < 5 || size > maxExportDoc {
		return nil, fmt.Errorf("backup: a document of %d bytes in the export", size)
	}
	b := make([]byte, size)
	copy(b, n[:])
	if _, err := io.ReadFull(r.r, b[4:]); err != nil {
		return nil, err
	}
	raw := bson.Raw(b)
	return raw, raw.Validate()
}

// Next returns the next document and its collection, and io.EOF after the last one once the
// trailer has been checked. A truncated or altered export is an error, never a silent end.
func (r *ExportReader) Next() (string, bson.Raw, error) {
	if r.done {
		return "", nil, io.EOF
	}
	raw, err := r.read()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "", nil, errors.New("backup: the export ends before its trailer (truncated)")
		}
		return "", nil, fmt.Errorf("backup: reading the export: %w", err)
	}
	var d struct {
		C    string   `bson:"c"`
		D    bson.Raw `bson:"d"`
		End  bool     `bson:"end"`
		Docs int64    `bson:"documents"`
	}
	if err := bson.Unmarshal(raw, &d); err != nil {
		return "", nil, fmt.Errorf("backup: reading the export: %w", err)
	}
	if d.End {
		if d.Docs != r.docs {
			return "", nil, fmt.Errorf("backup: the export's trailer counts %d documents, %d were read", d.Docs, r.docs)
		}
		if _, err := r.r.ReadByte(); !errors.Is(err, io.EOF) {
			return "", nil, errors.New("backup: data after the export's trailer")
		}
		r.done = true
		return "", nil, io.EOF
	}
	if d.C == "" || d.D == nil {
		return "", nil, errors.New("backup: a document without its collection in the export")
	}
	r.docs++
	return d.C, d.D, nil
}
