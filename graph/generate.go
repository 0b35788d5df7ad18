package graph

// Everything generated from ../schema.graphql, in order: gqlgen's executor and models
// (generated.go, model/models_gen.go, the resolver stubs), then the catalog (package dataset's
// catalog_gen.go, and catalog_gen.go here: update inputs to hub items, released values to models).
// TestGeneratedFilesAreCurrent in internal/cmd/catalogen fails when any of them is stale.
// Then the GraphQL documents the pages send (package web's operations_gen.go, from
// ../web/static/*.js), which a hub restricted to trusted documents registers; internal/cmd/pageops's
// test fails when it is stale.

//go:generate go -C .. tool gqlgen generate
//go:generate go run ../internal/cmd/catalogen -schema ../schema.graphql -dataset ../dataset/catalog_gen.go -graph catalog_gen.go
//go:generate go run ../internal/cmd/pageops -static ../web/static -out ../web/operations_gen.go
