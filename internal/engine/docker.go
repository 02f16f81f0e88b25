package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// apiClient is the subset of the Docker Engine API client that Docker uses;
// *client.Client implements it.
type apiClient interface {
	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerKill(ctx context.Context, id string, options client.ContainerKillOptions) (client.ContainerKillResult, error)
	ContainerWait(ctx context.Context, id string, options client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerAttach(ctx context.Context, id string, options client.ContainerAttachOptions) (client.ContainerAttachResult, error)
	ContainerResize(ctx context.Context, id string, options client.ContainerResizeOptions) (client.ContainerResizeResult, error)
	ContainerLogs(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	ContainerRemove(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	CopyFromContainer(ctx context.Context, id string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	ExecCreate(ctx context.Context, id string, options client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error)
	ClientVersion() string
	Close() error
}

var _ apiClient = (*client.Client)(nil)

// Docker is an Engine backed by the Docker Engine API. It negotiates the API
// version with the daemon (the client supports API 1.40 and later).
type Docker struct {
	api apiClient
}

var _ Engine = (*Docker)(nil)

// NewDocker connects to the Docker daemon named by the environment
// (DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY; default the local unix
// socket), negotiates the API version (the client speaks API 1.40 and
// later; Docker 20.10 speaks 1.41) and checks that the daemon answers.
func NewDocker(ctx context.Context) (*Docker, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("connecting to docker: %w", err)
	}
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		return nil, wrap(err, "connecting to docker")
	}
	return &Docker{api: c}, nil
}

// APIVersion is the negotiated Docker Engine API version ("1.41").
func (d *Docker) APIVersion() string { return d.api.ClientVersion() }

// Close releases the client's connections.
func (d *Docker) Close() error { return d.api.Close() }

// wrap adds context to an API error and marks not-found errors with ErrNotFound.
func wrap(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: %w: %w", msg, ErrNotFound, err)
	}
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%s: %w: %w", msg, ErrEngineGone, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// InspectImage implements Engine.
func (d *Docker) InspectImage(ctx context.Context, ref string) (*Image, error) {
	res, err := d.api.ImageInspect(ctx, ref)
	if err != nil {
		return nil, wrap(err, "inspecting image %s", ref)
	}
	im := &Image{
		ID:           res.ID,
		OS:           res.Os,
		Architecture: res.Architecture,
		Variant:      res.Variant,
	}
	if c := res.Config; c != nil {
		im.Entrypoint = c.Entrypoint
		im.Cmd = c.Cmd
		im.User = c.User
		im.Env = c.Env
		im.WorkingDir = c.WorkingDir
		im.StopSignal = c.StopSignal
		im.Labels = c.Labels
		for p := range c.ExposedPorts {
			port, err := ParsePort(p)
			if err != nil {
				return nil, fmt.Errorf("image %s: %w", ref, err)
			}
			im.ExposedPorts = append(im.ExposedPorts, port)
		}
		SortPorts(im.ExposedPorts)
	}
	return im, nil
}

// ParsePort parses an exposed port as written in image configs: "80",
// "8080/tcp", "53/udp".
func ParsePort(s string) (Port, error) {
	num, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 {
		return Port{}, fmt.Errorf("invalid port %q", s)
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return Port{}, fmt.Errorf("invalid port protocol in %q", s)
	}
	return Port{Number: n, Proto: proto}, nil
}

// SortPorts sorts ports by number, then protocol.
func SortPorts(ps []Port) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Number != ps[j].Number {
			return ps[i].Number < ps[j].Number
		}
		return ps[i].Proto < ps[j].Proto
	})
}

// Create implements Engine.
func (d *Docker) Create(ctx context.Context, spec ContainerSpec) (string, error) {
	if err := spec.Validate(); err != nil {
		return "", fmt.Errorf("creating container from %s: %w", spec.Image, err)
	}
	cfg := &container.Config{
		Image:      spec.Image,
		Entrypoint: spec.Entrypoint,
		Cmd:        spec.Cmd,
		User:       spec.User,
		Env:        spec.Env,
		WorkingDir: spec.WorkingDir,
		StopSignal: spec.StopSignal,
		Labels:     spec.labels(),
		Tty:        spec.Tty,
		OpenStdin:  spec.OpenStdin,
		StdinOnce:  spec.OpenStdin,
	}
	network := spec.Network
	if network == "" {
		network = NetworkNone
	}
	hc := &container.HostConfig{
		NetworkMode:    container.NetworkMode(network),
		PidMode:        container.PidMode(spec.PidMode),
		ReadonlyRootfs: spec.ReadOnlyRootfs,
		CapAdd:         spec.CapAdd,
		CapDrop:        spec.CapDrop,
		SecurityOpt:    spec.SecurityOpt,
		Tmpfs:          spec.Tmpfs,
	}
	for _, m := range spec.Mounts {
		hc.Mounts = append(hc.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   m.Source,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
		})
	}
	name := spec.Name
	if name == "" {
		name = newName()
	}
	res, err := d.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     cfg,
		HostConfig: hc,
		Name:       name,
	})
	if err != nil {
		// The daemon may have created the container even though the request
		// failed (e.g. it was cancelled mid-flight): remove it by name.
		if !cerrdefs.IsConflict(err) {
			RemoveDetached(ctx, d, name)
		}
		return "", wrap(err, "creating container from %s", spec.Image)
	}
	return res.ID, nil
}

// newName returns a unique container name for this process.
func newName() string {
	var b [6]byte
	rand.Read(b[:])
	return "pare-" + OwnerValue + "-" + hex.EncodeToString(b[:])
}

// Start implements Engine.
func (d *Docker) Start(ctx context.Context, id string) error {
	if _, err := d.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return wrap(err, "starting container %s", shortID(id))
	}
	return nil
}

// Kill implements Engine.
func (d *Docker) Kill(ctx context.Context, id, signal string) error {
	if _, err := d.api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: signal}); err != nil {
		return wrap(err, "signalling container %s", shortID(id))
	}
	return nil
}

// Wait implements Engine.
func (d *Docker) Wait(ctx context.Context, id string) (int, error) {
	res := d.api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-res.Result:
		if r.Error != nil && r.Error.Message != "" {
			return int(r.StatusCode), fmt.Errorf("waiting for container %s: %s", shortID(id), r.Error.Message)
		}
		return int(r.StatusCode), nil
	case err := <-res.Error:
		return -1, wrap(err, "waiting for container %s", shortID(id))
	case <-ctx.Done():
		return -1, fmt.Errorf("waiting for container %s: %w", shortID(id), ctx.Err())
	}
}

// State implements Engine.
func (d *Docker) State(ctx context.Context, id string) (State, error) {
	res, err := d.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return State{}, wrap(err, "inspecting container %s", shortID(id))
	}
	s := res.Container.State
	if s == nil {
		return State{}, fmt.Errorf("inspecting container %s: no state", shortID(id))
	}
	return State{Running: s.Running || s.Restarting, ExitCode: s.ExitCode, OOMKilled: s.OOMKilled, Error: s.Error}, nil
}

// Logs implements Engine.
func (d *Docker) Logs(ctx context.Context, id string, tail int) ([]byte, []byte, error) {
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true}
	if tail > 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	rc, err := d.api.ContainerLogs(ctx, id, opts)
	if err != nil {
		return nil, nil, wrap(err, "reading logs of container %s", shortID(id))
	}
	defer rc.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, rc); err != nil {
		return stdout.Bytes(), stderr.Bytes(), fmt.Errorf("reading logs of container %s: %w", shortID(id), err)
	}
	return stdout.Bytes(), stderr.Bytes(), nil
}

// CopyFrom implements Engine.
func (d *Docker) CopyFrom(ctx context.Context, id, path string) (io.ReadCloser, error) {
	res, err := d.api.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		return nil, wrap(err, "copying %s from container %s", path, shortID(id))
	}
	return res.Content, nil
}

// Remove implements Engine.
func (d *Docker) Remove(ctx context.Context, id string) error {
	_, err := d.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		// A removal already in progress (e.g. a concurrent force remove)
		// is reported as a conflict; treat a container that is gone as removed.
		if _, ierr := d.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); cerrdefs.IsNotFound(ierr) {
			return nil
		}
		return wrap(err, "removing container %s", shortID(id))
	}
	return nil
}

// List implements Engine.
func (d *Docker) List(ctx context.Context, labels map[string]string) ([]Container, error) {
	f := client.Filters{}
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	res, err := d.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, wrap(err, "listing containers")
	}
	out := make([]Container, 0, len(res.Items))
	for _, c := range res.Items {
		out = append(out, Container{ID: c.ID, Labels: c.Labels, Image: c.Image, Running: c.State == "running"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Exec implements Engine. The command's output is collected in memory.
func (d *Docker) Exec(ctx context.Context, id string, spec ExecSpec) (*ExecResult, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("exec: empty command")
	}
	cr, err := d.api.ExecCreate(ctx, id, client.ExecCreateOptions{
		User:         spec.User,
		Env:          spec.Env,
		WorkingDir:   spec.WorkingDir,
		Cmd:          spec.Argv,
		AttachStdin:  spec.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil, wrap(err, "creating exec %q in container %s", spec.Argv[0], shortID(id))
	}
	att, err := d.api.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, wrap(err, "starting exec %q in container %s", spec.Argv[0], shortID(id))
	}
	conn := att.Conn
	// Closing the connection is what unblocks the reads on cancellation.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		stop()
		conn.Close()
	}()
	if spec.Stdin != nil {
		go func() {
			io.Copy(conn, spec.Stdin)
			if cw, ok := conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
		}()
	}
	var stdout, stderr bytes.Buffer
	_, cerr := stdcopy.StdCopy(&stdout, &stderr, att.Reader)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("exec %q in container %s: %w", spec.Argv[0], shortID(id), ctx.Err())
	}
	if cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		return nil, fmt.Errorf("reading output of exec %q in container %s: %w", spec.Argv[0], shortID(id), cerr)
	}
	ins, err := d.api.ExecInspect(ctx, cr.ID, client.ExecInspectOptions{})
	if err != nil {
		return nil, wrap(err, "inspecting exec %q in container %s", spec.Argv[0], shortID(id))
	}
	if ins.Running {
		return nil, fmt.Errorf("exec %q in container %s: output closed while still running", spec.Argv[0], shortID(id))
	}
	return &ExecResult{ExitCode: ins.ExitCode, Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
}
