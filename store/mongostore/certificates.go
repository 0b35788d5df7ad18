package mongostore

// Certificates and applications, addressable by string _id alone:
//
//	certificates        {_id: "<id>", type, ruleVersion, department, pseudonym, credential,
//	                     issued, issueIndex, revoked, revokedAt?, revokeReason?, revokeIndex?,
//	                     verifications, linkDisabled}
//	applications        {_id: "<id>", type, citizen, pseudonym, department, byCitizen, status, steps[],
//	                     certificate?, reason?, created}
//	application_lists   {_id: "<pseudonym>/<seq>", application: "<id>"}  a citizen's applications
//	application_heads   {_id: "<pseudonym>", seq: int64}                 (seqChain, seqchain.go)
//
// Certificate updates (revocation, the link switch, the verification count) are read, change,
// replace under the process's document lock on FerretDB, and atomic updates on MongoDB.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/govhub/govhub/store"
)

type certificateDoc struct {
	ID            string    `bson:"_id"`
	Type          string    `bson:"type"`
	RuleVersion   string    `bson:"ruleVersion"`
	Department    string    `bson:"department"`
	Pseudonym     string    `bson:"pseudonym"`
	Credential    string    `bson:"credential"`
	Issued        time.Time `bson:"issued"`
	IssueIndex    int64     `bson:"issueIndex"`
	Revoked       bool      `bson:"revoked"`
	RevokedAt     time.Time `bson:"revokedAt,omitempty"`
	RevokeReason  string    `bson:"revokeReason,omitempty"`
	RevokeIndex   int64     `bson:"revokeIndex,omitempty"`
	Verifications int64     `bson:"verifications"`
	LinkDisabled  bool      `bson:"linkDisabled"`
}

func toCertificateDoc(c store.Certificate) certificateDoc {
	d := certificateDoc{ID: c.ID, Type: c.Type, RuleVersion: c.RuleVersion, Department: c.Department, Pseudonym: c.Pseudonym,
		Credential: string(c.Credential), Issued: c.Issued.UTC().Truncate(time.Millisecond), IssueIndex: int64(c.IssueIndex),
		Revoked: c.Revoked, RevokeReason: c.RevokeReason, RevokeIndex: int64(c.RevokeIndex), Verifications: c.Verifications, LinkDisabled: c.LinkDisabled}
	if !c.RevokedAt.IsZero() {
		d.RevokedAt = c.RevokedAt.UTC().Truncate(time.Millisecond)
	}
	return d
}

func fromCertificateDoc(d certificateDoc) store.Certificate {
	c := store.Certificate{ID: d.ID, Type: d.Type, RuleVersion: d.RuleVersion, Department: d.Department, Pseudonym: d.Pseudonym,
		Credential: []byte(d.Credential), Issued: d.Issued.UTC(), IssueIndex: uint64(d.IssueIndex), Revoked: d.Revoked,
		RevokeReason: d.RevokeReason, RevokeIndex: uint64(d.RevokeIndex), Verifications: d.Verifications, LinkDisabled: d.LinkDisabled}
	if !d.RevokedAt.IsZero() {
		c.RevokedAt = d.RevokedAt.UTC()
	}
	return c
}

// AddCertificate stores a new certificate; store.ErrConflict if its id is taken.
func (s *Store) AddCertificate(ctx context.Context, c store.Certificate) error {
	if c.ID == "" || c.Pseudonym == "" || len(c.Credential) == 0 {
		return errors.New("store: a certificate needs an id, a pseudonym and a credential")
	}
	if _, err := s.certificates.InsertOne(ctx, toCertificateDoc(c)); err != nil {
		return fmt.Errorf("storing certificate %s: %w", c.ID, mapErr(err))
	}
	return nil
}

// Certificate returns one certificate, or store.ErrNotFound.
func (s *Store) Certificate(ctx context.Context, id string) (store.Certificate, error) {
	var d certificateDoc
	if err := s.certificates.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return store.Certificate{}, mapErr(err)
	}
	c := fromCertificateDoc(d)
	counts, err := s.verificationCounts(ctx, id)
	if err != nil {
		return store.Certificate{}, err
	}
	c.Verifications += counts.N // counts kept in the certificate by earlier versions, and since
	c.VerifiedAt = counts.At
	return c, nil
}

// RevokeCertificate records a revocation (c's Revoked, RevokedAt, RevokeReason, RevokeIndex) only
// if the stored certificate is not revoked yet: store.ErrConflict if it is, store.ErrNotFound if
// there is none. Of two revocations, one wins.
func (s *Store) RevokeCertificate(ctx context.Context, c store.Certificate) error {
	if !c.Revoked {
		return errors.New("store: a revocation must leave the certificate revoked")
	}
	d := toCertificateDoc(c)
	set := bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: true}, {Key: "revokedAt", Value: d.RevokedAt},
		{Key: "revokeReason", Value: d.RevokeReason}, {Key: "revokeIndex", Value: d.RevokeIndex}}}}
	if s.serialised() {
		defer s.lock(collCertificates + "/" + c.ID)()
		cur, err := s.Certificate(ctx, c.ID)
		if err != nil {
			return err
		}
		if cur.Revoked {
			return fmt.Errorf("%w: certificate %s is revoked already", store.ErrConflict, c.ID)
		}
		_, err = s.certificates.UpdateOne(ctx, bson.D{{Key: "_id", Value: c.ID}}, set)
		return mapErr(err)
	}
	res, err := s.certificates.UpdateOne(ctx, bson.D{{Key: "_id", Value: c.ID}, {Key: "revoked", Value: false}}, set)
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		if _, err := s.Certificate(ctx, c.ID); err != nil {
			return err
		}
		return fmt.Errorf("%w: certificate %s is revoked already", store.ErrConflict, c.ID)
	}
	return nil
}

// SetCertificateLink turns a certificate's public link on or off; store.ErrNotFound if there is
// none.
func (s *Store) SetCertificateLink(ctx context.Context, id string, disabled bool) error {
	if s.serialised() {
		defer s.lock(collCertificates + "/" + id)()
	}
	res, err := s.certificates.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "linkDisabled", Value: disabled}}}})
	if err != nil {
		return mapErr(err)
	}
	if res.MatchedCount != 1 {
		return store.ErrNotFound
	}
	return nil
}

// AddVerifications adds verifications of certificate id through its public link, made at times
// (seconds), to its count, and keeps the times of the latest store.MaxVerifiedAt. Count and times
// live in a small document of their own (certificate_counts), so that counting does not rewrite
// the certificate, credential included (FerretDB rewrites a document whole on every update).
// Counts are exact: $inc and $push with $slice on MongoDB, a read and a replace under the
// process's document lock on FerretDB. The hub adds what it counted in memory about once a second
// (hub.VerificationCounter).
func (s *Store) AddVerifications(ctx context.Context, id string, times []time.Time) error {
	if len(times) == 0 {
		return nil
	}
	at := make(bson.A, len(times))
	for i, t := range times {
		at[i] = t.UTC().Truncate(time.Second)
	}
	if s.serialised() {
		defer s.lock(collCertCounts + "/" + id)()
		d, err := s.verificationCounts(ctx, id)
		if err != nil {
			return err
		}
		d.At = append(d.At, times...)
		if len(d.At) > store.MaxVerifiedAt {
			d.At = d.At[len(d.At)-store.MaxVerifiedAt:]
		}
		kept := make(bson.A, len(d.At))
		for i, t := range d.At {
			kept[i] = t.UTC().Truncate(time.Second)
		}
		_, err = s.certCounts.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "_id", Value: id}, {Key: "n", Value: d.N + int64(len(times))}, {Key: "at", Value: kept}}, options.Replace().SetUpsert(true))
		if mongo.IsDuplicateKeyError(err) {
			// Another write created the document between the read and this upsert (one the lock
			// did not cover: a write its caller gave up on, which the database still ran).
			return fmt.Errorf("%w: the verification count of %s was created meanwhile; add again", store.ErrConflict, id)
		}
		return mapErr(err)
	}
	_, err := s.certCounts.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int64(len(times))}}},
			{Key: "$push", Value: bson.D{{Key: "at", Value: bson.D{{Key: "$each", Value: at}, {Key: "$slice", Value: -store.MaxVerifiedAt}}}}}},
		options.UpdateOne().SetUpsert(true))
	return mapErr(err)
}

// countsDoc is a certificate's verification count and latest times.
type countsDoc struct {
	N  int64       `bson:"n"`
	At []time.Time `bson:"at"`
}

// verificationCounts returns the verifications counted for certificate id (zero if none).
func (s *Store) verificationCounts(ctx context.Context, id string) (countsDoc, error) {
	var d countsDoc
	err := s.certCounts.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return countsDoc{}, nil
	}
	for i, t := range d.At {
		d.At[i] = t.UTC()
	}
	return d, mapErr(err)
}

type applicationStepDoc struct {
	Name  string    `bson:"name"`
	Time  time.Time `bson:"time"`
	Index int64     `bson:"index"`
}

type applicationDoc struct {
	ID          string               `bson:"_id"`
	Type        string               `bson:"type"`
	Citizen     string               `bson:"citizen"`
	Pseudonym   string               `bson:"pseudonym"`
	Department  string               `bson:"department"`
	ByCitizen   bool                 `bson:"byCitizen"`
	Status      string               `bson:"status"`
	Steps       []applicationStepDoc `bson:"steps"`
	Certificate string               `bson:"certificate,omitempty"`
	Reason      string               `bson:"reason,omitempty"`
	Created     time.Time            `bson:"created"`
}

func toApplicationDoc(a store.Application) applicationDoc {
	d := applicationDoc{ID: a.ID, Type: a.Type, Citizen: a.Citizen, Pseudonym: a.Pseudonym, Department: a.Department, ByCitizen: a.ByCitizen,
		Status: a.Status, Certificate: a.Certificate, Reason: a.Reason, Created: a.Created.UTC().Truncate(time.Millisecond)}
	for _, st := range a.Steps {
		d.Steps = append(d.Steps, applicationStepDoc{Name: st.Name, Time: st.Time.UTC().Truncate(time.Millisecond), Index: int64(st.Index)})
	}
	return d
}

func fromApplicationDoc(d applicationDoc) store.Application {
	a := store.Application{ID: d.ID, Type: d.Type, Citizen: d.Citizen, Pseudonym: d.Pseudonym, Department: d.Department, ByCitizen: d.ByCitizen,
		Status: d.Status, Certificate: d.Certificate, Reason: d.Reason, Created: d.Created.UTC()}
	for _, st := range d.Steps {
		a.Steps = append(a.Steps, store.ApplicationStep{Name: st.Name, Time: st.Time.UTC(), Index: uint64(st.Index)})
	}
	return a
}

func (s *Store) applicationChain() seqChain {
	return seqChain{s: s, items: s.applicationLists, heads: s.applicationHeads, what: func(p string) string { return "the applications of " + p }}
}

// SaveApplication stores an application, replacing the stored one with the same id; a new one is
// also appended to its citizen's list (by pseudonym). Only the application's own writer updates
// it (the hub serialises an application's steps).
func (s *Store) SaveApplication(ctx context.Context, a store.Application) error {
	if a.ID == "" || a.Pseudonym == "" {
		return errors.New("store: an application needs an id and a pseudonym")
	}
	// The document lock is released before the citizen's list is extended: the locks are striped
	// and not reentrant, so holding two at once could deadlock.
	upserted, err := func() (bool, error) {
		if s.serialised() {
			defer s.lock(collApplications + "/" + a.ID)()
		}
		res, err := s.applications.ReplaceOne(ctx, bson.D{{Key: "_id", Value: a.ID}}, toApplicationDoc(a), options.Replace().SetUpsert(true))
		if err != nil {
			return false, fmt.Errorf("storing application %s: %w", a.ID, mapErr(err))
		}
		return res.UpsertedCount > 0, nil
	}()
	if err != nil || !upserted {
		return err
	}
	c := s.applicationChain()
	head, err := c.head(ctx, a.Pseudonym)
	if err != nil {
		return err
	}
	seq, err := c.insertNext(ctx, a.Pseudonym, head+1, func(seq uint64) any {
		return bson.D{{Key: "_id", Value: seqID(a.Pseudonym, seq)}, {Key: "application", Value: a.ID}}
	})
	if err != nil {
		return fmt.Errorf("listing application %s: %w", a.ID, err)
	}
	// The head is a hint that readers probe past (Applications): it is advanced in the background,
	// off the application's path, which the next step's writes are waiting for.
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), headTimeout)
		defer cancel()
		_ = c.advance(ctx, a.Pseudonym, seq)
	}()
	return nil
}

// Application returns one application, or store.ErrNotFound.
func (s *Store) Application(ctx context.Context, id string) (store.Application, error) {
	var d applicationDoc
	if err := s.applications.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return store.Application{}, mapErr(err)
	}
	return fromApplicationDoc(d), nil
}

// Applications returns up to limit of a citizen's applications (by pseudonym), newest first, each
// read by _id.
func (s *Store) Applications(ctx context.Context, pseudonym string, limit int) ([]store.Application, error) {
	c := s.applicationChain()
	head, err := c.head(ctx, pseudonym)
	if err != nil {
		return nil, err
	}
	// Probe past a lagging head.
	for {
		var d bson.M
		err := c.items.FindOne(ctx, bson.D{{Key: "_id", Value: seqID(pseudonym, head+1)}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			break
		}
		if err != nil {
			return nil, mapErr(err)
		}
		head++
	}
	var out []store.Application
	for seq := head; seq >= 1 && len(out) < limit; seq-- {
		var item struct {
			Application string `bson:"application"`
		}
		if err := c.items.FindOne(ctx, bson.D{{Key: "_id", Value: seqID(pseudonym, seq)}}).Decode(&item); err != nil {
			return nil, mapErr(err)
		}
		a, err := s.Application(ctx, item.Application)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// EraseApplications removes a citizen's applications (by pseudonym: the documents, their list
// and its head) and clears the credential and pseudonym of each certificate they name, keeping
// its revocation and its turned-off link, so that the certificate's status still says revoked
// while nothing in the store names the citizen or states their claims (a lawful erasure; the
// caller revokes first). Safe to call again.
func (s *Store) EraseApplications(ctx context.Context, pseudonym string) error {
	c := s.applicationChain()
	end, err := c.end(ctx, pseudonym)
	if err != nil {
		return err
	}
	for seq := uint64(1); seq <= end; seq++ {
		var item struct {
			Application string `bson:"application"`
		}
		found, err := c.get(ctx, pseudonym, seq, &item)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		a, err := s.Application(ctx, item.Application)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil && a.Certificate != "" {
			if err := s.clearCertificate(ctx, a.Certificate); err != nil {
				return err
			}
		}
		if _, err := s.applications.DeleteOne(ctx, bson.D{{Key: "_id", Value: item.Application}}); err != nil {
			return fmt.Errorf("erasing application %s: %w", item.Application, mapErr(err))
		}
		if _, err := c.items.DeleteOne(ctx, bson.D{{Key: "_id", Value: seqID(pseudonym, seq)}}); err != nil {
			return fmt.Errorf("erasing the applications list: %w", mapErr(err))
		}
	}
	if _, err := c.heads.DeleteOne(ctx, bson.D{{Key: "_id", Value: pseudonym}}); err != nil {
		return fmt.Errorf("erasing the applications list: %w", mapErr(err))
	}
	return nil
}

// clearCertificate empties a certificate's credential and pseudonym, and forgets when it was
// verified (its count stays).
func (s *Store) clearCertificate(ctx context.Context, id string) error {
	err := func() error {
		if s.serialised() {
			defer s.lock(collCertificates + "/" + id)()
		}
		_, err := s.certificates.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "credential", Value: ""}, {Key: "pseudonym", Value: ""}, {Key: "linkDisabled", Value: true}}}})
		return err
	}()
	if err != nil {
		return fmt.Errorf("erasing certificate %s: %w", id, mapErr(err))
	}
	// The locks are striped and not reentrant: one at a time.
	if s.serialised() {
		defer s.lock(collCertCounts + "/" + id)()
	}
	if _, err := s.certCounts.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: bson.A{}}}}}); err != nil {
		return fmt.Errorf("erasing certificate %s's verification times: %w", id, mapErr(err))
	}
	return nil
}

// reviewKey is the key of a department's review queue in the applications' chain: never a
// pseudonym (those have no colon).
func reviewKey(department string) string { return "review:" + department }

// QueueForReview appends an application to its issuing department's review queue. The queue is
// insert-only; ReviewQueue leaves out what is no longer waiting.
func (s *Store) QueueForReview(ctx context.Context, department, id string) error {
	if department == "" || id == "" {
		return errors.New("store: queueing for review needs a department and an application id")
	}
	c, key := s.applicationChain(), reviewKey(department)
	head, err := c.head(ctx, key)
	if err != nil {
		return err
	}
	seq, err := c.insertNext(ctx, key, head+1, func(seq uint64) any {
		return bson.D{{Key: "_id", Value: seqID(key, seq)}, {Key: "application", Value: id}}
	})
	if err != nil {
		return fmt.Errorf("queueing application %s for review: %w", id, err)
	}
	_ = c.advance(ctx, key, seq) // a hint
	return nil
}

// reviewedKey names, among the applications' chain heads, a department's review low-water mark:
// every application its review queue holds at or below that seq has left review (reviewed,
// issued, refused or erased), so ReviewQueue starts above it.
func reviewedKey(department string) string { return "reviewed:" + department }

// ReviewQueue returns up to limit of the applications waiting for the department's review, oldest
// first, each read by _id: it walks the queue from its low-water mark, which it moves past the
// applications at its start that have left review. An application is queued before it is saved as
// waiting, so one not yet waiting holds the mark back rather than being passed for good.
func (s *Store) ReviewQueue(ctx context.Context, department string, limit int) ([]store.Application, error) {
	c, key := s.applicationChain(), reviewKey(department)
	end, err := c.end(ctx, key)
	if err != nil {
		return nil, err
	}
	low, err := c.head(ctx, reviewedKey(department))
	if err != nil {
		return nil, err
	}
	var out []store.Application
	mark, passing := low, true
	for seq := low + 1; seq <= end && len(out) < limit; seq++ {
		var item struct {
			Application string `bson:"application"`
		}
		found, err := c.get(ctx, key, seq, &item)
		if err != nil {
			return nil, err
		}
		left := !found
		if found {
			a, err := s.Application(ctx, item.Application)
			switch {
			case errors.Is(err, store.ErrNotFound):
				left = true
			case err != nil:
				return nil, err
			case a.Status == store.ApplicationReview && a.Department == department:
				out = append(out, a)
			default:
				left = a.Status == store.ApplicationReviewed || a.Status == store.ApplicationIssued || a.Status == store.ApplicationRefused
			}
		}
		if passing && left {
			mark = seq
		} else {
			passing = false
		}
	}
	if mark > low {
		_ = c.advance(ctx, reviewedKey(department), mark) // a hint: a lagging mark only costs reads
	}
	return out, nil
}
