package enginetest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/pare-dev/pare/internal/engine"
)

// Fake is an in-memory engine.Engine for unit tests of code that drives
// containers. Containers "run" from Start until Kill; hooks stand in for
// what the program would do.
type Fake struct {
	// Images are the known images by reference.
	Images map[string]*engine.Image
	// Files are served by CopyFrom (path -> content) for every container.
	Files map[string]string
	// OnStart, if set, runs at Start; an error fails the start.
	OnStart func(spec engine.ContainerSpec) error
	// OnExec, if set, answers Exec; the default exits 0 with no output.
	OnExec func(spec engine.ContainerSpec, e engine.ExecSpec) (*engine.ExecResult, error)
	// ExitOnStart makes containers exit right after Start with this code
	// (a batch program); nil keeps them running until killed.
	ExitOnStart *int
	// ExitCodes, by image reference, make that image's containers exit
	// right after Start with the code (a program that dies at start, or
	// a batch program), overriding ExitOnStart.
	ExitCodes map[string]int
	// Stdout and Stderr are returned by Logs.
	Stdout, Stderr []byte
	// CreateErr fails Create.
	CreateErr error

	mu         sync.Mutex
	next       int
	containers map[string]*fakeContainer
	// Created lists the specs of all containers created, in order.
	Created []engine.ContainerSpec
	// Signals lists the signals sent with Kill, in order.
	Signals []string
}

type fakeContainer struct {
	spec    engine.ContainerSpec
	started bool
	running bool
	code    int
	exited  chan struct{}
}

var _ engine.Engine = (*Fake)(nil)

// NewFake returns a Fake that knows the given images.
func NewFake(images map[string]*engine.Image) *Fake {
	return &Fake{Images: images, containers: map[string]*fakeContainer{}}
}

// Live returns the ids of the containers not yet removed, sorted.
func (f *Fake) Live() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.containers))
}

func (f *Fake) get(id string) (*fakeContainer, error) {
	c, ok := f.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, engine.ErrNotFound)
	}
	return c, nil
}

// InspectImage implements engine.Engine.
func (f *Fake) InspectImage(ctx context.Context, ref string) (*engine.Image, error) {
	im, ok := f.Images[ref]
	if !ok {
		return nil, fmt.Errorf("image %s: %w", ref, engine.ErrNotFound)
	}
	return im, nil
}

// Create implements engine.Engine.
func (f *Fake) Create(ctx context.Context, spec engine.ContainerSpec) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if f.CreateErr != nil {
		return "", f.CreateErr
	}
	if err := spec.Validate(); err != nil {
		return "", err
	}
	if _, ok := f.Images[spec.Image]; !ok {
		return "", fmt.Errorf("image %s: %w", spec.Image, engine.ErrNotFound)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := fmt.Sprintf("fake%060d", f.next)
	spec.Labels = maps.Clone(spec.Labels)
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[engine.OwnerLabel] = engine.OwnerValue
	spec.Labels[engine.OwnerProcessLabel] = engine.OwnerProcess
	if f.containers == nil {
		f.containers = map[string]*fakeContainer{}
	}
	f.containers[id] = &fakeContainer{spec: spec, exited: make(chan struct{})}
	f.Created = append(f.Created, spec)
	return id, nil
}

// Start implements engine.Engine.
func (f *Fake) Start(ctx context.Context, id string) error {
	f.mu.Lock()
	c, err := f.get(id)
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if f.OnStart != nil {
		if err := f.OnStart(c.spec); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c.started, c.running = true, true
	if code, ok := f.ExitCodes[c.spec.Image]; ok {
		c.running, c.code = false, code
		close(c.exited)
	} else if f.ExitOnStart != nil {
		c.running, c.code = false, *f.ExitOnStart
		close(c.exited)
	}
	return nil
}

// Exec implements engine.Engine.
func (f *Fake) Exec(ctx context.Context, id string, e engine.ExecSpec) (*engine.ExecResult, error) {
	f.mu.Lock()
	c, err := f.get(id)
	running := err == nil && c.running
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !running {
		return nil, fmt.Errorf("container %s is not running", id)
	}
	if f.OnExec != nil {
		return f.OnExec(c.spec, e)
	}
	return &engine.ExecResult{}, nil
}

// Kill implements engine.Engine: any signal stops the container with
// 128+signal number (SIGTERM: 143).
func (f *Fake) Kill(ctx context.Context, id, signal string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(id)
	if err != nil {
		return err
	}
	f.Signals = append(f.Signals, signal)
	if !c.running {
		return fmt.Errorf("container %s is not running", id)
	}
	c.running, c.code = false, 128+signum(signal)
	close(c.exited)
	return nil
}

func signum(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	names := map[string]syscall.Signal{"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
		"KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "TERM": syscall.SIGTERM}
	if n, ok := names[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return int(n)
	}
	return int(syscall.SIGKILL)
}

// Wait implements engine.Engine.
func (f *Fake) Wait(ctx context.Context, id string) (int, error) {
	f.mu.Lock()
	c, err := f.get(id)
	f.mu.Unlock()
	if err != nil {
		return -1, err
	}
	f.mu.Lock()
	started := c.started
	f.mu.Unlock()
	if !started {
		return 0, nil
	}
	select {
	case <-c.exited:
		f.mu.Lock()
		defer f.mu.Unlock()
		return c.code, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// State implements engine.Engine.
func (f *Fake) State(ctx context.Context, id string) (engine.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(id)
	if err != nil {
		return engine.State{}, err
	}
	return engine.State{Running: c.running, ExitCode: c.code}, nil
}

// Logs implements engine.Engine (tail is ignored).
func (f *Fake) Logs(ctx context.Context, id string, tail int) ([]byte, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return nil, nil, err
	}
	return f.Stdout, f.Stderr, nil
}

// CopyFrom implements engine.Engine with a one-file tar of Files[path].
func (f *Fake) CopyFrom(ctx context.Context, id, path string) (io.ReadCloser, error) {
	f.mu.Lock()
	_, err := f.get(id)
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	data, ok := f.Files[path]
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, engine.ErrNotFound)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	name := path[strings.LastIndexByte(path, '/')+1:]
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data))})
	tw.Write([]byte(data))
	tw.Close()
	return io.NopCloser(&buf), nil
}

// Remove implements engine.Engine.
func (f *Fake) Remove(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.containers[id]; ok && c.running {
		c.running, c.code = false, 137
		close(c.exited)
	}
	delete(f.containers, id)
	return nil
}

// List implements engine.Engine.
func (f *Fake) List(ctx context.Context, labels map[string]string) ([]engine.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.Container
	for id, c := range f.containers {
		ok := true
		for k, v := range labels {
			got, has := c.spec.Labels[k]
			if !has || (v != "" && got != v) {
				ok = false
			}
		}
		if ok {
			out = append(out, engine.Container{ID: id, Labels: maps.Clone(c.spec.Labels)})
		}
	}
	slices.SortFunc(out, func(a, b engine.Container) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
