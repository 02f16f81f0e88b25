// Command testtool is a tiny static program packed into a one-file image for
// the docker tests of pare's engine, probe and trace packages. It is only
// ever run inside containers.
//
//	testtool echo ARGS...      print ARGS to stdout, "err" to stderr
//	testtool exit N            exit with status N
//	testtool sleep DUR         sleep; on SIGTERM exit 143, on SIGUSR1 exit 42
//	testtool ignore DUR        sleep ignoring SIGTERM
//	testtool serve PORT...     HTTP on 127.0.0.1:PORT: / -> 200 "ok", /status/N -> N, until SIGTERM (exit 0)
//	testtool cat FILE          copy FILE to stdout
//	testtool id                print uid:gid
//	testtool env               print the environment, sorted
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testtool CMD ARGS")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "echo":
		fmt.Println(strings.Join(args, " "))
		fmt.Fprintln(os.Stderr, "err")
	case "exit":
		n, _ := strconv.Atoi(args[0])
		os.Exit(n)
	case "sleep":
		d, _ := time.ParseDuration(args[0])
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGUSR1)
		select {
		case s := <-c:
			if s == syscall.SIGUSR1 {
				os.Exit(42)
			}
			os.Exit(143)
		case <-time.After(d):
		}
	case "ignore":
		d, _ := time.ParseDuration(args[0])
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(d)
	case "serve":
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if s, ok := strings.CutPrefix(r.URL.Path, "/status/"); ok {
				n, _ := strconv.Atoi(s)
				w.WriteHeader(n)
				fmt.Fprintf(w, "status %d\n", n)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		for _, p := range args {
			l, err := net.Listen("tcp", "127.0.0.1:"+p)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			go http.Serve(l, mux)
		}
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
	case "cat":
		f, err := os.Open(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		io.Copy(os.Stdout, f)
	case "id":
		fmt.Printf("%d:%d\n", os.Getuid(), os.Getgid())
	case "env":
		env := os.Environ()
		sort.Strings(env)
		fmt.Println(strings.Join(env, "\n"))
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}
