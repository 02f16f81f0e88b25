package keptset

import (
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pare-dev/pare/pkg/rootfs"
)

func TestKeepKeepsLinksAndParents(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0o755, []byte("ld"))
	m.AddSymlink("/lib", "usr/lib")
	m.AddSymlink("/lib64", "usr/lib64")
	m.AddSymlink("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
	m.AddFile("/etc/other", 0o644, nil)
	s := NewSet(m.View())
	p, err := s.Keep("/lib64/ld-linux-x86-64.so.2", Reason{Kind: KindInterp, From: "/usr/bin/ls"})
	if err != nil {
		t.Fatal(err)
	}
	if p != "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" {
		t.Errorf("physical path = %s", p)
	}
	var got []string
	for _, it := range s.Items() {
		got = append(got, it.Path)
	}
	want := []string{"/", "/lib", "/lib64", "/usr", "/usr/lib", "/usr/lib/x86_64-linux-gnu",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/usr/lib64", "/usr/lib64/ld-linux-x86-64.so.2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("kept (-want +got):\n%s", d)
	}
	if _, err := s.Keep("/nope", Reason{Kind: KindInclude}); !isNotExist(err) {
		t.Errorf("missing path: err = %v", err)
	}
}

func TestWhyChain(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/usr/sbin/nginx", 0o755, nil)
	m.AddFile("/usr/lib/libpcre2-8.so.0", 0o644, nil)
	s := NewSet(m.View())
	s.Keep("/usr/sbin/nginx", Reason{Kind: KindEntrypoint})
	s.Keep("/usr/lib/libpcre2-8.so.0", Reason{Kind: KindNeeded, From: "/usr/sbin/nginx"})
	got := FormatChain(s.Why("/usr/lib/libpcre2-8.so.0"))
	want := "/usr/lib/libpcre2-8.so.0 ← DT_NEEDED of /usr/sbin/nginx ← entrypoint"
	if got != want {
		t.Errorf("chain = %q, want %q", got, want)
	}
	if s.Why("/usr/lib") == nil || s.Why("/usr/lib")[0].Reason.Kind != KindParent {
		t.Errorf("parent dir not explained: %v", s.Why("/usr/lib"))
	}
}

func TestKeepTreeFollowsLinksOut(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/etc/ssl/certs/ca-certificates.crt", 0o644, []byte("pem"))
	m.AddFile("/usr/share/ca-certificates/mozilla/A.crt", 0o644, []byte("a"))
	m.AddSymlink("/etc/ssl/certs/A.pem", "/usr/share/ca-certificates/mozilla/A.crt")
	m.AddSymlink("/etc/ssl/certs/dangling.pem", "/nowhere")
	m.AddFile("/usr/share/ca-certificates/mozilla/B.crt", 0o644, []byte("b"))
	s := NewSet(m.View())
	if _, err := s.KeepTree("/etc/ssl/certs", Reason{Kind: KindKnowledge, Rule: "ca-certs"}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"/etc/ssl/certs/A.pem":                     true,
		"/usr/share/ca-certificates/mozilla/A.crt": true,
		"/etc/ssl/certs/dangling.pem":              true,
		"/usr/share/ca-certificates/mozilla/B.crt": false,
	} {
		if s.Has(p) != want {
			t.Errorf("Has(%s) = %v, want %v", p, !want, want)
		}
	}
}

func TestEveryReasonKept(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/usr/lib/libc.so.6", 0o755, []byte("libc"))
	s := NewSet(m.View())
	var want []Reason
	for i := 0; i < 100; i++ {
		r := Reason{Kind: KindNeeded, From: fmt.Sprintf("/usr/bin/p%03d", i)}
		want = append(want, r)
		for range 2 { // the same requester twice counts once
			if _, err := s.Keep("/usr/lib/libc.so.6", r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if d := cmp.Diff(want, s.Item("/usr/lib/libc.so.6").Reasons); d != "" {
		t.Errorf("reasons (-want +got):\n%s", d)
	}
}

// TestItemsStaySorted lists the set between keeps and removals, as the
// rules' fixpoint does, and checks each listing against a fresh sort of
// every kept path.
func TestItemsStaySorted(t *testing.T) {
	m := rootfs.NewMem()
	for _, d := range []string{"a", "b/c", "b/d", "z"} {
		for i := 0; i < 5; i++ {
			m.AddFile(fmt.Sprintf("/%s/f%d", d, i), 0o644, nil)
		}
	}
	s := NewSet(m.View())
	check := func(step string) {
		t.Helper()
		got := s.Items()
		var paths []string
		for _, it := range got {
			paths = append(paths, it.Path)
		}
		if !sort.StringsAreSorted(paths) || len(paths) != s.Len() {
			t.Fatalf("%s: Items = %v (Len %d)", step, paths, s.Len())
		}
		for _, p := range paths {
			if !s.Has(p) {
				t.Fatalf("%s: Items lists %s, which is not kept", step, p)
			}
		}
		got[0] = nil // the caller's slice is its own
	}
	keep := func(p string) {
		t.Helper()
		if _, err := s.Keep(p, Reason{Kind: KindInclude}); err != nil {
			t.Fatal(err)
		}
	}
	keep("/z/f3")
	keep("/a/f1")
	check("first")
	keep("/b/c/f0")
	keep("/a/f0")
	check("added between")
	if _, err := s.KeepTree("/b", Reason{Kind: KindInclude}); err != nil {
		t.Fatal(err)
	}
	check("tree")
	s.Remove("/b/c")
	check("removed")
	if s.Has("/b/c/f0") {
		t.Fatal("/b/c/f0 still kept after removing /b/c")
	}
	keep("/b/c/f4")
	check("re-added")
	check("unchanged")
}

func TestGenerateReplacesContent(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/jdk/lib/modules", 0o644, []byte("the whole image"))
	m.AddSymlink("/modules", "jdk/lib/modules")
	m.AddDir("/jdk/lib/server", 0o755)
	s := NewSet(m.View())
	why := Reason{Kind: KindKnowledge, Rule: "java"}
	p, err := s.Generate("/modules", []byte("cut"), why)
	if err != nil {
		t.Fatal(err)
	}
	it := s.Item(p)
	if p != "/jdk/lib/modules" || string(it.Content) != "cut" || it.Entry.Size != 3 {
		t.Errorf("Generate: %s content %q size %d", p, it.Content, it.Entry.Size)
	}
	if !s.Has("/modules") || !s.Has("/jdk/lib") {
		t.Error("the link and the parents are not kept")
	}
	if _, err := s.Generate("/jdk/lib/modules", []byte("again"), why); err != nil || string(s.Item(p).Content) != "again" {
		t.Errorf("second Generate: %q, %v", s.Item(p).Content, err)
	}
	if _, err := s.Generate("/jdk/lib/server", nil, why); err == nil {
		t.Error("Generate accepted a directory")
	}
}

// TestSharedReasons: paths kept one after the other for the same reason
// share its storage, and another reason given to one of them later is
// that path's alone.
func TestSharedReasons(t *testing.T) {
	m := rootfs.NewMem()
	for _, p := range []string{"/srv/a", "/srv/b", "/srv/c"} {
		m.AddFile(p, 0o644, nil)
	}
	s := NewSet(m.View())
	app := Reason{Kind: KindApp, Detail: "application file under /srv"}
	for _, p := range []string{"/srv/a", "/srv/b", "/srv/c"} {
		if _, err := s.Keep(p, app); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := s.Item("/srv/a").Reasons, s.Item("/srv/b").Reasons; &a[0] != &b[0] {
		t.Error("two paths kept for one reason do not share it")
	}
	inc := Reason{Kind: KindInclude}
	if _, err := s.Keep("/srv/b", inc); err != nil {
		t.Fatal(err)
	}
	want := map[string][]Reason{"/srv/a": {app}, "/srv/b": {app, inc}, "/srv/c": {app}}
	for p, w := range want {
		if d := cmp.Diff(w, s.Item(p).Reasons); d != "" {
			t.Errorf("%s reasons (-want +got):\n%s", p, d)
		}
	}
}
