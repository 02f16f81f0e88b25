// Package imagecfg holds the rules a container engine applies to an image
// config, once: the command it runs (Entrypoint+Cmd with Docker's override
// rule), the default PATH, environment lookup, and finding a program
// through PATH inside an image.
package imagecfg

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// DefaultPath is the PATH a container gets when its image sets none (and
// the one given to a plain directory, which has no config).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Override replaces the image's Entrypoint and/or Cmd, like the
// --entrypoint flag and the arguments of docker run.
type Override struct {
	Entrypoint    []string
	EntrypointSet bool
	Cmd           []string
	CmdSet        bool
}

// Command returns the Entrypoint and Cmd the engine runs: an override
// replaces each, and a new entrypoint clears the image's Cmd (Docker's rule).
func Command(entrypoint, cmd []string, o Override) (ep, c []string) {
	ep, c = entrypoint, cmd
	if o.EntrypointSet {
		ep = o.Entrypoint
		if !o.CmdSet {
			c = nil
		}
	}
	if o.CmdSet {
		c = o.Cmd
	}
	return ep, c
}

// Argv is the effective command line: Entrypoint followed by Cmd after the
// override.
func Argv(entrypoint, cmd []string, o Override) []string {
	ep, c := Command(entrypoint, cmd, o)
	return append(append([]string{}, ep...), c...)
}

// Getenv finds key in a KEY=value list; a later entry wins, as in Docker.
func Getenv(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// EnvMap is a KEY=value list as a map; a later entry wins.
func EnvMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Path is the PATH of a container with env: its PATH, or DefaultPath.
func Path(env []string) string {
	if p, ok := Getenv(env, "PATH"); ok {
		return p
	}
	return DefaultPath
}

// ErrNotFound is returned by LookPath when no PATH entry holds the program.
var ErrNotFound = errors.New("not found in the image PATH")

// LookPath finds a program the way execvp does inside the image v: a name
// with a slash is taken as it is (relative to workDir), a bare name is the
// first executable regular file of that name in the directories of
// pathEnv (an empty entry is workDir).
func LookPath(v *rootfs.View, pathEnv, workDir, name string) (string, error) {
	if workDir == "" {
		workDir = "/"
	}
	if strings.Contains(name, "/") {
		if !strings.HasPrefix(name, "/") {
			name = path.Join(workDir, name)
		}
		return name, nil
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = workDir
		}
		cand := path.Join(dir, name)
		e, err := v.Stat(cand)
		if err == nil && e.Type == rootfs.TypeReg && e.Mode&0o111 != 0 {
			return cand, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, ErrNotFound)
}
