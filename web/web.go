// Package web holds GovHub's browser-side files, embedded in the binary so that the portal works
// offline and from a single executable (ARCHITECTURE §7; issue 9: no CDN, no external script or font).
//
// Today it holds static/verify.js, the citizen's in-browser verifier: a dependency-free ES module
// that checks, with WebCrypto only, an entry's leaf hash (govhub/entry/v1 or v2), the citizen's
// salted subject commitment in it (or, for a v2 list page, the commitment's path to the page's
// subject tree root), its RFC 6962 inclusion proof, the hub's signature and a quorum of witness cosignatures on
// the checkpoint (C2SP signed-note, tlog-checkpoint, tlog-cosignature), and a consistency proof
// from the last checkpoint the page verified. Its contract and formats are documented at the top
// of the file. The portal and console handlers that serve these files come later; this package
// only exposes them.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Static returns the embedded static files, rooted at the static directory: "verify.js" is the
// verifier module. Serve it with http.FileServerFS; the files are immutable for the life of the
// binary.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("web: embedded static directory missing: " + err.Error()) // cannot happen: go:embed checked it
	}
	return sub
}
