package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ServedByFerretDB reports whether db is served by FerretDB rather than MongoDB: FerretDB's
// buildInfo reply names it, with a "ferretdbVersion" field (v1) or a "ferretdb" document (v2);
// MongoDB's has neither.
//
// It matters to a hub reached with --mongo-uri. FerretDB v1 applies an update filtered on {_id,
// version} as a read, then a write by _id, with nothing keeping two connections apart in between, so
// writers racing from one version may all succeed (the suite's RecordCAS case, on FerretDB v1.24
// with PostgreSQL, without help: 8 of 8 racers won). New therefore serialises compare-and-swap
// writes inside the process on any FerretDB, as on the embedded one; hubs in several processes
// sharing a FerretDB remain unsafe (docs/OPERATIONS.md).
func ServedByFerretDB(ctx context.Context, db *mongo.Database) (bool, error) {
	var info bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, fmt.Errorf("asking the database server what it is (buildInfo): %w", err)
	}
	_, v1 := info["ferretdbVersion"]
	_, v2 := info["ferretdb"]
	return v1 || v2, nil
}
