package knowledge

import "regexp"

// Erlang is Erlang/OTP (erl, erlexec, beam.smp) and what runs on it:
// Elixir's launchers (elixir, iex, mix) exec erl. A root — the directory
// above bin/ holding releases/ (/usr/lib/erlang on Debian,
// /usr/local/lib/erlang in the official image), or lib/elixir/ebin for
// Elixir — is kept whole: erts, the code path lib/*/ebin, NIFs in
// lib/*/priv with their libraries, boot files. Each ERL_LIBS element adds
// its */ebin and */priv; mix's deps/ and _build/ beside the application are
// its dependencies.
var Erlang = &Runtime{
	ID:               "erlang",
	What:             "Erlang/OTP code path",
	Programs:         regexp.MustCompile(`^(beam(\.smp)?|erlexec)$`),
	Launchers:        regexp.MustCompile(`^(erl|escript|elixir|iex|mix)$`),
	Runs:             []string{"erl"},
	Prefix:           Prefix{Landmarks: []string{"releases", "lib/elixir/ebin"}},
	Trees:            []string{"{prefix}"},
	Env:              []EnvPath{{Name: "ERL_LIBS", Pattern: "*/ebin"}, {Name: "ERL_LIBS", Pattern: "*/priv"}},
	Deps:             []Dep{{Beside: "deps"}, {Beside: "_build"}},
	AppFiles:         []string{".beam", ".app", ".erl", ".ex", ".exs", "rebar.config"},
	Uses:             []Capability{VerifiesTLS},
	TraceReplaceable: true,
}
