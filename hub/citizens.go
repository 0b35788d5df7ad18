package hub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/crypto/subject"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
	"github.com/govhub/govhub/store"
)

// A citizen's view of the ledger (Citizens): every entry that concerns them, read through their
// access log (store: subject_log, by _id alone), and what a browser needs to verify one entry on
// its own. The log keeps a copy of each entry's bytes, which is used only once its leaf hash
// matches the ledger's hash tile (authenticated against the signed checkpoint): a page of 20
// accesses reads 20 tiles of 8 KiB, not 20 entry bundles of about 100 KiB. An entry whose copy is
// not kept (references written before copies were, and updates settled by recovery) is read from
// the ledger.
//
// Entries not yet integrated. An access is acknowledged once its entry's batch is stored and the
// citizen's log reference is: the integrator folds the batch into the tree within about a second,
// but a citizen may look before it has. Such an entry is read from its batch document
// (ledger.Reader.SequencedEntry), which is the entry's durability point, so the log never hides
// an acknowledged access; only its proof waits for the next published checkpoint
// (ErrNotPublished).
//
// List pages. A v2 list page carries the root of the page's subject tree; the citizen's position
// and path to it are kept with their reference (store.LogRef.Page and store.SubjectRef.Page) and
// handed out with the proof, so that membership is checked without the other citizens'
// commitments.
//
// Cursors. A cursor names a place in the caller's own log (the seq to read before) and carries a
// MAC over the caller's pseudonym and that seq under the current index key: a cursor of another
// citizen, or one altered, is refused as invalid; and even a valid one only ever reaches the
// caller's log. A cursor made before an index key rotation stays valid: it is checked under every
// index key the hub holds (indexkeys.go), over the caller's pseudonym under any of them (the
// seqs of a log moved to a new pseudonym stay the same).

// ErrNoAccess: the caller's log has no entry at that index; the same whether the index does not
// exist or concerns someone else.
var ErrNoAccess = errors.New("no such entry in your access log")

// AccessKind says what an entry was, as the citizen sees it.
type AccessKind string

// Kinds of access.
const (
	AccessRead     AccessKind = "READ"
	AccessList     AccessKind = "LIST"
	AccessUpdate   AccessKind = "UPDATE"
	AccessRefusal  AccessKind = "REFUSAL"
	AccessSelf     AccessKind = "SELF"
	AccessQuestion AccessKind = "QUESTION"
	AccessAnswer   AccessKind = "ANSWER"
	// AccessSealed: a sealed access under a court order (sealed.go), details hidden until unsealed.
	AccessSealed AccessKind = "SEALED"
	// AccessUnseal: a sealed access's details were disclosed (About names it).
	AccessUnseal AccessKind = "UNSEAL"
	// AccessStep: a step of the citizen's application for a certificate (certificates.go).
	AccessStep AccessKind = "STEP"
	// AccessCertificate: a certificate about the citizen was issued or revoked.
	AccessCertificate AccessKind = "CERTIFICATE"
)

// FieldLevel is how much of a field an entry released or wrote.
type FieldLevel string

// Field levels.
const (
	LevelRevealed   FieldLevel = "REVEALED"
	LevelCommitment FieldLevel = "COMMITMENT"
	LevelProved     FieldLevel = "PROVED" // the commitment, and answers to catalogued predicates
	LevelDenied     FieldLevel = "DENIED"
	LevelWritten    FieldLevel = "WRITTEN"
)

// AccessField is one field an entry names, and its level, with the predicates answered (Proved)
// and refused about it (entry v2; whether each held is not on the ledger).
type AccessField struct {
	Name    string     `json:"name"`
	Level   FieldLevel `json:"level"`
	Proved  []string   `json:"proved,omitempty"`
	Refused []string   `json:"refused,omitempty"`
}

// Access is what one ledger entry says about an access to (or a change of) the citizen's data,
// and nothing about anyone else.
type Access struct {
	// Seq is the access's place in the citizen's log; Cursor is the cursor that continues after it.
	Seq        uint64     `json:"-"`
	Cursor     string     `json:"-"`
	Index      uint64     `json:"index"`
	Time       time.Time  `json:"time"`
	Kind       AccessKind `json:"kind"`
	Department Department `json:"department"`
	Role       string     `json:"role"`
	// Official is the official's pseudonym (hex), "" for entries no official made.
	Official string `json:"official,omitempty"`
	// Purpose is the stated purpose (titles and legal basis from the policy in force; an unknown
	// code is its own title), nil when none was stated.
	Purpose       *policy.Purpose `json:"purpose,omitempty"`
	PolicyVersion uint64          `json:"policyVersion"`
	Outcome       string          `json:"outcome"`
	Reason        string          `json:"reason,omitempty"`
	Fields        []AccessField   `json:"fields"`
	EntryVersion  int             `json:"entryVersion"`
	// UnsealOn is a sealed access's unseal date (nil for other entries); About the index of the
	// access an unseal entry, a question or an answer is about (0 for others).
	UnsealOn *time.Time `json:"unsealOn,omitempty"`
	About    uint64     `json:"about,omitempty"`
}

// AccessPage is one page of a citizen's log, newest first.
type AccessPage struct {
	Accesses []Access
	HasNext  bool
	// EndCursor continues after the page's last access ("" when there is none).
	EndCursor string
}

// AccessProof is what verifying one entry needs: its bytes and leaf hash, the citizen's salt (and
// page path), the inclusion proof against a published checkpoint, and the C2SP tlog-proof.
type AccessProof struct {
	Index    uint64
	Entry    []byte
	LeafHash tlog.Hash
	Salt     []byte
	// Page is the citizen's path in a list page's subject tree, nil for other entries.
	Page       *store.PagePath
	TreeSize   uint64
	Proof      []tlog.Hash
	Checkpoint []byte
	Receipt    ledger.Proof
}

// AccessLog is each citizen's access log and the subject index, by pseudonym (a store.Store).
// SubjectLog returns a page newest first; SubjectLogEnd the latest seq; SubjectRef fails with
// store.ErrNotFound when the entry does not concern the pseudonym. Safe for concurrent use.
type AccessLog interface {
	SubjectLog(ctx context.Context, pseudonym string, before uint64, n int) (store.LogPage, error)
	SubjectLogEnd(ctx context.Context, pseudonym string) (uint64, error)
	SubjectRef(ctx context.Context, pseudonym string, index uint64) (store.SubjectRef, error)
}

// EntryReader reads the ledger (a ledger.Reader): sequenced entries' bytes, integrated or not, in
// the order asked (each entry bundle read once), and integrated entries' leaf hashes from the hash
// tiles, authenticated against the latest checkpoint, with that checkpoint's size.
type EntryReader interface {
	SequencedEntries(ctx context.Context, indexes []uint64) ([][]byte, error)
	LeafHashes(ctx context.Context, indexes []uint64) ([]tlog.Hash, uint64, error)
}

// CitizensConfig holds what the citizen's view needs; all are required.
type CitizensConfig struct {
	// Reader releases the citizen's own records and openings, and logs refusals.
	Reader  *Reader
	Log     AccessLog
	Entries EntryReader
	// Review gives proofs against published checkpoints.
	Review *Review
}

// Citizens is the citizen's view of the ledger: their accesses, proofs, their own records and
// openings. Every method is for citizen principals alone (p.Kind auth.KindCitizen, p.Subject their
// id) and shows only the caller's own entries; any other principal is refused with ErrForbidden,
// and the refusal is on the ledger. It is safe for concurrent use.
type Citizens struct {
	rd      *Reader
	log     AccessLog
	entries EntryReader
	review  *Review
}

// NewCitizens checks cfg and returns the citizens' view.
func NewCitizens(cfg CitizensConfig) (*Citizens, error) {
	if cfg.Reader == nil || cfg.Log == nil || cfg.Entries == nil || cfg.Review == nil {
		return nil, errors.New("hub: NewCitizens needs a reader, the access log, an entry reader and a review")
	}
	return &Citizens{rd: cfg.Reader, log: cfg.Log, entries: cfg.Entries, review: cfg.Review}, nil
}

// MaxAccessPage is the most accesses one page holds.
const MaxAccessPage = store.MaxLogPage

// maxExport bounds an export: the most accesses one export holds.
const maxExport = 100_000

// own checks that p is a citizen; otherwise it logs the refusal (what was asked: a short name,
// whose keyed digest goes on the ledger) and returns ErrForbidden.
func (c *Citizens) own(ctx context.Context, p auth.Principal, what string) (pseudonym string, err error) {
	if p.Kind == auth.KindCitizen && p.Subject != "" {
		return c.rd.pseudonym(ctx, p.Subject)
	}
	if _, err := c.rd.LogRefusal(ctx, p, "forbidden", []byte(what)); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%w: %s is for the citizen themselves", ErrForbidden, what)
}

// Accesses returns a page of the caller's log, newest first: first (1 … MaxAccessPage) accesses
// after the cursor after ("" for the newest).
func (c *Citizens) Accesses(ctx context.Context, p auth.Principal, first int, after string) (*AccessPage, error) {
	ps, err := c.own(ctx, p, "myAccesses")
	if err != nil {
		return nil, err
	}
	if first < 1 || first > MaxAccessPage {
		return nil, fmt.Errorf("%w: first must be between 1 and %d", ErrInvalid, MaxAccessPage)
	}
	var before uint64
	if after != "" {
		if before, err = c.parseCursor(ps, everyPseudonym(c.rd.indexKeys, p.Subject), after); err != nil {
			return nil, err
		}
	}
	page, err := c.log.SubjectLog(ctx, ps, before, first)
	if err != nil {
		return nil, fmt.Errorf("%w: reading your access log: %v", ErrUnavailable, err)
	}
	out := &AccessPage{HasNext: page.Next != 0}
	if out.Accesses, err = c.views(ctx, p.Subject, ps, page.Refs); err != nil {
		return nil, err
	}
	if page.Next != 0 {
		out.EndCursor = c.cursor(ps, page.Next)
	} else if n := len(out.Accesses); n > 0 {
		out.EndCursor = out.Accesses[n-1].Cursor
	}
	return out, nil
}

// Export returns the caller's whole log as one JSON document, newest first, each access with its
// ledger index:
//
//	{"format": "govhub/access-export/v1", "exported": "<RFC 3339>", "accesses": [{"index": …}, …]}
func (c *Citizens) Export(ctx context.Context, p auth.Principal) ([]byte, error) {
	ps, err := c.own(ctx, p, "myAccessesExport")
	if err != nil {
		return nil, err
	}
	all := []Access{}
	var before uint64
	for {
		page, err := c.log.SubjectLog(ctx, ps, before, store.MaxLogPage)
		if err != nil {
			return nil, fmt.Errorf("%w: reading your access log: %v", ErrUnavailable, err)
		}
		views, err := c.views(ctx, p.Subject, ps, page.Refs)
		if err != nil {
			return nil, err
		}
		all = append(all, views...)
		if page.Next == 0 {
			break
		}
		if len(all) >= maxExport {
			return nil, fmt.Errorf("%w: the log holds more than %d accesses; page through myAccesses", ErrInvalid, maxExport)
		}
		before = page.Next
	}
	return json.Marshal(struct {
		Format   string    `json:"format"`
		Exported time.Time `json:"exported"`
		Accesses []Access  `json:"accesses"`
	}{"govhub/access-export/v1", c.rd.now().UTC(), all})
}

// AccessProof returns what verifying the caller's entry index needs. An index that does not
// concern the caller fails with ErrNoAccess, exactly as one that does not exist; an entry not yet
// covered by a published checkpoint with ErrNotPublished.
func (c *Citizens) AccessProof(ctx context.Context, p auth.Principal, index uint64) (*AccessProof, error) {
	ps, err := c.own(ctx, p, "myAccessProof")
	if err != nil {
		return nil, err
	}
	ref, err := c.log.SubjectRef(ctx, ps, index)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoAccess
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading your access log: %v", ErrUnavailable, err)
	}
	rv := c.review
	cp := rv.published.Latest()
	if index >= cp.Size {
		return nil, fmt.Errorf("%w: entry %d, published size %d", ErrNotPublished, index, cp.Size)
	}
	raw, err := rv.ledger.Entry(ctx, index)
	if err != nil {
		return nil, ledgerErr(err)
	}
	if _, err := concerns(raw, p.Subject, ref.Salt, ref.Page); err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	hashes, err := rv.ledger.ProveInclusion(ctx, index, cp.Size)
	if err != nil {
		return nil, ledgerErr(err)
	}
	return &AccessProof{
		Index: index, Entry: raw, LeafHash: ledger.LeafHash(raw), Salt: ref.Salt, Page: ref.Page,
		TreeSize: cp.Size, Proof: hashes, Checkpoint: cp.Note,
		Receipt: ledger.Proof{Extra: raw, Index: index, Hashes: hashes, Checkpoint: cp.Note},
	}, nil
}

// Records releases every requested field of the caller's own records in clear (a field whose value
// was not selected, as its commitment), sensitive values unsealed and checked against their
// commitments, after logging it as a self-access (actor citizen/citizen, no official line).
func (c *Citizens) Records(ctx context.Context, p auth.Principal, want map[string]Want, request []byte) (*CitizenView, error) {
	if _, err := c.own(ctx, p, "myRecords"); err != nil {
		return nil, err
	}
	rd := c.rd
	snap := rd.policy.Snapshot()
	d := decisions{purposeKnown: true, levels: map[string]policy.Level{}}
	load := map[string]bool{}
	for f, w := range want {
		df, err := fieldOf(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		level := policy.Reveal
		if w&WantValue == 0 {
			level = policy.Commit
		}
		d.fields = append(d.fields, f)
		d.levels[f] = level
		load[df.dataset.Name] = true
		d.reveal = d.reveal || level == policy.Reveal && df.field.Sensitive
	}
	sort.Strings(d.fields)
	d.load = sortedKeys(load)
	view, rerr := rd.releaseCitizen(ctx, p.Subject, d)
	if rerr != nil && !errors.Is(rerr, ErrIntegrity) {
		return nil, rerr
	}
	salt, subj, err := rd.subject(p.Subject)
	if err != nil {
		return nil, err
	}
	entry := ledger.Entry{
		Kind: ledger.KindAccess, Time: rd.now(), Department: string(auth.KindCitizen), Role: string(auth.KindCitizen),
		Policy: snap.Version(), Request: rd.requestDigest(request), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed,
		Subjects: [][]byte{subj}, Fields: d.entryFields(),
	}
	if rerr != nil { // a record changed behind the hub's back: refused, on the ledger
		entry.Outcome, entry.Reason, entry.Fields = ledger.OutcomeDenied, "integrity", d.denied()
		if _, err := rd.appendFor(ctx, entry, p.Subject, salt); err != nil {
			return nil, errors.Join(rerr, err)
		}
		return nil, rerr
	}
	view.PolicyVersion = snap.Version()
	// Log before release.
	r, err := rd.appendFor(ctx, entry, p.Subject, salt)
	if err != nil {
		return nil, err
	}
	view.Receipt = r
	return view, nil
}

// Opening is Reader.OpenOwn: the opening of one of the caller's own commitments, logged first.
func (c *Citizens) Opening(ctx context.Context, p auth.Principal, field string, item int) (Opening, ledger.Receipt, error) {
	return c.rd.OpenOwn(ctx, p, field, item)
}

// Watch pushes each access newly appended to the caller's log, oldest first, polling the log's end
// every interval (by _id: it sees the accesses of every hub instance sharing the store). The
// channel closes when ctx ends or the caller's token expires.
func (c *Citizens) Watch(ctx context.Context, p auth.Principal, interval time.Duration) (<-chan Access, error) {
	ps, err := c.own(ctx, p, "accessAdded")
	if err != nil {
		return nil, err
	}
	end, err := c.log.SubjectLogEnd(ctx, ps)
	if err != nil {
		return nil, fmt.Errorf("%w: reading your access log: %v", ErrUnavailable, err)
	}
	if !p.Expires.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, p.Expires)
		context.AfterFunc(ctx, cancel)
	}
	out := make(chan Access, 16)
	go func() {
		defer close(out)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		sent := map[uint64]bool{} // ledger indexes pushed, against a reference logged twice
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// The caller's pseudonym again: an index key rotation moves the log to a new one
			// (pseudonyms.go), whose seqs are the same.
			name, err := c.rd.pseudonym(ctx, p.Subject)
			if err != nil {
				continue
			}
			now, err := c.log.SubjectLogEnd(ctx, name)
			if err != nil || now <= end {
				continue // a failed poll is retried at the next tick
			}
			views, err := c.since(ctx, p.Subject, name, end, now)
			if err != nil {
				continue
			}
			for _, a := range views {
				if sent[a.Index] {
					continue
				}
				sent[a.Index] = true
				select {
				case out <- a:
				case <-ctx.Done():
					return
				}
			}
			end = now
		}
	}()
	return out, nil
}

// since returns the accesses after seq from up to seq to, oldest first.
func (c *Citizens) since(ctx context.Context, citizen, ps string, from, to uint64) ([]Access, error) {
	var all []Access
	before := to + 1
	for before > from+1 {
		page, err := c.log.SubjectLog(ctx, ps, before, int(min(uint64(store.MaxLogPage), before-from-1)))
		if err != nil {
			return nil, err
		}
		refs := slices.DeleteFunc(page.Refs, func(r store.LogRef) bool { return r.Seq <= from })
		views, err := c.views(ctx, citizen, ps, refs)
		if err != nil {
			return nil, err
		}
		all = append(all, views...)
		if page.Next == 0 {
			break
		}
		before = page.Next
	}
	slices.Reverse(all)
	return all, nil
}

// views reads the entries of refs (entryBytes), parses them and builds their views, in refs'
// order. An entry that does not name the citizen under the indexed salt fails the call.
func (c *Citizens) views(ctx context.Context, citizen, ps string, refs []store.LogRef) ([]Access, error) {
	raws, err := c.entryBytes(ctx, refs)
	if err != nil {
		return nil, err
	}
	out := make([]Access, len(refs))
	snap := c.rd.policy.Snapshot()
	for i, ref := range refs {
		e, err := concerns(raws[i], citizen, ref.Salt, ref.Page)
		if err != nil {
			return nil, fmt.Errorf("%w: ledger entry %d: %v", ErrUnavailable, ref.Index, err)
		}
		out[i] = view(e, snap)
		out[i].Seq, out[i].Index, out[i].Cursor = ref.Seq, ref.Index, c.cursor(ps, ref.Seq)
	}
	return out, nil
}

// entryBytes returns the bytes of refs' entries, in refs' order. An integrated entry whose bytes
// the log keeps is checked against its leaf hash in the ledger's level-0 hash tile (8 KiB, against
// about 100 KiB for its entry bundle): a copy that differs fails the call. The others (bytes not
// kept, or not integrated yet) are read from the ledger (SequencedEntries).
func (c *Citizens) entryBytes(ctx context.Context, refs []store.LogRef) ([][]byte, error) {
	out := make([][]byte, len(refs))
	var kept []uint64
	var keptAt []int
	for i, ref := range refs {
		if ref.Entry != nil {
			kept, keptAt = append(kept, ref.Index), append(keptAt, i)
		}
	}
	if len(kept) > 0 {
		hashes, size, err := c.entries.LeafHashes(ctx, kept)
		if err != nil {
			return nil, fmt.Errorf("%w: reading ledger hashes: %v", ErrUnavailable, err)
		}
		for k, i := range keptAt {
			if kept[k] >= size {
				continue // not integrated: read from its batch below
			}
			if ledger.LeafHash(refs[i].Entry) != hashes[k] {
				return nil, fmt.Errorf("%w: the access log's copy of ledger entry %d differs from the ledger", ErrUnavailable, kept[k])
			}
			out[i] = refs[i].Entry
		}
	}
	var rest []uint64
	var restAt []int
	for i, ref := range refs {
		if out[i] == nil {
			rest, restAt = append(rest, ref.Index), append(restAt, i)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	raws, err := c.entries.SequencedEntries(ctx, rest)
	if err != nil {
		return nil, fmt.Errorf("%w: reading ledger entries: %v", ErrUnavailable, err)
	}
	for k, i := range restAt {
		out[i] = raws[k]
	}
	return out, nil
}

// concerns parses raw and checks that it names citizen: a subject line equal to the commitment
// under salt, or a subjects root that the commitment reaches by page.
func concerns(raw []byte, citizen string, salt []byte, page *store.PagePath) (ledger.Entry, error) {
	e, err := ledger.ParseEntry(raw)
	if err != nil {
		return e, err
	}
	want := subject.Commit(salt, citizen)
	if e.SubjectRoot != nil {
		if page == nil {
			return e, errors.New("a list page, but no path to its subject tree is indexed")
		}
		path := make([]tlog.Hash, len(page.Hashes))
		for i, h := range page.Hashes {
			copy(path[i][:], h)
		}
		return e, ledger.CheckSubjectPath(tlog.Hash(e.SubjectRoot), want, page.Position, path)
	}
	if !slices.ContainsFunc(e.Subjects, func(s []byte) bool { return bytes.Equal(s, want) }) {
		return e, errors.New("the entry does not carry the citizen's commitment under the indexed salt")
	}
	return e, nil
}

// view is what entry e says, as the citizen sees it: never its subject lines or subjects root.
func view(e ledger.Entry, snap *policy.Snapshot) Access {
	a := Access{
		Time: e.Time.UTC(), Kind: kindOf(e), Department: DepartmentOf(e.Department), Role: e.Role,
		PolicyVersion: e.Policy, Outcome: string(e.Outcome), Reason: e.Reason, EntryVersion: e.Version,
		Fields: make([]AccessField, len(e.Fields)),
	}
	if e.Official != nil {
		a.Official = hex.EncodeToString(e.Official)
	}
	if e.Sealed != nil {
		u := e.Sealed.Unseal
		a.UnsealOn = &u
	}
	if e.Kind == ledger.KindUnseal || e.Kind == ledger.KindQuestion || e.Kind == ledger.KindAnswer {
		a.About = e.About
	}
	if e.Purpose != "" {
		pu, ok := snap.Purpose(e.Purpose)
		if !ok { // registered when the entry was written, no longer
			pu = policy.Purpose{Code: e.Purpose, TitleZh: e.Purpose, TitleEn: e.Purpose}
		}
		a.Purpose = &pu
	}
	for i, f := range e.Fields {
		a.Fields[i] = AccessField{Name: f.Name, Level: levelOf(f.Level), Proved: f.Proved, Refused: f.Refused}
	}
	return a
}

func kindOf(e ledger.Entry) AccessKind {
	switch {
	case e.Kind == ledger.KindQuestion:
		return AccessQuestion
	case e.Kind == ledger.KindAnswer:
		return AccessAnswer
	case e.Kind == ledger.KindUnseal:
		return AccessUnseal
	case e.Kind == ledger.KindStep:
		return AccessStep
	case e.Kind == ledger.KindIssue || e.Kind == ledger.KindRevoke:
		return AccessCertificate
	case e.Sealed != nil:
		return AccessSealed
	case e.Outcome == ledger.OutcomeDenied:
		return AccessRefusal
	case e.Kind == ledger.KindUpdate:
		return AccessUpdate
	case e.Department == string(auth.KindCitizen) && e.Role == string(auth.KindCitizen):
		return AccessSelf
	case e.SubjectRoot != nil || len(e.Subjects) > 1:
		return AccessList
	}
	return AccessRead
}

func levelOf(level string) FieldLevel {
	switch level {
	case "reveal", "open":
		return LevelRevealed
	case "commit":
		return LevelCommitment
	case "prove":
		return LevelProved
	case "set":
		return LevelWritten
	}
	return LevelDenied
}

// cursorPrefix versions the cursor encoding: base64url of prefix ‖ seq (8 bytes, big-endian) ‖
// MAC (16 bytes).
const cursorPrefix = "govhub/cursor/v1"

// cursorMAC is the cursor's MAC under the index key key: cursors are made under the current key
// and accepted under any key the ring holds (a rotation does not break a page in progress).
func cursorMAC(key []byte, ps string, seq uint64) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(cursorPrefix + "\x00" + ps + "\x00" + strconv.FormatUint(seq, 10)))
	return m.Sum(nil)[:16]
}

// cursor encodes seq, the place to read before, for the citizen with pseudonym ps.
func (c *Citizens) cursor(ps string, seq uint64) string {
	b := binary.BigEndian.AppendUint64([]byte{1}, seq)
	return base64.RawURLEncoding.EncodeToString(append(b, cursorMAC(c.rd.indexKeys.Current(), ps, seq)...))
}

// parseCursor decodes a cursor of the citizen with pseudonym ps, or with one of their pseudonyms
// also (under the other index keys: a cursor made before their log moved to a new pseudonym
// names the same place, pseudonyms.go); anything else is ErrInvalid.
func (c *Citizens) parseCursor(ps string, also []string, s string) (uint64, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s) // one text per cursor
	if err != nil || len(b) != 1+8+16 || b[0] != 1 {
		return 0, fmt.Errorf("%w: after is not a cursor of your access log", ErrInvalid)
	}
	seq := binary.BigEndian.Uint64(b[1:9])
	mine := func(k []byte) bool {
		if hmac.Equal(b[9:], cursorMAC(k, ps, seq)) {
			return true
		}
		for _, p := range also {
			if p != ps && hmac.Equal(b[9:], cursorMAC(k, p, seq)) {
				return true
			}
		}
		return false
	}
	if _, ok := c.rd.indexKeys.Find(mine); seq == 0 || !ok {
		return 0, fmt.Errorf("%w: after is not a cursor of your access log", ErrInvalid)
	}
	return seq, nil
}
