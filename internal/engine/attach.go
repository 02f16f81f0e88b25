package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// Container is what pare knows of a container: InspectContainer fills in
// every field, List the ones it names.
type Container struct {
	ID   string
	Name string
	// ImageID is the id of the container's image (sha256:...); Image is
	// the image as it was named when the container was created.
	ImageID string
	Image   string
	// User is the config User the container runs as ("" is root).
	User    string
	Running bool
	// Pid is the host process id of the container's main process (0 when
	// not running); PidMode its pid namespace mode ("" for its own).
	Pid     int
	PidMode string
	Labels  map[string]string
}

// InspectContainer returns what is known of the container named or
// identified by ref.
func (d *Docker) InspectContainer(ctx context.Context, ref string) (*Container, error) {
	res, err := d.api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		return nil, wrap(err, "inspecting container %s", ref)
	}
	c := res.Container
	out := &Container{ID: c.ID, Name: c.Name, ImageID: c.Image}
	if s := c.State; s != nil {
		out.Running = s.Running && !s.Paused
		out.Pid = s.Pid
	}
	if cf := c.Config; cf != nil {
		out.Image, out.User, out.Labels = cf.Image, cf.User, cf.Labels
	}
	if hc := c.HostConfig; hc != nil {
		out.PidMode = string(hc.PidMode)
	}
	return out, nil
}

// Streams connect a container's standard streams. A nil Stdin attaches no
// input; with Tty the container's terminal output all goes to Stdout.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Tty            bool
}

// Attach connects s to the streams of the created container id (created
// with OpenStdin when s.Stdin is set, and Tty as s.Tty). Call it before
// Start so that no output is lost; the returned function copies the
// output until the container closes it (or ctx is cancelled) and must be
// called once. Input is copied until Stdin ends; a Stdin that never ends
// (a terminal) leaves its copying goroutine blocked in Read.
func (d *Docker) Attach(ctx context.Context, id string, s Streams) (func() error, error) {
	res, err := d.api.ContainerAttach(ctx, id, client.ContainerAttachOptions{
		Stream: true, Stdin: s.Stdin != nil, Stdout: true, Stderr: true,
	})
	if err != nil {
		return nil, wrap(err, "attaching to container %s", shortID(id))
	}
	conn := res.Conn
	stdout, stderr := s.Stdout, s.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	return func() error {
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer func() {
			stop()
			conn.Close()
		}()
		if s.Stdin != nil {
			go func() {
				io.Copy(conn, s.Stdin)
				res.CloseWrite()
			}()
		}
		var err error
		if s.Tty {
			_, err = io.Copy(stdout, res.Reader)
		} else {
			_, err = stdcopy.StdCopy(stdout, stderr, res.Reader)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("attached to container %s: %w", shortID(id), ctx.Err())
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("reading output of container %s: %w", shortID(id), err)
		}
		return nil
	}, nil
}

// Resize sets the size of the terminal of container id.
func (d *Docker) Resize(ctx context.Context, id string, height, width uint) error {
	if _, err := d.api.ContainerResize(ctx, id, client.ContainerResizeOptions{Height: height, Width: width}); err != nil {
		return wrap(err, "resizing the terminal of container %s", shortID(id))
	}
	return nil
}
