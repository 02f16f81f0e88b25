package knowledge

import (
	"path"
	"regexp"
	"strings"
)

// Python keeps what a kept CPython interpreter (python3.X, or libpython3.X
// embedded) imports, conservatively as whole trees: the standard library
// <prefix>/lib/python3.X with lib-dynload (found like CPython does, from the
// executable's real path upwards to lib/python3.X/os.py, or PYTHONHOME), its
// zip, Debian's /usr/lib/python3/dist-packages and
// /usr/local/lib/python3.X/dist-packages, virtual environments (VIRTUAL_ENV,
// or a pyvenv.cfg above a PATH directory), PYTHONPATH, and the application's
// own directory. Every ELF module found (lib-dynload/_ssl*.so, numpy's .so)
// is added with its libraries.
type Python struct{}

// Name implements Rule.
func (Python) Name() string { return "python" }

var (
	rePythonObj = regexp.MustCompile(`^(python\d+\.\d+[a-z]*|libpython\d+\.\d+[a-z]*\.so.*)$`)
	rePythonVer = regexp.MustCompile(`python(\d+\.\d+)`)
)

// Apply implements Rule.
func (r Python) Apply(c Keeper) error {
	objs := matching(c, rePythonObj)
	if len(objs) == 0 {
		return nil
	}
	v := c.View()
	elf := treeOpts{elf: true}
	for _, o := range objs {
		ver := rePythonVer.FindStringSubmatch(path.Base(o.Path))[1]
		why := because(r.Name(), o.Path, "Python "+ver+" modules")
		lib := "python" + ver
		var prefixes []string
		if home, ok := c.Getenv("PYTHONHOME"); ok && home != "" {
			prefixes = append(prefixes, strings.Split(home, ":")...)
		} else {
			for d := path.Dir(o.Path); ; d = path.Dir(d) {
				if exists(v, path.Join(d, "lib", lib, "os.py")) {
					prefixes = append(prefixes, d)
					break
				}
				if d == "/" {
					prefixes = append(prefixes, "/usr")
					break
				}
			}
		}
		for _, p := range prefixes {
			if err := keepTrees(c, why, elf, path.Join(p, "lib", lib)); err != nil {
				return err
			}
			if err := addPaths(c, why, path.Join(p, "lib", "python"+strings.ReplaceAll(ver, ".", "")+".zip")); err != nil {
				return err
			}
			if p == "/usr" {
				if err := keepTrees(c, why, elf, "/usr/lib/python3/dist-packages"); err != nil {
					return err
				}
			}
		}
		if err := keepTrees(c, why, elf, "/usr/local/lib/"+lib+"/dist-packages", "/usr/local/lib/"+lib+"/site-packages"); err != nil {
			return err
		}
		if err := keepTrees(c, because(r.Name(), o.Path, "PYTHONPATH"), elf, envList(c, "PYTHONPATH")...); err != nil {
			return err
		}
	}
	// virtual environments: VIRTUAL_ENV, or PATH entries <venv>/bin
	var venvs []string
	if ve, ok := c.Getenv("VIRTUAL_ENV"); ok && ve != "" {
		venvs = append(venvs, ve)
	}
	for _, d := range envList(c, "PATH") {
		if strings.HasPrefix(d, "/") && exists(v, path.Join(path.Dir(d), "pyvenv.cfg")) {
			venvs = append(venvs, path.Dir(d))
		}
	}
	for _, ve := range venvs {
		why := because(r.Name(), objs[0].Path, "virtual environment")
		if !exists(v, path.Join(ve, "pyvenv.cfg")) {
			continue
		}
		if _, err := keepTree(c, ve, why, elf); err != nil {
			return err
		}
		for _, b := range children(v, path.Join(ve, "bin"), rePythonExe) {
			if _, err := c.AddExecutable(path.Join(ve, "bin", b), why); err != nil {
				return err
			}
		}
	}
	return keepAppTrees(c, r.Name(), elf, ".py", ".pyc", ".pth")
}

var rePythonExe = regexp.MustCompile(`^python(\d+(\.\d+)?)?$`)
