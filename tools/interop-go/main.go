// Command interop drives TiKV's Go client (client-go, and the PD client it uses) against a running
// cluster, normally the standalone @tikv/mock-cluster, and reports one JSON line per check:
//
//	{"group":"raw","case":"batch","ok":true,"ms":12}
//
// Checks are grouped ("raw", "pd", "txn"); a new group is a new file that registers its cases
// with register() in an init function. Run `pnpm interop:go` rather than this directly:
// the script starts the mock, builds this program against a local client-go checkout, and prints
// the table.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/log"
	"go.uber.org/zap/zapcore"
)

// env is what every check gets: where the cluster is and how its storage is configured.
type env struct {
	pdAddrs    []string
	apiVersion kvrpcpb.APIVersion
}

// check is one interop check. It returns nil when client-go saw what a real cluster shows, or
// errSkip when it does not apply to this configuration.
type check struct {
	group string
	name  string
	run   func(ctx context.Context, e *env) error
}

type skipped struct{ reason string }

func (s skipped) Error() string { return s.reason }

func skip(reason string) error { return skipped{reason} }

var checks []check

// exitHooks run when every check has run (shared clients close there).
var exitHooks []func()

func atExit(f func()) { exitHooks = append(exitHooks, f) }

func register(group, name string, run func(ctx context.Context, e *env) error) {
	checks = append(checks, check{group: group, name: name, run: run})
}

type result struct {
	Group      string `json:"group"`
	Case       string `json:"case"`
	APIVersion string `json:"apiVersion"`
	OK         bool   `json:"ok"`
	Skipped    bool   `json:"skipped,omitempty"`
	Detail     string `json:"detail,omitempty"`
	Ms         int64  `json:"ms"`
}

func main() {
	pd := flag.String("pd", "127.0.0.1:2379", "PD endpoints, comma separated")
	apiVersion := flag.String("api-version", "V1", "the cluster's API version: V1 or V2")
	only := flag.String("run", "", "regexp of group/case names to run")
	groups := flag.String("groups", "", "comma-separated groups to run (default: all)")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline of each check")
	outPath := flag.String("out", "", "file the JSON result lines go to (default: stdout, which the Go client also logs to)")
	logLevel := flag.String("log-level", "warn", "level of the Go client's own log")
	flag.Parse()
	if lvl, err := zapcore.ParseLevel(*logLevel); err == nil {
		log.SetLevel(lvl)
	}

	e := &env{pdAddrs: strings.Split(*pd, ",")}
	switch *apiVersion {
	case "V1":
		e.apiVersion = kvrpcpb.APIVersion_V1
	case "V2":
		e.apiVersion = kvrpcpb.APIVersion_V2
	default:
		fmt.Fprintf(os.Stderr, "unknown -api-version %q\n", *apiVersion)
		os.Exit(2)
	}
	var filter *regexp.Regexp
	if *only != "" {
		filter = regexp.MustCompile(*only)
	}
	inGroups := map[string]bool{}
	for _, g := range strings.Split(*groups, ",") {
		if g != "" {
			inGroups[g] = true
		}
	}

	sink := os.Stdout
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			fmt.Fprintf(os.Stderr, "-out: %v\n", err)
			os.Exit(2)
		}
		defer f.Close()
		sink = f
	}
	out := json.NewEncoder(sink)
	failed := 0
	for _, c := range checks {
		id := c.group + "/" + c.name
		if filter != nil && !filter.MatchString(id) || len(inGroups) > 0 && !inGroups[c.group] {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		start := time.Now()
		err := runCheck(ctx, c, e)
		cancel()
		r := result{Group: c.group, Case: c.name, APIVersion: *apiVersion, OK: err == nil, Ms: time.Since(start).Milliseconds()}
		if s, ok := err.(skipped); ok {
			r.OK, r.Skipped, r.Detail = true, true, s.reason
		} else if err != nil {
			r.Detail = err.Error()
			failed++
		}
		if err := out.Encode(r); err != nil {
			os.Exit(3)
		}
	}
	for _, f := range exitHooks {
		f()
	}
	if failed > 0 {
		sink.Close()
		os.Exit(1)
	}
}

// runCheck runs one check, turning a panic into a failure.
func runCheck(ctx context.Context, c check, e *env) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return c.run(ctx, e)
}

// expect fails a check with a message when cond is false.
func expect(cond bool, format string, args ...any) error {
	if cond {
		return nil
	}
	return fmt.Errorf(format, args...)
}
