package jimage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Class is what a class file refers to, read from its constant pool.
type Class struct {
	// Name is the class's own binary name (java/lang/Object).
	Name string
	// Refs are the binary names of the classes its constant pool names:
	// Class entries (arrays unwrapped) and the L...; types of descriptors
	// and signatures.
	Refs []string
	// Strings are its string constants (Class.forName arguments among them).
	Strings []string
	// Methods are the names of the methods it calls or references.
	Methods []string
	// Module is the Module attribute of a module-info class, else nil.
	Module *ModuleInfo
}

// ModuleInfo is a module declaration (module-info.class).
type ModuleInfo struct {
	Name     string
	Requires []Require
	Exports  []string // dotted package names
	Uses     []string // dotted service names
	Provides map[string][]string
}

// Require is one requires directive.
type Require struct {
	Name       string
	Transitive bool
	Static     bool
}

const (
	requiresTransitive = 0x0020
	requiresStatic     = 0x0040
)

type cpEntry struct {
	tag  byte
	a, b uint16
	utf  string
}

var errShort = errors.New("class file truncated")

type reader struct {
	p   []byte
	err error
}

func (r *reader) u1() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u2() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u4() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// bytes consumes the next n bytes; past the end it records errShort and
// returns nil (and nothing after it can be read).
func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.p) < n {
		r.err, r.p = errShort, nil
		return nil
	}
	v := r.p[:n:n]
	r.p = r.p[n:]
	return v
}

// ParseClass reads the constant pool of a class file and, for a
// module-info class, its Module attribute.
func ParseClass(data []byte) (*Class, error) {
	r := &reader{p: data}
	if r.u4() != 0xCAFEBABE {
		return nil, errors.New("not a class file")
	}
	r.u2()
	r.u2()
	n := int(r.u2())
	cp := make([]cpEntry, n)
	for i := 1; i < n && r.err == nil; i++ {
		e := cpEntry{tag: r.u1()}
		switch e.tag {
		case 1:
			e.utf = string(r.bytes(int(r.u2())))
		case 3, 4:
			r.u4()
		case 5, 6:
			r.u4()
			r.u4()
			cp[i] = e
			i++ // takes two slots
			continue
		case 7, 8, 16, 19, 20:
			e.a = r.u2()
		case 9, 10, 11, 12, 17, 18:
			e.a, e.b = r.u2(), r.u2()
		case 15:
			r.u1()
			e.a = r.u2()
		default:
			return nil, fmt.Errorf("constant pool entry %d: bad tag %d", i, e.tag)
		}
		cp[i] = e
	}
	if r.err != nil {
		return nil, r.err
	}
	utf := func(i uint16) string {
		if int(i) < n && cp[i].tag == 1 {
			return cp[i].utf
		}
		return ""
	}
	ref := func(i uint16, tag byte) string {
		if int(i) < n && cp[i].tag == tag {
			return utf(cp[i].a)
		}
		return ""
	}
	c := &Class{}
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			c.Refs = append(c.Refs, name)
		}
	}
	for i := 1; i < n; i++ {
		e := cp[i]
		switch e.tag {
		case 7:
			name := utf(e.a)
			if strings.HasPrefix(name, "[") {
				descriptorTypes(name, add)
			} else {
				add(name)
			}
		case 8:
			c.Strings = append(c.Strings, utf(e.a))
		case 1:
			if strings.Contains(e.utf, ";") && strings.Contains(e.utf, "L") {
				descriptorTypes(e.utf, add)
			}
		case 10, 11:
			if int(e.b) < n && cp[e.b].tag == 12 {
				c.Methods = append(c.Methods, utf(cp[e.b].a))
			}
		}
	}
	r.u2() // access
	c.Name = ref(r.u2(), 7)
	r.u2() // super
	r.bytes(2 * int(r.u2()))
	for k := 0; k < 2 && r.err == nil; k++ { // fields, methods
		for m := int(r.u2()); m > 0 && r.err == nil; m-- {
			r.bytes(6)
			skipAttributes(r)
		}
	}
	for a := int(r.u2()); a > 0 && r.err == nil; a-- {
		name := utf(r.u2())
		body := r.bytes(int(r.u4()))
		if name == "Module" && r.err == nil {
			mi, err := parseModule(body, utf, ref)
			if err != nil {
				return nil, err
			}
			c.Module = mi
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

func skipAttributes(r *reader) {
	for a := int(r.u2()); a > 0 && r.err == nil; a-- {
		r.u2()
		r.bytes(int(r.u4()))
	}
}

func parseModule(body []byte, utf func(uint16) string, ref func(uint16, byte) string) (*ModuleInfo, error) {
	r := &reader{p: body}
	mi := &ModuleInfo{Name: ref(r.u2(), 19), Provides: map[string][]string{}}
	r.u2()
	r.u2()
	for k := int(r.u2()); k > 0 && r.err == nil; k-- {
		name, flags := ref(r.u2(), 19), r.u2()
		r.u2()
		mi.Requires = append(mi.Requires, Require{Name: name, Transitive: flags&requiresTransitive != 0, Static: flags&requiresStatic != 0})
	}
	for k := 0; k < 2 && r.err == nil; k++ { // exports, opens
		for e := int(r.u2()); e > 0 && r.err == nil; e-- {
			pkg := ref(r.u2(), 20)
			r.u2()
			to := int(r.u2())
			r.bytes(2 * to)
			if k == 0 && to == 0 {
				mi.Exports = append(mi.Exports, strings.ReplaceAll(pkg, "/", "."))
			}
		}
	}
	for u := int(r.u2()); u > 0 && r.err == nil; u-- {
		mi.Uses = append(mi.Uses, strings.ReplaceAll(ref(r.u2(), 7), "/", "."))
	}
	for p := int(r.u2()); p > 0 && r.err == nil; p-- {
		svc := strings.ReplaceAll(ref(r.u2(), 7), "/", ".")
		for w := int(r.u2()); w > 0 && r.err == nil; w-- {
			mi.Provides[svc] = append(mi.Provides[svc], strings.ReplaceAll(ref(r.u2(), 7), "/", "."))
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("module attribute: %w", r.err)
	}
	if mi.Name == "" {
		return nil, errors.New("module attribute names no module")
	}
	return mi, nil
}

// descriptorTypes calls add with each class name of the form Lname; (or
// Lname< in a generic signature) in a descriptor or signature. A string
// that only looks like one gives a name too: the names are looked up as
// packages of the image, so a stray one costs at most a module.
func descriptorTypes(s string, add func(string)) {
	for i := 0; i < len(s); i++ {
		if s[i] != 'L' {
			continue
		}
		j := i + 1
		for j < len(s) && isIdent(s[j]) {
			j++
		}
		if j < len(s) && (s[j] == ';' || s[j] == '<') && j > i+1 {
			add(s[i+1 : j])
			i = j
		}
	}
}

func isIdent(b byte) bool {
	return b == '/' || b == '$' || b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= 0x80
}

// Package returns the dotted package of a binary class name ("" for the
// unnamed package).
func Package(binaryName string) string {
	i := strings.LastIndexByte(binaryName, '/')
	if i < 0 {
		return ""
	}
	return strings.ReplaceAll(binaryName[:i], "/", ".")
}
