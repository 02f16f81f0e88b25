package knowledge_test

import (
	"testing"

	"github.com/pare-dev/pare/internal/knowledge"
)

func TestOptionalIn(t *testing.T) {
	lib := []string{"plpgsql.so", "llvmjit.so", "llvmjit_types.bc", "bitcode"}
	for _, tt := range []struct {
		path     string
		siblings []string
		plugin   string // "" when not optional
	}{
		{"/usr/lib/postgresql/15/lib/llvmjit.so", lib, "llvmjit.so"},
		{"/usr/lib/postgresql/15/lib/bitcode", lib, "llvmjit.so"},
		{"/usr/lib/postgresql/15/lib/llvmjit_types.bc", lib, "llvmjit.so"},
		{"/usr/lib/postgresql/15/lib/plpgsql.so", lib, ""},
		// a bitcode directory beside no JIT plugin is someone else's data
		{"/usr/lib/other/bitcode", []string{"bitcode", "other.so"}, ""},
	} {
		o, plugin := knowledge.OptionalIn(tt.path, tt.siblings)
		if (o == nil) != (tt.plugin == "") || plugin != tt.plugin {
			t.Errorf("OptionalIn(%s) = %v, %q; want plugin %q", tt.path, o != nil, plugin, tt.plugin)
		}
		if o != nil && o.Note == "" {
			t.Errorf("%s: an optional plugin without a note", tt.path)
		}
	}
}
