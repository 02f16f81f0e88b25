// Package accounts reads an image's /etc/passwd and /etc/group and writes the
// small ones a pared image needs: the distroless baseline (root, nobody,
// nonroot) plus the accounts the image actually uses — its USER, the owners
// of kept files, and names programs switch to at run time — and resolves the
// config User to the numeric form Kubernetes' runAsNonRoot requires.
package accounts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"sort"
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

// maxFile caps the size of /etc/passwd and /etc/group read from an image.
const maxFile = 16 << 20

// User is one /etc/passwd entry.
type User struct {
	Name     string `json:"name"`
	Password string `json:"-"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Gecos    string `json:"gecos,omitempty"`
	Home     string `json:"home"`
	Shell    string `json:"shell"`
}

func (u User) line() string {
	return strings.Join([]string{u.Name, "x", strconv.Itoa(u.UID), strconv.Itoa(u.GID), u.Gecos, u.Home, u.Shell}, ":")
}

// Group is one /etc/group entry.
type Group struct {
	Name    string   `json:"name"`
	GID     int      `json:"gid"`
	Members []string `json:"members,omitempty"`
}

func (g Group) line() string {
	return g.Name + ":x:" + strconv.Itoa(g.GID) + ":" + strings.Join(g.Members, ",")
}

// DB holds the accounts of one image, in file order.
type DB struct {
	Users  []User
	Groups []Group
}

// Read parses /etc/passwd and /etc/group of v; missing files give no entries.
func Read(v *rootfs.View) (*DB, error) {
	var files [2][]byte
	for i, name := range []string{"/etc/passwd", "/etc/group"} {
		b, err := v.ReadFile(name, maxFile)
		if err != nil && !errors.Is(err, rootfs.ErrNotExist) {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		files[i] = b
	}
	return Parse(files[0], files[1]), nil
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
		db.Users = append(db.Users, User{Name: f[0], Password: f[1], UID: uid, GID: gid, Gecos: f[4], Home: f[5], Shell: f[6]})
	}
	for _, f := range lines(group) {
		if len(f) < 4 {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil || gid < 0 {
			continue
		}
		g := Group{Name: f[0], GID: gid}
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				g.Members = append(g.Members, m)
			}
		}
		db.Groups = append(db.Groups, g)
	}
	return db
}

func lines(b []byte) [][]string {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
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

// Baseline is the distroless /etc/passwd and /etc/group content.
var (
	BaselineUsers = []User{
		{Name: "root", UID: 0, GID: 0, Gecos: "root", Home: "/root", Shell: NoLogin},
		{Name: "nobody", UID: 65534, GID: 65534, Gecos: "nobody", Home: "/nonexistent", Shell: NoLogin},
		{Name: NonRootName, UID: NonRootUID, GID: NonRootUID, Gecos: NonRootName, Home: NonRootHome, Shell: NoLogin},
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
	// UIDs and GIDs are the owners of kept files; those with a source entry
	// keep it.
	UIDs, GIDs []int
	// Users and Groups are names programs switch to at run time (nginx's
	// "user www-data;").
	Users, Groups []string
	// ShellKept reports whether a login shell path is kept in the output
	// image. Kept accounts keep their shell only then, else get /sbin/nologin.
	ShellKept func(shell string) bool
}

// Result is what Generate produces.
type Result struct {
	Passwd []byte // /etc/passwd, mode 0644
	Group  []byte // /etc/group, mode 0644
	// User is the numeric config User of the output image ("65532:65532",
	// "1001:1001", or "1000" for a uid without a passwd entry).
	User string
	// Home is the home directory of that user ("" when it has no entry).
	Home   string
	Users  []User
	Groups []Group
}

// Generate builds the output image's accounts from the source accounts src.
//
// Order is deterministic: the baseline first, then the added accounts by id
// and name. A source account whose name is already present is not added
// again; one whose id is already present under another name (Debian's
// "nogroup" 65534) is added only when named explicitly (User, RunAs, Users,
// Groups). Shells: baseline accounts get /sbin/nologin as in distroless;
// source accounts keep their shell when ShellKept says it is in the image (a
// program that spawns the user's login shell then still works), otherwise
// /sbin/nologin, which says truthfully that there is no shell to log in with.
func Generate(src *DB, o Options) (*Result, error) {
	if src == nil {
		src = &DB{}
	}
	g := &gen{src: src, o: o, uids: map[int]bool{}, gids: map[int]bool{}, unames: map[string]bool{}, gnames: map[string]bool{}}
	users := append([]User(nil), BaselineUsers...)
	groups := append([]Group(nil), BaselineGroups...)
	for _, u := range users {
		g.uids[u.UID], g.unames[u.Name] = true, true
	}
	for _, gr := range groups {
		g.gids[gr.GID], g.gnames[gr.Name] = true, true
	}

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
	switch {
	case nonRootDefault:
		res.User = fmt.Sprintf("%d:%d", NonRootUID, NonRootUID)
		res.Home = NonRootHome
	case gid >= 0:
		res.User = fmt.Sprintf("%d:%d", uid, gid)
	default:
		res.User = strconv.Itoa(uid)
	}
	var addU []User
	var addG []Group
	addUser := func(u User, explicit bool) {
		if g.unames[u.Name] || (g.uids[u.UID] && !explicit) {
			return
		}
		g.unames[u.Name], g.uids[u.UID] = true, true
		if o.ShellKept == nil || !o.ShellKept(u.Shell) {
			u.Shell = NoLogin
		}
		u.Password = "x"
		addU = append(addU, u)
	}
	addGroup := func(gr Group, explicit bool) {
		if g.gnames[gr.Name] || (g.gids[gr.GID] && !explicit) {
			return
		}
		g.gnames[gr.Name], g.gids[gr.GID] = true, true
		addG = append(addG, gr)
	}
	if !nonRootDefault {
		if uname != "" {
			u, _ := src.UserByName(uname)
			addUser(u, true)
			res.Home = u.Home
			// the primary group and the supplementary groups Docker applies
			if pg, ok := src.GroupByID(u.GID); ok {
				addGroup(pg, false) // by id: Debian's nobody is in "nogroup", 65534 is there
			}
			for _, gr := range src.Groups {
				for _, m := range gr.Members {
					if m == uname {
						addGroup(gr, true)
					}
				}
			}
		}
		if gname != "" {
			gr, _ := src.GroupByName(gname)
			addGroup(gr, true)
		}
	}
	for _, n := range o.Users {
		if u, ok := src.UserByName(n); ok {
			addUser(u, true)
			if pg, ok := src.GroupByID(u.GID); ok {
				addGroup(pg, false)
			}
		}
	}
	for _, n := range o.Groups {
		if gr, ok := src.GroupByName(n); ok {
			addGroup(gr, true)
		}
	}
	for _, id := range sortedInts(o.UIDs) {
		if u, ok := src.UserByID(id); ok {
			addUser(u, false)
		}
	}
	for _, id := range sortedInts(o.GIDs) {
		if gr, ok := src.GroupByID(id); ok {
			addGroup(gr, false)
		}
	}
	sort.SliceStable(addU, func(i, j int) bool {
		if addU[i].UID != addU[j].UID {
			return addU[i].UID < addU[j].UID
		}
		return addU[i].Name < addU[j].Name
	})
	sort.SliceStable(addG, func(i, j int) bool {
		if addG[i].GID != addG[j].GID {
			return addG[i].GID < addG[j].GID
		}
		return addG[i].Name < addG[j].Name
	})
	users = append(users, addU...)
	groups = append(groups, addG...)
	// group members: only accounts that exist in the output
	present := map[string]bool{}
	for _, u := range users {
		present[u.Name] = true
	}
	for i := range groups {
		var ms []string
		for _, m := range groups[i].Members {
			if present[m] {
				ms = append(ms, m)
			}
		}
		groups[i].Members = ms
	}
	var pw, gr strings.Builder
	for _, u := range users {
		pw.WriteString(u.line() + "\n")
	}
	for _, x := range groups {
		gr.WriteString(x.line() + "\n")
	}
	if res.Home == "" {
		for _, u := range users {
			if u.UID == uid && !nonRootDefault {
				res.Home = u.Home
				break
			}
		}
	}
	res.Passwd, res.Group = []byte(pw.String()), []byte(gr.String())
	res.Users, res.Groups = users, groups
	return res, nil
}

type gen struct {
	src            *DB
	o              Options
	uids, gids     map[int]bool
	unames, gnames map[string]bool
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

func sortedInts(in []int) []int {
	out := append([]int(nil), in...)
	sort.Ints(out)
	return out
}
