// Package e2e holds the acceptance tests of pare build: each fixture image of
// testdata/images is pared into the local Docker engine, then the original
// and the pared image are run under the same probes and their observable
// behaviour is compared. The package has no code of its own; see the tests.
//
// Each test prints a line "SIZE NAME original=BYTES pared=BYTES files=BEFORE/AFTER"
// (visible with go test -v) for release notes.
package e2e
