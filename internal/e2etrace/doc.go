// Package e2etrace holds the acceptance tests of pare's dynamic mode
// (pare build --trace, pare trace): each server fixture of testdata/images is
// pared twice, statically and under the tracer with probes; the original and
// the traced image must answer the same requests the same way, and the
// traced image must be smaller than the static one. Further tests cover
// cancellation (no container or temp dir left behind) and the generated
// seccomp profile. The package has no code of its own; see the tests.
package e2etrace
