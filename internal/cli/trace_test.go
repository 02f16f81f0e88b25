package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pare-dev/pare/pkg/pare"
)

func TestRunOptions(t *testing.T) {
	f := traceFlags{
		runs:   []string{"groff -mdoc notes.7", `["convert", "a b.txt"]`},
		probes: probeSpecs{{"tcp-probe", "5432"}, {"exec", "ls data"}, {"http-probe", "/health:8080=200,204"}},
	}
	o, err := f.runOptions(&globals{}, pare.BuildOptions{Entrypoint: []string{"/entry"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"groff", "-mdoc", "notes.7"}, {"convert", "a b.txt"}}, o.Runs); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	var names []string
	for _, p := range o.Probes {
		names = append(names, p.Name())
	}
	if diff := cmp.Diff([]string{"tcp 5432", "exec ls data", "http GET:/health:8080=200,204"}, names); diff != "" {
		t.Errorf("probes in command-line order (-want +got):\n%s", diff)
	}
	if len(o.Entrypoint) != 1 || o.Cmd != nil {
		t.Errorf("entrypoint %q cmd %q: the build's overrides are passed as they are", o.Entrypoint, o.Cmd)
	}
}
