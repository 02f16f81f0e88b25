package cli

import (
	"errors"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pare-dev/pare/pkg/pare"
)

// addonFlags are the flags of pare build that add pare's own programs to
// the pared image.
type addonFlags struct {
	init        bool
	healthcheck string
	interval    time.Duration
	timeout     time.Duration
	startPeriod time.Duration
	retries     int
}

func (f *addonFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.init, "add-init", false, "add pare-init as PID 1 ("+pare.InitPath+" in front of the Entrypoint): forwards signals, reaps zombies")
	fl.StringVar(&f.healthcheck, "add-healthcheck", "", `add pare-healthcheck at `+pare.HealthcheckPath+` and a HEALTHCHECK: GET of an http:// URL (2xx/3xx healthy), or a CMD (JSON array or command line) kept with its closure`)
	fl.DurationVar(&f.interval, "healthcheck-interval", 30*time.Second, "time between health checks")
	fl.DurationVar(&f.timeout, "healthcheck-timeout", 5*time.Second, "a health check taking longer fails")
	fl.DurationVar(&f.startPeriod, "healthcheck-start-period", 0, "failures during this time after start do not count")
	fl.IntVar(&f.retries, "healthcheck-retries", 3, "consecutive failures that make the container unhealthy")
}

// apply sets the add-on fields of o.
func (f *addonFlags) apply(cmd *cobra.Command, o *pare.BuildOptions) error {
	o.AddInit = f.init
	if !cmd.Flags().Changed("add-healthcheck") {
		for _, n := range []string{"healthcheck-interval", "healthcheck-timeout", "healthcheck-start-period", "healthcheck-retries"} {
			if cmd.Flags().Changed(n) {
				return usageError{errors.New("--" + n + " needs --add-healthcheck")}
			}
		}
		return nil
	}
	if f.interval <= 0 || f.timeout <= 0 || f.startPeriod < 0 || f.retries <= 0 {
		return usageError{errors.New("--healthcheck-interval, -timeout and -retries must be positive, -start-period not negative")}
	}
	h := &pare.Healthcheck{Interval: f.interval, Timeout: f.timeout, StartPeriod: f.startPeriod, Retries: f.retries}
	s := strings.TrimSpace(f.healthcheck)
	if strings.Contains(s, "://") && !strings.ContainsAny(s, " \t[") {
		if !strings.HasPrefix(s, "http://") {
			return usageError{errors.New("--add-healthcheck: only http:// URLs are checked; give a CMD for others")}
		}
		h.URL = s
	} else {
		cmdline, err := splitCommand("add-healthcheck", s)
		if err != nil {
			return err
		}
		if len(cmdline) == 0 {
			return usageError{errors.New("--add-healthcheck: empty")}
		}
		h.Command = cmdline
	}
	o.Healthcheck = h
	return nil
}
