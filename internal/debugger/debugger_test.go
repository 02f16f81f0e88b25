package debugger

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/assemble"
	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/engine/enginetest"
)

// fake is enginetest.Fake with one running target container whose files
// CopyFrom serves, and attach and resize that record what they were asked.
type fake struct {
	*enginetest.Fake
	target  engine.Container
	files   map[string]string
	output  string
	attach  []engine.Streams
	resized []Size
}

func (f *fake) InspectContainer(ctx context.Context, ref string) (*engine.Container, error) {
	if ref != f.target.ID && ref != strings.TrimPrefix(f.target.Name, "/") {
		return nil, engine.ErrNotFound
	}
	c := f.target
	return &c, nil
}

func (f *fake) CopyFrom(ctx context.Context, id, path string) (io.ReadCloser, error) {
	if id != f.target.ID {
		return f.Fake.CopyFrom(ctx, id, path)
	}
	data, ok := f.files[path]
	if !ok {
		return nil, engine.ErrNotFound
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path[strings.LastIndexByte(path, '/')+1:], Mode: 0o644, Size: int64(len(data))})
	tw.Write([]byte(data))
	tw.Close()
	return io.NopCloser(&buf), nil
}

func (f *fake) Attach(ctx context.Context, id string, s engine.Streams) (func() error, error) {
	f.attach = append(f.attach, s)
	return func() error {
		if s.Stdout != nil {
			io.WriteString(s.Stdout, f.output)
		}
		return nil
	}, nil
}

func (f *fake) Resize(ctx context.Context, id string, h, w uint) error {
	f.resized = append(f.resized, Size{h, w})
	return nil
}

const (
	sourceID = "sha256:5005ce"
	paredID  = "sha256:0123pared"
)

func newFake(user string, labels map[string]string) *fake {
	code := 3
	f := &fake{
		Fake: enginetest.NewFake(map[string]*engine.Image{
			paredID:            {ID: paredID, Labels: labels},
			sourceID:           {ID: sourceID},
			"nginx:latest":     {ID: "sha256:another"},
			"debian:bookworm":  {ID: "sha256:debian"},
			"busybox:unstable": {ID: "sha256:busybox"},
		}),
		target: engine.Container{ID: "c0ffee", Name: "/web", ImageID: paredID, Image: "nginx:pared", User: user, Running: true, Pid: 4242},
		files: map[string]string{
			"/etc/passwd": "root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\napp:x:1000:1001::/app:/sbin/nologin\n",
			"/etc/group":  "root:x:0:\nwww-data:x:33:\nstaff:x:50:\n",
		},
		output: "toolbox output\n",
	}
	f.ExitOnStart = &code
	return f
}

var sourceLabels = map[string]string{assemble.SourceIDLabel: sourceID, assemble.SourceImageLabel: "docker-daemon:nginx:latest"}

func TestPrepareUser(t *testing.T) {
	for _, tc := range []struct{ user, want, err string }{
		{"", "0:0", ""},
		{"33", "33:33", ""},          // uid with its passwd group
		{"4711", "4711:0", ""},       // a uid without entry: group 0, as runc does
		{"4711:7", "4711:7", ""},     // both numeric: as given, no lookup
		{"www-data", "33:33", ""},    // a name through the target's passwd
		{"app", "1000:1001", ""},     // its primary group, not the uid
		{"app:staff", "1000:50", ""}, // a group name through the target's group
		{"ghost", "", `user "ghost" of container web: not in its /etc/passwd`},
		{"app:ghosts", "", `group "ghosts" of container web: not in its /etc/group`},
	} {
		f := newFake(tc.user, sourceLabels)
		p, err := Prepare(t.Context(), f, "web", Options{})
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("user %q: err %v, want %q", tc.user, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("user %q: %v", tc.user, err)
			continue
		}
		if p.User != tc.want || p.CapAdd != nil {
			t.Errorf("user %q: toolbox user %q caps %v, want %q and no capability", tc.user, p.User, p.CapAdd, tc.want)
		}
	}
	p, err := Prepare(t.Context(), newFake("www-data", sourceLabels), "web", Options{Ptrace: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.User != "0:0" || !slices.Equal(p.CapAdd, []string{"SYS_PTRACE"}) || !strings.Contains(strings.Join(p.Notes, "\n"), "CAP_SYS_PTRACE") {
		t.Errorf("--ptrace: user %q caps %v notes %q", p.User, p.CapAdd, p.Notes)
	}
}

func TestPrepareToolbox(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		image  string
		drop   string // image removed from the engine
		want   string
		err    string
	}{
		{name: "source by id", labels: sourceLabels, want: sourceID},
		{name: "given", labels: sourceLabels, image: "debian:bookworm", want: "debian:bookworm"},
		{name: "given, wins over no label", image: "debian:bookworm", want: "debian:bookworm"},
		{name: "source by name when the id is gone", labels: sourceLabels, drop: sourceID, want: "nginx:latest"},
		{name: "name only", labels: map[string]string{assemble.SourceImageLabel: "docker://nginx:latest"}, want: "nginx:latest"},
		{name: "no label", err: "has no dev.pare.source.image label"},
		{name: "source gone", labels: map[string]string{assemble.SourceIDLabel: "sha256:gone", assemble.SourceImageLabel: "docker-archive:/tmp/x.tar"}, err: "is not in the local engine"},
		{name: "given but absent", labels: sourceLabels, image: "toolbox:none", err: "toolbox image toolbox:none is not in the local engine"},
	} {
		f := newFake("33:33", tc.labels)
		delete(f.Images, tc.drop)
		p, err := Prepare(t.Context(), f, "c0ffee", Options{Image: tc.image})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			if tc.image == "" && !errors.Is(err, ErrNoToolbox) {
				t.Errorf("%s: err %v is not ErrNoToolbox", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if p.Toolbox != tc.want {
			t.Errorf("%s: toolbox %q, want %q", tc.name, p.Toolbox, tc.want)
		}
	}
}

func TestPrepareTarget(t *testing.T) {
	f := newFake("33", sourceLabels)
	f.target.Running = false
	if _, err := Prepare(t.Context(), f, "web", Options{}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("stopped target: err %v", err)
	}
	f = newFake("33", sourceLabels)
	f.target.PidMode = "host"
	p, err := Prepare(t.Context(), f, "web", Options{})
	if err != nil || p.Root != "/proc/4242/root" {
		t.Errorf("target in the host pid namespace: root %v, err %v", p, err)
	}
	f.target.PidMode = "container:other"
	if _, err := Prepare(t.Context(), f, "web", Options{}); err == nil || !strings.Contains(err.Error(), "debug the container that owns it") {
		t.Errorf("target in another's pid namespace: err %v", err)
	}
	if _, err := Prepare(t.Context(), f, "nothere", Options{}); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("missing target: err %v", err)
	}
}

// TestRun: the toolbox joins the target's namespaces with the command, the
// user and the root variable, its output and exit code come back, a
// terminal gets its size, and the container is removed.
func TestRun(t *testing.T) {
	f := newFake("www-data", sourceLabels)
	sizes := make(chan Size, 1)
	sizes <- Size{Height: 30, Width: 100}
	var out bytes.Buffer
	o := Options{Command: []string{"ps", "-ef"}, Stdout: &out, Stdin: strings.NewReader(""), Tty: true, Resize: sizes}
	p, err := Prepare(t.Context(), f, "web", o)
	if err != nil {
		t.Fatal(err)
	}
	code, err := p.Run(t.Context(), f, o)
	if err != nil || code != 3 {
		t.Fatalf("Run: code %d, err %v, want 3", code, err)
	}
	if out.String() != f.output {
		t.Errorf("output %q", out.String())
	}
	if len(f.Created) != 1 {
		t.Fatalf("%d containers created", len(f.Created))
	}
	s := f.Created[0]
	want := engine.ContainerSpec{
		Image: sourceID, Entrypoint: []string{"ps"}, Cmd: []string{"-ef"}, User: "33:33",
		Env: []string{"PARE_TARGET_ROOT=/proc/1/root"}, Network: "container:c0ffee", PidMode: "container:c0ffee",
		Tty: true, OpenStdin: true,
	}
	if s.Image != want.Image || !slices.Equal(s.Entrypoint, want.Entrypoint) || !slices.Equal(s.Cmd, want.Cmd) || s.User != want.User ||
		!slices.Equal(s.Env, want.Env) || s.Network != want.Network || s.PidMode != want.PidMode || s.Tty != want.Tty ||
		s.OpenStdin != want.OpenStdin || s.CapAdd != nil || s.Labels[TargetLabel] != "c0ffee" || s.Labels[engine.OwnerLabel] != engine.OwnerValue {
		t.Errorf("toolbox spec\n%+v\nwant\n%+v", s, want)
	}
	if len(f.attach) != 1 || f.attach[0].Stdin == nil || !f.attach[0].Tty {
		t.Errorf("attach %+v", f.attach)
	}
	if !slices.Equal(f.resized, []Size{{30, 100}}) {
		t.Errorf("resized %v", f.resized)
	}
	if live := f.Live(); len(live) != 0 {
		t.Errorf("toolbox containers left: %v", live)
	}

	// no command: a shell; no stdin: none attached
	o = Options{}
	p, err = Prepare(t.Context(), f, "web", o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(t.Context(), f, o); err != nil {
		t.Fatal(err)
	}
	if s := f.Created[1]; !slices.Equal(s.Entrypoint, DefaultShell) || len(s.Cmd) != 0 || s.OpenStdin || s.Tty {
		t.Errorf("default toolbox spec %+v", s)
	}

	// cancelled: removed all the same
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Run(ctx, f, o); err == nil {
		t.Errorf("Run with a cancelled context: no error")
	}
	if live := f.Live(); len(live) != 0 {
		t.Errorf("toolbox containers left after cancel: %v", live)
	}
}
