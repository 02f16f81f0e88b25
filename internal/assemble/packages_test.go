package assemble_test

import (
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// generatedFiles returns the content of the files Plan generated.
func generatedFiles(t *testing.T, l *assemble.Layout) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, it := range l.Items {
		if !l.Generated[it.Entry.Path] {
			continue
		}
		rc, err := it.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[it.Entry.Path] = string(b)
	}
	return out
}

// TestPlanPackageDatabase: the rewritten dpkg database holds the stanza
// and the md5sums lines of the kept files, in the source's order, the
// same whether Plan reads the database or is given the one the closure
// read; a given database is used as it is, not read again.
func TestPlanPackageDatabase(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/usr/bin/hello", 0o755, []byte("hello"))
	m.AddFile("/usr/bin/hello-extra", 0o755, []byte("extra"))
	m.AddFile("/usr/share/hello/data", 0o644, []byte("data"))
	stanza := "Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.10-3\n"
	m.AddFile("/var/lib/dpkg/status", 0o644, []byte(stanza))
	m.AddFile("/var/lib/dpkg/info/hello.list", 0o644, []byte("/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/bin/hello-extra\n/usr/share/hello\n/usr/share/hello/data\n"))
	m.AddFile("/var/lib/dpkg/info/hello.md5sums", 0o644, []byte(
		"33333333333333333333333333333333  usr/share/hello/data\n"+
			"11111111111111111111111111111111  usr/bin/hello\n"+
			"22222222222222222222222222222222  usr/bin/hello-extra\n"))
	v := m.View()
	kept := keptset.NewSet(v)
	for _, p := range []string{"/usr/bin/hello", "/usr/share/hello/data"} {
		if _, err := kept.Keep(p, keptset.Reason{Kind: keptset.KindEntrypoint}); err != nil {
			t.Fatal(err)
		}
	}
	cf := &v1.ConfigFile{Config: v1.Config{Entrypoint: []string{"/usr/bin/hello"}}}
	plan := func(o assemble.Options) map[string]string {
		l, err := assemble.Plan(v, cf, kept, o)
		if err != nil {
			t.Fatal(err)
		}
		return generatedFiles(t, l)
	}
	read := plan(assemble.Options{})
	if got := read["/var/lib/dpkg/status.d/hello"]; got != stanza {
		t.Errorf("status.d/hello = %q, want the stanza", got)
	}
	wantSums := "33333333333333333333333333333333  usr/share/hello/data\n11111111111111111111111111111111  usr/bin/hello\n"
	if got := read["/var/lib/dpkg/status.d/hello.md5sums"]; got != wantSums {
		t.Errorf("status.d/hello.md5sums = %q, want %q", got, wantSums)
	}

	db, err := pkgdb.Read(v)
	if err != nil {
		t.Fatal(err)
	}
	given := plan(assemble.Options{Packages: db})
	for p, want := range read {
		if given[p] != want {
			t.Errorf("with the database given, %s = %q, want %q", p, given[p], want)
		}
	}
	if len(given) != len(read) {
		t.Errorf("with the database given, %d generated files, want %d", len(given), len(read))
	}

	none := plan(assemble.Options{Packages: &pkgdb.DB{}})
	if _, ok := none["/var/lib/dpkg/status.d/hello"]; ok {
		t.Error("Plan read the database again although it was given one (empty)")
	}
}
