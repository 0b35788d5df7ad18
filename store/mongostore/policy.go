package mongostore

// Policy versions (policy.Storage) on MongoDB.
//
// A version is stored as one version document, written last, and the partition documents it names.
// Every read is by a computed string _id, the only lookup the embedded FerretDB can index.
//
//	policy_versions    {_id: "<version, 20 digits>", version, attempt: "<16 hex digits>",
//	                    rules: <count>, digest, created, proposalId, proposedBy, approvedBy, reason,
//	                    purposes: "<JSON array of policy.Purpose>",
//	                    groupings: "<Casbin CSV lines: g, member, role, department>",
//	                    parts: "<lines: department, _, rules, chunks>"}
//	policy_partitions  {_id: "<version, 20 digits>/<attempt>/<department>/_", n: rules,
//	                    lines: BinData(DEFLATE of "<Casbin CSV lines: p, role, department, object, action, purpose, effect>")},
//	                   continued, when long, in {_id: "…/_#1"}, {_id: "…#2"}…
//
// A stored partition holds all the rules of one department (the engine's partitions, by department
// and dataset, are cut from it by the adapter: one read serves every dataset a request touches, as
// the first query after a policy change needs all of them at once). Its lines are the rules sorted
// as policy.FormatCSV sorts them, each written as policy.Rule.String writes it and ended by "\n". A
// partition is split into chunks of at most policyChunkBytes (256 KiB) of lines, so no document
// nears MongoDB's 16 MiB limit and a huge partition is read in parallel; the version document's
// partition list records the number of chunks. Each chunk's lines are stored DEFLATE-compressed
// (RFC 1951, compress/flate): rules repeat their department, datasets and purposes, so the 537
// rules of dept-0 in policytest.Synthetic(100_000), 32.9 KB of lines, store as 2.7 KB, and
// FerretDB, which decodes every stored byte as JSON, reads that document by _id in 0.48–0.52 ms
// rather than 1.7–2.6 ms. A department's groupings are in the version document. Lists are text
// rather than arrays because FerretDB decodes every array element on its own: a document listing
// 400 partitions as subdocuments read in 24–29 ms, as lines in 1.9–2.7 ms. (Measured on the
// embedded store by a throwaway b.Loop benchmark of FindOne by _id, -benchtime 300x, five runs on
// the shared 2-core machine under load; this package has no benchmark file to keep it in.)
//
// For example version 3 of
//
//	p, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow
//	p, clerk, housing, identity.*, commit, *, allow
//	p, auditor, housing, *, commit, *, allow
//	g, senior-clerk, clerk, housing
//
// saved by attempt 9f86d081884c7d65 is the version document
//
//	{_id: "00000000000000000003", version: 3, attempt: "9f86d081884c7d65", rules: 3, …,
//	 groupings: "g, senior-clerk, clerk, housing\n",
//	 parts: "housing, _, 3, 1\n"}
//
// and one partition document:
//
//	{_id: "00000000000000000003/9f86d081884c7d65/housing/_", n: 3,
//	 lines: DEFLATE("p, auditor, housing, *, commit, *, allow\np, clerk, housing, identity.*, commit, *, allow\np, clerk, housing, identity.name, reveal, home-purchase-eligibility, allow\n")}
//
// Why an attempt: two officers' approvals may race for the same version number, and there are no
// transactions. SaveVersion therefore writes its partitions under a random attempt key no other
// save uses, and then inserts the version document naming that key. That insert is the commit
// point: a duplicate _id means another attempt won (policy.ErrVersionExists), and the loser deletes
// its own partitions (leftovers of a crash are named by no version document, so they are inert).
// So a stored version document means the version is complete, and a version reads back exactly the
// rules of the attempt that won. Readers learn the attempt from the version document; as it never
// changes, the adapter caches it with the partition list and the groupings.

import (
	"bytes"
	"cmp"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

	"github.com/govhub/govhub/policy"
)

// The policy storage on MongoDB.
var _ policy.Storage = (*Store)(nil)

const (
	// wholeDepartment names the stored partition holding all of a department's rules.
	wholeDepartment = "_"
	// policyChunkBytes bounds the lines of one partition document, before compression.
	policyChunkBytes = 256 << 10
	// policyReaders bounds the partition documents read at once by AllRules and LoadPolicy.
	policyReaders = 4
)

type policyVersionDoc struct {
	ID         string    `bson:"_id"`
	Version    int64     `bson:"version"`
	Attempt    string    `bson:"attempt"`
	Rules      int64     `bson:"rules"`
	Digest     []byte    `bson:"digest"`
	Created    time.Time `bson:"created"`
	ProposalID string    `bson:"proposalId"`
	ProposedBy string    `bson:"proposedBy"`
	ApprovedBy string    `bson:"approvedBy"`
	Reason     string    `bson:"reason"`
	Purposes   string    `bson:"purposes"`  // a JSON array of policy.Purpose
	Groupings  string    `bson:"groupings"` // Casbin CSV lines
	Parts      string    `bson:"parts,omitempty"`
	Predicates string    `bson:"predicates,omitempty"` // a JSON array of policy.Predicate; absent without any
	// CertificateTypes is a JSON array of policy.CertificateType; absent without any.
	CertificateTypes string `bson:"certificateTypes,omitempty"`
}

// policyPart describes one partition of a version.
type policyPart struct {
	Department, Dataset string
	Rules, Chunks       int
}

// storedPolicyVersion is a version document, decoded.
type storedPolicyVersion struct {
	info    policy.VersionInfo
	attempt string
	parts   []policyPart
}

type policyChunkDoc struct {
	ID    string `bson:"_id"`
	Rules int    `bson:"n"`
	Lines []byte `bson:"lines"` // the lines, DEFLATE-compressed (RFC 1951)
}

func policyVersionID(v uint64) string { return pad(v) }

// policyChunkID is the _id of chunk n of a partition; chunk 0 is the partition's own _id.
func policyChunkID(v uint64, attempt, department, dataset string, n int) string {
	id := pad(v) + "/" + attempt + "/" + department + "/" + dataset
	if n > 0 {
		id += fmt.Sprintf("#%d", n)
	}
	return id
}

// SaveVersion implements policy.Storage. It checks that info describes rules (its Rules count and
// Digest, which also checks every rule's names), writes the partitions under a fresh attempt key,
// and then inserts the version document. If the version number is taken, before or during the
// save, it returns an error wrapping policy.ErrVersionExists and removes what it wrote. Created is
// kept to the millisecond, in UTC (a BSON date).
func (s *Store) SaveVersion(ctx context.Context, info policy.VersionInfo, rules []policy.Rule) error {
	v := info.Version
	if v == 0 {
		return errors.New("saving policy version 0: versions start at 1")
	}
	if info.Rules != len(rules) {
		return fmt.Errorf("saving policy version %d: info counts %d rules, %d given", v, info.Rules, len(rules))
	}
	digest, err := policy.Set{Version: v, Rules: rules, Groupings: info.Groupings, Purposes: info.Purposes, Predicates: info.Predicates,
		CertificateTypes: info.CertificateTypes}.Digest()
	if err != nil {
		return fmt.Errorf("saving policy version %d: %w", v, err)
	}
	if !bytes.Equal(digest, info.Digest) {
		return fmt.Errorf("saving policy version %d: info digest %x does not match its rules, groupings and purposes (%x)", v, info.Digest, digest)
	}
	versions, partitions := s.policyVersions, s.policyPartitions

	// Most losers of a race find out here, before writing anything.
	err = versions.FindOne(ctx, bson.D{{Key: "_id", Value: policyVersionID(v)}}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	switch {
	case err == nil:
		return fmt.Errorf("saving policy version %d: %w", v, policy.ErrVersionExists)
	case !errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("saving policy version %d: %w", v, err)
	}

	var key [8]byte
	_, _ = rand.Read(key[:])
	attempt := hex.EncodeToString(key[:])
	parts, chunks, err := partitionRules(v, attempt, rules)
	if err != nil {
		return fmt.Errorf("saving policy version %d: compressing its rules: %w", v, err)
	}
	if len(chunks) > 0 {
		docs := make([]any, len(chunks))
		for i := range chunks {
			docs[i] = chunks[i]
		}
		// Unordered: a retried write finding its own documents is fine, as no one else uses the key.
		if _, err := partitions.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil && !onlyDuplicates(err) {
			s.dropPolicyChunks(ctx, chunks)
			return fmt.Errorf("saving policy version %d: writing %d partition documents: %w", v, len(chunks), err)
		}
	}

	doc := policyVersionDoc{
		ID: policyVersionID(v), Version: int64(v), Attempt: attempt, Rules: int64(len(rules)), Digest: info.Digest,
		Created: info.Created.UTC(), ProposalID: info.ProposalID, ProposedBy: info.ProposedBy,
		ApprovedBy: info.ApprovedBy, Reason: info.Reason, Groupings: formatGroupings(info.Groupings),
		Parts: formatPolicyParts(parts),
	}
	purposes, err := json.Marshal(info.Purposes)
	if err != nil {
		return fmt.Errorf("saving policy version %d: encoding purposes: %w", v, err)
	}
	doc.Purposes = string(purposes)
	if len(info.Predicates) > 0 {
		predicates, err := json.Marshal(info.Predicates)
		if err != nil {
			return fmt.Errorf("saving policy version %d: encoding predicates: %w", v, err)
		}
		doc.Predicates = string(predicates)
	}
	if len(info.CertificateTypes) > 0 {
		types, err := json.Marshal(info.CertificateTypes)
		if err != nil {
			return fmt.Errorf("saving policy version %d: encoding certificate types: %w", v, err)
		}
		doc.CertificateTypes = string(types)
	}
	_, err = versions.InsertOne(ctx, doc)
	if err == nil {
		return nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		// The insert may or may not have landed: the partitions stay, in case it did.
		return fmt.Errorf("saving policy version %d: %w", v, err)
	}
	// A retried insert finds its own document: then this attempt won.
	var won struct {
		Attempt string `bson:"attempt"`
	}
	if err := versions.FindOne(ctx, bson.D{{Key: "_id", Value: policyVersionID(v)}}, options.FindOne().SetProjection(bson.D{{Key: "attempt", Value: 1}})).Decode(&won); err != nil {
		return fmt.Errorf("saving policy version %d: reading the stored version: %w", v, err)
	}
	if won.Attempt == attempt {
		return nil
	}
	s.dropPolicyChunks(ctx, chunks)
	return fmt.Errorf("saving policy version %d: %w", v, policy.ErrVersionExists)
}

// dropPolicyChunks deletes the partition documents of a failed attempt, each by _id. It is best
// effort: documents it leaves behind are named by no version document.
func (s *Store) dropPolicyChunks(ctx context.Context, chunks []policyChunkDoc) {
	if len(chunks) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	models := make([]mongo.WriteModel, len(chunks))
	for i, c := range chunks {
		models[i] = mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: c.ID}})
	}
	_, _ = s.policyPartitions.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
}

// partitionRules sorts rules into partitions and chunks, in the order of the layout comment.
func partitionRules(v uint64, attempt string, rules []policy.Rule) ([]policyPart, []policyChunkDoc, error) {
	rules = slices.Clone(rules)
	slices.SortFunc(rules, compareRules) // by department first
	var (
		parts  []policyPart
		chunks []policyChunkDoc
		lines  bytes.Buffer
		n      int
	)
	zw, err := flate.NewWriter(nil, flate.DefaultCompression)
	if err != nil {
		return nil, nil, err
	}
	flush := func() error {
		p := &parts[len(parts)-1]
		var z bytes.Buffer
		zw.Reset(&z)
		if _, err := zw.Write(lines.Bytes()); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		chunks = append(chunks, policyChunkDoc{ID: policyChunkID(v, attempt, p.Department, p.Dataset, p.Chunks), Rules: n, Lines: z.Bytes()})
		p.Chunks++
		lines.Reset()
		n = 0
		return nil
	}
	for i, r := range rules {
		if i == 0 || r.Department != rules[i-1].Department {
			if i > 0 {
				if err := flush(); err != nil {
					return nil, nil, err
				}
			}
			parts = append(parts, policyPart{Department: r.Department, Dataset: wholeDepartment})
		}
		line := r.String()
		if n > 0 && lines.Len()+len(line)+1 > policyChunkBytes {
			if err := flush(); err != nil {
				return nil, nil, err
			}
		}
		lines.WriteString(line)
		lines.WriteByte('\n')
		n++
		parts[len(parts)-1].Rules++
	}
	if len(rules) > 0 {
		if err := flush(); err != nil {
			return nil, nil, err
		}
	}
	return parts, chunks, nil
}

// compareRules orders rules as policy.FormatCSV does: by department, role, object, action, purpose
// and effect.
func compareRules(a, b policy.Rule) int {
	return cmp.Or(
		cmp.Compare(a.Department, b.Department),
		cmp.Compare(a.Role, b.Role),
		cmp.Compare(a.Object, b.Object),
		cmp.Compare(a.Action, b.Action),
		cmp.Compare(a.Purpose, b.Purpose),
		cmp.Compare(a.Effect, b.Effect),
	)
}

// LatestVersion implements policy.Storage: it probes hint+1, hint+2… by _id and returns the last
// version found before the first missing one. Versions are numbered consecutively, each approval
// taking the latest plus one, so the probe ends at the latest; usually it costs one lookup.
func (s *Store) LatestVersion(ctx context.Context, hint uint64) (uint64, error) {
	versions := s.policyVersions
	v := hint
	for {
		err := versions.FindOne(ctx, bson.D{{Key: "_id", Value: policyVersionID(v + 1)}}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return v, nil
		}
		if err != nil {
			return 0, fmt.Errorf("probing policy version %d: %w", v+1, err)
		}
		v++
	}
}

// VersionInfo implements policy.Storage.
func (s *Store) VersionInfo(ctx context.Context, version uint64) (policy.VersionInfo, error) {
	d, err := s.readPolicyVersion(ctx, version, false)
	if err != nil {
		return policy.VersionInfo{}, err
	}
	return d.info, nil
}

// readPolicyVersion reads and decodes a version document, with or without its partition list. A
// missing one is an error wrapping policy.ErrNotFound.
func (s *Store) readPolicyVersion(ctx context.Context, version uint64, withParts bool) (storedPolicyVersion, error) {
	opts := options.FindOne()
	if !withParts {
		opts.SetProjection(bson.D{{Key: "parts", Value: 0}})
	}
	var d policyVersionDoc
	err := s.policyVersions.FindOne(ctx, bson.D{{Key: "_id", Value: policyVersionID(version)}}, opts).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return storedPolicyVersion{}, fmt.Errorf("reading policy version %d: %w", version, policy.ErrNotFound)
	}
	if err != nil {
		return storedPolicyVersion{}, fmt.Errorf("reading policy version %d: %w", version, err)
	}
	sv := storedPolicyVersion{attempt: d.Attempt, info: policy.VersionInfo{
		Version: version, Rules: int(d.Rules), Digest: d.Digest, Created: d.Created.UTC(),
		ProposalID: d.ProposalID, ProposedBy: d.ProposedBy, ApprovedBy: d.ApprovedBy, Reason: d.Reason,
	}}
	if err := json.Unmarshal([]byte(d.Purposes), &sv.info.Purposes); err != nil {
		return storedPolicyVersion{}, fmt.Errorf("reading policy version %d: purposes: %w", version, err)
	}
	if d.Predicates != "" {
		if err := json.Unmarshal([]byte(d.Predicates), &sv.info.Predicates); err != nil {
			return storedPolicyVersion{}, fmt.Errorf("reading policy version %d: predicates: %w", version, err)
		}
	}
	if d.CertificateTypes != "" {
		if err := json.Unmarshal([]byte(d.CertificateTypes), &sv.info.CertificateTypes); err != nil {
			return storedPolicyVersion{}, fmt.Errorf("reading policy version %d: certificate types: %w", version, err)
		}
	}
	if sv.info.Groupings, err = parseGroupings(d.Groupings); err != nil {
		return storedPolicyVersion{}, fmt.Errorf("reading policy version %d: %w", version, err)
	}
	if sv.parts, err = parsePolicyParts(d.Parts); err != nil {
		return storedPolicyVersion{}, fmt.Errorf("reading policy version %d: %w", version, err)
	}
	if withParts {
		n := 0
		for _, p := range sv.parts {
			n += p.Rules
		}
		if n != sv.info.Rules {
			return storedPolicyVersion{}, fmt.Errorf("reading policy version %d: its partitions hold %d rules, not %d", version, n, sv.info.Rules)
		}
	}
	return sv, nil
}

// formatGroupings writes groupings as Casbin CSV lines, each ended by "\n".
func formatGroupings(gs []policy.Grouping) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString(g.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func parseGroupings(lines string) ([]policy.Grouping, error) {
	var gs []policy.Grouping
	for line := range strings.SplitSeq(lines, "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, ", ")
		if len(f) != 4 || f[0] != "g" {
			return nil, fmt.Errorf("malformed stored grouping %q", line)
		}
		gs = append(gs, policy.Grouping{Member: f[1], Role: f[2], Department: f[3]})
	}
	return gs, nil
}

// formatPolicyParts writes the partition list, a line "department, dataset, rules, chunks" for each.
func formatPolicyParts(parts []policyPart) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "%s, %s, %d, %d\n", p.Department, p.Dataset, p.Rules, p.Chunks)
	}
	return b.String()
}

func parsePolicyParts(lines string) ([]policyPart, error) {
	var parts []policyPart
	seen := make(map[string]bool)
	for line := range strings.SplitSeq(lines, "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, ", ")
		if len(f) != 4 {
			return nil, fmt.Errorf("malformed stored partition %q", line)
		}
		rules, err1 := strconv.Atoi(f[2])
		chunks, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || rules < 1 || chunks < 1 {
			return nil, fmt.Errorf("malformed stored partition %q", line)
		}
		// The adapter reads each department's one stored partition: a listing it would skip (another
		// dataset, a second entry for the department) would leave rules, deny rules among them,
		// out of its decisions while AllRules and the rule count still found them.
		if f[1] != wholeDepartment || seen[f[0]] {
			return nil, fmt.Errorf("stored partition %q is not the one partition of its department", line)
		}
		seen[f[0]] = true
		parts = append(parts, policyPart{Department: f[0], Dataset: f[1], Rules: rules, Chunks: chunks})
	}
	return parts, nil
}

// AllRules implements policy.Storage: it reads every partition of the version (a few at a time, each
// by _id), checks the counts and the digest against the version document, and returns the rules
// sorted as policy.FormatCSV sorts them.
func (s *Store) AllRules(ctx context.Context, version uint64) ([]policy.Rule, error) {
	d, err := s.readPolicyVersion(ctx, version, true)
	if err != nil {
		return nil, err
	}
	parts := make([][]policy.Rule, len(d.parts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(policyReaders)
	for i, p := range d.parts {
		g.Go(func() error {
			parts[i] = make([]policy.Rule, 0, p.Rules)
			return s.readPolicyPartition(gctx, version, d.attempt, p, func(row []string) error {
				parts[i] = append(parts[i], policy.Rule{Role: row[1], Department: row[2], Object: row[3],
					Action: policy.Action(row[4]), Purpose: row[5], Effect: policy.Effect(row[6])})
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rules := make([]policy.Rule, 0, d.info.Rules)
	for _, p := range parts {
		rules = append(rules, p...)
	}
	slices.SortFunc(rules, compareRules)
	digest, err := policy.Set{Version: version, Rules: rules, Groupings: d.info.Groupings, Purposes: d.info.Purposes, Predicates: d.info.Predicates,
		CertificateTypes: d.info.CertificateTypes}.Digest()
	if err != nil {
		return nil, fmt.Errorf("reading policy version %d: %w", version, err)
	}
	if !bytes.Equal(digest, d.info.Digest) {
		return nil, fmt.Errorf("reading policy version %d: stored rules have digest %x, the version says %x", version, digest, d.info.Digest)
	}
	return rules, nil
}

// readPolicyPartition reads the chunks of one partition (in parallel when there are several) and
// calls fn, in order, with each rule as a Casbin row: "p", role, department, object, action,
// purpose, effect. It checks that every rule belongs to the partition and that the counts agree
// with the version document.
func (s *Store) readPolicyPartition(ctx context.Context, version uint64, attempt string, p policyPart, fn func(row []string) error) error {
	partitions := s.policyPartitions
	chunks := make([]policyChunkDoc, p.Chunks)
	read := func(ctx context.Context, n int) error {
		id := policyChunkID(version, attempt, p.Department, p.Dataset, n)
		if err := partitions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&chunks[n]); err != nil {
			if errors.Is(err, mongo.ErrNoDocuments) {
				return fmt.Errorf("reading policy partition %s: the version names it but it is missing", id)
			}
			return fmt.Errorf("reading policy partition %s: %w", id, err)
		}
		return nil
	}
	if p.Chunks == 1 {
		if err := read(ctx, 0); err != nil {
			return err
		}
	} else {
		g, gctx := errgroup.WithContext(ctx)
		for n := range p.Chunks {
			g.Go(func() error { return read(gctx, n) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	total := 0
	zr := flate.NewReader(nil)
	var lines bytes.Buffer
	for _, c := range chunks {
		lines.Reset()
		if err := zr.(flate.Resetter).Reset(bytes.NewReader(c.Lines), nil); err != nil {
			return fmt.Errorf("reading policy partition %s: %w", c.ID, err)
		}
		// A chunk's lines are at most policyChunkBytes: more is not a chunk SaveVersion wrote.
		if _, err := lines.ReadFrom(io.LimitReader(zr, policyChunkBytes+1)); err != nil {
			return fmt.Errorf("reading policy partition %s: inflating its rules: %w", c.ID, err)
		}
		if lines.Len() > policyChunkBytes {
			return fmt.Errorf("reading policy partition %s: its rules inflate to more than %d bytes", c.ID, policyChunkBytes)
		}
		n, err := eachPolicyRow(lines.String(), p.Department, p.Dataset, fn)
		if err != nil {
			return fmt.Errorf("reading policy partition %s: %w", c.ID, err)
		}
		if n != c.Rules {
			return fmt.Errorf("reading policy partition %s: %d rules stored, %d expected", c.ID, n, c.Rules)
		}
		total += n
	}
	if total != p.Rules {
		return fmt.Errorf("reading policy partition %s: %d rules stored, %d expected",
			policyChunkID(version, attempt, p.Department, p.Dataset, 0), total, p.Rules)
	}
	return nil
}

// eachPolicyRow calls fn with each rule written in lines (see the layout comment) as a fresh Casbin
// row, after checking that it belongs to the partition of department and dataset. It returns how
// many rules there were.
func eachPolicyRow(lines, department, dataset string, fn func(row []string) error) (int, error) {
	n := 0
	for line := range strings.SplitSeq(lines, "\n") {
		if line == "" {
			continue
		}
		row := strings.Split(line, ", ")
		if len(row) != 7 || row[0] != "p" {
			return n, fmt.Errorf("malformed stored rule %q", line)
		}
		if row[2] != department || dataset != wholeDepartment && policy.PartitionOf(row[3]) != dataset {
			return n, fmt.Errorf("stored rule %q is not in partition %s/%s", line, department, dataset)
		}
		if err := fn(row); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
