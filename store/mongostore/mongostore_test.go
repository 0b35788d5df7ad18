package mongostore_test

import (
	"testing"

	"github.com/govhub/govhub/store/storetest"
)

func TestEmbedded(t *testing.T) { storetest.Run(t, storetest.Embedded) }

func TestMongo(t *testing.T) { storetest.Run(t, storetest.Mongo) }
