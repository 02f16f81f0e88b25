package accounts_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pare-dev/pare/internal/accounts"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// FuzzAccounts parses passwd, group and shadow and generates the output's
// account files: no panic, and every written passwd line parses back.
func FuzzAccounts(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n+@nis\n"),
		[]byte("root:x:0:\nwww-data:x:33:app,www-data\n"), []byte("root:$y$j9T$abc:19000:0:99999:7:::\n"), "www-data:33")
	f.Add([]byte("a:b\n::::::\nx:x:-1:2::/:\r\n#c\nu:x:99999999999999999999:0::/:/bin/sh\n"), []byte("g:x:1:a,,b\n"), []byte("bad"), "1000:1000")
	f.Fuzz(func(t *testing.T, passwd, group, shadow []byte, user string) {
		m := rootfs.NewMem()
		m.AddFile(accounts.PasswdFile, 0o644, passwd)
		m.AddFile(accounts.GroupFile, 0o644, group)
		m.AddFile(accounts.ShadowFile, 0o640, shadow)
		db, err := accounts.Read(m.View())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []accounts.Options{{User: user}, {RunAs: user, Trim: true}} {
			res, err := accounts.Generate(db, o)
			if err != nil {
				continue
			}
			back := accounts.Parse(res.Passwd, res.Group)
			if n := bytes.Count(res.Passwd, []byte("\n")); n != len(back.Users) {
				t.Errorf("generated passwd has %d lines but %d parse back:\n%s", n, len(back.Users), res.Passwd)
			}
		}
	})
}

// A line longer than any scanner buffer hides none of the accounts after it.
func TestLongLineHidesNothing(t *testing.T) {
	passwd := "root:x:0:0::/root:/bin/sh\njunk:" + strings.Repeat("x", 2<<20) + "\napp:x:1000:1000::/home/app:/bin/sh\n"
	db := accounts.Parse([]byte(passwd), []byte("g:"+strings.Repeat("y", 2<<20)+"\napp:x:1000:\n"))
	if _, ok := db.UserByName("app"); !ok {
		t.Error("the account after a 2 MiB line was lost")
	}
	if _, ok := db.GroupByName("app"); !ok {
		t.Error("the group after a 2 MiB line was lost")
	}
}
