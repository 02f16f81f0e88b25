// goprog opens files from several OS threads, writes a file and runs
// ./helper from DIR/bin. Usage: goprog DIR.
package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
)

func main() {
	dir := os.Args[1]
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			os.ReadFile(filepath.Join(dir, "data", "go"+strconv.Itoa(i)+".txt"))
		}()
	}
	wg.Wait()
	if err := os.WriteFile(filepath.Join(dir, "data", "go-out.txt"), []byte("x"), 0o644); err != nil {
		os.Exit(20)
	}
	cmd := exec.Command("./helper", "fromgo")
	cmd.Dir = filepath.Join(dir, "bin")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		os.Exit(ee.ExitCode())
	}
	os.Exit(21)
}
