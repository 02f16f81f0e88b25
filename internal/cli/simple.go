package cli

import (
	"bufio"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
	"github.com/pare-dev/pare/pkg/rootfs"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print pare's version",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.output == "json" {
				return g.printJSON(map[string]string{"version": Version, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH})
			}
			fmt.Fprintf(g.stdout, "pare %s (%s, %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// lsEntry is one line of pare ls --output json.
type lsEntry struct {
	Path   string   `json:"path"`
	Type   string   `json:"type"`
	Mode   string   `json:"mode"` // octal, with setuid/setgid/sticky: "4755"
	UID    int      `json:"uid"`
	GID    int      `json:"gid"`
	Size   int64    `json:"size"`
	Link   string   `json:"link,omitempty"`
	Xattrs []string `json:"xattrs,omitempty"`
}

func octalMode(m fs.FileMode) string {
	n := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		n |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		n |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		n |= 0o1000
	}
	return fmt.Sprintf("%04o", n)
}

// lsTypeChar is the first character of ls -l's mode column, by type.
var lsTypeChar = [...]byte{rootfs.TypeReg: '-', rootfs.TypeDir: 'd', rootfs.TypeSymlink: 'l', rootfs.TypeChar: 'c',
	rootfs.TypeBlock: 'b', rootfs.TypeFIFO: 'p', rootfs.TypeSocket: 's'}

// appendSymbolicMode appends ls -l's ten-character mode of e to b.
func appendSymbolicMode(b []byte, e *rootfs.Entry) []byte {
	var t byte
	if int(e.Type) < len(lsTypeChar) {
		t = lsTypeChar[e.Type]
	}
	i := len(b)
	b = append(b, t)
	const rwx = "rwxrwxrwx"
	for k := 0; k < 9; k++ {
		if e.Mode&(1<<uint(8-k)) != 0 {
			b = append(b, rwx[k])
		} else {
			b = append(b, '-')
		}
	}
	special := func(idx int, bit fs.FileMode, c byte) {
		if e.Mode&bit != 0 {
			if b[i+idx] == 'x' {
				b[i+idx] = c
			} else {
				b[i+idx] = c - 32 // upper case: set without execute
			}
		}
	}
	special(3, fs.ModeSetuid, 's')
	special(6, fs.ModeSetgid, 's')
	special(9, fs.ModeSticky, 't')
	return b
}

// appendLsLine appends the text line of pare ls for e (with its newline):
// what fmt's "%s %5d:%-5d %10d %s" would print, then " -> target" for a
// symlink.
func appendLsLine(b []byte, e *rootfs.Entry) []byte {
	b = appendSymbolicMode(b, e)
	b = append(b, ' ')
	b = appendPadded(b, strconv.AppendInt(b[len(b):], int64(e.UID), 10), 5, false)
	b = append(b, ':')
	b = appendPadded(b, strconv.AppendInt(b[len(b):], int64(e.GID), 10), 5, true)
	b = append(b, ' ')
	b = appendPadded(b, strconv.AppendInt(b[len(b):], e.Size, 10), 10, false)
	b = append(b, ' ')
	b = append(b, e.Path...)
	if e.Type == rootfs.TypeSymlink {
		b = append(b, " -> "...)
		b = append(b, e.Linkname...)
	}
	return append(b, '\n')
}

// appendPadded appends num (formatted in b's spare capacity, so it may
// overlap it) padded with spaces to width, on the left or (left) right.
func appendPadded(b, num []byte, width int, left bool) []byte {
	var tmp [24]byte
	n := copy(tmp[:], num)
	pad := width - n
	if !left {
		for ; pad > 0; pad-- {
			b = append(b, ' ')
		}
	}
	b = append(b, tmp[:n]...)
	for ; pad > 0; pad-- {
		b = append(b, ' ')
	}
	return b
}

func newLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls SRC [PATH...]",
		Short: "List the files of an image's merged filesystem",
		Long:  "List files with type, mode, owner, size and link target. Directories are listed recursively; paths are resolved inside the image.",
		Example: `  pare ls docker-daemon:debian:bookworm /etc/ssl
  pare ls oci:layout --output json`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := g.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer img.Close()
			roots := args[1:]
			if len(roots) == 0 {
				roots = []string{"/"}
			}
			var out []lsEntry
			// Text lines go through one buffer: an image lists 10^5 files.
			w := bufio.NewWriterSize(g.stdout, 64<<10)
			defer w.Flush() // what was listed before an error
			var line []byte
			for _, r := range roots {
				start, err := img.View.Lstat(r)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				walkRoot := start.Path
				visit := func(e *rootfs.Entry) error {
					if g.output == "json" {
						le := lsEntry{Path: e.Path, Type: e.Type.String(), Mode: octalMode(e.Mode), UID: e.UID, GID: e.GID, Size: e.Size, Link: e.Linkname}
						for k := range e.Xattrs {
							le.Xattrs = append(le.Xattrs, k)
						}
						out = append(out, le)
						return nil
					}
					line = appendLsLine(line[:0], e)
					_, err := w.Write(line)
					return err
				}
				if start.Type != rootfs.TypeDir {
					if err := visit(start); err != nil {
						return err
					}
					continue
				}
				if err := img.View.Walk(walkRoot, visit); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
			}
			if g.output == "json" {
				if out == nil {
					out = []lsEntry{}
				}
				return g.printJSON(out)
			}
			return w.Flush()
		},
	}
}

func newExportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "export SRC DIR",
		Short: "Write an image's merged root filesystem to a directory",
		Long: `Write the merged root filesystem to DIR, which must not exist yet. Nothing is ever
written outside DIR: symlinks are written as links and never followed. Device nodes,
FIFOs and sockets are skipped with a warning. DIR appears only when complete.`,
		Example: `  pare export docker-archive:app.tar ./rootfs`,
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := g.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer img.Close()
			st, err := rootfs.Export(cmd.Context(), img.View, args[1])
			if err != nil {
				return err
			}
			for _, w := range st.Warnings {
				g.warnf("%s", w)
			}
			if g.output == "json" {
				return g.printJSON(st)
			}
			fmt.Fprintf(g.stdout, "exported %s to %s\n", args[0], args[1])
			return nil
		},
	}
}

func newFlattenCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "flatten SRC DST",
		Short: "Squash all layers into one reproducible layer",
		Long: `Squash every layer of SRC into one layer and write it to DST. Entries are sorted,
mtimes are SOURCE_DATE_EPOCH (or 0) and gzip settings fixed, so the same input gives
the same digest on any machine. The config (Entrypoint, Cmd, Env, WorkingDir, User,
ExposedPorts, Volumes, Labels, StopSignal) is carried over.`,
		Example: `  pare flatten docker-daemon:app:latest docker-archive:app-flat.tar`,
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := g.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer img.Close()
			out, err := pare.Flatten(img)
			if err != nil {
				return fmt.Errorf("flattening %s: %w", args[0], err)
			}
			if err := g.write(cmd.Context(), args[1], out); err != nil {
				return err
			}
			dg, err := out.Digest()
			if err != nil {
				return err
			}
			if g.output == "json" {
				return g.printJSON(map[string]string{"source": args[0], "destination": args[1], "digest": dg.String()})
			}
			fmt.Fprintf(g.stdout, "%s\n", dg)
			return nil
		},
	}
}

func newPruneCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "prune",
		Short: "Remove the containers left by pare processes that are gone",
		Long: `Remove the containers that pare processes which are gone left in the Docker
engine: a pare that was killed, or whose engine stopped under it, cannot remove
its containers itself. Every pare container is labelled dev.pare.owner.process
with its creator's host, boot, pid namespace, pid and start time; containers of
running pare processes, and of other hosts or pid namespaces, are left alone.
pare trace, verify and build --trace/--verify prune on start. Prints the ids
removed.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ids, err := pare.Prune(cmd.Context())
			if g.output == "json" {
				if ids == nil {
					ids = []string{}
				}
				if jerr := g.printJSON(map[string][]string{"removed": ids}); jerr != nil {
					return jerr
				}
			} else {
				for _, id := range ids {
					fmt.Fprintln(g.stdout, id)
				}
			}
			return err
		},
	}
}
