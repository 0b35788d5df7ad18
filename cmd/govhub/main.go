// Command govhub runs GovHub, the government data-sharing hub, and its tools.
//
//	govhub demo            serve with synthetic data and the demo policy; prints tokens and URLs
//	govhub serve           serve
//	govhub token           print a bearer token signed by the data directory's issuer key
//	govhub ledger verify   recompute the ledger from storage and check every checkpoint
//	govhub ledger pubkey   print the ledger's note verifier key
//	govhub ledger receipt  print an entry's receipt, a C2SP tlog-proof
//	govhub ledger check-receipt  verify a receipt offline
//	govhub ledger check-erasure  verify a citizen's erasure receipt offline (erasure.go)
//	govhub keygen          write a new note signing key (for a witness) and print its cosignature verifier key
//	govhub witness         run a C2SP tlog-witness that cosigns the hub's checkpoints
//	govhub mirror          keep a verified copy of the hub's ledger and cosign it (C2SP tlog-mirror)
//	govhub policy export   print the policy in force (Casbin CSV)
//	govhub policy import   propose a policy file as a change (or import it into an empty store)
//	govhub official resolve  the official behind an entry's official line, for their department
//	govhub status          the running hub's operational status (operator endpoint)
//	govhub bench           load a running hub over HTTP and report throughput and latency
//	govhub verify-proof    check, offline, the range proofs of a saved answer (verifyproof.go)
//	govhub sealed          the oversight body's key and its reading of sealed accesses (sealed.go)
//	govhub migrate dates   re-commit dates committed as hashes as day numbers (migrate.go)
//	govhub verify-certificate  check, offline, a certificate's verification document (verifycert.go)
//
// Beside a running hub, the commands that read open its database read-only, and those that change
// something ask the hub over HTTP with a token (admin.go).
//
// Common flags: --data-dir (default ./govhub-data), --addr (default 127.0.0.1:8080), --mongo-uri
// (empty: the embedded FerretDB in the data directory).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "govhub:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0 // -h or --help: the usage was asked for and printed
	}
	return 1
}

const usage = `usage: govhub <command> [flags]

commands:
  demo            serve with synthetic data and the demo policy; prints tokens and URLs
  serve           serve the hub
  token           print a bearer token (--kind department|officer|citizen|auditor|operator …)
  ledger verify   recompute the ledger from storage and check every checkpoint
  ledger pubkey   print the ledger's note verifier key
  ledger receipt  print an entry's receipt (C2SP tlog-proof): --index N
  ledger check-receipt FILE --log-key K [--log-keys FILE] [--witness-key K …] [--quorum N]
                  verify a receipt offline
  ledger check-erasure FILE --log-key K [--log-keys FILE] [--citizen ID] [--witness-key K …] [--quorum N]
                  verify an erasure receipt offline
  ledger restore --from MIRROR_URL …
                  rebuild the ledger from department mirrors, list what the records miss
  keygen          write a witness's note signing key (--name N --out F) and print its
                  verifier key (C2SP cosignature/v1, type 0x04)
  witness         run a witness: --key F --log-key K [--addr A] [--state-dir D | --data-dir D]
  mirror          keep a verified copy of the ledger and cosign it (C2SP tlog-mirror): --hub URL …
  policy export   print the policy in force as Casbin CSV [--purposes F.json]
  policy import F propose the policy of a CSV file as a change to the running hub, as the
                  officer whose token is given (--token T --reason TEXT), or import it into
                  an empty store
  official resolve --department D PSEUDONYM
                  the official (token subject) behind an entry's official line
  status          the running hub's operational status (an operator token, or the data
                  directory's issuer key)
  bench           load a running hub over HTTP (a realistic mix or one scenario) and report
                  throughput, latency percentiles, errors, and the ledger's growth and lag
  keys split      encrypt the keys into a bundle and split its key among officers (k of n)
  keys restore    restore the keys from the bundle and k officers' shares
  keys rotate     rotate the running hub's master key; data keys are re-wrapped in the background
  backup          export the store, encrypted under a key derived from the master key
  backup restore  load an export into an empty store, then verify the ledger and every record
  verify-proof FILE [--context ID]
                  check, offline, the range proofs (predicate answers) of a saved GraphQL
                  response; or one proof given by flags
  sealed keygen --out FILE
                  write the oversight body's age identity and print its key (--oversight-key)
  sealed read --identity FILE
                  the oversight body reads sealed accesses' details before unsealing
  migrate dates   re-commit the dates committed as hashes as day numbers, through update
                  entries, so that age predicates can be proven (resumable; stop the hub first
                  on the embedded store)
  verify-certificate FILE --log-key K [--log-keys FILE] [--witness-key K …] [--quorum N] [--status FILE]
                  check, offline, a certificate's verification document (GET /verify/<id>.json):
                  signature, threshold proofs, issue entry under the witnessed log, status

Beside a running hub: ledger verify, ledger receipt, policy export and official resolve read its
database read-only; policy import and status ask the hub.

Run 'govhub <command> -h' for a command's flags.
`

const ledgerUsage = `usage: govhub ledger <subcommand> [flags]

subcommands:
  verify          recompute the ledger from storage and check every checkpoint
  pubkey          print the ledger's note verifier key
  receipt         print an entry's receipt (C2SP tlog-proof): --index N
  check-receipt FILE --log-key K [--log-keys FILE] [--witness-key K …] [--quorum N]
                  verify a receipt offline
  check-erasure FILE --log-key K [--log-keys FILE] [--citizen ID] [--witness-key K …] [--quorum N]
                  verify an erasure receipt offline
  restore --from MIRROR_URL …
                  rebuild the ledger from department mirrors (after keys restore and backup
                  restore), list the updates the records miss, and verify

Run 'govhub ledger <subcommand> -h' for its flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{2, errors.New("no command given")}
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr, false)
	case "demo":
		return cmdServe(ctx, args[1:], stdout, stderr, true)
	case "token":
		return cmdToken(args[1:], stdout, stderr)
	case "ledger":
		if len(args) < 2 {
			fmt.Fprint(stderr, ledgerUsage)
			return &exitError{2, errors.New("ledger needs a subcommand: verify, pubkey, receipt, check-receipt, check-erasure or restore")}
		}
		switch args[1] {
		case "-h", "--help", "help":
			fmt.Fprint(stdout, ledgerUsage)
			return nil
		case "verify":
			return cmdLedgerVerify(ctx, args[2:], stdout, stderr)
		case "pubkey":
			return cmdLedgerPubkey(args[2:], stdout, stderr)
		case "receipt":
			return cmdLedgerReceipt(ctx, args[2:], stdout, stderr)
		case "check-receipt":
			return cmdCheckReceipt(args[2:], stdout, stderr)
		case "check-erasure":
			return cmdCheckErasure(args[2:], stdout, stderr)
		case "restore":
			return cmdLedgerRestore(ctx, args[2:], stdout, stderr)
		}
		fmt.Fprint(stderr, ledgerUsage)
		return &exitError{2, fmt.Errorf("unknown ledger subcommand %q", args[1])}
	case "keygen":
		return cmdKeygen(args[1:], stdout, stderr)
	case "witness":
		return cmdWitness(ctx, args[1:], stdout, stderr)
	case "mirror":
		return cmdMirror(ctx, args[1:], stdout, stderr)
	case "policy":
		return cmdPolicy(ctx, args[1:], stdout, stderr)
	case "official":
		return cmdOfficial(ctx, args[1:], stdout, stderr)
	case "status":
		return cmdStatus(ctx, args[1:], stdout, stderr)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr)
	case "keys":
		return cmdKeys(args[1:], stdout, stderr)
	case "backup":
		return cmdBackup(ctx, args[1:], stdout, stderr)
	case "verify-proof":
		return cmdVerifyProof(args[1:], stdout, stderr)
	case "sealed":
		return cmdSealed(ctx, args[1:], stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, args[1:], stdout, stderr)
	case "verify-certificate":
		return cmdVerifyCertificate(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &exitError{2, fmt.Errorf("unknown command %q", args[0])}
}

// commonFlags registers the flags every data-directory command shares.
type commonFlags struct {
	dataDir, mongoURI, mongoDB, logOrigin, logFormat, logLevel string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", defaultDataDir, "data directory: keys, policy files, and the embedded database")
	fs.StringVar(&c.mongoURI, "mongo-uri", "", "MongoDB URI (replica set); empty runs the embedded FerretDB in the data directory")
	fs.StringVar(&c.mongoDB, "mongo-db", "govhub", "database name")
	fs.StringVar(&c.logOrigin, "log-origin", defaultLogOrigin, "origin (key name) of the ledger, used when its key is created")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
}

func (c *commonFlags) config(stderr io.Writer) (config, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return config{}, &exitError{2, fmt.Errorf("--log-level: %w", err)}
	}
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch c.logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, hopts)
	case "json":
		h = slog.NewJSONHandler(stderr, hopts)
	default:
		return config{}, &exitError{2, fmt.Errorf("--log-format must be text or json, not %q", c.logFormat)}
	}
	return config{DataDir: c.dataDir, MongoURI: c.mongoURI, MongoDB: c.mongoDB, LogOrigin: c.logOrigin, Logger: slog.New(h)}, nil
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{2, err}
	}
	if fs.NArg() > 0 {
		return &exitError{2, fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	return nil
}

// parseWithFiles parses the flags of a command that takes file arguments, which may come before,
// between or after the flags, and returns the files.
func parseWithFiles(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{2, err}
		}
		if fs.NArg() == 0 {
			return files, nil
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
}
