// Package debugger starts a toolbox container beside a running container,
// as the sidecar pattern and cdebug do: the toolbox shares the target's pid
// and network namespaces, so it sees the target's processes and sockets,
// and it reaches the target's files through /proc/<pid>/root.
//
// The default toolbox is the image a pared image was pared from, named by
// its labels (assemble.SourceIDLabel, SourceImageLabel): it holds the very
// shell and tools pare left out. Nothing is pulled; the toolbox must be in
// the local engine.
//
// Reading /proc/<pid>/root of a process needs ptrace read access to it. A
// process of the same uid and gid has it (when the target is dumpable), so
// by default the toolbox runs as the target's user and adds no capability;
// Options.Ptrace runs it as root with exactly CAP_SYS_PTRACE added instead,
// which also reaches processes that changed their uid.
package debugger

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pare-dev/pare/internal/accounts"
	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/pkg/transport"
)

// Engine is what the debugger needs of a container engine; *engine.Docker
// implements it.
type Engine interface {
	engine.Engine
	InspectContainer(ctx context.Context, ref string) (*engine.Container, error)
	Attach(ctx context.Context, id string, s engine.Streams) (func() error, error)
	Resize(ctx context.Context, id string, height, width uint) error
}

var _ Engine = (*engine.Docker)(nil)

// TargetLabel is set on every toolbox container; its value is the id of
// the container it debugs.
const TargetLabel = "dev.pare.debug.target"

// RootEnv is the variable that holds, in the toolbox, the path of the
// target's root directory (/proc/1/root). The toolbox cannot start in it:
// runc refuses a working directory outside the container's own root.
const RootEnv = "PARE_TARGET_ROOT"

// DefaultShell is the toolbox command when none is given, found through
// the toolbox's PATH.
var DefaultShell = []string{"sh"}

// ErrNoToolbox is returned (wrapped) when no toolbox image is given and
// the target's image does not name its source.
var ErrNoToolbox = errors.New("no toolbox image")

// Options configure Prepare and Plan.Run.
type Options struct {
	// Image is the toolbox image; "" takes the source image named by the
	// target image's labels.
	Image string
	// Command runs in the toolbox; nil runs DefaultShell.
	Command []string
	// Ptrace runs the toolbox as root with CAP_SYS_PTRACE instead of as
	// the target's user.
	Ptrace bool
	// Stdin, when set, is attached to the toolbox; Stdout and Stderr
	// receive its output (nil discards).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Tty gives the toolbox a terminal (the caller puts its own in raw
	// mode); Resize then carries its sizes, the first one included.
	Tty    bool
	Resize <-chan Size
}

// Size is a terminal size in characters.
type Size struct{ Height, Width uint }

// Plan is a toolbox ready to start: what Prepare decided, and why.
type Plan struct {
	Target *engine.Container
	// Toolbox is the toolbox image as the engine names it.
	Toolbox string
	// User is the uid:gid the toolbox runs as; CapAdd the capabilities it adds.
	User   string
	CapAdd []string
	// Root is the path of the target's root directory in the toolbox.
	Root string
	// Notes say which toolbox was chosen and how it reaches the target's
	// files, for the caller to show.
	Notes []string
	spec  engine.ContainerSpec
}

// Prepare inspects the running container target and decides the toolbox,
// its user and capabilities.
func Prepare(ctx context.Context, eng Engine, target string, o Options) (*Plan, error) {
	c, err := eng.InspectContainer(ctx, target)
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(c.Name, "/")
	if !c.Running {
		return nil, fmt.Errorf("container %s is not running", name)
	}
	p := &Plan{Target: c}
	switch {
	case c.PidMode == "":
		// the target has its own pid namespace: its main process is PID 1
		p.Root = "/proc/1/root"
	case c.PidMode == "host" && c.Pid > 0:
		p.Root = "/proc/" + strconv.Itoa(c.Pid) + "/root"
	default:
		return nil, fmt.Errorf("container %s shares the pid namespace %q: debug the container that owns it", name, c.PidMode)
	}
	if p.Toolbox, err = toolbox(ctx, eng, c, o.Image, &p.Notes); err != nil {
		return nil, err
	}
	if o.Ptrace {
		p.User, p.CapAdd = "0:0", []string{"SYS_PTRACE"}
		p.Notes = append(p.Notes, "the toolbox runs as root with CAP_SYS_PTRACE added, to read "+p.Root+" of any user's process")
	} else {
		uid, gid, err := targetUser(ctx, eng, c)
		if err != nil {
			return nil, err
		}
		p.User = strconv.Itoa(uid) + ":" + strconv.Itoa(gid)
		p.Notes = append(p.Notes, fmt.Sprintf("the toolbox runs as the target's user %s and adds no capability: a process of the same uid may read %s (use --ptrace to run as root with CAP_SYS_PTRACE)", p.User, p.Root))
	}
	p.Notes = append(p.Notes, fmt.Sprintf("the target's files are under %s ($%s)", p.Root, RootEnv))
	cmd := o.Command
	if len(cmd) == 0 {
		cmd = DefaultShell
	}
	p.spec = engine.ContainerSpec{
		Image:      p.Toolbox,
		Entrypoint: cmd[:1],
		Cmd:        cmd[1:],
		User:       p.User,
		Env:        []string{RootEnv + "=" + p.Root},
		Network:    engine.JoinContainer(c.ID),
		PidMode:    engine.JoinContainer(c.ID),
		CapAdd:     p.CapAdd,
		Tty:        o.Tty,
		OpenStdin:  o.Stdin != nil,
		Labels:     map[string]string{TargetLabel: c.ID},
	}
	return p, nil
}

// toolbox picks the toolbox image: image if given, else the source the
// target's image was pared from, by id, then by name.
func toolbox(ctx context.Context, eng Engine, c *engine.Container, image string, notes *[]string) (string, error) {
	if image != "" {
		if _, err := eng.InspectImage(ctx, image); err != nil {
			if errors.Is(err, engine.ErrNotFound) {
				return "", fmt.Errorf("toolbox image %s is not in the local engine (pare debug never pulls: docker load or build it first): %w", image, err)
			}
			return "", err
		}
		*notes = append(*notes, "toolbox: "+image)
		return image, nil
	}
	im, err := eng.InspectImage(ctx, c.ImageID)
	if err != nil {
		return "", err
	}
	id, ref := im.Labels[assemble.SourceIDLabel], im.Labels[assemble.SourceImageLabel]
	if id == "" && ref == "" {
		return "", fmt.Errorf("the image %s of container %s has no %s label (not built by pare build?): give a toolbox with --image: %w",
			c.Image, strings.TrimPrefix(c.Name, "/"), assemble.SourceImageLabel, ErrNoToolbox)
	}
	if id != "" {
		if _, err := eng.InspectImage(ctx, id); err == nil {
			*notes = append(*notes, fmt.Sprintf("toolbox: %s (%s), the image %s was pared from", ref, shortID(id), c.Image))
			return id, nil
		} else if !errors.Is(err, engine.ErrNotFound) {
			return "", err
		}
	}
	name := ""
	if r, err := transport.Parse(ref); err == nil && (r.Kind == transport.DockerDaemon || r.Kind == transport.Docker) {
		name = r.Name
	}
	if name != "" {
		if got, err := eng.InspectImage(ctx, name); err == nil {
			if id != "" && got.ID != id {
				*notes = append(*notes, fmt.Sprintf("toolbox: %s, which is no longer the image %s was pared from (%s is gone)", name, c.Image, shortID(id)))
			} else {
				*notes = append(*notes, fmt.Sprintf("toolbox: %s, the image %s was pared from", name, c.Image))
			}
			return name, nil
		} else if !errors.Is(err, engine.ErrNotFound) {
			return "", err
		}
	}
	return "", fmt.Errorf("the source of %s, %s (%s), is not in the local engine (pare debug never pulls): load it, or give a toolbox with --image: %w",
		c.Image, ref, shortID(id), ErrNoToolbox)
}

// targetUser resolves the user the target runs as to numeric ids, as the
// engine did when it started it: names through the target's own
// /etc/passwd and /etc/group, a uid alone with its passwd group (else 0).
func targetUser(ctx context.Context, eng Engine, c *engine.Container) (int, int, error) {
	spec := c.User
	if spec == "" {
		return 0, 0, nil
	}
	us, gs, hasGroup := strings.Cut(spec, ":")
	uid, uerr := strconv.Atoi(us)
	gid, gerr := strconv.Atoi(gs)
	if uerr == nil && hasGroup && gerr == nil {
		return uid, gid, nil
	}
	db := accounts.Parse(readFile(ctx, eng, c.ID, accounts.PasswdFile), readFile(ctx, eng, c.ID, accounts.GroupFile))
	if uerr != nil {
		u, ok := db.UserByName(us)
		if !ok {
			return 0, 0, fmt.Errorf("user %q of container %s: not in its %s", us, strings.TrimPrefix(c.Name, "/"), accounts.PasswdFile)
		}
		uid, gid = u.UID, u.GID
	} else if u, ok := db.UserByID(uid); ok {
		gid = u.GID
	} else {
		gid = 0
	}
	if hasGroup {
		if gerr == nil {
			return uid, gid, nil
		}
		g, ok := db.GroupByName(gs)
		if !ok {
			return 0, 0, fmt.Errorf("group %q of container %s: not in its %s", gs, strings.TrimPrefix(c.Name, "/"), accounts.GroupFile)
		}
		gid = g.GID
	}
	return uid, gid, nil
}

// maxAccountFile caps the size of an account file read from the target.
const maxAccountFile = 16 << 20

// readFile returns the content of the regular file path of container id,
// nil when it cannot be read (a scratch image may have no /etc/group).
func readFile(ctx context.Context, eng Engine, id, path string) []byte {
	rc, err := eng.CopyFrom(ctx, id, path)
	if err != nil {
		return nil
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil || h.Typeflag != tar.TypeReg {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(tr, maxAccountFile))
	if err != nil {
		return nil
	}
	return b
}

// Run starts the toolbox, connects o's streams and returns the exit code
// of its command. The toolbox container is removed on every path,
// cancellation of ctx included.
func (p *Plan) Run(ctx context.Context, eng Engine, o Options) (int, error) {
	code := -1
	err := engine.WithContainer(ctx, eng, p.spec, func(ctx context.Context, id string) error {
		wait, err := eng.Attach(ctx, id, engine.Streams{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, Tty: o.Tty})
		if err != nil {
			return err
		}
		if err := eng.Start(ctx, id); err != nil {
			return fmt.Errorf("starting the toolbox %s: %w", p.Toolbox, err)
		}
		if o.Tty && o.Resize != nil {
			// the first size right away (API 1.41 takes no size at create)
			select {
			case s := <-o.Resize:
				_ = eng.Resize(ctx, id, s.Height, s.Width)
			default:
			}
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() {
				for {
					select {
					case s := <-o.Resize:
						// a failed resize leaves the terminal as it was
						_ = eng.Resize(rctx, id, s.Height, s.Width)
					case <-rctx.Done():
						return
					}
				}
			}()
		}
		werr := wait()
		c, err := eng.Wait(ctx, id)
		if err != nil {
			return errors.Join(werr, err)
		}
		code = c
		return werr
	})
	return code, err
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
