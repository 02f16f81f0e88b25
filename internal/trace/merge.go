package trace

import (
	"sort"

	"github.com/pare-dev/pare/internal/sensor"
)

type accessKey struct {
	Path, Op  string
	Write, OK bool
	Exe       string
}

// Merge combines the observations of one container run (the main program's
// and those of each probe exec) into one. The first part is taken as the
// main one: its Command, ExitCode, Signal and Arch are kept. Files are
// deduplicated with their counts summed (the first PID and Errno kept),
// Execs concatenated in part order, Syscalls and UntracedSyscalls united. Complete is true only
// if every part is complete; Errors are joined with "; ".
func Merge(parts ...*sensor.Observations) *sensor.Observations {
	out := &sensor.Observations{Version: sensor.FormatVersion, ExitCode: -1, Complete: true}
	idx := map[accessKey]int{}
	sys := map[string]bool{}
	untraced := map[string]bool{}
	first := true
	for _, p := range parts {
		if p == nil {
			continue
		}
		if first {
			out.Command = p.Command
			out.ExitCode = p.ExitCode
			out.Signal = p.Signal
			out.Arch = p.Arch
			out.Mode = p.Mode
			first = false
		}
		if out.Arch == "" {
			out.Arch = p.Arch
		}
		out.Complete = out.Complete && p.Complete
		if p.Error != "" {
			if out.Error != "" {
				out.Error += "; "
			}
			out.Error += p.Error
		}
		for _, f := range p.Files {
			k := accessKey{f.Path, f.Op, f.Write, f.OK, f.Exe}
			if i, ok := idx[k]; ok {
				out.Files[i].Count += f.Count
				continue
			}
			idx[k] = len(out.Files)
			out.Files = append(out.Files, f)
		}
		out.Execs = append(out.Execs, p.Execs...)
		for _, s := range p.Syscalls {
			sys[s] = true
		}
		for _, s := range p.UntracedSyscalls {
			untraced[s] = true
		}
	}
	if first {
		out.Complete = false
	}
	sensor.SortFiles(out.Files)
	for s := range sys {
		out.Syscalls = append(out.Syscalls, s)
	}
	sort.Strings(out.Syscalls)
	for s := range untraced {
		out.UntracedSyscalls = append(out.UntracedSyscalls, s)
	}
	sort.Strings(out.UntracedSyscalls)
	return out
}
