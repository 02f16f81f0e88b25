package pare

import (
	"archive/tar"
	"errors"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/internal/sensor"
	"github.com/pare-dev/pare/internal/trace"
	"github.com/pare-dev/pare/pkg/rootfs"
	"github.com/pare-dev/pare/pkg/transport"
)

const (
	lib    = "/usr/lib/x86_64-linux-gnu"
	interp = "/lib64/ld-linux-x86-64.so.2"
)

// pythonApp is an in-memory Debian-like image of a Python application in
// a virtual environment, with synthetic ELF files.
func pythonApp() *Source {
	m := rootfs.NewMem()
	m.AddSymlink("/lib", "usr/lib").AddSymlink("/lib64", "usr/lib64").AddSymlink("/bin", "usr/bin")
	m.AddFile(lib+"/ld-linux-x86-64.so.2", 0o755, elftest.Build(elftest.Spec{Soname: "ld-linux-x86-64.so.2"}))
	m.AddSymlink("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
	m.AddFile(lib+"/libc.so.6", 0o755, elftest.Build(elftest.Spec{Soname: "libc.so.6", Interp: interp, Needed: []string{"ld-linux-x86-64.so.2"}}))
	m.AddFile(lib+"/libssl.so.3", 0o644, elftest.Build(elftest.Spec{Soname: "libssl.so.3", Needed: []string{"libc.so.6"}}))
	m.AddFile(lib+"/libgcc_s.so.1", 0o644, elftest.Build(elftest.Spec{Soname: "libgcc_s.so.1", Needed: []string{"libc.so.6"}}))
	m.AddFile("/usr/bin/python3.11", 0o755, elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libc.so.6"}}))
	m.AddSymlink("/usr/bin/python3", "python3.11")
	m.AddFile("/usr/lib/python3.11/os.py", 0o644, []byte("# os\n"))
	m.AddFile("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so", 0o644,
		elftest.Build(elftest.Spec{Needed: []string{"libssl.so.3", "libc.so.6"}}))
	m.AddFile("/opt/venv/pyvenv.cfg", 0o644, []byte("home = /usr/bin\n"))
	m.AddSymlink("/opt/venv/bin/python", "/usr/bin/python3")
	m.AddFile("/opt/venv/lib/python3.11/site-packages/requests/__init__.py", 0o644, []byte("import ssl\n"))
	m.AddFile("/usr/lib/python3.11/ssl.py", 0o644, []byte("import _ssl\n"))
	m.AddFile("/app/main.py", 0o644, []byte("import requests\n"))
	m.AddFile("/etc/ssl/certs/ca-certificates.crt", 0o644, []byte("bundle\n"))
	m.AddFile("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/bash\n"))
	m.AddFile("/etc/group", 0o644, []byte("root:x:0:\n"))
	m.AddFile("/usr/share/doc/python3/README", 0o644, []byte("docs\n"))
	m.AddFile("/usr/bin/perl", 0o755, elftest.Build(elftest.Spec{Interp: interp, Needed: []string{"libc.so.6"}}))
	cf := &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{
		Entrypoint: []string{"/opt/venv/bin/python", "/app/main.py"},
		Env:        []string{"PATH=/opt/venv/bin:/usr/bin:/bin"},
		WorkingDir: "/app",
	}}
	return &Source{Ref: transport.Reference{Kind: transport.Dir, Path: "/mem"}, ConfigFile: cf, View: m.View()}
}

// layerFiles lists the paths in the pared image's layers.
func layerFiles(t *testing.T, img v1.Image) map[string]bool {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			out["/"+trimSlash(h.Name)] = true
		}
		rc.Close()
	}
	return out
}

func trimSlash(s string) string {
	s = strings.TrimPrefix(s, "./") // not a leading dot of a name (/.pare)
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// TestBuildInMemory runs the whole build (roots, loader closure, every
// knowledge rule, assembly, report) on an in-memory image, with no daemon.
func TestBuildInMemory(t *testing.T) {
	res, err := Build(pythonApp(), BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files := layerFiles(t, res.Image)
	for _, p := range []string{
		"/opt/venv/bin/python", "/usr/bin/python3.11", lib + "/libc.so.6", "/usr/lib64/ld-linux-x86-64.so.2",
		"/usr/lib/python3.11/os.py", "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
		lib + "/libssl.so.3", lib + "/libgcc_s.so.1", "/etc/ssl/certs/ca-certificates.crt",
		"/opt/venv/lib/python3.11/site-packages/requests/__init__.py", "/app/main.py", "/etc/passwd",
	} {
		if !files[p] {
			t.Errorf("%s missing from the pared image", p)
		}
	}
	for _, p := range []string{"/usr/share/doc/python3/README", "/usr/bin/perl"} {
		if files[p] {
			t.Errorf("%s in the pared image", p)
		}
	}
	if len(res.Report.KeptList()) == 0 || res.Report.After.Files == 0 {
		t.Errorf("report lists nothing kept: %+v", res.Report.After)
	}

	// traced: the standard library is left to the trace (which saw nothing
	// here), the virtual environment's site-packages is the application's
	traced, err := Build(pythonApp(), BuildOptions{Trace: &TraceResult{raw: &trace.Result{Observations: &sensor.Observations{}}}})
	if err != nil {
		t.Fatal(err)
	}
	files = layerFiles(t, traced.Image)
	if files["/usr/lib/python3.11/os.py"] {
		t.Error("traced build kept the standard library tree the trace stands for")
	}
	for _, p := range []string{"/opt/venv/lib/python3.11/site-packages/requests/__init__.py", "/app/main.py", "/usr/bin/python3.11"} {
		if !files[p] {
			t.Errorf("traced build dropped %s", p)
		}
	}
}
