package knowledge

import (
	"strings"
	"testing"
)

// A line longer than any scanner buffer must not hide the lines after it:
// the config scanners used to stop silently at bufio.Scanner's token limit.
func TestLongLineDoesNotHideTheRest(t *testing.T) {
	long := "# " + strings.Repeat("x", 3<<20) + "\n"

	nss := ParseNSSwitch([]byte("passwd: files\n" + long + "hosts: files dns\r\n"))
	var services []string
	for _, s := range nss {
		services = append(services, s.Service)
	}
	if got := strings.Join(services, ","); got != "files,dns" {
		t.Errorf("nsswitch services after a 3 MiB line = %q, want files,dns", got)
	}

	refs := parseOpenSSLConf([]byte(long + "dynamic_path = /usr/lib/engines-3/afalg.so\n"))
	if len(refs) != 1 || refs[0].path != "/usr/lib/engines-3/afalg.so" || !refs[0].module {
		t.Errorf("openssl refs after a 3 MiB line = %+v", refs)
	}

	set := LocaleSettings([]byte(long + "LANG=de_DE.UTF-8\n"))
	if len(set) != 1 || set[0].Value != "de_DE.UTF-8" {
		t.Errorf("locale settings after a 3 MiB line = %+v", set)
	}

	tab := ParseGconvModules([]string{"gconv-modules"}, func(string) []byte {
		return []byte(long + "module ISO-8859-2// INTERNAL ISO8859-2 1\n")
	})
	if mods := tab.Modules(map[string]string{gconvName("ISO-8859-2"): "test"}); len(mods) != 1 || mods[0].File != "ISO8859-2.so" {
		t.Errorf("gconv modules after a 3 MiB line = %+v", mods)
	}

	if got := configValue([]byte(long+"BUNDLE_PATH: \"vendor/bundle\"\n"), "BUNDLE_PATH"); got != "vendor/bundle" {
		t.Errorf("configValue after a 3 MiB line = %q", got)
	}
}
