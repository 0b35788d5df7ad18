// Package archtest holds tests that keep the repository's structure as the architecture page
// (docs/ARCHITECTURE.md) describes it: small exported method sets, small interfaces, no reflection
// at the GraphQL edge. They read the source with go/ast; they run nothing.
package archtest

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	// maxMethods is the most exported methods an exported type outside store/ may have.
	maxMethods = 12
	// maxInterfaceMethods is the most methods an interface outside store/ may list
	// (an embedded interface counts as one).
	maxInterfaceMethods = 6
)

// generated matches the header Go tools write on generated files
// (https://go.dev/s/generatedcode).
var generated = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

// sourceFile is one parsed non-test, hand-written Go file of the module.
type sourceFile struct {
	rel  string // slash path from the module root
	dir  string // slash directory from the module root
	file *ast.File
}

// moduleRoot walks up from the test's directory to the go.mod that declares the module.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// isGenerated reports whether the file at path carries the generated-code header before its
// package clause.
func isGenerated(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if generated.MatchString(line) {
			return true, nil
		}
		if strings.HasPrefix(line, "package ") {
			return false, nil
		}
	}
	return false, s.Err()
}

// sources parses every hand-written, non-test Go file of this module (not of nested modules
// such as bench/, not testdata).
func sources(t *testing.T) []sourceFile {
	t.Helper()
	root := moduleRoot(t)
	fset := token.NewFileSet()
	var out []sourceFile
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if gen, err := isGenerated(path); err != nil || gen {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		out = append(out, sourceFile{rel: rel, dir: filepath.ToSlash(filepath.Dir(rel)), file: f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("found no Go source: the walk is broken")
	}
	return out
}

// inStore reports whether a directory is store/ or below it (the repositories implement many
// small interfaces at once, so their types are exempt).
func inStore(dir string) bool { return dir == "store" || strings.HasPrefix(dir, "store/") }

// receiverName returns the name of a method's receiver type, without pointer or type
// parameters.
func receiverName(fd *ast.FuncDecl) string {
	expr := fd.Recv.List[0].Type
	for {
		switch e := expr.(type) {
		case *ast.StarExpr:
			expr = e.X
		case *ast.IndexExpr:
			expr = e.X
		case *ast.IndexListExpr:
			expr = e.X
		case *ast.ParenExpr:
			expr = e.X
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}

// exportedMethods counts, per "dir.Type", the exported methods declared on exported types.
func exportedMethods(files []sourceFile) map[string]int {
	n := map[string]int{}
	for _, f := range files {
		for _, d := range f.file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || !fd.Name.IsExported() {
				continue
			}
			if name := receiverName(fd); ast.IsExported(name) {
				n[f.dir+"."+name]++
			}
		}
	}
	return n
}

// interfaceSizes returns, per "dir.Interface", how many methods (embedded interfaces counting as
// one) each named interface lists.
func interfaceSizes(files []sourceFile) map[string]int {
	n := map[string]int{}
	for _, f := range files {
		ast.Inspect(f.file, func(node ast.Node) bool {
			ts, ok := node.(*ast.TypeSpec)
			if !ok {
				return true
			}
			it, ok := ts.Type.(*ast.InterfaceType)
			if !ok {
				return true
			}
			count := 0
			for _, m := range it.Methods.List {
				if len(m.Names) > 0 {
					count += len(m.Names)
				} else {
					count++
				}
			}
			n[f.dir+"."+ts.Name.Name] = count
			return true
		})
	}
	return n
}

func over(sizes map[string]int, limit int) []string {
	var out []string
	for name, n := range sizes {
		dir := name[:strings.LastIndex(name, ".")]
		if n > limit && !inStore(dir) {
			out = append(out, name+" has "+strconv.Itoa(n))
		}
	}
	slices.Sort(out)
	return out
}

func TestExportedMethodSetsAreSmall(t *testing.T) {
	for _, o := range over(exportedMethods(sources(t)), maxMethods) {
		t.Errorf("%s exported methods, want at most %d: split it by capability", o, maxMethods)
	}
}

func TestInterfacesAreSmall(t *testing.T) {
	for _, o := range over(interfaceSizes(sources(t)), maxInterfaceMethods) {
		t.Errorf("interface %s methods, want at most %d: declare a smaller one where it is consumed", o, maxInterfaceMethods)
	}
}

// TestNoReflectionAtTheEdge keeps graph/ free of package reflect outside generated code: the
// catalog and the GraphQL models are joined by generated code, not at run time.
func TestNoReflectionAtTheEdge(t *testing.T) {
	for _, f := range sources(t) {
		if f.dir != "graph" && !strings.HasPrefix(f.dir, "graph/") {
			continue
		}
		for _, imp := range f.file.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "reflect" {
				t.Errorf("%s imports reflect; generate the mapping instead", f.rel)
			}
		}
	}
}

// TestCountersSeeWhatTheyCount checks the counters on a small known source, so that a broken
// parser walk cannot make the tests above pass vacuously.
func TestCountersSeeWhatTheyCount(t *testing.T) {
	src := `package p
type Big struct{}
` + func() string {
		var b strings.Builder
		for i := range 13 {
			fmt.Fprintf(&b, "func (*Big) M%d() {}\n", i)
		}
		return b.String()
	}() + `
func (Big) unexported() {}
type small struct{}
func (small) A() {}
type Wide interface { A(); B(); C(); D(); E(); F(); fmt.Stringer }
type Narrow interface { A(); B() }
`
	f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	files := []sourceFile{{rel: "x/p.go", dir: "x", file: f}, {rel: "store/p.go", dir: "store", file: f}}
	if got, want := over(exportedMethods(files), maxMethods), []string{"x.Big has 13"}; !slices.Equal(got, want) {
		t.Errorf("over(exportedMethods) = %q, want %q", got, want)
	}
	if got, want := over(interfaceSizes(files), maxInterfaceMethods), []string{"x.Wide has 7"}; !slices.Equal(got, want) {
		t.Errorf("over(interfaceSizes) = %q, want %q", got, want)
	}
}
