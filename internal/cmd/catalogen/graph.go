package main

import "bytes"

// graphFile is package graph's catalog_gen.go.
func graphFile(c *catalog) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("package graph\n")
	return b.Bytes()
}
