package trace

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/pare-dev/pare/internal/accounts"
	"github.com/pare-dev/pare/internal/engine"
)

// Identity is the numeric user a program runs as.
type Identity struct {
	UID, GID int
	// Groups are the supplementary group ids (from /etc/group).
	Groups []int
	// Home is the user's home directory from /etc/passwd, "/" if unknown.
	Home string
}

// UserResolver maps an image's User field ("", "app", "1000", "app:staff",
// "1000:1000") to numeric ids. The lead's rootfs view can provide one.
type UserResolver func(user string) (Identity, error)

// ResolveUser resolves user the way runc does (libcontainer/user
// GetExecUser) against the contents of /etc/passwd and /etc/group, either of
// which may be nil when the image lacks it:
//   - "" is root;
//   - a name must exist in passwd; a numeric uid need not (its gid is then 0
//     unless given, its home "/");
//   - a group part is a name that must exist in group, or a numeric gid;
//   - supplementary groups are those of group that list the user's name,
//     only when no group part is given.
func ResolveUser(user string, passwd, group []byte) (Identity, error) {
	id := Identity{Home: "/"}
	if user == "" {
		user = "0"
	}
	uname, gname, hasGroup := strings.Cut(user, ":")
	db := accounts.Parse(passwd, group)

	uid, uerr := strconv.Atoi(uname)
	numericUID := uerr == nil && uid >= 0
	found := false
	for _, u := range db.Users {
		if (numericUID && u.UID == uid) || (!numericUID && u.Name == uname) {
			id.UID, id.GID, id.Home = u.UID, u.GID, u.Home
			uname = u.Name
			found = true
			break
		}
	}
	if !found {
		if !numericUID {
			return Identity{}, fmt.Errorf("user %q: no matching entry in /etc/passwd", user)
		}
		id.UID, id.GID = uid, 0
	}
	if id.Home == "" {
		id.Home = "/"
	}
	if hasGroup {
		gid, err := strconv.Atoi(gname)
		if err != nil || gid < 0 {
			g, gfound := db.GroupByName(gname)
			gid = g.GID
			if !gfound {
				return Identity{}, fmt.Errorf("user %q: no group %q in /etc/group", user, gname)
			}
		}
		id.GID = gid
		return id, nil
	}
	if found {
		for _, g := range db.Groups {
			if g.GID != id.GID && slices.Contains(g.Members, uname) {
				id.Groups = append(id.Groups, g.GID)
			}
		}
	}
	return id, nil
}

// FileUserResolver returns a resolver over an image filesystem the caller
// already has (the lead's rootfs view): readFile returns a file's content
// and an error wrapping fs.ErrNotExist when it is missing.
func FileUserResolver(readFile func(path string) ([]byte, error)) UserResolver {
	return func(user string) (Identity, error) {
		var files [2][]byte
		for i, p := range []string{"/etc/passwd", "/etc/group"} {
			data, err := readFile(p)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return Identity{}, fmt.Errorf("resolving user %q: %w", user, err)
			}
			files[i] = data
		}
		return ResolveUser(user, files[0], files[1])
	}
}

// readImageFile reads one regular file from a (created, not necessarily
// started) container through the engine's archive API. A missing file
// yields nil and no error.
func readImageFile(ctx context.Context, eng engine.Engine, id, path string) ([]byte, error) {
	rc, err := eng.CopyFrom(ctx, id, path)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s from container: %w", path, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		// A symlinked /etc/passwd is not followed by the archive API.
		return nil, fmt.Errorf("reading %s from container: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(tr, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading %s from container: %w", path, err)
	}
	return data, nil
}

// EngineUserResolver returns a resolver that reads /etc/passwd and
// /etc/group of image through a throw-away container that is created but
// never started, and removed before the resolver returns.
func EngineUserResolver(ctx context.Context, eng engine.Engine, image string) UserResolver {
	return func(user string) (Identity, error) {
		var passwd, group []byte
		err := engine.WithContainer(ctx, eng, engine.ContainerSpec{
			Image:      image,
			Entrypoint: []string{"/.pare-never-started"},
			Network:    engine.NetworkNone,
			Labels:     map[string]string{RoleLabel: "user-lookup"},
		}, func(ctx context.Context, id string) error {
			var err error
			if passwd, err = readImageFile(ctx, eng, id, "/etc/passwd"); err != nil {
				return err
			}
			group, err = readImageFile(ctx, eng, id, "/etc/group")
			return err
		})
		if err != nil {
			return Identity{}, fmt.Errorf("resolving user %q of %s: %w", user, image, err)
		}
		id, err := ResolveUser(user, passwd, group)
		if err != nil {
			return Identity{}, fmt.Errorf("image %s: %w", image, err)
		}
		return id, nil
	}
}
