package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"path"
	"sort"

	"github.com/dustin/go-humanize"
)

//go:embed report.html.tmpl
var htmlTemplate string

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

// group is the kept paths that share a primary reason kind.
type group struct {
	Kind  string
	Bytes int64
	Items []Kept
}

// WriteHTML renders the report as one self-contained page: sizes, what an
// attacker lost, the packages that remain, and every kept path with its
// chain of reasons, grouped by why it was kept.
func (r *Report) WriteHTML(w io.Writer) error {
	byKind := map[string]*group{}
	for _, k := range r.Kept {
		if k.Type == "dir" {
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
		g.Bytes += k.Size
		g.Items = append(g.Items, k)
	}
	groups := make([]*group, 0, len(byKind))
	for _, g := range byKind {
		sort.Slice(g.Items, func(i, j int) bool { return g.Items[i].Size > g.Items[j].Size })
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].Bytes != groups[j].Bytes {
			return groups[i].Bytes > groups[j].Bytes
		}
		return groups[i].Kind < groups[j].Kind
	})
	return pageTmpl.Execute(w, struct {
		*Report
		Groups []*group
	}{r, groups})
}
