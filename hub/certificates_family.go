package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/govhub/govhub/auth"
	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/dataset"
	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/policy"
)

// The family rule: a type whose rule reads "spouse.<list dataset>" counts the spouse's records
// too. The spouse is named only in the citizen's sealed marriage.spouseCitizenId; the hub opens it
// internally (certificate.Rule.Grants requires the issuer to hold commit or more of it: the
// commitment, never the value, is what the policy lets it see) and never releases it: not in a
// response, an entry, an error or a log. The read of the spouse's records is one access entry
// naming both citizens (two subject commitments under fresh salts), with the spouse id field at the
// level the issuer holds and the spouse's fields read, indexed in both citizens' logs before the
// values are used: it is appended together with the gathering's own access entry (entryGroup), in
// one ledger write. A citizen without a spouse on record has no spouse records: the lists are empty.

// spouseIDField is the sealed field naming the spouse.
const spouseIDField = "marriage.spouseCitizenId"

// spouseLookup is a read of the spouse's records, made but not yet logged: its entry goes on the
// ledger with the gathering's access entry (entryGroup.after), and the records are used (use) only
// once it is durable.
type spouseLookup struct {
	entry pendingEntry
	lists []string
	view  *CitizenView
}

// lookupSpouse reads the spouse's list datasets for the rule of t (nil without a spouse on record).
func (cs *Certificates) lookupSpouse(ctx context.Context, issuer auth.Principal, t policy.CertificateType, lists []string, citizen string) (*spouseLookup, error) {
	rd := cs.rd
	spouse, err := rd.openSpouse(ctx, citizen)
	if err != nil || spouse == "" {
		return nil, err
	}
	snap := rd.policy.Snapshot()
	sub := policy.Subject{Department: issuer.Department, Role: issuer.Role}
	if err := snap.Prepare(ctx, sub, append([]string{"marriage"}, lists...)); err != nil {
		return nil, fmt.Errorf("%w: loading the policy: %v", ErrUnavailable, err)
	}
	idLevel := snap.Decide(sub, spouseIDField, t.Purpose)
	if idLevel < policy.Commit {
		return nil, fmt.Errorf("%w: %s/%s may not look up the spouse for %s", ErrForbidden, issuer.Department, issuer.Role, t.Purpose)
	}
	d := decisions{purposeKnown: true, levels: map[string]policy.Level{}, load: lists}
	for _, ds := range lists {
		for _, f := range plainFields(ds) {
			if snap.Decide(sub, f, t.Purpose) != policy.Reveal {
				return nil, fmt.Errorf("%w: %s/%s may not read %s of the spouse for %s", ErrForbidden, issuer.Department, issuer.Role, f, t.Purpose)
			}
			d.fields = append(d.fields, f)
			d.levels[f] = policy.Reveal
		}
	}
	view, err := rd.releaseCitizen(ctx, spouse, d)
	if err != nil {
		return nil, err
	}
	dept, role, official, err := rd.actor(ctx, issuer)
	if err != nil {
		return nil, err
	}
	saltC, subjC, err := rd.subject(citizen)
	if err != nil {
		return nil, err
	}
	saltS, subjS, err := rd.subject(spouse)
	if err != nil {
		return nil, err
	}
	// One entry in both citizens' logs.
	e := ledger.Entry{Kind: ledger.KindAccess, Time: rd.now(), Department: dept, Role: role, Official: official, Purpose: t.Purpose,
		Policy: snap.Version(), RequestID: requestID(ctx), Outcome: ledger.OutcomeAllowed, Reason: "family-lookup",
		Subjects: [][]byte{subjC, subjS}, Fields: append(d.entryFields(), ledger.Field{Name: spouseIDField, Level: idLevel.String()})}
	return &spouseLookup{entry: pendingEntry{entry: e, subjects: []subjectRef{{citizen, saltC}, {spouse, saltS}}}, lists: lists, view: view}, nil
}

// use adds the spouse's lists to in: only once the lookup's entry is durable.
func (l *spouseLookup) use(in certificate.Inputs) {
	for _, ds := range l.lists {
		in[certificate.SpousePrefix+ds] = listItems(l.view.Datasets[ds])
	}
}

// openSpouse opens the citizen's sealed spouse id internally ("" without one). The value stays in
// the hub.
func (rd *Reader) openSpouse(ctx context.Context, citizen string) (string, error) {
	d := decisions{purposeKnown: true, fields: []string{spouseIDField}, levels: map[string]policy.Level{spouseIDField: policy.Reveal},
		load: []string{"marriage"}, reveal: true}
	view, err := rd.releaseCitizen(ctx, citizen, d)
	if errors.Is(err, ErrIntegrity) {
		return "", err
	}
	if err != nil {
		return "", err
	}
	dv := view.Datasets["marriage"]
	if dv == nil || len(dv.Items) == 0 {
		return "", nil
	}
	v, _ := dv.Items[0]["spouseCitizenId"].Value.(string)
	if v == "" {
		return "", nil
	}
	if err := dataset.CheckCitizenID(v); err != nil {
		return "", fmt.Errorf("the spouse id on record is not a citizen id")
	}
	return v, nil
}
