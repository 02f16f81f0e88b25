// Package hostile holds pare's hostile-image and fault suites (tests only).
//
// The hostile suite generates images in memory (go-containerregistry and
// tar writers: path traversal, symlink and hardlink escapes, loops, bombs,
// huge counts, corrupt layers, absurd ELF headers...), writes each as a
// docker-archive and runs the real pare binary on it (build with a static
// keep, and export), asserting a clear error or a safe result within
// bounded time and memory, nothing written outside the test's directories
// and no panic. The fault suite interrupts pare (SIGINT), fills its output
// disk, cuts a registry push and stops a Docker daemon mid-trace, and
// asserts that nothing partial is left behind.
package hostile
