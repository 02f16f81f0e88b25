package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pare-dev/pare/internal/debugger"
	"github.com/pare-dev/pare/internal/engine"
)

// exitCodeError makes pare exit with the code of a command it ran, without
// a message.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newDebugCmd(g *globals) *cobra.Command {
	var image string
	var ptrace, interactive bool
	cmd := &cobra.Command{
		Use:   "debug CONTAINER [-- CMD...]",
		Short: "Start a toolbox beside a running container, in its pid and network namespaces",
		Long: `Start a toolbox container that shares CONTAINER's pid and network namespaces: its
processes are the target's, its sockets the target's, and the target's files are
under /proc/1/root (also in $PARE_TARGET_ROOT). The toolbox is the image the target's
image was pared from (its dev.pare.source.id and dev.pare.source.image labels), else
--image; it must be in the local engine (nothing is pulled).

Reading /proc/1/root needs ptrace read access to the target's process: the toolbox
runs as the target's uid:gid and adds no capability, or with --ptrace as root with
exactly CAP_SYS_PTRACE added (for a target whose process changed its uid). pare
says on stderr which it did.

With a terminal on stdin the toolbox gets one (like docker exec -it) and runs a
shell, or CMD; otherwise it runs CMD with its output on pare's, stdin only with -i,
and pare exits with CMD's exit code. The toolbox is removed on exit and on Ctrl-C.`,
		Example: `  pare debug web
  pare debug web -- ls -l /proc/1/root/etc/nginx
  pare debug web --image debian:bookworm --ptrace -- cat /proc/1/root/etc/passwd`,
		Args: func(cmd *cobra.Command, args []string) error {
			n := len(args)
			if at := cmd.ArgsLenAtDash(); at >= 0 {
				n = at
			}
			if n != 1 {
				return usageError{fmt.Errorf("debug takes one CONTAINER before --, got %d (see pare debug --help)", n)}
			}
			if at := cmd.ArgsLenAtDash(); at >= 0 && at == len(args) {
				return usageError{errors.New("debug: no command after --")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o := debugger.Options{Image: image, Ptrace: ptrace, Stdout: g.stdout, Stderr: g.stderr}
			if len(args) > 1 {
				o.Command = args[1:]
			}
			in := os.Stdin
			tty := term.IsTerminal(int(in.Fd())) && isTerminal(g.stdout)
			if tty || interactive {
				o.Stdin = in
			}
			o.Tty = tty
			ctx := cmd.Context()
			eng, err := engine.NewDocker(ctx)
			if err != nil {
				return err
			}
			defer eng.Close()
			plan, err := debugger.Prepare(ctx, eng, args[0], o)
			if err != nil {
				return err
			}
			for _, n := range plan.Notes {
				fmt.Fprintf(g.stderr, "pare: %s\n", n)
			}
			if tty {
				state, err := term.MakeRaw(int(in.Fd()))
				if err != nil {
					return fmt.Errorf("putting the terminal in raw mode: %w", err)
				}
				defer term.Restore(int(in.Fd()), state)
				sizes := make(chan debugger.Size, 1)
				winch := make(chan os.Signal, 1)
				signal.Notify(winch, syscall.SIGWINCH)
				defer signal.Stop(winch)
				send := func() {
					if w, h, err := term.GetSize(int(in.Fd())); err == nil {
						select {
						case sizes <- debugger.Size{Height: uint(h), Width: uint(w)}:
						default: // a size not yet sent is replaced by the next
						}
					}
				}
				send()
				go func() {
					for range winch {
						send()
					}
				}()
				o.Resize = sizes
			}
			code, err := plan.Run(ctx, eng, o)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitCodeError{code}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&image, "image", "", "toolbox image in the local engine (default: the image the target was pared from)")
	cmd.Flags().BoolVar(&ptrace, "ptrace", false, "run the toolbox as root with CAP_SYS_PTRACE added instead of as the target's user")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "attach stdin when it is not a terminal")
	return cmd
}
