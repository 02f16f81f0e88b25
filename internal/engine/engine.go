// Package engine is the small slice of a container engine that pare uses to
// run images: inspect an image, create, start, exec into, stop, wait for and
// remove a container.
//
// Engine is a consumer-side interface so that the packages driving containers
// (probe, trace, verify) can be tested against a fake. Docker implements it
// over the Docker Engine API.
//
// Every container created through this package carries the label
// OwnerLabel=<pid of this process>, so leftovers are easy to find
// (docker ps -a --filter label=dev.pare.owner). Use WithContainer to create
// a container that is removed on every path, including context cancellation.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pare-dev/pare/internal/imagecfg"
)

// OwnerLabel is set on every container pare creates; its value is the process
// id of the pare process that created it.
const OwnerLabel = "dev.pare.owner"

// OwnerValue is the value of OwnerLabel for containers created by this process.
var OwnerValue = strconv.Itoa(os.Getpid())

// Network modes accepted in ContainerSpec.Network.
const (
	NetworkHost   = "host"
	NetworkNone   = "none"
	NetworkBridge = "bridge"
)

// RemoveTimeout bounds the removal of a container after its context was
// cancelled.
const RemoveTimeout = 30 * time.Second

// ErrNotFound is returned (wrapped) when an image or container does not exist.
var ErrNotFound = errors.New("not found")

// ErrEngineGone is returned (wrapped) when the engine stopped answering: its
// socket is gone or it closed the connection mid-request (a daemon that was
// stopped or crashed).
var ErrEngineGone = errors.New("the container engine does not answer")

// Engine is the set of container operations pare needs.
type Engine interface {
	// InspectImage returns the configuration of a local image.
	InspectImage(ctx context.Context, ref string) (*Image, error)
	// Create creates (but does not start) a container and returns its id.
	Create(ctx context.Context, spec ContainerSpec) (string, error)
	// Start starts a created container.
	Start(ctx context.Context, id string) error
	// Exec runs a command in a running container and waits for it.
	Exec(ctx context.Context, id string, spec ExecSpec) (*ExecResult, error)
	// Kill sends a signal ("SIGTERM", "15", "TERM") to the container's main process.
	Kill(ctx context.Context, id, signal string) error
	// Wait blocks until the container is not running and returns its exit code.
	Wait(ctx context.Context, id string) (int, error)
	// State reports whether the container runs and, if it exited, its exit code.
	State(ctx context.Context, id string) (State, error)
	// Logs returns the container's stdout and stderr; tail > 0 limits each
	// to its last tail lines.
	Logs(ctx context.Context, id string, tail int) (stdout, stderr []byte, err error)
	// CopyFrom returns a tar stream of path inside the container (which need
	// not be running).
	CopyFrom(ctx context.Context, id, path string) (io.ReadCloser, error)
	// Remove force-removes the container; removing a missing one is not an error.
	Remove(ctx context.Context, id string) error
	// List returns the containers (running or not) that carry every one of
	// the given labels ("" matches any value), sorted by id; only ID,
	// Labels, Image and Running are filled in.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
}

// Image is the part of an image's configuration pare needs to run it.
type Image struct {
	ID           string
	Entrypoint   []string
	Cmd          []string
	User         string
	Env          []string
	WorkingDir   string
	StopSignal   string
	ExposedPorts []Port // sorted
	Labels       map[string]string
	OS           string
	Architecture string
	Variant      string
}

// Argv is the image's Entrypoint followed by its Cmd, as the engine would run it.
func (im *Image) Argv() []string {
	return imagecfg.Argv(im.Entrypoint, im.Cmd, imagecfg.Override{})
}

// Port is an exposed port.
type Port struct {
	Number int
	Proto  string // "tcp" or "udp"
}

func (p Port) String() string { return strconv.Itoa(p.Number) + "/" + p.Proto }

// Mount is a bind mount from the host into a container.
type Mount struct {
	Source   string // absolute host path
	Target   string // absolute path in the container
	ReadOnly bool
}

// ContainerSpec describes a container to create.
type ContainerSpec struct {
	Image string
	// Entrypoint replaces the image's entrypoint; when set, the image's Cmd is
	// not used and Cmd is the argument list.
	Entrypoint []string
	Cmd        []string
	// User overrides the image user ("0", "1000:1000", "app"); empty keeps it.
	User string
	// Env is added to (and overrides) the image's environment.
	Env        []string
	WorkingDir string
	// Network is NetworkHost, NetworkNone, NetworkBridge or
	// "container:<id>" (join that container's network namespace); empty
	// means none.
	Network string
	// PidMode "container:<id>" joins that container's pid namespace; empty
	// gives the container its own.
	PidMode string
	// Tty allocates a terminal; OpenStdin keeps stdin open for Attach.
	Tty       bool
	OpenStdin bool
	Mounts    []Mount
	// Tmpfs maps container paths to tmpfs mount options ("" for defaults).
	Tmpfs          map[string]string
	ReadOnlyRootfs bool
	// CapAdd and CapDrop adjust the default capability set ("SYS_PTRACE").
	CapAdd  []string
	CapDrop []string
	// SecurityOpt is passed to the engine ("seccomp=<json>", "no-new-privileges").
	SecurityOpt []string
	StopSignal  string
	// Labels are added to the container; OwnerLabel is always set.
	Labels map[string]string
	// Name is an optional container name.
	Name string
}

// ExecSpec describes a command to run in a running container.
type ExecSpec struct {
	Argv       []string
	User       string
	Env        []string
	WorkingDir string
	// Stdin, if set, is copied to the command's standard input.
	Stdin io.Reader
}

// ExecResult is the outcome of an exec.
type ExecResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// State is the run state of a container.
type State struct {
	Running  bool
	ExitCode int
	// OOMKilled is set when the kernel killed the container for memory.
	OOMKilled bool
	Error     string
}

// Validate reports problems with the spec.
func (s *ContainerSpec) Validate() error {
	var errs []error
	if s.Image == "" {
		errs = append(errs, errors.New("no image"))
	}
	switch {
	case s.Network == "", s.Network == NetworkHost, s.Network == NetworkNone, s.Network == NetworkBridge:
	case strings.HasPrefix(s.Network, containerMode) && len(s.Network) > len(containerMode):
	default:
		errs = append(errs, fmt.Errorf("unknown network mode %q (want host, none, bridge or container:ID)", s.Network))
	}
	if s.PidMode != "" && (!strings.HasPrefix(s.PidMode, containerMode) || len(s.PidMode) == len(containerMode)) {
		errs = append(errs, fmt.Errorf("unknown pid mode %q (want container:ID)", s.PidMode))
	}
	for _, m := range s.Mounts {
		if !isAbs(m.Source) || !isAbs(m.Target) {
			errs = append(errs, fmt.Errorf("mount %s:%s: paths must be absolute", m.Source, m.Target))
		}
	}
	return errors.Join(errs...)
}

// containerMode prefixes a network or pid mode that joins another
// container's namespace.
const containerMode = "container:"

// JoinContainer is the network or pid mode that joins container id's namespace.
func JoinContainer(id string) string { return containerMode + id }

func isAbs(p string) bool { return len(p) > 0 && p[0] == '/' }

// labels returns the spec's labels plus the owner label.
func (s *ContainerSpec) labels() map[string]string {
	l := make(map[string]string, len(s.Labels)+1)
	for k, v := range s.Labels {
		l[k] = v
	}
	l[OwnerLabel] = OwnerValue
	l[OwnerProcessLabel] = OwnerProcess
	return l
}

// RemoveDetached removes a container with a context that is not cancelled
// when ctx is (bounded by RemoveTimeout), so that cleanup still happens after
// Ctrl-C.
func RemoveDetached(ctx context.Context, eng Engine, id string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RemoveTimeout)
	defer cancel()
	if err := eng.Remove(rctx, id); err != nil {
		// The engine's error names the container already; say what is left.
		return fmt.Errorf("%w (the container is left behind: docker rm -f %s, or pare prune once the engine is back)", err, shortID(id))
	}
	return nil
}

// WithContainer creates a container from spec, calls fn with its id and
// removes the container afterwards on every path: normal return, error,
// panic and cancellation of ctx. The container is not started. A removal
// error is joined to fn's error.
func WithContainer(ctx context.Context, eng Engine, spec ContainerSpec, fn func(ctx context.Context, id string) error) (err error) {
	id, err := eng.Create(ctx, spec)
	if id != "" {
		// Create may return an id with an error (e.g. cancelled after the
		// daemon created it); remove it either way.
		defer func() {
			err = errors.Join(err, RemoveDetached(ctx, eng, id))
		}()
	}
	if err != nil {
		return err
	}
	return fn(ctx, id)
}

// StopContainer sends signal (default SIGTERM) to the container and waits up
// to grace for it to exit, then kills it with SIGKILL. It returns the exit
// code. It works on every API version, unlike the stop endpoint, which only
// takes a signal from API 1.42 on.
func StopContainer(ctx context.Context, eng Engine, id, signal string, grace time.Duration) (int, error) {
	if signal == "" {
		signal = "SIGTERM"
	}
	st, err := eng.State(ctx, id)
	if err != nil {
		return -1, err
	}
	if !st.Running {
		return st.ExitCode, nil
	}
	if err := eng.Kill(ctx, id, signal); err != nil {
		// The container may have exited between State and Kill.
		if st, serr := eng.State(ctx, id); serr == nil && !st.Running {
			return st.ExitCode, nil
		}
		return -1, fmt.Errorf("sending %s: %w", signal, err)
	}
	wctx, cancel := context.WithTimeout(ctx, grace)
	code, err := eng.Wait(wctx, id)
	cancel()
	if err == nil {
		return code, nil
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if err := eng.Kill(ctx, id, "SIGKILL"); err != nil {
		if st, serr := eng.State(ctx, id); serr == nil && !st.Running {
			return st.ExitCode, nil
		}
		return -1, fmt.Errorf("sending SIGKILL: %w", err)
	}
	return eng.Wait(ctx, id)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Sweep removes every container created by this process (those labelled
// OwnerLabel=OwnerValue) that is still present. Callers may run it on exit
// as a last line of defence; WithContainer already removes its container.
func Sweep(ctx context.Context, eng Engine) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RemoveTimeout)
	defer cancel()
	cs, err := eng.List(rctx, map[string]string{OwnerLabel: OwnerValue})
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if err := eng.Remove(rctx, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
