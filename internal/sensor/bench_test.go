//go:build linux

package sensor

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// BenchmarkSyscall reports the cost of one system call of each kind when
// untraced and under each mode: stat carries a path (entry and exit stops),
// getppid does not (one stop in ModeSeccomp, two in ModePtrace), write is a
// hot call that ModeSeccomp lets through without a stop.
func BenchmarkSyscall(b *testing.B) {
	bin := buildC(b, b.TempDir(), "bench")
	for _, op := range []string{"stat", "getppid", "write"} {
		for _, mode := range []Mode{"untraced", ModeSeccomp, ModePtrace} {
			b.Run(op+"/"+string(mode), func(b *testing.B) {
				argv := []string{bin, op, strconv.Itoa(b.N)}
				b.ResetTimer()
				if mode == "untraced" {
					if err := exec.Command(argv[0], argv[1:]...).Run(); err != nil {
						b.Fatal(err)
					}
					return
				}
				tr, err := Start(Config{Argv: argv, Mode: mode, Stdout: os.Stderr})
				if err != nil {
					b.Fatal(err)
				}
				if o := tr.Wait(); o.ExitCode != 0 {
					b.Fatalf("exit %d", o.ExitCode)
				}
			})
		}
	}
}
