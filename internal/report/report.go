// Package report describes a pared image: sizes before and after, what was
// kept and why, and what an attacker lost (shells, package managers,
// network tools, setuid files).
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/shells"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Size counts regular files and their bytes (each inode once).
type Size struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Kept is one kept path with its reasons.
type Kept struct {
	Path    string           `json:"path"`
	Type    string           `json:"type"`
	Size    int64            `json:"size,omitempty"`
	Link    string           `json:"link,omitempty"` // symlink target
	Reasons []keptset.Reason `json:"reasons"`
	Chain   string           `json:"chain"`
	// SameAs names the kept path whose inode this regular file shares (a
	// hard link): its Size is counted once, under that path.
	SameAs string `json:"same_as,omitempty"`
}

// DirSize totals the dropped regular files directly in one directory.
type DirSize struct {
	Dir   string `json:"dir"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

// Removed lists programs of the source image that the pared image lacks.
type Removed struct {
	Shells          []string `json:"shells"`
	PackageManagers []string `json:"package_managers"`
	NetworkTools    []string `json:"network_tools"`
	Setuid          []string `json:"setuid"` // setuid/setgid files gone or with the bit dropped
}

// Report is everything pare build says about one image.
type Report struct {
	Source      string   `json:"source"`
	Destination string   `json:"destination,omitempty"`
	Digest      string   `json:"digest,omitempty"`
	Command     []string `json:"command"`
	User        string   `json:"user"`
	Before      Size     `json:"before"`
	After       Size     `json:"after"`
	Dropped     int      `json:"dropped_files"`
	// DroppedBytes is the size of the dropped regular files: Before.Bytes
	// less the kept files' (After also counts the files pare adds).
	DroppedBytes int64 `json:"dropped_bytes"`
	// DroppedDirs totals the dropped regular files (each inode once, none
	// that is kept under another name) by the directory holding them,
	// sorted by directory: they add up to Dropped and DroppedBytes.
	DroppedDirs []DirSize `json:"dropped_dirs,omitempty"`
	// ByReason totals the kept regular files by the kind of their primary
	// reason ("needed", "package", "compiled", "app", ...).
	ByReason map[keptset.Kind]Size `json:"by_reason,omitempty"`
	// Application totals the kept files the image's own layers added
	// outside any package (any reason of kind "app").
	Application Size      `json:"application"`
	Removed     Removed   `json:"removed"`
	Missing     []string  `json:"missing,omitempty"`
	Warnings    []string  `json:"warnings,omitempty"`
	Notes       []string  `json:"notes,omitempty"`
	OS          string    `json:"os,omitempty"` // PRETTY_NAME of os-release
	Packages    []Package `json:"packages,omitempty"`
	Trace       *Trace    `json:"trace,omitempty"`
	Verify      *Verify   `json:"verify,omitempty"`
	// Kept lists the kept paths of a report read from JSON. Describe leaves
	// it nil and sets KeptFrom, which yields them from the kept set as they
	// are read; KeptPaths reads either.
	Kept     []Kept         `json:"kept"`
	KeptFrom iter.Seq[Kept] `json:"-"`
}

// Trace summarises the traced run of dynamic mode.
type Trace struct {
	Command  []string      `json:"command"`
	ExitCode int           `json:"exit_code"`
	Probes   []ProbeResult `json:"probes"`
	// Written are the paths the program wrote; TmpfsMounts the directories
	// to mount writable for a read-only root filesystem.
	Written     []string `json:"written,omitempty"`
	TmpfsMounts []string `json:"tmpfs_mounts,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
}

// Verify is the comparison of the original and the pared image under the
// same probes.
type Verify struct {
	Same        bool     `json:"same"`
	Probes      int      `json:"probes"`
	Differences []string `json:"differences,omitempty"`
}

// ProbeResult is one probe of a traced run.
type ProbeResult struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Err  string `json:"error,omitempty"`
}

// Package is an OS package that still has files in the pared image.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
	PURL    string `json:"purl,omitempty"`
	Partial bool   `json:"partial,omitempty"` // some of its files are left out
	Kept    int    `json:"kept_files"`
	Total   int    `json:"total_files"`
}

var (
	pkgMgrs  = set("apt", "apt-get", "apt-cache", "apt-config", "apt-mark", "aptitude", "dpkg", "dpkg-deb", "dpkg-query", "apk", "yum", "dnf", "microdnf", "rpm", "zypper", "pacman", "pip", "pip3", "gem", "npm", "yarn")
	netTools = set("curl", "wget", "nc", "netcat", "ncat", "nc.openbsd", "nc.traditional", "socat", "ssh", "scp", "sftp", "telnet", "ftp", "tftp", "ping", "ip", "ifconfig", "nslookup", "dig", "host", "openssl", "rsync", "nmap", "tcpdump")
	binDirs  = []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"}
)

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Measure counts the regular files of view v.
func Measure(v *rootfs.View) (Size, error) { return measure(v, nil) }

// measure counts the regular files of v (each inode once) and shows every
// entry to visit, so callers that need more than sizes walk the image once.
func measure(v *rootfs.View, visit func(e *rootfs.Entry)) (Size, error) {
	var s Size
	seen := map[uint64]bool{}
	err := v.Walk("/", func(e *rootfs.Entry) error {
		if visit != nil {
			visit(e)
		}
		if e.Type != rootfs.TypeReg {
			return nil
		}
		if e.HardlinkID != 0 {
			if seen[e.HardlinkID] {
				return nil
			}
			seen[e.HardlinkID] = true
		}
		s.Files++
		s.Bytes += e.Size
		return nil
	})
	return s, err
}

// Describe fills the sizes, the kept list, the dropped bytes by directory
// and the removed programs of r from the source view and the kept set. keepSetid says whether setuid/setgid
// bits survive.
func Describe(r *Report, v *rootfs.View, kept *keptset.Set, keepSetid bool) error {
	r.Removed = Removed{}
	keptInodes := map[uint64]bool{}
	for _, it := range kept.Items() {
		if it.Entry.Type == rootfs.TypeReg && it.Entry.HardlinkID != 0 {
			keptInodes[it.Entry.HardlinkID] = true
		}
	}
	dropped := map[string]*DirSize{}
	droppedInodes := map[uint64]bool{}
	before, err := measure(v, func(e *rootfs.Entry) {
		if e.Type != rootfs.TypeReg {
			return
		}
		if e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 && !underVirtual(e.Path) {
			if !kept.Has(e.Path) || !keepSetid {
				r.Removed.Setuid = append(r.Removed.Setuid, e.Path)
			}
		}
		if kept.Has(e.Path) || keptInodes[e.HardlinkID] || droppedInodes[e.HardlinkID] {
			return
		}
		droppedInodes[e.HardlinkID] = e.HardlinkID != 0
		dir := path.Dir(e.Path)
		d := dropped[dir]
		if d == nil {
			d = &DirSize{Dir: dir}
			dropped[dir] = d
		}
		d.Files++
		d.Bytes += e.Size
	})
	if err != nil {
		return fmt.Errorf("measuring the source image: %w", err)
	}
	r.Before = before
	r.DroppedDirs = make([]DirSize, 0, len(dropped))
	r.DroppedBytes = 0
	for _, d := range dropped {
		r.DroppedDirs = append(r.DroppedDirs, *d)
		r.DroppedBytes += d.Bytes
	}
	sort.Slice(r.DroppedDirs, func(i, j int) bool { return r.DroppedDirs[i].Dir < r.DroppedDirs[j].Dir })
	r.After = Size{}
	r.ByReason = map[keptset.Kind]Size{}
	r.Application = Size{}
	// the totals come from the same walk that lists the kept paths, so
	// they always agree with it; the list itself is not kept (see keptPaths)
	r.Kept = nil
	r.KeptFrom = keptPaths(kept)
	for k := range r.KeptFrom {
		if k.Type != rootfs.TypeReg.String() || k.SameAs != "" {
			continue
		}
		r.After.Files++
		r.After.Bytes += k.Size
		t := r.ByReason[k.Reasons[0].Kind]
		t.Files++
		t.Bytes += k.Size
		r.ByReason[k.Reasons[0].Kind] = t
		for _, why := range k.Reasons {
			if why.Kind == keptset.KindApp {
				r.Application.Files++
				r.Application.Bytes += k.Size
				break
			}
		}
	}
	r.Dropped = r.Before.Files - r.After.Files
	found := map[string]bool{}
	for _, dir := range binDirs {
		ents, err := v.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := path.Base(e.Path)
			kind := ""
			switch {
			case shells.Is(name):
				kind = "shell"
			case pkgMgrs[name]:
				kind = "pkg"
			case netTools[name]:
				kind = "net"
			}
			if kind == "" || found[e.Path] {
				continue
			}
			found[e.Path] = true
			if kept.Has(e.Path) {
				continue
			}
			switch kind {
			case "shell":
				r.Removed.Shells = append(r.Removed.Shells, e.Path)
			case "pkg":
				r.Removed.PackageManagers = append(r.Removed.PackageManagers, e.Path)
			case "net":
				r.Removed.NetworkTools = append(r.Removed.NetworkTools, e.Path)
			}
		}
	}
	for _, l := range [][]string{r.Removed.Shells, r.Removed.PackageManagers, r.Removed.NetworkTools, r.Removed.Setuid} {
		sort.Strings(l)
	}
	return nil
}

// keptPaths yields the Kept record of every path of the set, in path
// order, each computed when it is read: a report of 200k kept paths holds
// no list of them (and no why-chain text) while the set it came from lives.
// A regular file whose inode a path before it holds is SameAs that path.
func keptPaths(set *keptset.Set) iter.Seq[Kept] {
	return func(yield func(Kept) bool) {
		seen := map[uint64]string{}
		ch := newChains(set)
		for _, it := range set.Items() {
			e := it.Entry
			k := Kept{Path: it.Path, Type: e.Type.String(), Link: e.Linkname, Reasons: it.Reasons, Chain: ch.chain(it.Path)}
			if e.Type == rootfs.TypeReg {
				k.Size = e.Size
				if first, ok := seen[e.HardlinkID]; ok && e.HardlinkID != 0 {
					k.SameAs = first
				} else if e.HardlinkID != 0 {
					seen[e.HardlinkID] = it.Path
				}
			}
			if !yield(k) {
				return
			}
		}
	}
}

// KeptPaths yields every kept path with its reasons, in path order: those
// of the kept set Describe read (computed as they are read), or the Kept
// list of a report built or decoded with one.
func (r *Report) KeptPaths() iter.Seq[Kept] {
	if r.Kept == nil && r.KeptFrom != nil {
		return r.KeptFrom
	}
	return slices.Values(r.Kept)
}

// KeptList returns the kept paths as a list (KeptPaths collected).
func (r *Report) KeptList() []Kept {
	if r.Kept == nil && r.KeptFrom != nil {
		return slices.Collect(r.KeptFrom)
	}
	return r.Kept
}

// plainReport is Report without its methods, for encoding/json.
type plainReport Report

// MarshalJSON encodes the report with its kept paths (KeptPaths) as the
// "kept" list.
func (r Report) MarshalJSON() ([]byte, error) {
	p := plainReport(r)
	if p.Kept == nil && p.KeptFrom != nil {
		p.Kept = slices.Collect(p.KeptFrom)
	}
	return json.Marshal(p)
}

// WriteJSON writes the report as indented JSON followed by a newline, the
// same bytes as json.MarshalIndent(r, "", "  ") and a newline, with the
// kept paths encoded one at a time as they are read (a report of 200k
// kept paths is never in memory as a whole).
func (r *Report) WriteJSON(w io.Writer) error {
	head := plainReport(*r)
	head.Kept, head.KeptFrom = nil, nil
	b, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	const tail = "null\n}" // "kept", the last field, nil
	if !bytes.HasSuffix(b, []byte(tail)) {
		return fmt.Errorf("encoding the report: it does not end with its kept list")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(b[:len(b)-len(tail)])
	n := 0
	for k := range r.KeptPaths() {
		kb, err := json.MarshalIndent(k, "    ", "  ")
		if err != nil {
			return fmt.Errorf("encoding the report's %s: %w", k.Path, err)
		}
		if n == 0 {
			bw.WriteString("[\n    ")
		} else {
			bw.WriteString(",\n    ")
		}
		bw.Write(kb)
		n++
	}
	switch {
	case n > 0:
		bw.WriteString("\n  ]")
	case r.Kept != nil:
		bw.WriteString("[]")
	default:
		bw.WriteString("null") // as encoding/json writes an empty kept set's nil list
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// underVirtual reports paths of the kernel's virtual filesystems.
func underVirtual(p string) bool {
	return p == "/proc" || p == "/sys" || strings.HasPrefix(p, "/proc/") || strings.HasPrefix(p, "/sys/")
}

// WriteText prints the summary a person reads at the end of pare build.
func (r *Report) WriteText(w io.Writer) error {
	pct := 0.0
	if r.Before.Bytes > 0 {
		pct = 100 * (1 - float64(r.After.Bytes)/float64(r.Before.Bytes))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pared %s", r.Source)
	if r.Destination != "" {
		fmt.Fprintf(&b, " → %s", r.Destination)
	}
	b.WriteString("\n")
	if r.Digest != "" {
		fmt.Fprintf(&b, "  digest   %s\n", r.Digest)
	}
	fmt.Fprintf(&b, "  command  %s (user %s)\n", strings.Join(r.Command, " "), r.User)
	fmt.Fprintf(&b, "  size     %s → %s (%.1f%% smaller)\n", humanize.IBytes(uint64(r.Before.Bytes)), humanize.IBytes(uint64(r.After.Bytes)), pct)
	fmt.Fprintf(&b, "  files    %d → %d (%d dropped)\n", r.Before.Files, r.After.Files, r.Dropped)
	if r.Application.Files > 0 {
		fmt.Fprintf(&b, "  app      %d files, %s added by the image's layers outside any package (--exclude GLOB drops what is not needed)\n",
			r.Application.Files, humanize.IBytes(uint64(r.Application.Bytes)))
	}
	list := func(label string, l []string) {
		if len(l) == 0 {
			return
		}
		names := make([]string, len(l))
		for i, p := range l {
			names[i] = path.Base(p)
		}
		names = dedupe(names)
		fmt.Fprintf(&b, "  gone     %-17s %s\n", label+":", strings.Join(names, " "))
	}
	list("shells", r.Removed.Shells)
	list("package managers", r.Removed.PackageManagers)
	list("network tools", r.Removed.NetworkTools)
	if n := len(r.Removed.Setuid); n > 0 {
		shown := r.Removed.Setuid
		more := ""
		if n > 12 {
			shown, more = shown[:12], fmt.Sprintf(" … (%d in all)", n)
		}
		fmt.Fprintf(&b, "  gone     %-17s %s%s\n", "setuid/setgid:", strings.Join(shown, " "), more)
	}
	if len(r.Packages) > 0 {
		fmt.Fprintf(&b, "  packages %d still have files\n", len(r.Packages))
	}
	if r.Trace != nil {
		ok := 0
		for _, p := range r.Trace.Probes {
			if p.OK {
				ok++
			}
		}
		fmt.Fprintf(&b, "  traced   %d/%d probes ok, exit %d\n", ok, len(r.Trace.Probes), r.Trace.ExitCode)
		if len(r.Trace.TmpfsMounts) > 0 {
			fmt.Fprintf(&b, "  writable %s (mount tmpfs/emptyDir there for a read-only root filesystem)\n", strings.Join(r.Trace.TmpfsMounts, " "))
		}
	}
	if r.Verify != nil {
		if r.Verify.Same {
			fmt.Fprintf(&b, "  verified same behaviour as the original under %d probes\n", r.Verify.Probes)
		} else {
			for _, d := range r.Verify.Differences {
				fmt.Fprintf(&b, "  DIFFERS  %s\n", d)
			}
		}
	}
	for _, m := range r.Missing {
		fmt.Fprintf(&b, "  missing  %s\n", m)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note     %s\n", n)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "  warning  %s\n", wn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// View rebuilds the shape of the pared image from the report: directories,
// symlinks and (empty) files, so paths can be resolved as in the image.
func (r *Report) View() *rootfs.View {
	m := rootfs.NewMem()
	for k := range r.KeptPaths() {
		switch k.Type {
		case rootfs.TypeDir.String():
			m.AddDir(k.Path, 0o755)
		case rootfs.TypeSymlink.String():
			m.AddSymlink(k.Path, k.Link)
		default:
			m.AddFile(k.Path, 0o644, nil)
		}
	}
	return m.View()
}
