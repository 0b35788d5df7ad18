package graph

// Everything generated from ../schema.graphql, in order: gqlgen's executor and models
// (generated.go, model/models_gen.go, the resolver stubs), then the catalog (package dataset's
// catalog_gen.go, and catalog_gen.go here: update inputs to hub items, released values to models).
// TestGeneratedFilesAreCurrent in internal/cmd/catalogen fails when any of them is stale.

//go:generate go -C .. tool gqlgen generate
//go:generate go run ../internal/cmd/catalogen -schema ../schema.graphql -dataset ../dataset/catalog_gen.go -graph catalog_gen.go
