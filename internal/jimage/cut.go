package jimage

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// The classes jlink's system-modules plugin generates into java.base: the
// module graph of the whole image, precomputed. A cut image cannot keep
// them (they name the dropped modules, and the boot layer would define
// modules without classes), so Cut writes SystemModulesMap as java.base's
// own source has it, the map jlink leaves with the plugin disabled: it
// names no SystemModules class, and the runtime reads the graph from the
// kept modules' module-info classes.
const (
	systemModulesMap    = "/java.base/jdk/internal/module/SystemModulesMap.class"
	systemModulesPrefix = "/java.base/jdk/internal/module/SystemModules$"
)

// Cut returns the resources of the modules in keep, ready for Write. When
// java.base carries jlink's generated SystemModules classes they are left
// out and SystemModulesMap is replaced (see above).
func (im *Image) Cut(keep map[string]bool) ([]Resource, error) {
	locs, err := im.Locations()
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, l := range locs {
		if l.Module == "" || l.Module == "modules" || l.Module == "packages" || !keep[l.Module] {
			continue
		}
		name := l.Name()
		if strings.HasPrefix(name, systemModulesPrefix) {
			continue
		}
		l := l
		r := Resource{Name: name, Size: l.Uncompressed, Read: func() ([]byte, error) { return im.Read(l) }}
		if name == systemModulesMap {
			orig, err := im.Read(l)
			if err != nil {
				return nil, err
			}
			if len(orig) < 8 {
				return nil, fmt.Errorf("%s: truncated", name)
			}
			data := systemModulesMapClass(binary.BigEndian.Uint16(orig[6:]))
			r.Size, r.Read = uint64(len(data)), func() ([]byte, error) { return data, nil }
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// systemModulesMapClass returns the class file of
// jdk.internal.module.SystemModulesMap whose allSystemModules and
// defaultSystemModules return null and whose moduleNames and classNames
// return empty arrays, in class file version major.
func systemModulesMapClass(major uint16) []byte {
	var cp []byte
	count := uint16(1)
	utf := func(s string) uint16 {
		cp = append(cp, 1)
		cp = binary.BigEndian.AppendUint16(cp, uint16(len(s)))
		cp = append(cp, s...)
		count++
		return count - 1
	}
	two := func(tag byte, a, b uint16, withB bool) uint16 {
		cp = append(cp, tag)
		cp = binary.BigEndian.AppendUint16(cp, a)
		if withB {
			cp = binary.BigEndian.AppendUint16(cp, b)
		}
		count++
		return count - 1
	}
	this := two(7, utf("jdk/internal/module/SystemModulesMap"), 0, false)
	object := two(7, utf("java/lang/Object"), 0, false)
	str := two(7, utf("java/lang/String"), 0, false)
	initName, voidDesc := utf("<init>"), utf("()V")
	objectInit := two(10, object, two(12, initName, voidDesc, true), true)
	code := utf("Code")
	sysDesc := utf("()Ljdk/internal/module/SystemModules;")
	arrDesc := utf("()[Ljava/lang/String;")
	type method struct {
		flags, name, desc uint16
		locals            uint16
		code              []byte
	}
	newArray := []byte{0x03, 0xbd, byte(str >> 8), byte(str), 0xb0} // iconst_0; anewarray String; areturn
	methods := []method{
		{0, initName, voidDesc, 1, []byte{0x2a, 0xb7, byte(objectInit >> 8), byte(objectInit), 0xb1}}, // aload_0; invokespecial; return
		{0x0008, utf("allSystemModules"), sysDesc, 0, []byte{0x01, 0xb0}},                             // aconst_null; areturn
		{0x0008, utf("defaultSystemModules"), sysDesc, 0, []byte{0x01, 0xb0}},
		{0x0008, utf("moduleNames"), arrDesc, 0, newArray},
		{0x0008, utf("classNames"), arrDesc, 0, newArray},
	}
	b := binary.BigEndian.AppendUint32(nil, 0xCAFEBABE)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, major)
	b = binary.BigEndian.AppendUint16(b, count)
	b = append(b, cp...)
	b = binary.BigEndian.AppendUint16(b, 0x0030) // final, super
	b = binary.BigEndian.AppendUint16(b, this)
	b = binary.BigEndian.AppendUint16(b, object)
	b = binary.BigEndian.AppendUint16(b, 0) // interfaces
	b = binary.BigEndian.AppendUint16(b, 0) // fields
	b = binary.BigEndian.AppendUint16(b, uint16(len(methods)))
	for _, m := range methods {
		b = binary.BigEndian.AppendUint16(b, m.flags)
		b = binary.BigEndian.AppendUint16(b, m.name)
		b = binary.BigEndian.AppendUint16(b, m.desc)
		b = binary.BigEndian.AppendUint16(b, 1) // one attribute: Code
		b = binary.BigEndian.AppendUint16(b, code)
		b = binary.BigEndian.AppendUint32(b, uint32(12+len(m.code)))
		b = binary.BigEndian.AppendUint16(b, 1) // max_stack
		b = binary.BigEndian.AppendUint16(b, m.locals)
		b = binary.BigEndian.AppendUint32(b, uint32(len(m.code)))
		b = append(b, m.code...)
		b = binary.BigEndian.AppendUint16(b, 0) // exception table
		b = binary.BigEndian.AppendUint16(b, 0) // attributes
	}
	return binary.BigEndian.AppendUint16(b, 0) // class attributes
}

// ModuleInfo reads the declaration of module m from the image.
func (im *Image) ModuleInfo(m string) (*ModuleInfo, error) {
	l, ok := im.Find("/" + m + "/module-info.class")
	if !ok {
		return nil, fmt.Errorf("module %s has no module-info.class", m)
	}
	data, err := im.Read(l)
	if err != nil {
		return nil, err
	}
	c, err := ParseClass(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Name(), err)
	}
	if c.Module == nil {
		return nil, fmt.Errorf("%s: no Module attribute", l.Name())
	}
	return c.Module, nil
}
