package knowledge

// EnvironmentMarker reports whether base is the name of a file that marks
// a language environment of a Runtimes entry (a Dep Marker: Python's
// pyvenv.cfg). Such a file is the runtime's own metadata, read by the
// interpreter for its home and version, not an application's
// configuration: the paths in it (the command that made the environment,
// naming the environment's own root) are not kept for being named; the
// runtime's rule keeps what the environment needs.
func EnvironmentMarker(base string) bool {
	for _, r := range Runtimes {
		for _, d := range r.Deps {
			if d.Marker != "" && d.Marker == base {
				return true
			}
		}
	}
	return false
}
