package probe

import (
	"fmt"
	"strconv"
)

// Fields compared by Compare, as found in Difference.Field.
const (
	FieldMissing  = "missing"  // a result exists on one side only
	FieldKind     = "kind"     // what the port spoke (Port probes: http or tcp)
	FieldOutcome  = "outcome"  // how the probe ended (refused, exited, timeout, ...)
	FieldOK       = "ok"       // success differs
	FieldExited   = "exited"   // the container had exited after the probe on one side only
	FieldStatus   = "status"   // HTTP status differs
	FieldExitCode = "exitCode" // exit code differs
	FieldDigest   = "digest"   // body or stdout differs
)

// Difference is one way two runs of the same probe disagree.
type Difference struct {
	Name  string `json:"name"`
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: %s %s != %s", d.Name, d.Field, d.A, d.B)
}

// Compare matches results by Name and reports where b differs from a in the
// deterministic fields: presence, Kind, Outcome, OK, Status, ExitCode,
// Exited and Digest (in that order for each probe, probes in the order of
// a, then those only in b). So two runs that both fail a probe differ
// when they failed differently: a refused connection and a container that
// died at start are not the same behaviour. Duration, Head and Err text
// are not compared. Callers that expect
// varying bodies (dates, ids) can drop FieldDigest differences.
func Compare(a, b []Result) []Difference {
	bi := make(map[string]int, len(b))
	for i, r := range b {
		if _, dup := bi[r.Name]; !dup {
			bi[r.Name] = i
		}
	}
	seen := make(map[string]bool, len(a))
	var diffs []Difference
	for _, ra := range a {
		if seen[ra.Name] {
			continue
		}
		seen[ra.Name] = true
		j, ok := bi[ra.Name]
		if !ok {
			diffs = append(diffs, Difference{ra.Name, FieldMissing, "present", "absent"})
			continue
		}
		rb := b[j]
		add := func(field, x, y string) {
			if x != y {
				diffs = append(diffs, Difference{ra.Name, field, x, y})
			}
		}
		add(FieldKind, ra.Kind, rb.Kind)
		add(FieldOutcome, ra.Outcome, rb.Outcome)
		add(FieldOK, strconv.FormatBool(ra.OK), strconv.FormatBool(rb.OK))
		add(FieldStatus, strconv.Itoa(ra.Status), strconv.Itoa(rb.Status))
		add(FieldExitCode, strconv.Itoa(ra.ExitCode), strconv.Itoa(rb.ExitCode))
		add(FieldExited, strconv.FormatBool(ra.Exited), strconv.FormatBool(rb.Exited))
		add(FieldDigest, ra.Digest, rb.Digest)
	}
	for _, rb := range b {
		if !seen[rb.Name] {
			seen[rb.Name] = true
			diffs = append(diffs, Difference{rb.Name, FieldMissing, "absent", "present"})
		}
	}
	return diffs
}
