package knowledge

import (
	"path"
	"regexp"
)

// A Capability is something a kept program does that another rule serves:
// the CA rule keeps certificates for whatever verifies TLS, without knowing
// which runtimes or libraries do. A capability comes from two places: a
// Runtime entry declares it (Runtime.Uses: Python verifies TLS through its
// ssl module), or it is derived from the closure (a kept libssl, a Go
// binary). Rules ask with UsedBy.
type Capability string

// Capabilities rules ask for.
const (
	// VerifiesTLS: reads the trusted CA certificates.
	VerifiesTLS Capability = "verifies-tls"
	// MediaTypes: chooses a Content-Type from /etc/mime.types and its kin.
	MediaTypes Capability = "media-types"
	// CoercesCLocale: switches the C locale to C.UTF-8 (PEP 538).
	CoercesCLocale Capability = "coerces-c-locale"
)

// libraryCapabilities derive capabilities from kept libraries: a program
// that links (or dlopens) one of them has the capability through it.
var libraryCapabilities = []struct {
	cap Capability
	re  *regexp.Regexp
}{
	{VerifiesTLS, regexp.MustCompile(`^(libssl|libcrypto|libgnutls|libnss3|libmbedtls|libwolfssl|libcurl|libcurl-gnutls)\.so`)},
}

// goCapabilities are those of every Go binary: crypto/x509 and mime read
// the system's files themselves, and which packages a binary links is not
// recorded in its build information.
var goCapabilities = []Capability{VerifiesTLS, MediaTypes}

// UsedBy returns the physical path of the first kept object (by path) that
// has cp, "" when none has.
func UsedBy(c Keeper, cp Capability) string {
	for _, o := range c.Objects() { // sorted by path
		if hasCapability(o, cp) {
			return o.Path
		}
	}
	return ""
}

func hasCapability(o Object, cp Capability) bool {
	if o.Go {
		for _, g := range goCapabilities {
			if g == cp {
				return true
			}
		}
	}
	base := path.Base(o.Path)
	for _, lc := range libraryCapabilities {
		if lc.cap == cp && lc.re.MatchString(base) {
			return true
		}
	}
	for _, r := range Runtimes {
		if r.Programs != nil && r.Programs.MatchString(base) || r.Launchers != nil && r.Launchers.MatchString(base) {
			for _, u := range r.Uses {
				if u == cp {
					return true
				}
			}
		}
	}
	return false
}
