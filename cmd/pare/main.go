// Command pare turns a container image into a minimal FROM-scratch image that
// holds only what its program needs.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pare-dev/pare/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal cancels the work, which cleans up and exits 1; a
		// second one kills at once.
		<-ctx.Done()
		stop()
	}()
	setMemoryLimit()
	stopProfile := startProfile()
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}
