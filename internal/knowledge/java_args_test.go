package knowledge

import (
	"strings"
	"testing"

	"github.com/pare-dev/pare/pkg/rootfs"
)

func TestJavaAddModules(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"-cp /app App --add-modules java.sql", ""},
		{"--add-modules java.sql,java.naming -cp /app App", "java.sql java.naming"},
		{"--add-modules=jdk.zipfs -jar app.jar --add-modules x", "jdk.zipfs"},
		{"-p mods -m com.example/com.example.Main", "com.example"},
		{"--module=jdk.httpserver", "jdk.httpserver"},
		{"-Xmx1g -classpath --add-modules --add-modules ALL-SYSTEM Main", "ALL-SYSTEM"},
	} {
		if got := strings.Join(javaAddModules(strings.Fields(tc.args)), " "); got != tc.want {
			t.Errorf("javaAddModules(%s) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestSecurityProviders(t *testing.T) {
	m := rootfs.NewMem()
	m.AddFile("/jdk/conf/security/java.security", 0o644, []byte(`# providers
security.provider.1=SUN
security.provider.2=SunEC
security.provider.3=SunPKCS11 ${java.home}/conf/security/sunpkcs11.cfg
security.provider.4=com.example.MyProvider
#security.provider.5=SunPCSC
securerandom.source=file:/dev/random
`))
	got := securityProviders(m.View(), "/jdk")
	for _, p := range []string{"SUN", "SunEC", "SunPKCS11", "MyProvider"} {
		if !got[p] {
			t.Errorf("provider %s not found: %v", p, got)
		}
	}
	if got["SunPCSC"] || len(got) != 4 {
		t.Errorf("providers: %v", got)
	}
}
