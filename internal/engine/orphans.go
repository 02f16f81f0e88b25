package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// OwnerProcessLabel is set on every container pare creates. Its value names
// the creating process so that a later pare can tell whether that process is
// gone: "<hostname> <boot id> <pid namespace> <pid> <start time>" (the start
// time in clock ticks since boot, from /proc/<pid>/stat, guards against a
// reused pid).
const OwnerProcessLabel = "dev.pare.owner.process"

// OwnerProcess is the value of OwnerProcessLabel for this process.
var OwnerProcess = processIdentity(os.Getpid()).String()

// identity is what OwnerProcessLabel records.
type identity struct {
	host, boot, pidns string
	pid               int
	start             string
}

func (id identity) String() string {
	return strings.Join([]string{id.host, id.boot, id.pidns, strconv.Itoa(id.pid), id.start}, " ")
}

func parseIdentity(s string) (identity, bool) {
	f := strings.Fields(s)
	if len(f) != 5 {
		return identity{}, false
	}
	pid, err := strconv.Atoi(f[3])
	if err != nil || pid <= 0 {
		return identity{}, false
	}
	return identity{host: f[0], boot: f[1], pidns: f[2], pid: pid, start: f[4]}, true
}

// processIdentity returns the identity of pid on this machine; fields that
// cannot be read are "-", which never equals a real value.
func processIdentity(pid int) identity {
	id := identity{host: "-", boot: "-", pidns: "-", pid: pid, start: "-"}
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \t\n") {
		id.host = h
	}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			id.boot = s
		}
	}
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil && ns != "" {
		id.pidns = ns
	}
	if s, ok := startTime(pid); ok {
		id.start = s
	}
	return id
}

// startTime returns field 22 of /proc/pid/stat (the process's start time);
// false when there is no such process.
func startTime(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 { // fields 3..22
		return "", false
	}
	return f[19], true
}

// ownerGone reports whether the process named by a container's
// OwnerProcessLabel value is certainly gone, seen from self: the same host
// and pid namespace with no such process (or another process under its pid),
// or the same host after a reboot. A container made on another host or in
// another pid namespace, or with a label this package did not write, is
// never judged gone: its owner may be alive where this process cannot see.
func ownerGone(label string, self identity, start func(pid int) (string, bool)) bool {
	o, ok := parseIdentity(label)
	if !ok || o.host == "-" || o.host != self.host || o.boot == "-" || self.boot == "-" {
		return false
	}
	if o.boot != self.boot {
		return true
	}
	if o.pidns == "-" || o.pidns != self.pidns || o.start == "-" {
		return false
	}
	if o.pid == self.pid && o.start == self.start {
		return false
	}
	s, alive := start(o.pid)
	return !alive || s != o.start
}

// SweepOrphans removes the containers left by pare processes that are gone:
// a pare that was killed, or whose engine stopped under it, cannot remove its
// containers itself. It returns the ids it removed. Containers whose owner
// may be alive (this process's, another host's) are left alone.
func SweepOrphans(ctx context.Context, eng Engine) ([]string, error) {
	cs, err := eng.List(ctx, map[string]string{OwnerProcessLabel: ""})
	if err != nil {
		return nil, err
	}
	self := processIdentity(os.Getpid())
	var removed []string
	var errs []error
	for _, c := range cs {
		if !ownerGone(c.Labels[OwnerProcessLabel], self, startTime) {
			continue
		}
		if err := eng.Remove(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("removing container %s left by a pare process that is gone: %w", shortID(c.ID), err))
			continue
		}
		removed = append(removed, c.ID)
	}
	return removed, errors.Join(errs...)
}
