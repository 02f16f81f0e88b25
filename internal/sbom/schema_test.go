package sbom

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The official schemas, vendored in testdata/schema (see its README).
var schemaFiles = map[Format]struct {
	id    string
	files map[string]string // $id -> file
}{
	FormatSPDX: {"http://spdx.org/rdf/terms/2.3", map[string]string{
		"http://spdx.org/rdf/terms/2.3": "spdx-schema-2.3.json",
	}},
	FormatCycloneDX: {"http://cyclonedx.org/schema/bom-1.6.schema.json", map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schema.json",
	}},
}

var (
	schemaMu    sync.Mutex
	schemaCache = map[Format]*jsonschema.Schema{}
)

// schema compiles the official JSON schema of f from testdata, offline
// (only the vendored files are known to the compiler), asserting formats.
func schema(t testing.TB, f Format) *jsonschema.Schema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s := schemaCache[f]; s != nil {
		return s
	}
	sf := schemaFiles[f]
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(noLoader{})
	for id, file := range sf.files {
		b, err := os.ReadFile(filepath.Join("testdata", "schema", file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	s, err := c.Compile(sf.id)
	if err != nil {
		t.Fatalf("compiling %s: %v", sf.id, err)
	}
	schemaCache[f] = s
	return s
}

// noLoader refuses every URL: the tests never reach the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) { return nil, os.ErrNotExist }

// validateJSON validates doc, an SBOM in format f, against its official
// schema (ValidateJSON for the external tests of this directory).
func validateJSON(t testing.TB, f Format, doc []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return schema(t, f).Validate(inst)
}

// ValidateJSON is validateJSON for package sbom_test.
var ValidateJSON = validateJSON
