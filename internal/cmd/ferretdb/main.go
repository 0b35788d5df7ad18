// Command ferretdb runs FerretDB, the version go.mod pins (the one the hub embeds), with its
// PostgreSQL backend on a TCP address: the database server in another process that CI (.ci/run)
// runs the store's conformance suite and the hub's --mongo-uri tests against. It is not part of the
// hub and not for production; it exists because FerretDB v1's own command refuses to start when
// built outside FerretDB's repository (it needs a generated version file).
//
//	go run ./internal/cmd/ferretdb --postgresql-url 'postgres://ferretdb@/ferretdb?host=/tmp/pg'
//
// Once the server answers a command that reaches PostgreSQL, it prints its MongoDB URI on stdout
// (so a script can wait for that line and learn the port). Telemetry is off (the embeddable package
// disables it); it keeps no state directory. It logs FerretDB's warnings and errors on stderr and
// stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ferretdb", flag.ContinueOnError)
	addr := fs.String("listen-addr", "127.0.0.1:0", "TCP address to listen on (port 0: any free port)")
	pgURL := fs.String("postgresql-url", "", "PostgreSQL connection string (postgres://user@host:port/database)")
	level := fs.String("log-level", "warn", "least level logged: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pgURL == "" {
		return fmt.Errorf("--postgresql-url is required")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *addr},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *pgURL,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	uri := f.MongoDBURI()
	if err := check(ctx, uri); err != nil {
		stop()
		<-done
		return err
	}
	// The URI on stdout says the server answers, backend included.
	fmt.Println(uri)
	return <-done
}

// check reports an error unless the server at uri answers a command that reaches PostgreSQL.
func check(ctx context.Context, uri string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	if _, err := client.ListDatabaseNames(ctx, bson.D{}); err != nil {
		return fmt.Errorf("listing databases through %s: %w", uri, err)
	}
	return nil
}
