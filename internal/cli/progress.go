package cli

import (
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/pare-dev/pare/pkg/rootfs"
)

// progress renders the library's progress events on stderr: bars on a
// terminal, plain lines otherwise, nothing with --quiet.
type progress struct {
	w     io.Writer
	quiet bool
	tty   bool

	mu    sync.Mutex
	p     *mpb.Progress
	bars  map[int]*mpb.Bar
	last  map[int]int64 // plain mode: bytes at the last printed line
	ch    chan v1.Update
	done  chan struct{}
	wrote *mpb.Bar
}

func (g *globals) progress() *progress {
	p := &progress{w: g.stderr, quiet: g.quiet, tty: isTerminal(g.stderr), bars: map[int]*mpb.Bar{}, last: map[int]int64{}}
	if p.tty && !p.quiet {
		p.p = mpb.New(mpb.WithOutput(g.stderr), mpb.WithWidth(40))
	}
	return p
}

const plainStep = 64 << 20 // plain mode prints a line every 64 MiB

// layer reports layer reading progress from rootfs.
func (p *progress) layer(ev rootfs.Progress) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	name := fmt.Sprintf("layer %d/%d", ev.Layer+1, ev.Layers)
	if p.p == nil {
		switch {
		case ev.Done:
			fmt.Fprintf(p.w, "%s %s: applied, %d bytes\n", name, short(ev.DiffID), ev.Bytes)
		case ev.Bytes-p.last[ev.Layer] >= plainStep:
			p.last[ev.Layer] = ev.Bytes
			fmt.Fprintf(p.w, "%s %s: %d MiB read\n", name, short(ev.DiffID), ev.Bytes>>20)
		}
		return
	}
	bar := p.bars[ev.Layer]
	if bar == nil {
		bar = p.p.AddBar(0,
			mpb.PrependDecorators(decor.Name(name+" "), decor.Name(short(ev.DiffID))),
			mpb.AppendDecorators(decor.CurrentKibiByte("% .1f")),
		)
		p.bars[ev.Layer] = bar
	}
	bar.SetCurrent(ev.Bytes)
	if ev.Done {
		bar.SetTotal(ev.Bytes, true)
	}
}

// updates returns a channel for go-containerregistry write progress, or nil.
func (p *progress) updates() chan<- v1.Update {
	if p == nil || p.quiet {
		return nil
	}
	p.ch = make(chan v1.Update, 16)
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		var lastPrinted int64
		for u := range p.ch {
			if u.Error != nil {
				continue
			}
			if p.p != nil {
				if p.wrote == nil {
					p.wrote = p.p.AddBar(u.Total, mpb.PrependDecorators(decor.Name("writing ")),
						mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f")))
				}
				p.wrote.SetTotal(u.Total, false)
				p.wrote.SetCurrent(u.Complete)
				continue
			}
			if u.Complete-lastPrinted >= plainStep || (u.Total > 0 && u.Complete == u.Total && lastPrinted != u.Complete) {
				lastPrinted = u.Complete
				fmt.Fprintf(p.w, "writing: %d/%d MiB\n", u.Complete>>20, u.Total>>20)
			}
		}
	}()
	return p.ch
}

// wait finishes rendering. The writer closes the update channel itself.
func (p *progress) wait() {
	if p.done != nil {
		<-p.done
	}
	if p.p != nil {
		if p.wrote != nil {
			p.wrote.SetTotal(-1, true)
		}
		for _, b := range p.bars {
			b.SetTotal(-1, true)
		}
		p.p.Wait()
	}
}

func short(h v1.Hash) string {
	if len(h.Hex) < 12 {
		return h.String()
	}
	return h.Algorithm + ":" + h.Hex[:12]
}
