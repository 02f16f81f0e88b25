package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pare-dev/pare/internal/engine"
	"github.com/pare-dev/pare/internal/engine/enginetest"
)

func TestParsePort(t *testing.T) {
	for in, want := range map[string]engine.Port{
		"80":       {Number: 80, Proto: "tcp"},
		"8080/tcp": {Number: 8080, Proto: "tcp"},
		"53/UDP":   {Number: 53, Proto: "udp"},
	} {
		got, err := engine.ParsePort(in)
		if err != nil || got != want {
			t.Errorf("ParsePort(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "65536", "x/tcp", "80/icmp"} {
		if _, err := engine.ParsePort(bad); err == nil {
			t.Errorf("ParsePort(%q): no error", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := engine.ContainerSpec{Image: "x", Network: "host", Mounts: []engine.Mount{{Source: "/a", Target: "/b"}}}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
	join := engine.ContainerSpec{Image: "x", Network: engine.JoinContainer("other"), PidMode: engine.JoinContainer("other")}
	if err := join.Validate(); err != nil {
		t.Error(err)
	}
	bad := engine.ContainerSpec{Network: "container:", PidMode: "host", Mounts: []engine.Mount{{Source: "rel", Target: "/b"}}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no image", "unknown network", "unknown pid mode", "absolute"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func fake() *enginetest.Fake {
	return enginetest.NewFake(map[string]*engine.Image{"img": {}})
}

func TestWithContainerRemovesOnError(t *testing.T) {
	f := fake()
	boom := errors.New("boom")
	err := engine.WithContainer(t.Context(), f, engine.ContainerSpec{Image: "img"}, func(ctx context.Context, id string) error {
		if len(f.Live()) != 1 {
			t.Errorf("live during fn: %v", f.Live())
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
	if l := f.Live(); len(l) != 0 {
		t.Errorf("left: %v", l)
	}
	if f.Created[0].Labels[engine.OwnerLabel] != engine.OwnerValue {
		t.Errorf("labels = %v", f.Created[0].Labels)
	}
}

func TestWithContainerRemovesOnPanic(t *testing.T) {
	f := fake()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		engine.WithContainer(t.Context(), f, engine.ContainerSpec{Image: "img"}, func(ctx context.Context, id string) error {
			panic("x")
		})
	}()
	if l := f.Live(); len(l) != 0 {
		t.Errorf("left: %v", l)
	}
}

func TestWithContainerRemovesAfterCancel(t *testing.T) {
	f := fake()
	ctx, cancel := context.WithCancel(t.Context())
	err := engine.WithContainer(ctx, f, engine.ContainerSpec{Image: "img"}, func(ctx context.Context, id string) error {
		cancel()
		// The fake's Remove fails on a cancelled context, like a real
		// client would: removal must use a fresh one.
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if l := f.Live(); len(l) != 0 {
		t.Errorf("left: %v", l)
	}
}

func TestStopContainer(t *testing.T) {
	f := fake()
	ctx := t.Context()
	id, _ := f.Create(ctx, engine.ContainerSpec{Image: "img"})
	f.Start(ctx, id)
	code, err := engine.StopContainer(ctx, f, id, "SIGQUIT", time.Minute)
	if err != nil || code != 131 {
		t.Errorf("StopContainer = %d, %v; want 131", code, err)
	}
	// Already stopped: no signal, same code.
	code, err = engine.StopContainer(ctx, f, id, "", time.Minute)
	if err != nil || code != 131 || len(f.Signals) != 1 {
		t.Errorf("second stop = %d, %v, signals %v", code, err, f.Signals)
	}
	if err := engine.Sweep(ctx, f); err != nil || len(f.Live()) != 0 {
		t.Errorf("Sweep: %v, left %v", err, f.Live())
	}
}
