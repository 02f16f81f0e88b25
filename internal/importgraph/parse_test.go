package importgraph

import (
	"fmt"
	"strings"
	"testing"
)

// show renders imports one per line for comparison.
func show(ims []Import) string {
	var b strings.Builder
	for _, im := range ims {
		fmt.Fprintf(&b, "%d %s %q", im.Line, im.Kind, im.Name)
		if im.Level > 0 {
			fmt.Fprintf(&b, " level=%d", im.Level)
		}
		if len(im.From) > 0 {
			fmt.Fprintf(&b, " from=%s", strings.Join(im.From, ","))
		}
		if im.Dynamic {
			b.WriteString(" dynamic")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func check(t *testing.T, got []Import, want string) {
	t.Helper()
	want = strings.TrimLeft(strings.ReplaceAll(want, "\t", ""), "\n")
	if g := show(got); g != want {
		t.Errorf("got:\n%s\nwant:\n%s", g, want)
	}
}

func TestParsePython(t *testing.T) {
	src := `"""import notthis
from nor import this"""
import os, sys as system
import a.b.c
from . import sibling
from ..pkg.mod import (x,
    y as z,  # import comment
    w)
from .rel import *
s = "import fake"; import real  # import notacomment
try:
    import cPickle as pickle
except ImportError:
    import pickle
def f():
    from json import decoder
x = \
    1; import after_continuation
m = importlib.import_module("plug.ins")
n = __import__('dyn')
o = importlib.import_module(name)
p = import_module("encodings." + name)
q = import_module(f"codecs_{x}")
r = b'import nope'
if x: import inline
obj.__import__("no")
`
	check(t, ParsePython([]byte(src)), `
	3 import "os"
	3 import "sys"
	4 import "a.b.c"
	5 from "" level=1 from=sibling
	6 from "pkg.mod" level=2 from=x,y,w
	9 from "rel" level=1 from=*
	10 import "real"
	12 import "cPickle"
	14 import "pickle"
	16 from "json" from=decoder
	18 import "after_continuation"
	19 import_module "plug.ins"
	20 __import__ "dyn"
	21 import_module "" dynamic
	22 import_module "encodings." dynamic
	23 import_module "codecs_" dynamic
	25 import "inline"
	`)
}

func TestParseRuby(t *testing.T) {
	src := `# require 'commented'
require 'json'
require "net/http"
require_relative '../lib/helper'
require("paren")
load 'tasks.rb'
autoload :Foo, 'foo/bar'
s = "require 'instring'"
x = <<~EOS
  require 'heredoc'
EOS
require 'after_heredoc'
=begin
require 'in_block'
=end
require "rubygems/defaults/#{RUBY_ENGINE}"
require name
require File.expand_path('support', __dir__)
require 'optional' rescue nil
re = /require 'inregex'/
w = %w[require foo]
obj.require 'method'
require 'last' if defined?(X)
__END__
require 'data'
`
	check(t, ParseRuby([]byte(src)), `
	2 require "json"
	3 require "net/http"
	4 require_relative "../lib/helper"
	5 require "paren"
	6 load "tasks.rb"
	7 autoload "foo/bar"
	12 require "after_heredoc"
	16 require "rubygems/defaults/" dynamic
	17 require "" dynamic
	18 require_relative "support"
	19 require "optional"
	23 require "last"
	`)
}

func TestParseJS(t *testing.T) {
	src := "#!/usr/bin/env node\n" + `// require('commented')
/* import x from 'block' */
const a = require('a');
const b = require("./b")
const s = "require('instring')";
const t = ` + "`require('intemplate') ${require('inside-subst')} tail`" + `;
const re = /require\('inregex'\)/g;
const d = x / require('after-division');
import def, { named } from "esm";
import {
  multi,
  line,
} from './multi.mjs';
import 'side-effect';
export * from "reexport";
export { y } from './y.js';
export const z = 1;
const lazy = await import('lazy');
require(variable);
require('./locale/' + lang);
require(` + "`./t/${x}`" + `);
require.resolve('resolved');
obj.require('method');
import.meta.url;
`
	check(t, ParseJS([]byte(src)), `
	4 require "a"
	5 require "./b"
	7 require "inside-subst"
	9 require "after-division"
	10 import "esm"
	11 import "./multi.mjs"
	15 import "side-effect"
	16 export from "reexport"
	17 export from "./y.js"
	19 import() "lazy"
	20 require "" dynamic
	21 require "./locale/" dynamic
	22 require "./t/" dynamic
	23 require.resolve "resolved"
	`)
}

func FuzzParsePython(f *testing.F) {
	f.Add([]byte("from . import (a,\n b)\nimport x.y as z\n'''s\n'''\n"))
	f.Add([]byte("__import__(f'x{y}')\n\\\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, im := range ParsePython(src) {
			if im.Line < 1 || im.Line > strings.Count(string(src), "\n")+1 {
				t.Fatalf("line %d out of range", im.Line)
			}
		}
	})
}

func FuzzParseRuby(f *testing.F) {
	f.Add([]byte("require 'a'\nx = <<~E\nrequire 'b'\nE\n%w[a b]\n/re/\n"))
	f.Add([]byte("require \"a#{b \"c\"}\"\n=begin\n=end\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, im := range ParseRuby(src) {
			if im.Line < 1 || im.Line > strings.Count(string(src), "\n")+1 {
				t.Fatalf("line %d out of range", im.Line)
			}
		}
	})
}

func FuzzParseJS(f *testing.F) {
	f.Add([]byte("import a from 'b'\nconst x = `${require('c')}`\n/re/g\n"))
	f.Add([]byte("export { a } from \"./a\"; require(x + 'y')"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, im := range ParseJS(src) {
			if im.Line < 1 || im.Line > strings.Count(string(src), "\n")+1 {
				t.Fatalf("line %d out of range", im.Line)
			}
		}
	})
}

func TestParsePerl(t *testing.T) {
	src := `#!/usr/bin/perl
use strict;
use v5.36;
use lib 'vendor', "$FindBin::Bin/../lib";
use parent -norequire, 'Skipped::Parent';
use base qw(Base::One Base::Two);
use if $] < 5.008, 'Old::Module' => 1;
no warnings 'once';
my $re = qr{use Not::A::Module};
my $s = 'require Not::Either';
my $x = $h{use} / 2; # use Not::Comment
print <<"EOT";
use Not::Heredoc;
EOT
require Foo::Bar;
require "config.pl";
do 'defaults.pl';
require $dynamic;
eval "use Evaled::Module; 1" or die;
$obj->require('Not::Method');
if ($!{ENOENT}) { print $+{name} }
open(my $fh, '<:encoding(UTF-8)', $f);
s{use Not::Subst}{x}g;
=pod

use Not::Pod;

=cut
use After::Pod;
__END__
use Not::After::End;
`
	var got []string
	for _, im := range ParsePerl([]byte(src)) {
		s := im.Kind + " " + im.Name
		if im.Dynamic {
			s += " (dynamic)"
		}
		got = append(got, s)
	}
	want := []string{"use strict", "use feature", "use strict", "use warnings", "use lib", "lib vendor", "lib $FindBin::Bin/../lib",
		"use parent", "use base", "use base Base::One", "use base Base::Two", "use if", "use if Old::Module", "no warnings",
		"require Foo::Bar", "file config.pl", "file defaults.pl", "require  (dynamic)", "use Evaled::Module", "use After::Pod",
		"implicit Errno", "implicit Tie::Hash::NamedCapture", "implicit PerlIO::encoding"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func FuzzParsePerl(f *testing.F) {
	f.Add([]byte("use strict;\nuse POSIX qw(floor);\nrequire Foo::Bar;\n"))
	f.Add([]byte("print <<~EOT;\n  use X;\n  EOT\ns{a}{b}g; tr/a-z//; m#x#; $#a; $h{q} = q(x (y) z);\n=head1 X\n=cut\n"))
	f.Add([]byte("use parent -norequire, qw(A B);\neval 'use C';\ndo \"x.pl\";\n__DATA__\nuse D;"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, im := range ParsePerl(src) {
			if im.Line < 1 || im.Line > strings.Count(string(src), "\n")+1 {
				t.Fatalf("line %d out of range", im.Line)
			}
		}
	})
}

func TestParseTcl(t *testing.T) {
	src := `# package require Not::Comment
package require Tcl 8.6
package require -exact json 1.3
proc f {x} {
	package require base64
	set y [encoding convertto koi8-r $x]
	fconfigure stdout -encoding iso8859-2
	return "[package require uri]"
}
set s {package require in::braces}
package require $name
encoding convertfrom $enc $data
encoding convertto $data
source -encoding utf-8 lib.tcl
`
	var got []string
	for _, im := range ParseTcl([]byte(src)) {
		s := fmt.Sprintf("%d %s %s", im.Line, im.Kind, im.Name)
		if im.Dynamic {
			s += " (dynamic)"
		}
		got = append(got, s)
	}
	want := []string{"2 package Tcl", "3 package json", "5 package base64", "6 encoding koi8-r", "7 encoding iso8859-2",
		"8 package uri", "10 package in::braces", "11 package  (dynamic)", "12 encoding  (dynamic)", "14 encoding utf-8"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func FuzzParseTcl(f *testing.F) {
	f.Add([]byte("package require json\nproc p {} { encoding convertto koi8-r [x \"y\"] }\n"))
	f.Add([]byte("set a \"[b {c}] \\\n d\"; # x\n{*}$l\nfconfigure $f -encoding $e\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, im := range ParseTcl(src) {
			if im.Line < 1 || im.Line > strings.Count(string(src), "\n")+1 {
				t.Fatalf("line %d out of range", im.Line)
			}
		}
	})
}

func TestParseRubyLazy(t *testing.T) {
	src := "require 'a'\nmodule M\n  require 'b'\n  def self.f\n    require 'c'\n    x = <<~E\nrequire 'not'\nE\n    require 'd'\n  end\n  require 'e'\n  private def g\n    require 'f'\n  end\n  def h = require('g')\nend\n"
	var got []string
	for _, im := range ParseRuby([]byte(src)) {
		got = append(got, fmt.Sprintf("%s %v", im.Name, im.Lazy))
	}
	want := "a false\nb false\nc true\nd true\ne false\nf true\ng false"
	if strings.Join(got, "\n") != want {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
}

func TestParsePythonLazy(t *testing.T) {
	src := `import eager
class C:
    import in_class_body
    def m(self):
        import in_method
        if x:
            from deep import y
    import after_method
def f(a,
      b):
	importlib.import_module("tabbed")
async def g():
    import in_async
try:
    import in_try
except ImportError:
    pass
def h(): import one_line_def
`
	var got []string
	for _, im := range ParsePython([]byte(src)) {
		got = append(got, fmt.Sprintf("%s:%v", im.Name, im.Lazy))
	}
	want := "eager:false in_class_body:false in_method:true deep:true after_method:false tabbed:true in_async:true in_try:false one_line_def:false"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
}
