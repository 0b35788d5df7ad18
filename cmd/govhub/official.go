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
// the directory does not hold, is refused in the same words.
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
	key, err := readHubKey(cfg.DataDir, "officials.key", keys.ReadSymmetric)
	if err != nil {
		return err
	}
	st, err := openReader(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.closeReader(context.WithoutCancel(ctx))
	subject, err := usecase.ResolveOfficial(ctx, key, st.store, *dept, names[0])
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, subject)
	return err
}
