package assemble

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pare-dev/pare/internal/accounts"
	"github.com/pare-dev/pare/internal/keptset"
	"github.com/pare-dev/pare/internal/pkgdb"
	"github.com/pare-dev/pare/internal/report"
	"github.com/pare-dev/pare/internal/tarlayer"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// Options configure Image.
type Options struct {
	KeepSetuid bool // keep setuid/setgid bits of files (dropped by default; directories keep theirs)
	// TrimAccounts writes only the accounts the image uses (the baseline,
	// the output user, Users and Groups, owners of kept files) instead of
	// every source account.
	TrimAccounts bool
	Users        []string // account names programs switch to at run time
	Groups       []string
	User         string // the output user (name or uid[:gid] of the source image); "" picks one
	CreatedBy    string // history text
	Layer        []tarlayer.Option
	Extras       []Extra // files added to the image (pare's init and health check)
	// Packages is the source's package database when the caller has
	// read it from the same view (keep.Result.Packages); nil reads it.
	Packages *pkgdb.DB
}

// Info is what Image decided beyond the kept files.
type Info struct {
	User     string // numeric config User of the output image
	OS       string // the distribution's PRETTY_NAME
	Packages []report.Package
	Warnings []string
}

// NonRootUID is the default user of pared images, as in distroless.
const NonRootUID = 65532

// Image builds the minimal image: the kept files of v plus the small system
// files a scratch image lacks (passwd, group, /tmp, a home directory, the
// rewritten package database), with cf's config and a numeric user.
func Image(v *rootfs.View, cf *v1.ConfigFile, kept *keptset.Set, o Options) (v1.Image, *Info, error) {
	l, err := Plan(v, cf, kept, o)
	if err != nil {
		return nil, nil, err
	}
	img, err := image(l.Items, l.Config, o.CreatedBy, o.Layer...)
	if err != nil {
		return nil, nil, err
	}
	return img, l.Info, nil
}

// Layout is what Image writes, before it is a layer: every entry of the
// pared image sorted by path, which of them pare generated (their content
// is not the source's file of that path), and the output config.
type Layout struct {
	Items     []tarlayer.Ref
	Generated map[string]bool // paths of generated regular files
	Config    *v1.ConfigFile
	Info      *Info
}

// Plan computes the Layout that Image writes.
func Plan(v *rootfs.View, cf *v1.ConfigFile, kept *keptset.Set, o Options) (*Layout, error) {
	info := &Info{}
	keptItems := kept.Items()
	items := newLayoutItems(len(keptItems))
	generated := map[string]bool{}
	var uids, gids []int
	seenUID, seenGID := map[int]bool{}, map[int]bool{}
	for _, it := range keptItems {
		// owner and mode as in the source (dpkg statoverride already
		// applied there): a state directory stays writable by its user, a
		// key readable through its group
		// (the kept entry is the view's: copied only to be changed)
		e := it.Entry
		if !o.KeepSetuid && e.Type != rootfs.TypeDir && dropSetid(e.Mode) != e.Mode {
			// a setgid directory (/var/log/redis 2750) only makes new files
			// inherit its group: it grants nothing, and is kept
			c := *e
			c.Mode = dropSetid(c.Mode)
			e = &c
		}
		if it.Content != nil {
			items.set(e.Path, bytesRef(*e, it.Content))
			generated[e.Path] = true
		} else {
			items.set(e.Path, ref(v, e))
		}
		if !seenUID[e.UID] {
			seenUID[e.UID] = true
			uids = append(uids, e.UID)
		}
		if !seenGID[e.GID] {
			seenGID[e.GID] = true
			gids = append(gids, e.GID)
		}
	}
	// Accounts.
	src, err := accounts.Read(v)
	if err != nil {
		return nil, fmt.Errorf("reading the image's accounts: %w", err)
	}
	shadows := map[string]*rootfs.Entry{}
	for _, f := range []string{accounts.ShadowFile, accounts.GShadowFile} {
		if e, err := v.Stat(f); err == nil && e.Type == rootfs.TypeReg {
			shadows[f] = e
			gids = append(gids, e.GID)
		}
	}
	acc, err := accounts.Generate(src, accounts.Options{
		User: cf.Config.User, RunAs: o.User, Trim: o.TrimAccounts,
		UIDs: uids, GIDs: gids, Users: o.Users, Groups: o.Groups,
	})
	if err != nil {
		return nil, err
	}
	info.User = acc.User
	gen := func(p string, mode fs.FileMode, uid, gid int, data []byte) {
		e := rootfs.Entry{Path: p, Type: rootfs.TypeReg, Mode: mode, UID: uid, GID: gid, Size: int64(len(data))}
		items.set(p, bytesRef(e, data))
		generated[p] = true
	}
	dir := func(p string, mode fs.FileMode, uid, gid int) {
		items.set(p, tarlayer.Ref{Entry: &rootfs.Entry{Path: p, Type: rootfs.TypeDir, Mode: mode, UID: uid, GID: gid}})
	}
	ensureDir := func(p string) {
		// an image path that is a symlink to a directory (/etc -> ...) keeps
		// its link; generated files must not replace it with a directory
		if it, ok := items.get(p); ok && it.Entry.Type != rootfs.TypeDir {
			return
		}
		if !items.has(p) {
			dir(p, 0o755, 0, 0)
		}
	}
	ensureDir("/etc")
	gen(accounts.PasswdFile, 0o644, 0, 0, acc.Passwd)
	gen(accounts.GroupFile, 0o644, 0, 0, acc.Group)
	// shadow files replace any kept copy: the source's hashes never pass
	for f, data := range map[string][]byte{accounts.ShadowFile: acc.Shadow, accounts.GShadowFile: acc.GShadow} {
		if e := shadows[f]; e != nil && data != nil {
			gen(f, e.Mode.Perm(), e.UID, e.GID, data)
		} else {
			items.del(f)
			delete(generated, f)
		}
	}
	dir("/tmp", fs.ModeSticky|0o777, 0, 0)
	ensureDir("/home")
	dir("/home/nonroot", 0o700, NonRootUID, NonRootUID)
	dir("/root", 0o700, 0, 0)
	if acc.Home != "" && acc.Home != "/" && acc.Home != "/nonexistent" {
		if !items.has(acc.Home) {
			if e, err := v.Lstat(acc.Home); err == nil && e.Type == rootfs.TypeDir && e.Path == acc.Home {
				// the user's home exists in the source: keep it as it is
				items.set(acc.Home, tarlayer.Ref{Entry: e})
			} else {
				for d := parent(acc.Home); d != "/"; d = parent(d) {
					ensureDir(d)
				}
				dir(acc.Home, 0o700, acc.UID, acc.GID)
			}
		}
	}
	// nsswitch.conf: glibc without one uses "hosts: files dns" only for
	// hosts; write the minimum that honours /etc/hosts when libc is kept.
	if !items.has("/etc/nsswitch.conf") && keepsGlibc(keptItems) {
		gen("/etc/nsswitch.conf", 0o644, 0, 0, []byte("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"))
	}
	// Package database.
	db, err := o.Packages, error(nil)
	if db == nil {
		db, err = pkgdb.Read(v)
	}
	if err != nil {
		info.Warnings = append(info.Warnings, fmt.Sprintf("package database unreadable, not rewritten: %v", err))
	} else if db.Type != "" {
		us := db.Usage(v, kept.Has)
		items.paths(func(p string) {
			if p == "/var/lib/dpkg/status" || strings.HasPrefix(p, "/var/lib/dpkg/info/") {
				items.del(p)
			}
		})
		for _, f := range db.Files(us) {
			for d := parent(f.Path); d != "/"; d = parent(d) {
				ensureDir(d)
			}
			gen(f.Path, f.Mode, 0, 0, f.Data)
		}
		osID := pkgdb.ReadOS(v)
		info.OS = osID.Pretty
		for _, u := range pkgdb.Remaining(us) {
			info.Packages = append(info.Packages, report.Package{Name: u.Name, Version: u.Version, Arch: u.Arch,
				PURL: u.PURL(osID), Partial: u.Partial, Kept: u.KeptFiles, Total: u.TotalFiles})
		}
	}
	if err := addExtras(items, o.Extras, ensureDir); err != nil {
		return nil, err
	}
	for _, x := range o.Extras {
		generated[path.Clean(x.Path)] = true
	}
	list := items.sorted()
	cfg := *cf
	cfg.Config.User = acc.User
	return &Layout{Items: list, Generated: generated, Config: &cfg, Info: info}, nil
}

func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func keepsGlibc(kept []*keptset.Item) bool {
	for _, it := range kept {
		if strings.Contains(it.Path, "/libc.so.6") {
			return true
		}
	}
	return false
}
