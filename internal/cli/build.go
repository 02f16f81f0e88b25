package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
	"github.com/pare-dev/pare/pkg/transport"
)

// buildFlags are the flags of pare build that decide what is kept.
type buildFlags struct {
	entrypoint   string
	cmd          string
	includes     []string
	includeExes  []string
	excludes     []string
	allowMissing bool
	noTzdata     bool
	wholeTrees   bool
	keepGconv    bool
	keepZoneinfo bool
	keepJimage   bool
	addModules   []string
	keepOpenSSL  bool
	keepSetuid   bool
	trimAccounts bool
	user         string
}

func (f *buildFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.entrypoint, "entrypoint", "", `override the image Entrypoint (JSON array or a plain command line); clears Cmd like docker run`)
	fl.StringVar(&f.cmd, "cmd", "", `override the image Cmd (JSON array or a plain command line)`)
	fl.StringArrayVar(&f.includes, "include", nil, "also keep PATH or GLOB (whole trees; repeatable)")
	fl.StringArrayVar(&f.includeExes, "include-exe", nil, "also keep program NAME (found through the image PATH) with its closure (repeatable)")
	fl.StringArrayVar(&f.excludes, "exclude", nil, "drop paths matching GLOB at the end (repeatable)")
	fl.BoolVar(&f.allowMissing, "allow-missing", false, "warn instead of failing when a library cannot be found")
	fl.BoolVar(&f.noTzdata, "no-tzdata", false, "leave out /usr/share/zoneinfo")
	fl.BoolVar(&f.wholeTrees, "keep-interpreter-trees", false, "keep the Python, Ruby and Node library trees whole instead of the modules the application's scripts import")
	fl.BoolVar(&f.keepGconv, "keep-gconv", false, "keep every iconv (gconv) module when iconv is used, not only those of the charsets the image names")
	fl.BoolVar(&f.keepZoneinfo, "keep-zoneinfo", false, "keep the whole zoneinfo (right/ and posix/ too), not only the zones the image names")
	fl.BoolVar(&f.keepJimage, "keep-jimage", false, "keep a JDK's lib/modules whole instead of a module image of the modules the application needs")
	fl.StringArrayVar(&f.addModules, "add-modules", nil, "also keep JDK module NAME (comma-separated or repeatable) in the cut lib/modules, for modules the application finds at run time")
	fl.BoolVar(&f.keepOpenSSL, "keep-openssl-modules", false, "keep every OpenSSL provider and engine after a trace, not only those the run loaded and the configuration names")
}

// registerOutput registers the flags of register and those that shape the
// output image (setid bits, accounts, user): the flags of pare build and
// pare dockerfile.
func (f *buildFlags) registerOutput(cmd *cobra.Command) {
	f.register(cmd)
	cmd.Flags().BoolVar(&f.keepSetuid, "keep-setuid", false, "keep setuid/setgid bits (dropped by default)")
	cmd.Flags().BoolVar(&f.trimAccounts, "trim-accounts", false, "write only the accounts the image uses to /etc/passwd and /etc/group (default: every source account, verbatim)")
	cmd.Flags().StringVar(&f.user, "user", "", "user of the pared image (name or uid[:gid] of the source image; default: its non-root user, else 65532)")
}

// splitCommand accepts `["a","b"]` or a plain command line.
func splitCommand(flag, s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var out []string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, usageError{fmt.Errorf("--%s: not a JSON array of strings: %w", flag, err)}
		}
		return out, nil
	}
	words, err := shellWords(s)
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s: %w", flag, err)}
	}
	return words, nil
}

// shellWords splits s into words like sh does, without expansions: blanks
// separate words, single quotes keep everything, double quotes keep all but
// \" and \\, a backslash outside quotes keeps the next character.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				w.WriteByte(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
				i++
				w.WriteByte(s[i])
			default:
				w.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			in = true
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if in {
		words = append(words, w.String())
	}
	return words, nil
}

func (f *buildFlags) options(cmd *cobra.Command) (pare.BuildOptions, error) {
	o := pare.BuildOptions{
		Includes: f.includes, IncludeExes: f.includeExes, Excludes: f.excludes, AllowMissing: f.allowMissing,
		KeepSetuid: f.keepSetuid, TrimAccounts: f.trimAccounts, User: f.user,
		KeepInterpreterTrees: f.wholeTrees,
		KeepJimage:           f.keepJimage, AddModules: f.addModules,
	}
	var err error
	if cmd.Flags().Changed("entrypoint") {
		if o.Entrypoint, err = splitCommand("entrypoint", f.entrypoint); err != nil {
			return o, err
		}
		if o.Entrypoint == nil {
			o.Entrypoint = []string{}
		}
	}
	if cmd.Flags().Changed("cmd") {
		if o.Cmd, err = splitCommand("cmd", f.cmd); err != nil {
			return o, err
		}
		if o.Cmd == nil {
			o.Cmd = []string{}
		}
	}
	if f.noTzdata {
		o.SkipRules = append(o.SkipRules, "tzdata")
	}
	if f.keepGconv {
		o.WholeRules = append(o.WholeRules, "gconv")
	}
	if f.keepZoneinfo {
		o.WholeRules = append(o.WholeRules, "tzdata")
	}
	if f.keepOpenSSL {
		o.WholeRules = append(o.WholeRules, "openssl")
	}
	return o, nil
}

func newBuildCmd(g *globals) *cobra.Command {
	var f buildFlags
	var reportFile, sbomFile, sbomFormat, htmlFile string
	var traced, verify bool
	var tf traceFlags
	var af addonFlags
	var vf variantFlags
	cmd := &cobra.Command{
		Use:   "build SRC DST",
		Short: "Write a minimal FROM-scratch image holding only what SRC's program needs",
		Long: `Compute the static closure of the image's Entrypoint+Cmd without running anything
(ELF interpreter and libraries as glibc's or musl's loader would find them, shebang
interpreters, programs named by shell scripts, symlink chains, parent directories, and
runtime knowledge: NSS, CA certificates, zoneinfo, gconv, OpenSSL, interpreter trees),
then write it as one reproducible layer with /etc/passwd, /etc/group, /tmp (1777),
/home/nonroot and a rewritten package database. The config is carried over; the user
becomes numeric (the original non-root user, else 65532).`,
		Example: `  pare build docker-daemon:nginx:latest docker-daemon:nginx:pared
  pare build docker-archive:app.tar oci:out:app --include /app/static --report report.json
  pare build dir:/ docker-archive:ls.tar --entrypoint /bin/ls`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(cmd)
			if err != nil {
				return err
			}
			sbomFmt, err := pare.ParseSBOMFormat(sbomFormat)
			if err != nil {
				return usageError{fmt.Errorf("--sbom-format: %w", err)}
			}
			if err := af.apply(cmd, &opts); err != nil {
				return err
			}
			if err := vf.check(cmd, args[1]); err != nil {
				return err
			}
			opts.UncompressedLayer = storesUncompressed(args[1]) && (vf.dst == "" || storesUncompressed(vf.dst))
			if verify {
				if _, err := tf.runOptions(g, opts); err != nil {
					return err // usage errors before any work
				}
			}
			img, err := g.open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer img.Close()
			if traced {
				if opts.Trace, err = g.runTrace(cmd, img, &tf, opts); err != nil {
					return err
				}
				for _, w := range opts.Trace.Warnings {
					if w.Kind == pare.WarningProbe {
						g.warnf("%s", w.Message)
					}
				}
			}
			res, err := pare.BuildContext(cmd.Context(), img, opts)
			if err != nil {
				return err
			}
			if err := g.write(cmd.Context(), args[1], res.Image); err != nil {
				return err
			}
			rep := res.Report
			rep.Destination = args[1]
			if note, err := vf.write(cmd.Context(), g, res.Image); err != nil {
				return err
			} else if note != "" {
				rep.Notes = append(rep.Notes, note)
			}
			if dg, err := res.Image.Digest(); err == nil {
				rep.Digest = dg.String()
			}
			var vr *pare.VerifyResult
			if verify {
				ro, _ := tf.runOptions(g, opts)
				vr, err = pare.Verify(cmd.Context(), args[0], args[1], pare.VerifyOptions{RunOptions: ro, Open: g.openOptions()})
				if err != nil {
					return fmt.Errorf("verifying %s: %w", args[1], err)
				}
				pare.RecordVerify(rep, vr)
			}
			if reportFile != "" {
				if err := writeAtomic(reportFile, rep.WriteJSON); err != nil {
					return err
				}
			}
			if htmlFile != "" {
				var buf bytes.Buffer
				if err := rep.WriteHTML(&buf); err != nil {
					return fmt.Errorf("rendering the HTML report: %w", err)
				}
				if err := writeBytesAtomic(htmlFile, buf.Bytes()); err != nil {
					return err
				}
			}
			if sbomFile != "" {
				var buf bytes.Buffer
				if err := pare.WriteSBOM(&buf, rep, args[1], rep.Digest, pare.SBOMOptions{Format: sbomFmt}); err != nil {
					return err
				}
				if err := writeBytesAtomic(sbomFile, buf.Bytes()); err != nil {
					return err
				}
			}
			if g.output == "json" {
				err = rep.WriteJSON(g.stdout)
			} else {
				err = rep.WriteText(g.stdout)
			}
			if err == nil && vr != nil && !vr.Same {
				err = differsError(vr)
			}
			return err
		},
	}
	f.registerOutput(cmd)
	af.register(cmd)
	vf.register(cmd)
	cmd.Flags().BoolVar(&traced, "trace", false, "also run the image under the tracer and probes and keep what it used (replaces the whole-tree keep of interpreters and servers)")
	cmd.Flags().BoolVar(&verify, "verify", false, "after writing, run the original and the pared image under the same probes and fail if they differ (DST must be loadable into Docker)")
	tf.register(cmd.Flags())
	cmd.Flags().StringVar(&htmlFile, "report-html", "", "write the report as a self-contained HTML page to FILE")
	cmd.Flags().StringVar(&sbomFile, "sbom", "", "write an SBOM of the OS packages that remain to FILE")
	cmd.Flags().StringVar(&sbomFormat, "sbom-format", "cyclonedx", "format of --sbom: cyclonedx (CycloneDX 1.6 JSON) or spdx (SPDX 2.3 JSON)")
	cmd.Flags().StringVar(&reportFile, "report", "", "write the full JSON report (every kept path with its reasons) to FILE")
	return cmd
}

// storesUncompressed reports whether the sink dst keeps layers as plain
// tars (a docker-archive, the Docker daemon): the pared layer is then
// written uncompressed, as docker save does. A sink that cannot be parsed
// is reported by the write.
func storesUncompressed(dst string) bool {
	ref, err := transport.Parse(dst)
	return err == nil && (ref.Kind == transport.DockerArchive || ref.Kind == transport.DockerDaemon)
}

// writeFileAtomic writes v as indented JSON to a temporary name beside
// path, then renames it into place.
func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return writeBytesAtomic(path, append(b, '\n'))
}
