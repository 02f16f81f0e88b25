package assemble_test

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/pkg/rootfs"
)

type header struct {
	mode     int64
	uid, gid int
	body     string
}

// layer reads the single layer of img: headers and contents by path.
func layer(t *testing.T, img v1.Image) map[string]header {
	t.Helper()
	ls, err := img.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("layers: %d, %v", len(ls), err)
	}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out["/"+strings.TrimSuffix(h.Name, "/")] = header{h.Mode, h.Uid, h.Gid, string(b)}
	}
	return out
}

// TestOwnersAndModes: kept files and directories keep the source's owner and
// mode (what dpkg-statoverride set, a server's state directory), setgid
// directories keep their bit, and the accounts are the source's.
func TestOwnersAndModes(t *testing.T) {
	m := rootfs.NewMem()
	add := func(p string, ty rootfs.Type, mode fs.FileMode, uid, gid int, data string) {
		m.Add(rootfs.Entry{Path: p, Type: ty, Mode: mode, UID: uid, GID: gid}, []byte(data))
	}
	add("/etc", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/etc/passwd", rootfs.TypeReg, 0o644, 0, 0, "root:x:0:0:root:/root:/bin/bash\nsrv:x:101:102::/var/lib/srv:/usr/sbin/nologin\n")
	add("/etc/group", rootfs.TypeReg, 0o644, 0, 0, "root:x:0:\nshadow:x:42:\nssl-cert:x:110:srv\nsrv:x:102:\n")
	add("/etc/shadow", rootfs.TypeReg, 0o640, 0, 42, "root:$6$s$h:19000:0:99999:7:::\nsrv:!:19000::::::\n")
	add("/etc/ssl", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/etc/ssl/private", rootfs.TypeDir, 0o710, 0, 110, "")
	add("/etc/ssl/private/srv.key", rootfs.TypeReg, 0o640, 0, 110, "KEY")
	add("/var", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/var/log", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/var/log/srv", rootfs.TypeDir, 0o750, 101, 4, "")
	add("/var/lib", rootfs.TypeDir, 0o755, 0, 0, "")
	add("/var/lib/srv", rootfs.TypeDir, 0o700, 101, 102, "")
	add("/var/mail", rootfs.TypeDir, fs.ModeSetgid|0o775, 0, 8, "")
	add("/usr/bin/su", rootfs.TypeReg, fs.ModeSetuid|0o755, 0, 0, "su")
	v := m.View()
	set := keptset.NewSet(v)
	for _, p := range []string{"/etc/ssl/private/srv.key", "/var/log/srv", "/var/lib/srv", "/var/mail", "/usr/bin/su", "/etc/shadow"} {
		if _, err := set.Keep(p, keptset.Reason{Kind: keptset.KindInclude}); err != nil {
			t.Fatal(err)
		}
	}
	img, info, err := assemble.Image(v, &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{User: "srv"}}, set, assemble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.User != "101" {
		t.Errorf("User = %q", info.User)
	}
	got := layer(t, img)
	for p, want := range map[string]header{
		"/etc/ssl/private":         {mode: 0o710, gid: 110},
		"/etc/ssl/private/srv.key": {mode: 0o640, gid: 110},
		"/var/log/srv":             {mode: 0o750, uid: 101, gid: 4},
		"/var/lib/srv":             {mode: 0o700, uid: 101, gid: 102},
		"/var/mail":                {mode: 0o2775, gid: 8},
		"/usr/bin/su":              {mode: 0o755}, // setuid dropped by default
		"/etc/shadow":              {mode: 0o640, gid: 42},
	} {
		h, ok := got[p]
		if !ok {
			t.Errorf("%s missing", p)
			continue
		}
		if h.mode&0o7777 != want.mode || h.uid != want.uid || h.gid != want.gid {
			t.Errorf("%s: mode %o %d:%d; want %o %d:%d", p, h.mode&0o7777, h.uid, h.gid, want.mode, want.uid, want.gid)
		}
	}
	if p := got["/etc/passwd"].body; !strings.Contains(p, "srv:x:101:102::/var/lib/srv:/usr/sbin/nologin\n") || !strings.HasPrefix(p, "root:x:0:0:root:/root:/bin/bash\n") {
		t.Errorf("passwd not verbatim:\n%s", p)
	}
	if g := got["/etc/group"].body; !strings.Contains(g, "ssl-cert:x:110:srv\n") {
		t.Errorf("supplementary group lost:\n%s", g)
	}
	if s := got["/etc/shadow"].body; strings.Contains(s, "$6$") || !strings.HasPrefix(s, "root:!:19000:") {
		t.Errorf("shadow keeps a hash or lost the entry:\n%s", s)
	}
	// trimmed: the owner groups of kept files, the user's supplementary one
	img, _, err = assemble.Image(v, &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{User: "srv"}}, set, assemble.Options{TrimAccounts: true})
	if err != nil {
		t.Fatal(err)
	}
	g := layer(t, img)["/etc/group"].body
	for _, want := range []string{"ssl-cert:x:110:srv\n", "shadow:x:42:\n", "srv:x:102:\n"} {
		if !strings.Contains(g, want) {
			t.Errorf("trimmed group lacks %q:\n%s", want, g)
		}
	}
}
