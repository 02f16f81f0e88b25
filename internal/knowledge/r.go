package knowledge

import "regexp"

// R is GNU R: the R and Rscript launchers (R is a shell script that execs
// $R_HOME/bin/exec/R) and the R binary or libR.so. Its home <prefix>/lib/R
// (found upwards from lib/R/library/base/DESCRIPTION: /usr/lib/R on Debian,
// /usr/local/lib/R in source builds) is kept whole with every link
// followed (etc/ into /etc/R), as is R_HOME. install.packages' site
// library /usr/local/lib/R/site-library, R_LIBS, R_LIBS_USER, R_LIBS_SITE
// and an application's renv/library or packrat/lib are its dependencies.
var R = &Runtime{
	ID:        "r",
	What:      "R home and libraries",
	Programs:  regexp.MustCompile(`^(R|libR\.so)$`),
	Launchers: regexp.MustCompile(`^(R|Rscript)$`),
	Prefix:    Prefix{Landmarks: []string{"lib/R/library/base/DESCRIPTION"}},
	Trees:     []string{"{prefix}/lib/R", "/usr/share/R"},
	Env:       []EnvPath{{Name: "R_HOME"}, {Name: "R_LIBS"}, {Name: "R_LIBS_USER"}, {Name: "R_LIBS_SITE"}},
	Deps: []Dep{
		{Path: "/usr/local/lib/R/site-library"},
		{Beside: "renv/library"},
		{Beside: "packrat/lib"},
	},
	AppFiles:         []string{".R", ".r", ".Rmd", ".Rprofile"},
	TraceReplaceable: true,
}
