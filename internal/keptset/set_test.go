package keptset

import (
	"fmt"
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
