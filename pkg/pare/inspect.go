package pare

import (
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/pare-dev/pare/internal/layerstats"
	"github.com/pare-dev/pare/pkg/rootfs"
)

// InspectOptions configure Inspect.
type InspectOptions struct {
	// Build are the options of the pare build dry run.
	Build BuildOptions
	// Top is how many of the largest wasted files and dropped directories
	// the result lists (default 10).
	Top int
	// Progress, when not nil, is called after each layer is measured.
	Progress func(layer, layers int)
}

// InspectResult is where an image's bytes are, layer by layer, and what
// pare build would keep of them.
//
// Sizes are the bytes of regular files as the layer tars record them (a
// hardlink adds none). Wasted bytes are the content of layer files that
// does not reach the merged filesystem: overwritten by a later layer,
// deleted by a whiteout or hidden under an opaque directory. Efficiency is
// 1 - WastedBytes/TotalBytes, the share of the layers' bytes the merged
// filesystem shows (MergedBytes/TotalBytes). Unlike dive, which also
// counts the surviving copy of a path written in several layers, only the
// copies that are lost count as wasted.
type InspectResult struct {
	Source string `json:"source"`
	// Layers lists the history entries in order, with the layer each
	// non-empty one made; entries marked empty_layer (ENV, CMD, ...) have
	// no layer. Without a matching history, one entry per layer.
	Layers      []InspectLayer `json:"layers"`
	LayerCount  int            `json:"layer_count"`
	TotalBytes  int64          `json:"total_bytes"`
	MergedBytes int64          `json:"merged_bytes"`
	WastedBytes int64          `json:"wasted_bytes"`
	Efficiency  float64        `json:"efficiency"`
	// WastedFiles are the largest wasted paths (Top of them);
	// WastedFileCount counts them all.
	WastedFiles     []WastedFile `json:"wasted_files"`
	WastedFileCount int          `json:"wasted_file_count"`
	// Pared is the pare build dry run; nil when it failed, with ParedError
	// saying why.
	Pared      *ParedDryRun `json:"pared,omitempty"`
	ParedError string       `json:"pared_error,omitempty"`
}

// InspectLayer is one history entry and the layer it made.
type InspectLayer struct {
	// Index is the 0-based index of the layer, -1 for an empty history entry.
	Index     int    `json:"index"`
	Command   string `json:"command"`
	Created   string `json:"created,omitempty"`
	Empty     bool   `json:"empty_layer,omitempty"`
	DiffID    string `json:"diff_id,omitempty"`
	Files     int    `json:"files"`
	Bytes     int64  `json:"bytes"`
	TarBytes  int64  `json:"tar_bytes"`
	Whiteouts int    `json:"whiteouts"`
	// Wasted are this layer's bytes that later layers hide; Hidden the
	// bytes of earlier layers this one hides.
	Wasted int64 `json:"wasted_bytes"`
	Hidden int64 `json:"hidden_bytes"`
}

// WastedFile is a path whose content in some layers never reaches the
// merged filesystem.
type WastedFile struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	Copies int    `json:"copies"`
	Layers []int  `json:"layers"` // 0-based indexes of the layers holding them
}

// ParedDryRun is what pare build would make of the image, without writing
// it. Sizes count regular files of the merged filesystem, each inode once.
type ParedDryRun struct {
	BeforeFiles  int   `json:"before_files"`
	BeforeBytes  int64 `json:"before_bytes"`
	AfterFiles   int   `json:"after_files"`
	AfterBytes   int64 `json:"after_bytes"`
	KeptPaths    int   `json:"kept_paths"`
	DroppedFiles int   `json:"dropped_files"`
	DroppedBytes int64 `json:"dropped_bytes"`
	// TopDropped are the directories (at most three levels deep) holding
	// the most dropped bytes.
	TopDropped []DroppedDir     `json:"top_dropped"`
	Warnings   []Warning        `json:"warnings,omitempty"`
	Missing    []MissingLibrary `json:"missing,omitempty"`
	Report     *Report          `json:"-"`
}

// DroppedDir totals the dropped regular files under a directory.
type DroppedDir struct {
	Path  string `json:"path"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

// Inspect measures src's layers (read from src.Image; a dir: source has
// none) and runs pare build's computation without writing an image.
func Inspect(ctx context.Context, src *Source, o InspectOptions) (*InspectResult, error) {
	top := o.Top
	if top <= 0 {
		top = 10
	}
	out := &InspectResult{Source: src.Ref.String(), Layers: []InspectLayer{}, WastedFiles: []WastedFile{}}
	st := &layerstats.Stats{}
	if src.Image != nil {
		layers, err := src.Image.Layers()
		if err != nil {
			return nil, fmt.Errorf("reading layers of %s: %w", src.Ref, err)
		}
		var progress func(int)
		if o.Progress != nil {
			progress = func(i int) { o.Progress(i, len(layers)) }
		}
		if st, err = layerstats.Compute(ctx, layers, progress); err != nil {
			return nil, fmt.Errorf("measuring layers of %s: %w", src.Ref, err)
		}
	}
	out.LayerCount = len(st.Layers)
	out.TotalBytes, out.WastedBytes = st.Total, st.Wasted
	out.MergedBytes = st.Total - st.Wasted
	out.Efficiency = st.Efficiency()
	out.Layers = historyLayers(src, st.Layers)
	files := st.Files()
	out.WastedFileCount = len(files)
	for _, f := range files[:min(top, len(files))] {
		out.WastedFiles = append(out.WastedFiles, WastedFile{Path: f.Path, Bytes: f.Bytes, Copies: f.Copies, Layers: f.Layers})
	}
	dry, err := dryRun(src, o.Build, top)
	if err != nil {
		out.ParedError = err.Error()
	} else {
		out.Pared = dry
	}
	return out, nil
}

// historyLayers pairs the config history with the layers.
func historyLayers(src *Source, layers []layerstats.Layer) []InspectLayer {
	fill := func(il *InspectLayer, i int) {
		l := layers[i]
		il.Index, il.DiffID = i, l.DiffID.String()
		il.Files, il.Bytes, il.TarBytes, il.Whiteouts, il.Wasted, il.Hidden = l.Files, l.Bytes, l.TarBytes, l.Whiteouts, l.Wasted, l.Hidden
	}
	var hist []InspectLayer
	nonEmpty := 0
	if src.ConfigFile != nil {
		for _, h := range src.ConfigFile.History {
			il := InspectLayer{Index: -1, Command: h.CreatedBy, Empty: h.EmptyLayer}
			if !h.Created.IsZero() {
				il.Created = h.Created.UTC().Format("2006-01-02T15:04:05Z")
			}
			if !h.EmptyLayer {
				nonEmpty++
			}
			hist = append(hist, il)
		}
	}
	if nonEmpty != len(layers) {
		// no history, or one that does not match the layers
		out := make([]InspectLayer, len(layers))
		for i := range layers {
			fill(&out[i], i)
		}
		return out
	}
	i := 0
	for k := range hist {
		if !hist[k].Empty {
			fill(&hist[k], i)
			i++
		}
	}
	if hist == nil {
		hist = []InspectLayer{}
	}
	return hist
}

// dryRun runs Build and measures what it drops, then releases the image.
func dryRun(src *Source, o BuildOptions, top int) (*ParedDryRun, error) {
	res, err := Build(src, o)
	if err != nil {
		return nil, err
	}
	if layers, err := res.Image.Layers(); err == nil {
		for _, l := range layers {
			if c, ok := l.(io.Closer); ok {
				_ = c.Close()
			}
		}
	}
	r := res.Report
	d := &ParedDryRun{
		BeforeFiles: r.Before.Files, BeforeBytes: r.Before.Bytes, AfterFiles: r.After.Files, AfterBytes: r.After.Bytes,
		KeptPaths: res.Kept, DroppedFiles: r.Dropped, DroppedBytes: r.Before.Bytes - r.After.Bytes,
		TopDropped: []DroppedDir{}, Warnings: res.Warnings, Missing: res.Missing, Report: r,
	}
	kept := make(map[string]bool, res.Kept)
	for k := range r.KeptPaths() {
		kept[k.Path] = true
	}
	// an inode is dropped when none of its names is kept
	keptIno := map[uint64]bool{}
	if err := src.View.Walk("/", func(e *rootfs.Entry) error {
		if e.Type == rootfs.TypeReg && e.HardlinkID != 0 && kept[e.Path] {
			keptIno[e.HardlinkID] = true
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("measuring what %s drops: %w", src.Ref, err)
	}
	dirs := map[string]*DroppedDir{}
	seen := map[uint64]bool{}
	if err := src.View.Walk("/", func(e *rootfs.Entry) error {
		if e.Type != rootfs.TypeReg || kept[e.Path] {
			return nil
		}
		if e.HardlinkID != 0 {
			if keptIno[e.HardlinkID] || seen[e.HardlinkID] {
				return nil
			}
			seen[e.HardlinkID] = true
		}
		key := dirKey(e.Path, 3)
		dd := dirs[key]
		if dd == nil {
			dd = &DroppedDir{Path: key}
			dirs[key] = dd
		}
		dd.Files++
		dd.Bytes += e.Size
		return nil
	}); err != nil {
		return nil, fmt.Errorf("measuring what %s drops: %w", src.Ref, err)
	}
	all := make([]DroppedDir, 0, len(dirs))
	for _, dd := range dirs {
		all = append(all, *dd)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Bytes != all[j].Bytes {
			return all[i].Bytes > all[j].Bytes
		}
		return all[i].Path < all[j].Path
	})
	d.TopDropped = append(d.TopDropped, all[:min(top, len(all))]...)
	return d, nil
}

// dirKey is the directory of p cut to depth components.
func dirKey(p string, depth int) string {
	cs := strings.Split(strings.Trim(path.Dir(p), "/"), "/")
	if len(cs) == 1 && cs[0] == "" {
		return "/"
	}
	return "/" + strings.Join(cs[:min(depth, len(cs))], "/")
}

// InspectLimits are the rules of pare inspect --ci; a nil field is not
// checked.
type InspectLimits struct {
	// LowestEfficiency fails an image whose Efficiency is below it.
	LowestEfficiency *float64
	// HighestWastedBytes fails an image wasting more bytes.
	HighestWastedBytes *int64
	// LargestParedSize fails an image whose pared files (AfterBytes of the
	// dry run) are larger, or whose dry run failed.
	LargestParedSize *int64
}

// Rule names, as the command's flags spell them.
const (
	RuleLowestEfficiency   = "lowest-efficiency"
	RuleHighestWastedBytes = "highest-wasted-bytes"
	RuleLargestParedSize   = "largest-pared-size"
)

// RuleResult is the outcome of one rule.
type RuleResult struct {
	Rule    string `json:"rule"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// Check applies the limits to r, in the order of InspectLimits' fields.
func (r *InspectResult) Check(l InspectLimits) []RuleResult {
	out := []RuleResult{}
	if l.LowestEfficiency != nil {
		ok := r.Efficiency >= *l.LowestEfficiency
		out = append(out, RuleResult{Rule: RuleLowestEfficiency, OK: ok,
			Message: fmt.Sprintf("efficiency %.4f %s %.4f", r.Efficiency, cmp(ok, ">=", "<"), *l.LowestEfficiency)})
	}
	if l.HighestWastedBytes != nil {
		ok := r.WastedBytes <= *l.HighestWastedBytes
		out = append(out, RuleResult{Rule: RuleHighestWastedBytes, OK: ok,
			Message: fmt.Sprintf("wasted %d bytes %s %d", r.WastedBytes, cmp(ok, "<=", ">"), *l.HighestWastedBytes)})
	}
	if l.LargestParedSize != nil {
		rr := RuleResult{Rule: RuleLargestParedSize}
		if r.Pared == nil {
			rr.Message = "pared size unknown: " + r.ParedError
		} else {
			rr.OK = r.Pared.AfterBytes <= *l.LargestParedSize
			rr.Message = fmt.Sprintf("pared %d bytes %s %d", r.Pared.AfterBytes, cmp(rr.OK, "<=", ">"), *l.LargestParedSize)
		}
		out = append(out, rr)
	}
	return out
}

func cmp(ok bool, pass, fail string) string {
	if ok {
		return pass
	}
	return fail
}
