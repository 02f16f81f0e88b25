package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"path"
	"sort"

	"github.com/dustin/go-humanize"
)

//go:embed report.html.tmpl
var htmlTemplate string

// pageScript draws the treemap, the search and the per-reason lists from
// the report embedded in the page.
//
//go:embed report.js
var pageScript string

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes": func(n int64) string { return humanize.IBytes(uint64(n)) },
	"pct": func(a, b int64) string {
		if b == 0 {
			return "0"
		}
		return fmt.Sprintf("%.1f", 100*(1-float64(a)/float64(b)))
	},
	"width": func(a, b int64) string {
		if b == 0 {
			return "0"
		}
		return fmt.Sprintf("%.2f", 100*float64(a)/float64(b))
	},
	"names": func(paths []string) []string {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = path.Base(p)
		}
		return dedupe(out)
	},
}).Parse(htmlTemplate))

// group is the kept paths that share a primary reason kind; the page's
// script lists them from the embedded report when the group is opened.
type group struct {
	Kind  string
	Bytes int64
	Paths int
}

// WriteHTML renders the report as one self-contained page (no external
// asset): sizes, a treemap of the kept and dropped bytes by directory, a
// search over the kept paths that shows each one's chain of reasons, what
// an attacker lost, and the packages that remain. The report itself is
// embedded as JSON (the JSON report's model) and is what the page's script
// draws from.
func (r *Report) WriteHTML(w io.Writer) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	byKind := map[string]*group{}
	for k := range r.KeptPaths() {
		if k.Type == "dir" || len(k.Reasons) == 0 {
			continue
		}
		kind := string(k.Reasons[0].Kind)
		if k.Reasons[0].Rule != "" {
			kind += ": " + k.Reasons[0].Rule
		}
		g := byKind[kind]
		if g == nil {
			g = &group{Kind: kind}
			byKind[kind] = g
		}
		if k.SameAs == "" {
			g.Bytes += k.Size
		}
		g.Paths++
	}
	groups := make([]*group, 0, len(byKind))
	for _, g := range byKind {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].Bytes != groups[j].Bytes {
			return groups[i].Bytes > groups[j].Bytes
		}
		return groups[i].Kind < groups[j].Kind
	})
	// json.Marshal escapes <, > and & (and U+2028, U+2029), so the data
	// cannot end its script element.
	return pageTmpl.Execute(w, struct {
		*Report
		Groups []*group
		Data   template.JS
		Script template.JS
	}{r, groups, template.JS(data), template.JS(pageScript)})
}
