package mongostore_test

import (
	"os"
	"testing"

	"github.com/govhub/govhub/store/mongostore"
	"github.com/govhub/govhub/store/storetest"
)

func TestEmbedded(t *testing.T) { storetest.Run(t, storetest.Embedded) }

func TestMongo(t *testing.T) { storetest.Run(t, storetest.Mongo) }

// ServedByFerretDB tells the embedded FerretDB from MongoDB (and from itself reached by URI).
func TestServedByFerretDB(t *testing.T) {
	env := storetest.Embedded(t)
	if ferret, err := mongostore.ServedByFerretDB(t.Context(), env.DB); err != nil || !ferret {
		t.Errorf("ServedByFerretDB(embedded) = %v, %v; want true", ferret, err)
	}
	if os.Getenv(storetest.MongoURIEnv) == "" {
		return
	}
	ext := storetest.Mongo(t)
	t.Logf("the server at %s is FerretDB: %v", storetest.MongoURIEnv, ext.FerretDB)
}
