package pare

import (
	"context"

	"github.com/pare-dev/pare/internal/engine"
)

// Prune removes the containers left in the Docker engine by pare processes
// that are gone (killed, or whose engine stopped under them, so they could
// not remove their containers themselves) and returns their ids. Containers
// of running pare processes, and of processes on other hosts or in other
// pid namespaces, are left alone. Trace and Verify prune on start.
func Prune(ctx context.Context) ([]string, error) {
	eng, err := engine.NewDocker(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	return engine.SweepOrphans(ctx, eng)
}

// pruneOrphans is Prune on an open engine, reported as an event: a failure
// to prune never stops the run that asked.
func pruneOrphans(ctx context.Context, eng engine.Engine, event func(stage, image, format string, args ...any)) {
	ids, err := engine.SweepOrphans(ctx, eng)
	for _, id := range ids {
		event("prune", "", "removed container %.12s left by a pare process that is gone", id)
	}
	if err != nil {
		event("prune", "", "removing containers of pare processes that are gone: %v", err)
	}
}
