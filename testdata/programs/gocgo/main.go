// Command gocgo is a cgo program used as the gocgo fixture image. Built with
// CGO_ENABLED=1 and -tags netcgo, it reaches glibc's NSS for host and user
// look-ups, and also loads a time zone and the system CA pool. It prints one
// line per check and exits 1 if any fails.
package main

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/user"
	"slices"
	"time"
)

func main() {
	ok := true
	fail := func(format string, args ...any) {
		fmt.Printf(format+"\n", args...)
		ok = false
	}

	if addrs, err := net.LookupHost("localhost"); err != nil {
		fail("resolve localhost: %v", err)
	} else if !slices.Contains(addrs, "127.0.0.1") {
		fail("resolve localhost: no 127.0.0.1 in %v", addrs)
	} else {
		fmt.Println("resolve localhost: 127.0.0.1")
	}

	if u, err := user.Current(); err != nil {
		fail("current user: %v", err)
	} else {
		fmt.Printf("current user: %s uid=%s home=%s\n", u.Username, u.Uid, u.HomeDir)
	}
	if u, err := user.Lookup("root"); err != nil {
		fail("lookup root: %v", err)
	} else {
		fmt.Printf("lookup root: uid=%s\n", u.Uid)
	}

	if loc, err := time.LoadLocation("Europe/Paris"); err != nil {
		fail("zone Europe/Paris: %v", err)
	} else {
		name, off := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC).In(loc).Zone()
		fmt.Printf("zone Europe/Paris: %s %+d\n", name, off)
	}

	if pool, err := x509.SystemCertPool(); err != nil {
		fail("system certs: %v", err)
	} else {
		//lint:ignore SA1019 on Linux, Subjects lists the roots read from the system bundle.
		if n := len(pool.Subjects()); n == 0 {
			fail("system certs: none")
		} else {
			fmt.Println("system certs: ok")
		}
	}

	if !ok {
		os.Exit(1)
	}
}
