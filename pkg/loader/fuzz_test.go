package loader_test

import (
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/elftest"
	"github.com/pare-dev/pare/pkg/loader"
)

// checkResult fails when a found library is not a file of the view.
func checkResult(t *testing.T, res *loader.Result, exists func(string) bool) {
	for _, o := range res.Objects {
		if !strings.HasPrefix(o.Path, "/") || !exists(o.Path) {
			t.Errorf("found %s at %q, not a file of the image", o.Name, o.Path)
		}
	}
}

// FuzzMuslPath resolves a musl program's libraries with the input as
// /etc/ld-musl-x86_64.path.
func FuzzMuslPath(f *testing.F) {
	for _, s := range []string{"/opt/musl/lib\n/usr/lib:/lib\n", "", "\n\n", "/lib /usr/lib", "relative:/usr/lib", "::::",
		"/usr/lib\x00/lib", strings.Repeat("/a:", 1000)} {
		f.Add(s)
	}
	musl := "/lib/ld-musl-x86_64.so.1"
	f.Fuzz(func(t *testing.T, pathFile string) {
		m := bookworm()
		m.AddFile(musl, 0o755, lib("libc.musl-x86_64.so.1"))
		m.AddFile("/usr/bin/app", 0o755, exe(elftest.Spec{Interp: musl, Needed: []string{"libfoo.so.1", "libc.musl-x86_64.so.1"}}))
		m.AddFile("/opt/musl/lib/libfoo.so.1", 0o644, lib("libfoo.so.1", "libbar.so"))
		m.AddFile("/usr/lib/libbar.so", 0o644, lib("libbar.so"))
		m.AddFile("/etc/ld-musl-x86_64.path", 0o644, []byte(pathFile))
		v := m.View()
		res, err := loader.Resolve(v, "/usr/bin/app", loader.Options{})
		if err != nil {
			return
		}
		checkResult(t, res, func(p string) bool { _, err := v.Stat(p); return err == nil })
	})
}

// FuzzLdSoConf resolves with the input as /etc/ld.so.conf (whose includes
// the loader reads for its hints) and /etc/ld.so.preload.
func FuzzLdSoConf(f *testing.F) {
	f.Add("include /etc/ld.so.conf.d/*.conf\n", "")
	f.Add("# vendor\n/opt/vendor/lib\nhwcap 0 nosegneg\n", "libpre.so.1")
	f.Add("include ld.so.conf\ninclude /etc/ld.so.conf.d/../../etc/ld.so.conf\n", "/opt/vendor/lib/libopt.so.1 $LIB/x.so")
	f.Add("include [\ninclude *\n/a,/b:/c=/d\t/e", "\x00")
	f.Fuzz(func(t *testing.T, conf, preload string) {
		m := bookworm()
		m.AddFile("/app/exe", 0o755, exe(elftest.Spec{Needed: []string{"libopt.so.1"}}))
		m.AddFile("/opt/vendor/lib/libopt.so.1", 0o644, lib("libopt.so.1"))
		m.AddFile("/etc/ld.so.conf", 0o644, []byte(conf))
		m.AddFile("/etc/ld.so.conf.d/vendor.conf", 0o644, []byte(conf))
		m.AddFile("/etc/ld.so.preload", 0o644, []byte(preload))
		v := m.View()
		res, err := loader.Resolve(v, "/app/exe", loader.Options{})
		if err != nil {
			return
		}
		checkResult(t, res, func(p string) bool { _, err := v.Stat(p); return err == nil })
	})
}
