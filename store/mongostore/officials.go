package mongostore

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/govhub/govhub/store"
)

// AddOfficial stores the sealed subject behind an official pseudonym (the officials directory, by
// which a department resolves the official lines of its entries). Storing one again is not an
// error: a pseudonym names one subject forever.
func (s *Store) AddOfficial(ctx context.Context, o store.Official) error {
	_, err := s.officials.InsertOne(ctx, bson.D{{Key: "_id", Value: o.Pseudonym},
		{Key: "department", Value: o.Department}, {Key: "sealed", Value: o.Sealed}})
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return mapErr(err)
}

// Official returns the directory entry of a pseudonym, or store.ErrNotFound.
func (s *Store) Official(ctx context.Context, pseudonym string) (store.Official, error) {
	var d struct {
		Department string `bson:"department"`
		Sealed     []byte `bson:"sealed"`
	}
	if err := s.officials.FindOne(ctx, bson.D{{Key: "_id", Value: pseudonym}}).Decode(&d); err != nil {
		return store.Official{}, mapErr(err)
	}
	return store.Official{Pseudonym: pseudonym, Department: d.Department, Sealed: d.Sealed}, nil
}
