package keptset

// Reason kinds of paths named by the Env and configuration files.
const (
	KindConfig Kind = "config" // named by absolute path in the config file From, or in the Env
	KindState  Kind = "state"  // the directory a program writes a named, not yet existing path into
)
