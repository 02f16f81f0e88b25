#!/bin/sh
# Regenerates sysnames_<arch>.go from golang.org/x/sys/unix's syscall numbers.
set -e
src=$(go env GOMODCACHE)/golang.org/x/sys@v0.49.0/unix
for a in amd64 arm64; do
	{
		echo "// Code generated from golang.org/x/sys/unix/zsysnum_linux_$a.go (v0.49.0) by gen_sysnames.sh; DO NOT EDIT."
		echo
		echo "//go:build linux && $a"
		echo
		echo "package sensor"
		echo
		echo "// syscallNames maps a $a system call number to its kernel name."
		echo "var syscallNames = map[uint64]string{"
		awk '/^\tSYS_[A-Z0-9_]+ *= [0-9]+/ {n=substr($1,5); printf "\t%s: \"%s\",\n", $3, tolower(n)}' "$src/zsysnum_linux_$a.go" | sort -t: -k1 -n -u
		echo "}"
	} >"sysnames_$a.go"
	gofmt -w "sysnames_$a.go"
done
