package web

import (
	"embed"
	"io/fs"
	"net/http"
)

// GraphiQL's files (graphiql@4.1.2, react@18.2.0, react-dom@18.2.0, @graphiql/plugin-explorer@4.0.6,
// unchanged from their npm packages; licences in graphiql/LICENSES.txt), served by the hub itself
// so that the page loads nothing from a CDN.
//
//go:embed graphiql
var graphiqlFiles embed.FS

// GraphiQLAssetsPath is where GraphiQLAssets is mounted.
const GraphiQLAssetsPath = "/graphiql/assets/"

// GraphiQL asset names and their Subresource Integrity hashes (the ones gqlgen's playground pins for
// the same versions on the CDN; the plugin's stylesheet, which the CDN minifies on the fly, is the
// package's own style.css).
const (
	GraphiQLJS, GraphiQLJSSRI   = "graphiql.min.js", "sha256-hnImuor1znlJkD/FOTL3jayfS/xsyNoP04abi8bFJWs="
	GraphiQLCSS, GraphiQLCSSSRI = "graphiql.min.css", "sha256-MEh+B2NdMSpj9kexQNN3QKc8UzMrCXW/Sx/phcpuyIU="
	ReactJS, ReactJSSRI         = "react.production.min.js", "sha256-S0lp+k7zWUMk2ixteM6HZvu8L9Eh//OVrt+ZfbCpmgY="
	ReactDOMJS, ReactDOMJSSRI   = "react-dom.production.min.js", "sha256-IXWO0ITNDjfnNXIu5POVfqlgYoop36bDzhodR6LW5Pc="
	ExplorerJS, ExplorerJSSRI   = "plugin-explorer.umd.js", "sha256-UM8sWOS0Xa9yLY85q6Clh0pF4qpxX+TOcJ41flECqBs="
	ExplorerCSS, ExplorerCSSSRI = "plugin-explorer.css", "sha256-aJCaSuI7+t/EWRrLTis8jU9EFTua5/o7fnwxnroxDvE="
)

// GraphiQLAssets serves GraphiQL's files under GraphiQLAssetsPath (GET only, long-cached: they
// never change for a build).
func GraphiQLAssets() http.Handler {
	sub, err := fs.Sub(graphiqlFiles, "graphiql")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	files := http.StripPrefix(GraphiQLAssetsPath, http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
