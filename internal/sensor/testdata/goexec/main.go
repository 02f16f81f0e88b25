// goexec executes "sh -c 'cat FILE'" from a thread other than the main one,
// as gosu and other Go entrypoints do. Usage: goexec FILE.
package main

import (
	"os"
	"runtime"
	"syscall"
)

func init() { runtime.LockOSThread() } // keep main on the leader thread

func main() {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		done <- syscall.Exec("/bin/sh", []string{"sh", "-c", "cat " + os.Args[1]}, os.Environ())
	}()
	<-done
	os.Exit(9)
}
