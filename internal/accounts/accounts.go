// Package accounts reads an image's account files (/etc/passwd, /etc/group
// and, when present, /etc/shadow and /etc/gshadow) and writes those of a
// pared image: by default every source entry verbatim — names, ids, gecos,
// homes, login shells and supplementary memberships, since programs look
// accounts up by names written in their config — plus the distroless
// baseline (root, nobody, nonroot) where the source lacks it. On request
// (Options.Trim) only the accounts the image uses are kept. It also resolves
// the config User to the numeric form Kubernetes' runAsNonRoot requires.
package accounts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// NonRoot is the default user of a pared image, as in distroless.
const (
	NonRootUID  = 65532
	NonRootName = "nonroot"
	NonRootHome = "/home/nonroot"
	NoLogin     = "/sbin/nologin"
)

// maxFile caps the size of an account file read from an image.
const maxFile = 16 << 20

// Account files of an image.
const (
	PasswdFile  = "/etc/passwd"
	GroupFile   = "/etc/group"
	ShadowFile  = "/etc/shadow"
	GShadowFile = "/etc/gshadow"
)

// User is one /etc/passwd entry.
type User struct {
	Name     string `json:"name"`
	Password string `json:"-"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Gecos    string `json:"gecos,omitempty"`
	Home     string `json:"home"`
	Shell    string `json:"shell"`
	fields   []string
}

// line is the entry as the source wrote it (extra fields included), with a
// password hash, if any, replaced by a lock.
func (u User) line() string {
	f := u.fields
	if f == nil {
		f = []string{u.Name, u.Password, strconv.Itoa(u.UID), strconv.Itoa(u.GID), u.Gecos, u.Home, u.Shell}
	}
	f = append([]string(nil), f...)
	f[1] = lockPassword(f[1])
	return strings.Join(f, ":")
}

// Group is one /etc/group entry.
type Group struct {
	Name    string   `json:"name"`
	GID     int      `json:"gid"`
	Members []string `json:"members,omitempty"`
	fields  []string
}

func (g Group) line() string {
	f := g.fields
	if f == nil {
		f = []string{g.Name, "x", strconv.Itoa(g.GID), ""}
	}
	f = append([]string(nil), f...)
	f[1] = lockPassword(f[1])
	f[3] = strings.Join(g.Members, ",")
	return strings.Join(f, ":")
}

// DB holds the accounts of one image, in file order.
type DB struct {
	Users  []User
	Groups []Group
	// Shadow and GShadow are the fields of /etc/shadow and /etc/gshadow
	// lines by account name; nil when the image has no such file.
	Shadow, GShadow map[string][]string
}

// Read parses the account files of v; missing files give no entries.
func Read(v *rootfs.View) (*DB, error) {
	names := []string{PasswdFile, GroupFile, ShadowFile, GShadowFile}
	files := make([][]byte, len(names))
	present := make([]bool, len(names))
	for i, name := range names {
		b, err := v.ReadFile(name, maxFile)
		if err != nil && !errors.Is(err, rootfs.ErrNotExist) {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		files[i], present[i] = b, err == nil
	}
	db := Parse(files[0], files[1])
	if present[2] {
		db.Shadow = parseShadow(files[2], 9)
	}
	if present[3] {
		db.GShadow = parseShadow(files[3], 4)
	}
	return db, nil
}

// Parse parses passwd and group contents. Malformed lines (too few fields,
// non-numeric ids) and NIS "+"/"-" lines are skipped.
func Parse(passwd, group []byte) *DB {
	db := &DB{}
	for _, f := range lines(passwd) {
		if len(f) < 7 {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			continue
		}
		db.Users = append(db.Users, User{Name: f[0], Password: f[1], UID: uid, GID: gid, Gecos: f[4], Home: f[5], Shell: f[6], fields: f})
	}
	for _, f := range lines(group) {
		if len(f) < 4 {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil || gid < 0 {
			continue
		}
		g := Group{Name: f[0], GID: gid, fields: f}
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				g.Members = append(g.Members, m)
			}
		}
		db.Groups = append(db.Groups, g)
	}
	return db
}

// parseShadow indexes shadow-style lines by name; lines with fewer than
// minFields fields are skipped, the first line of a name wins.
func parseShadow(b []byte, minFields int) map[string][]string {
	m := map[string][]string{}
	for _, f := range lines(b) {
		if len(f) < minFields {
			continue
		}
		if _, ok := m[f[0]]; !ok {
			m[f[0]] = f
		}
	}
	return m
}

func lines(b []byte) [][]string {
	var out [][]string
	// Not a bufio.Scanner: it stops silently at a line over its buffer, and
	// every account after a hostile long line would be lost.
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}

// lockPassword keeps the password field values that hold no secret — "x"
// (see shadow), "*" and "!" (locked), "" (none) — and replaces a hash
// (locked "!hash" included) by "!": a pared image never carries hashes.
func lockPassword(p string) string {
	switch p {
	case "", "x", "*", "!", "!*", "!!":
		return p
	}
	return "!"
}

// UserByName returns the first user named name.
func (db *DB) UserByName(name string) (User, bool) {
	for _, u := range db.Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}

// UserByID returns the first user with uid.
func (db *DB) UserByID(uid int) (User, bool) {
	for _, u := range db.Users {
		if u.UID == uid {
			return u, true
		}
	}
	return User{}, false
}

// GroupByName returns the first group named name.
func (db *DB) GroupByName(name string) (Group, bool) {
	for _, g := range db.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}

// GroupByID returns the first group with gid.
func (db *DB) GroupByID(gid int) (Group, bool) {
	for _, g := range db.Groups {
		if g.GID == gid {
			return g, true
		}
	}
	return Group{}, false
}

// Baseline is the distroless /etc/passwd and /etc/group content; an entry is
// added to the output only when the source has neither its name nor its id.
var (
	BaselineUsers = []User{
		{Name: "root", Password: "x", UID: 0, GID: 0, Gecos: "root", Home: "/root", Shell: NoLogin},
		{Name: "nobody", Password: "x", UID: 65534, GID: 65534, Gecos: "nobody", Home: "/nonexistent", Shell: NoLogin},
		{Name: NonRootName, Password: "x", UID: NonRootUID, GID: NonRootUID, Gecos: NonRootName, Home: NonRootHome, Shell: NoLogin},
	}
	BaselineGroups = []Group{
		{Name: "root", GID: 0}, {Name: "nobody", GID: 65534}, {Name: "tty", GID: 5},
		{Name: "staff", GID: 50}, {Name: NonRootName, GID: NonRootUID},
	}
)

// Options says which accounts the output image needs.
type Options struct {
	// User is the source image's config User: "", a name or uid, with an
	// optional ":group" (name or gid).
	User string
	// RunAs overrides the output's user (a --user flag), in the same forms;
	// it is resolved through the source accounts and may be root.
	RunAs string
	// Trim keeps only the accounts the image uses: the baseline, the output
	// user, the names in Users and Groups, the owners in UIDs and GIDs, and
	// the primary and supplementary groups of every kept user. By default
	// every source account is kept.
	Trim bool
	// UIDs and GIDs are the owners of kept files (used with Trim).
	UIDs, GIDs []int
	// Users and Groups are names programs switch to at run time (nginx's
	// "user www-data;"), used with Trim.
	Users, Groups []string
}

// Result is what Generate produces.
type Result struct {
	Passwd []byte // /etc/passwd, mode 0644
	Group  []byte // /etc/group, mode 0644
	// Shadow and GShadow are written only when the source has the file: its
	// entries for the kept accounts with every password hash locked.
	Shadow, GShadow []byte
	// User is the numeric config User of the output image: "65532:65532"
	// for the non-root default, "uid:gid" when the source named a group,
	// else "uid" (the engine then applies the user's groups from the image).
	User string
	// UID and GID are that user's ids (the primary group from passwd).
	UID, GID int
	// Home is the home directory of that user ("" when it has no entry).
	Home   string
	Users  []User
	Groups []Group
}

// Generate builds the output image's accounts from the source accounts src.
//
// Source entries are written as the source wrote them, in its order (login
// shells included: a program that prints or spawns a user's shell sees the
// source's value); a baseline account whose name and id are both absent is
// added (root first, the others at the end). Shadow files: a server that
// authenticates through PAM or getspnam (su, sshd, dovecot) needs an entry
// per account to find it, so when the source has /etc/shadow (or gshadow) it
// is written with the kept accounts' entries, aging fields verbatim, but
// every hash replaced by "!" — a minimal image has no one to log in and must
// not ship the source's secrets; one without shadow files gets none.
func Generate(src *DB, o Options) (*Result, error) {
	if src == nil {
		src = &DB{}
	}
	g := &gen{src: src}
	who := o.User
	if o.RunAs != "" {
		who = o.RunAs
	}
	res := &Result{}
	uid, gid, uname, gname, err := g.resolve(who)
	if err != nil {
		return nil, err
	}
	nonRootDefault := o.RunAs == "" && uid == 0
	// The implicit form "uid" makes the engine take the primary group and
	// the supplementary groups from the image's passwd and group files, as
	// it did for the source's user name; "uid:gid" would drop the
	// supplementary ones (runc applies them only without a group).
	_, _, explicitGroup := strings.Cut(who, ":")
	switch {
	case nonRootDefault:
		uid, gid, uname, gname = NonRootUID, NonRootUID, "", ""
		res.User = fmt.Sprintf("%d:%d", NonRootUID, NonRootUID)
	case explicitGroup && gid >= 0:
		res.User = fmt.Sprintf("%d:%d", uid, gid)
	default:
		res.User = strconv.Itoa(uid)
	}
	res.UID, res.GID = uid, gid
	if gid < 0 {
		res.GID = uid
	}

	users, groups := src.Users, src.Groups
	if o.Trim {
		users, groups = g.trim(o, uname, gname)
	}
	users, groups = withBaseline(users, groups)
	if o.Trim {
		present := map[string]bool{}
		for _, u := range users {
			present[u.Name] = true
		}
		trimmed := make([]Group, len(groups))
		for i, gr := range groups {
			trimmed[i] = gr
			trimmed[i].Members = nil
			for _, m := range gr.Members {
				if present[m] {
					trimmed[i].Members = append(trimmed[i].Members, m)
				}
			}
		}
		groups = trimmed
	}

	var pw, gr strings.Builder
	for _, u := range users {
		pw.WriteString(u.line() + "\n")
	}
	for _, x := range groups {
		gr.WriteString(x.line() + "\n")
	}
	res.Passwd, res.Group = []byte(pw.String()), []byte(gr.String())
	if src.Shadow != nil {
		added := map[string]bool{}
		for _, u := range users {
			if _, ok := src.UserByName(u.Name); !ok {
				added[u.Name] = true
			}
		}
		res.Shadow = shadowFile(src.Shadow, names(users), added, func(name string) []string {
			return []string{name, "*", "", "", "", "", "", "", ""}
		}, nil)
	}
	if src.GShadow != nil {
		members := map[string][]string{}
		for _, x := range groups {
			members[x.Name] = x.Members
		}
		var gnames []string
		added := map[string]bool{}
		for _, x := range groups {
			gnames = append(gnames, x.Name)
			if _, ok := src.GroupByName(x.Name); !ok {
				added[x.Name] = true
			}
		}
		res.GShadow = shadowFile(src.GShadow, gnames, added, func(name string) []string {
			return []string{name, "*", "", strings.Join(members[name], ",")}
		}, func(f []string) {
			if o.Trim {
				f[3] = strings.Join(members[f[0]], ",") // only members that exist
			}
		})
	}
	for _, u := range users {
		if u.UID == uid {
			res.Home = u.Home
			break
		}
	}
	res.Users, res.Groups = users, groups
	return res, nil
}

func names(us []User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Name
	}
	return out
}

// shadowFile writes shadow-style lines for names in order: the source's
// entry with its password locked, or for an account added from the baseline
// the entry fresh gives. Source accounts without a shadow entry get none, as
// in the source.
func shadowFile(src map[string][]string, order []string, added map[string]bool, fresh func(string) []string, edit func([]string)) []byte {
	var b strings.Builder
	for _, n := range order {
		f, ok := src[n]
		switch {
		case ok:
			f = append([]string(nil), f...)
			if edit != nil {
				edit(f)
			}
		case added[n]:
			f = fresh(n)
		default:
			continue
		}
		f[1] = lockPassword(f[1])
		b.WriteString(strings.Join(f, ":") + "\n")
	}
	return []byte(b.String())
}

// withBaseline adds the baseline accounts whose name and id the list lacks:
// root first, the others after the source's entries.
func withBaseline(users []User, groups []Group) ([]User, []Group) {
	uidTaken, unameTaken := map[int]bool{}, map[string]bool{}
	for _, u := range users {
		uidTaken[u.UID], unameTaken[u.Name] = true, true
	}
	var headU, tailU []User
	for _, u := range BaselineUsers {
		if unameTaken[u.Name] || uidTaken[u.UID] {
			continue
		}
		if u.UID == 0 {
			headU = append(headU, u)
		} else {
			tailU = append(tailU, u)
		}
	}
	gidTaken, gnameTaken := map[int]bool{}, map[string]bool{}
	for _, g := range groups {
		gidTaken[g.GID], gnameTaken[g.Name] = true, true
	}
	var headG, tailG []Group
	for _, g := range BaselineGroups {
		if gnameTaken[g.Name] || gidTaken[g.GID] {
			continue
		}
		if g.GID == 0 {
			headG = append(headG, g)
		} else {
			tailG = append(tailG, g)
		}
	}
	users = append(append(headU, users...), tailU...)
	groups = append(append(headG, groups...), tailG...)
	return users, groups
}

// trim returns the source accounts Options.Trim keeps, in source order.
func (g *gen) trim(o Options, uname, gname string) ([]User, []Group) {
	keepU := map[string]bool{}
	for _, u := range BaselineUsers {
		keepU[u.Name] = true
	}
	if uname != "" {
		keepU[uname] = true
	}
	for _, n := range o.Users {
		keepU[n] = true
	}
	uids := map[int]bool{}
	for _, id := range o.UIDs {
		uids[id] = true
	}
	var users []User
	seenUID := map[int]bool{}
	for _, u := range g.src.Users {
		// an owner uid keeps its first entry, like getpwuid finds it
		byID := uids[u.UID] && !seenUID[u.UID]
		seenUID[u.UID] = true
		if keepU[u.Name] || byID {
			users = append(users, u)
		}
	}
	keepG := map[string]bool{}
	for _, x := range BaselineGroups {
		keepG[x.Name] = true
	}
	if gname != "" {
		keepG[gname] = true
	}
	for _, n := range o.Groups {
		keepG[n] = true
	}
	gids := map[int]bool{}
	for _, id := range o.GIDs {
		gids[id] = true
	}
	kept := map[string]bool{}
	for _, u := range users {
		gids[u.GID] = true // primary groups
		kept[u.Name] = true
	}
	var groups []Group
	seenGID := map[int]bool{}
	for _, x := range g.src.Groups {
		byID := gids[x.GID] && !seenGID[x.GID]
		seenGID[x.GID] = true
		member := false
		for _, m := range x.Members {
			member = member || kept[m] // supplementary groups of kept users
		}
		if keepG[x.Name] || byID || member {
			groups = append(groups, x)
		}
	}
	return users, groups
}

type gen struct {
	src *DB
}

// resolve turns a config User into ids, like Docker does: a name must exist
// in passwd; a numeric uid without an entry is taken as it is (gid -1: none
// given). The names returned are those of source entries to keep.
func (g *gen) resolve(spec string) (uid, gid int, uname, gname string, err error) {
	if spec == "" {
		return 0, 0, "", "", nil
	}
	us, gs, hasGroup := strings.Cut(spec, ":")
	gid = -1
	if n, err := strconv.Atoi(us); err == nil && n >= 0 {
		uid = n
		if u, ok := g.src.UserByID(n); ok {
			uname, gid = u.Name, u.GID
		}
	} else {
		u, ok := g.src.UserByName(us)
		if !ok {
			if b, ok := baselineUser(us); ok {
				u = b
			} else {
				return 0, 0, "", "", fmt.Errorf("user %q: no matching entry in the image's /etc/passwd", us)
			}
		} else {
			uname = u.Name
		}
		uid, gid = u.UID, u.GID
	}
	if hasGroup {
		if n, err := strconv.Atoi(gs); err == nil && n >= 0 {
			gid = n
			if gr, ok := g.src.GroupByID(n); ok {
				gname = gr.Name
			}
		} else {
			gr, ok := g.src.GroupByName(gs)
			if !ok {
				return 0, 0, "", "", fmt.Errorf("group %q: no matching entry in the image's /etc/group", gs)
			}
			gid, gname = gr.GID, gr.Name
		}
	}
	return uid, gid, uname, gname, nil
}

func baselineUser(name string) (User, bool) {
	for _, u := range BaselineUsers {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}
