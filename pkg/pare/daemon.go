package pare

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/pare-dev/pare/pkg/transport"
)

// inDaemon makes src available to the Docker engine: a docker-daemon
// source is used as it is, any other is loaded under a temporary tag that
// the returned cleanup removes.
func inDaemon(ctx context.Context, src *Source, onEvent func(Event)) (string, func(), error) {
	if src.Ref.Kind == transport.DockerDaemon {
		return src.Ref.Name, func() {}, nil
	}
	if src.Image == nil {
		return "", nil, fmt.Errorf("%s: a dir: source cannot be run: load it into Docker first", src.Ref)
	}
	var b [6]byte
	rand.Read(b[:])
	tag := "pare-trace/tmp-" + hex.EncodeToString(b[:]) + ":latest"
	if onEvent != nil {
		onEvent(Event{Stage: "load", Image: src.Ref.String(), Message: "loading into Docker as " + tag})
	}
	ref := transport.Reference{Kind: transport.DockerDaemon, Name: tag}
	if err := transport.Write(ctx, ref, src.Image); err != nil {
		return "", nil, fmt.Errorf("loading %s into Docker: %w", src.Ref, err)
	}
	cleanup := func() {
		c, err := client.New(client.FromEnv)
		if err != nil {
			return
		}
		defer c.Close()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = c.ImageRemove(rctx, tag, client.ImageRemoveOptions{Force: true})
	}
	return tag, cleanup, nil
}
