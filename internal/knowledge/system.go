package knowledge

import (
	"regexp"
	"strings"
	"sync"
)

// OSRelease keeps the files that tell scanners which OS the image is
// (/etc/os-release and its /usr/lib/os-release target, /etc/debian_version,
// /etc/alpine-release, ...). Without them trivy skips OS vulnerabilities.
type OSRelease struct{}

// Name implements Rule.
func (OSRelease) Name() string { return "os-release" }

// osReleaseFiles are kept whenever they exist.
var osReleaseFiles = []string{
	"/etc/os-release", "/usr/lib/os-release",
	"/etc/debian_version", "/etc/alpine-release",
	"/etc/lsb-release", "/etc/redhat-release", "/etc/system-release",
}

// Apply implements Rule.
func (r OSRelease) Apply(c Keeper) error {
	return addPaths(c, because(r.Name(), "", "OS identity for scanners"), osReleaseFiles...)
}

// NSS keeps what name-service lookups read. For glibc (a kept libc.so.6, which
// cgo Go binaries also bring) it parses /etc/nsswitch.conf and keeps
// libnss_<service>.so.2 for every service not built into libc (files and dns
// are built in since glibc 2.34), with their own libraries. For glibc, musl and
// Go binaries (which read these files themselves) it keeps /etc/nsswitch.conf,
// /etc/hosts, /etc/host.conf, /etc/gai.conf, /etc/resolv.conf, /etc/passwd,
// /etc/group, /etc/services, /etc/protocols and /etc/networks when present.
// Docker bind-mounts /etc/hosts, /etc/resolv.conf and /etc/hostname at run
// time; the image's own copies matter to other runtimes.
type NSS struct{}

// Name implements Rule.
func (NSS) Name() string { return "nss" }

var nssFiles = []string{
	"/etc/nsswitch.conf", "/etc/host.conf", "/etc/hosts", "/etc/gai.conf", "/etc/resolv.conf",
	"/etc/passwd", "/etc/group", "/etc/services", "/etc/protocols", "/etc/networks",
}

// nssBuiltin names the services glibc 2.34+ implements inside libc.
var nssBuiltin = map[string]bool{"files": true, "dns": true}

// Apply implements Rule.
func (r NSS) Apply(c Keeper) error {
	var from string
	for _, o := range c.Objects() {
		if o.Libc || o.Go || o.CGO {
			if from == "" || o.Path < from {
				from = o.Path
			}
		}
	}
	if from == "" {
		return nil
	}
	if err := addPaths(c, because(r.Name(), from, "name service lookups"), nssFiles...); err != nil {
		return err
	}
	libcs := glibcs(c)
	if len(libcs) == 0 {
		return nil
	}
	v := c.View()
	conf := readConfig(v, "/etc/nsswitch.conf")
	if conf == nil {
		c.Warn("nss: /etc/nsswitch.conf is absent; glibc then uses built-in defaults (hosts: files dns)")
		return nil
	}
	svcs := ParseNSSwitch(conf)
	var missing []string
	for _, s := range svcs {
		if nssBuiltin[s.Service] {
			continue
		}
		so := "libnss_" + s.Service + ".so.2"
		found := false
		for _, l := range libcs {
			ok, err := c.AddLibrary(so, l.Path, dlopened(r.Name(), l.Path, strings.Join(s.Databases, ", ")+": "+s.Service+" in /etc/nsswitch.conf"))
			if err != nil {
				return err
			}
			found = found || ok
		}
		if !found && importantDB(s.Databases) {
			missing = append(missing, so)
		}
	}
	if len(missing) > 0 {
		c.Warn("nss: /etc/nsswitch.conf names services whose modules are not in the image (glibc skips them, as in the original): %s", strings.Join(missing, ", "))
	}
	return nil
}

// importantDB reports whether one of dbs is a database whose lookups programs
// commonly depend on; a missing module for the others (Debian's default
// "services: db files") is not worth a note.
func importantDB(dbs []string) bool {
	for _, d := range dbs {
		switch d {
		case "passwd", "group", "shadow", "hosts", "initgroups":
			return true
		}
	}
	return false
}

// NSSService is one service named in nsswitch.conf with the databases using it.
type NSSService struct {
	Service   string
	Databases []string
}

// ParseNSSwitch returns the services named in an nsswitch.conf, in order of
// first appearance. Action items ("[NOTFOUND=return]") and comments are skipped.
func ParseNSSwitch(conf []byte) []NSSService {
	var out []NSSService
	idx := map[string]int{}
	for line := range lines(conf) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		db, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		db = strings.TrimSpace(db)
		// drop bracketed actions, which may contain spaces
		var b strings.Builder
		depth := 0
		for _, ch := range rest {
			switch {
			case ch == '[':
				depth++
			case ch == ']' && depth > 0:
				depth--
				b.WriteByte(' ')
			case depth == 0:
				b.WriteRune(ch)
			}
		}
		for _, s := range strings.Fields(b.String()) {
			if !validService.MatchString(s) {
				continue
			}
			if i, ok := idx[s]; ok {
				out[i].Databases = append(out[i].Databases, db)
				continue
			}
			idx[s] = len(out)
			out = append(out, NSSService{Service: s, Databases: []string{db}})
		}
	}
	return out
}

var validService = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)

// LibgccS keeps libgcc_s.so.1 for glibc programs: pthread_cancel and
// pthread_exit dlopen it to unwind, and abort without it. After a traced
// run (see traced.go) it is kept only when a kept object imports a
// function that makes glibc load it (see unwinders), beside a run that
// loaded it; otherwise it is left to the run with a note.
type LibgccS struct {
	// imports caches, per physical path, whether an object imports one of
	// unwinders; nil in a zero LibgccS.
	imports *sync.Map
}

// NewLibgccS returns the libgcc_s rule with a cache of the objects it
// read, for one build.
func NewLibgccS() LibgccS { return LibgccS{imports: &sync.Map{}} }

// Name implements Rule.
func (LibgccS) Name() string { return "libgcc_s" }

// Apply implements Rule.
func (r LibgccS) Apply(c Keeper) error {
	if traced(c) && len(glibcs(c)) > 0 {
		if who := unwinder(c, r.imports); who == "" {
			c.Warn("libgcc_s: traced, libgcc_s.so.1 is left to the run: no kept object imports %s, for which glibc loads it (--include it to keep it)", strings.Join(unwinders, ", "))
			return nil
		}
	}
	for _, l := range glibcs(c) {
		if _, err := c.AddLibrary("libgcc_s.so.1", l.Path, dlopened(r.Name(), l.Path, "pthread_cancel unwinds through it")); err != nil {
			return err
		}
	}
	return nil
}

// NormalizeLocale applies glibc's codeset normalization: "en_US.UTF-8@euro"
// becomes "en_US.utf8@euro".
func NormalizeLocale(n string) string {
	lang, rest, ok := strings.Cut(n, ".")
	if !ok {
		return n
	}
	cs, mod, hasMod := strings.Cut(rest, "@")
	var b strings.Builder
	digits := true
	for _, ch := range cs {
		switch {
		case ch >= 'A' && ch <= 'Z':
			b.WriteRune(ch + 'a' - 'A')
			digits = false
		case ch >= 'a' && ch <= 'z':
			b.WriteRune(ch)
			digits = false
		case ch >= '0' && ch <= '9':
			b.WriteRune(ch)
		}
	}
	ncs := b.String()
	if digits {
		ncs = "iso" + ncs
	}
	out := lang + "." + ncs
	if hasMod {
		out += "@" + mod
	}
	return out
}
