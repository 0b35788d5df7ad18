package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ServedByFerretDB reports whether db is served by FerretDB rather than MongoDB: FerretDB's
// buildInfo reply carries a "ferretdb" document, MongoDB's does not.
//
// It matters to a hub reached with --mongo-uri. Against a FerretDB it does not own (no
// WithEmbedded), the store writes as against MongoDB, with {_id, version} compare-and-swap filters;
// FerretDB v1 applies such an update as a read, then a write by _id, with nothing keeping two
// connections apart in between, so two writers racing from one version may both succeed. One hub
// per FerretDB is safe (its writes to one document are serialised by the use cases above the
// store); several hubs sharing a FerretDB are not. See docs/OPERATIONS.md.
func ServedByFerretDB(ctx context.Context, db *mongo.Database) (bool, error) {
	var info bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, fmt.Errorf("asking the database server what it is (buildInfo): %w", err)
	}
	_, ok := info["ferretdb"]
	return ok, nil
}
