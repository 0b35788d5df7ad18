package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/govhub/govhub/certificate"
	"github.com/govhub/govhub/credential"
)

const verifyCertUsage = "usage: govhub verify-certificate FILE --log-key K [--log-keys FILE] [--witness-key K …] [--quorum N] [--issuer-key MULTIKEY] [--status FILE]"

const verifyCertHelp = `
FILE is a certificate's verification document, as GET /verify/<id>.json serves it (format
govhub/certificate-verification/v1, package certificate). Everything is checked offline: the
credential's eddsa-jcs-2022 signature by the issuer's key (pinned with --issuer-key, repeated for
every key the hub has signed with since a key rotation, else the key of the DID document in the
file), each threshold proof against its commitment, statement and the
certificate id, the issue entry's inclusion under a checkpoint signed by the log key and cosigned
by --quorum of the --witness-key witnesses, that the entry issues this certificate with this
content under the policy version named, and the signed status (the one in FILE, or a newer one
given with --status, as GET /verify/<id>/status.json serves it).

An age, such as a claim "at least 18", is proven as of the issue date: the threshold is that
many years before it, and a proof asked on another day, or a claim it proves that is not true, is
FAIL.

The verdict is the first line: VALID, REVOKED (exit 3) or FAIL (exit 1).

flags:`

func cmdVerifyCertificate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-certificate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), verifyCertUsage)
		fmt.Fprintln(fs.Output(), verifyCertHelp)
		fs.PrintDefaults()
	}
	var tf trustFlags
	tf.register(fs)
	var issuerKeys stringList
	fs.Var(&issuerKeys, "issuer-key", "an issuer's credential key, a Multikey (z6Mk…), to pin (repeat: the credential and its status must each be signed by one of them)")
	statusFile := fs.String("status", "", "a signed status file, newer than the one in FILE")
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 || tf.logKey == "" {
		return &exitError{2, errors.New(verifyCertUsage)}
	}
	trust := certificate.Trust{Quorum: tf.quorum}
	if trust.LogKeys, trust.Witnesses, err = tf.trust(); err != nil {
		return err
	}
	trust.Log = trust.LogKeys.Eras()[0].Verifier
	for _, k := range issuerKeys {
		pub, err := credential.ParseMultikey(k)
		if err != nil {
			return &exitError{2, fmt.Errorf("--issuer-key: %w", err)}
		}
		trust.IssuerKeys = append(trust.IssuerKeys, pub)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	var status []byte
	if *statusFile != "" {
		if status, err = os.ReadFile(*statusFile); err != nil {
			return err
		}
	}
	rep, err := certificate.Check(data, status, trust)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL: %v\n", err)
		return &exitError{1, err}
	}
	if rep.Status.State == certificate.StatusRevoked {
		fmt.Fprintf(stdout, "REVOKED: certificate %s was revoked at %s (%s, ledger entry %d); status as of %s\n", rep.ID,
			rep.Status.RevokedAt.UTC().Format(time.RFC3339), rep.Status.Reason, rep.Status.RevokeEntry, rep.Status.AsOf.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(stdout, "VALID: certificate %s, status as of %s\n", rep.ID, rep.Status.AsOf.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(stdout, "  type %s, rule %s, issued %s by %s\n", rep.Type, rep.RuleVersion, rep.Issued.UTC().Format(time.RFC3339), rep.Issuer)
	if rep.IssuerKeyPinned {
		fmt.Fprintf(stdout, "  signed by the pinned issuer key %s\n", rep.IssuerKey)
	} else {
		fmt.Fprintf(stdout, "  signed by %s, the key of the DID document in the file (not pinned: pass --issuer-key to be sure it is the hub's)\n", rep.IssuerKey)
	}
	keys := make([]string, 0, len(rep.Claims))
	for k := range rep.Claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  claim %s: %v\n", k, rep.Claims[k])
	}
	for _, p := range rep.Proven {
		what := fmt.Sprintf("%s %s (%s)", p.Field, p.Statement, p.Predicate)
		if p.Claim != "" {
			what = "claim " + p.Claim + ": " + what
		}
		if p.Statement.OnDates() {
			what += fmt.Sprintf(": the date is on or before %s, %d years before the issue date %s; the date itself is not disclosed", p.Threshold, p.Statement.Min, p.On)
		}
		fmt.Fprintf(stdout, "  proven in zero knowledge: %s\n", what)
	}
	fmt.Fprintf(stdout, "  %d threshold proof(s) verified; issue entry %d is in %s at tree size %d, cosigned by at least %d of %d trusted witnesses\n",
		rep.Proofs, rep.IssueEntry, rep.Checkpoint.Origin, rep.Checkpoint.Size, trust.Quorum, len(trust.Witnesses))
	if rep.Status.State == certificate.StatusRevoked {
		if rep.Status.RevokeOnLedger {
			fmt.Fprintf(stdout, "  revoke entry %d is on the log under a checkpoint cosigned by at least %d trusted witnesses\n", rep.Status.RevokeEntry, trust.Quorum)
		} else {
			fmt.Fprintf(stdout, "  the revocation rests on the issuer's signed status (no receipt of its entry %d yet: fetch the status again after publication)\n", rep.Status.RevokeEntry)
		}
		return &exitError{3, errors.New("revoked")}
	}
	return nil
}
