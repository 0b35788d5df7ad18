package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/govhub/govhub/crypto/keys"
	"github.com/govhub/govhub/internal/usecase"
)

// cmdOfficial runs "govhub official resolve --department D PSEUDONYM": the token subject behind an
// entry's official line, for that department's officers. Another department's pseudonym, or one
// the directory does not hold, is refused in the same words. It tries every officials key the
// data directory holds, the current one (keys/officials.key) first, then those rotated out
// (keys/officials.previous.json), newest first, so entries from before a rotation still resolve.
const officialUsage = `usage: govhub official <subcommand> [flags]

subcommands:
  resolve --department D PSEUDONYM
                  the official (token subject) behind an entry's official line, for their department

Run 'govhub official resolve -h' for its flags.
`

func cmdOfficial(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "resolve" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, officialUsage)
			return nil
		}
		fmt.Fprint(stderr, officialUsage)
		return &exitError{2, errors.New("official needs the subcommand resolve")}
	}
	fs := flag.NewFlagSet("official resolve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: govhub official resolve --department D [flags] PSEUDONYM")
		fs.PrintDefaults()
	}
	var c commonFlags
	c.register(fs)
	dept := fs.String("department", "", "the department whose official it is (the actor department of the entry)")
	names, err := parseWithFiles(fs, args[1:])
	if err != nil {
		return err
	}
	if *dept == "" || len(names) != 1 {
		return &exitError{2, errors.New("official resolve needs --department D and one PSEUDONYM (the 64 hex digits of an entry's official line)")}
	}
	cfg, err := c.config(stderr)
	if err != nil {
		return err
	}
	if _, err := readHubKey(cfg.DataDir, "officials.key", keys.ReadSymmetric); err != nil {
		return err
	}
	officialsKeys, err := officialsKeys(cfg.path("keys")) // rotate_files.go
	if err != nil {
		return err
	}
	st, err := openReader(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.closeReader(context.WithoutCancel(ctx))
	subject, err := resolveOfficial(ctx, officialsKeys, st.store, *dept, names[0])
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, subject)
	return err
}

// resolveOfficial resolves pseudonym with each of keys in turn (newest first): the first under
// which the department's directory entry opens and names that pseudonym wins.
func resolveOfficial(ctx context.Context, keys [][]byte, dir usecase.OfficialLookup, department, pseudonym string) (string, error) {
	err := usecase.ErrUnknownOfficial
	for _, key := range keys {
		var s string
		s, err = usecase.ResolveOfficial(ctx, key, dir, department, pseudonym)
		if !errors.Is(err, usecase.ErrUnknownOfficial) {
			return s, err
		}
	}
	return "", err
}
