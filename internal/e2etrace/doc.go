// Package e2etrace holds the acceptance tests of pare's dynamic mode
// (pare build --trace, pare trace) and of pare verify: each server fixture
// of testdata/images is pared twice, statically and under the tracer with
// probes; the original and the traced image must answer the same requests
// the same way, and the traced image must be smaller than the static one.
// Batch fixtures traced and verified with no flags at all must pass, --run
// sets must be traced and verified run by run, host probe scripts must
// reach the server, and verify must fail, naming the probe, on a pared
// server that dies at start. Further tests cover cancellation (no
// container or temp dir left behind) and the generated seccomp profile.
// The package has no code of its own; see the tests.
package e2etrace
