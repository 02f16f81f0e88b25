//go:build linux

// Command pare-sensor runs a program under pare's tracer and writes what it
// touched as JSON. pare bind-mounts this static binary into a container and
// makes it the entrypoint:
//
//	pare-sensor [run] --out DIR [--uid N --gid N --groups A,B] -- PROGRAM ARGS...
//	pare-sensor exec  --out DIR [--uid N ...] -- PROGRAM ARGS...
//
// run writes DIR/observations.json, exec (for `docker exec` probes) writes
// DIR/exec-<pid>.json. Both rewrite the file every --flush interval and on
// SIGTERM/SIGINT, and once more when the program exits. Signals are forwarded
// to the program, and the sensor exits with its status (128+N if killed by
// signal N). See package github.com/pare-dev/pare/internal/sensor.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pare-dev/pare/internal/sensor"
)

func main() {
	sensor.MaybeRunStage2()
	os.Exit(run(os.Args[1:], os.Stderr))
}

// Exit codes of the sensor's own failures (as docker run uses them).
const (
	exitUsage     = 125
	exitCannotRun = 127
)

func run(args []string, stderr io.Writer) int {
	sub := "run"
	if len(args) > 0 && (args[0] == "run" || args[0] == "exec") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("pare-sensor "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory to write the observations into")
	uid := fs.Int("uid", -1, "run the program as this user id")
	gid := fs.Int("gid", -1, "run the program with this group id (default: 0 with --uid)")
	groups := fs.String("groups", "", "comma-separated supplementary group ids")
	mode := fs.String("mode", string(sensor.ModeSeccomp), "tracing mechanism: seccomp or ptrace")
	flush := fs.Duration("flush", time.Second, "how often to rewrite the observations while running")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fmt.Fprintln(stderr, "pare-sensor: no program given (usage: pare-sensor [run|exec] --out DIR -- PROGRAM ARGS...)")
		return exitUsage
	}
	cred, err := credential(*uid, *gid, *groups)
	if err != nil {
		fmt.Fprintf(stderr, "pare-sensor: %v\n", err)
		return exitUsage
	}
	file := ""
	if *out != "" {
		name := sensor.ObservationsFile
		if sub == "exec" {
			name = sensor.ExecFilePrefix + strconv.Itoa(os.Getpid()) + ".json"
		}
		file = filepath.Join(*out, name)
	}
	write := func(o *sensor.Observations) {
		if file == "" {
			return
		}
		if err := sensor.WriteObservations(file, o); err != nil {
			fmt.Fprintf(stderr, "pare-sensor: %v\n", err)
		}
	}

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	tr, err := sensor.Start(sensor.Config{Argv: argv, Credential: cred, Mode: sensor.Mode(*mode)})
	if err != nil {
		fmt.Fprintf(stderr, "pare-sensor: %v\n", err)
		write(&sensor.Observations{Version: sensor.FormatVersion, Command: argv, Complete: true,
			ExitCode: -1, Error: err.Error(), Mode: *mode})
		return exitCannotRun
	}
	var tick <-chan time.Time
	if *flush > 0 {
		ticker := time.NewTicker(*flush)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case <-tr.Done():
			o := tr.Wait()
			write(o)
			if o.ExitCode < 0 {
				fmt.Fprintf(stderr, "pare-sensor: %s\n", o.Error)
				return exitCannotRun
			}
			return o.ExitCode
		case s := <-sigs:
			sig := s.(syscall.Signal)
			if sig == syscall.SIGTERM || sig == syscall.SIGINT {
				// Flush first: a SIGKILL may follow the program's exit.
				write(tr.Snapshot())
			}
			if err := tr.Signal(sig); err != nil && !errors.Is(err, syscall.ESRCH) {
				fmt.Fprintf(stderr, "pare-sensor: %v\n", err)
			}
		case <-tick:
			write(tr.Snapshot())
		}
	}
}

func credential(uid, gid int, groups string) (*syscall.Credential, error) {
	if uid < 0 && gid < 0 && groups == "" {
		return nil, nil
	}
	if uid < 0 {
		uid = os.Getuid()
	}
	if gid < 0 {
		gid = 0
	}
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if groups == "" && uid == os.Getuid() && gid == os.Getgid() {
		// Already that user: setgroups would need CAP_SETGID.
		return nil, nil
	}
	for _, g := range strings.Split(groups, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad group id %q", g)
		}
		c.Groups = append(c.Groups, uint32(n))
	}
	return c, nil
}
