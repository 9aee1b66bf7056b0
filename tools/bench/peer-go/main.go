// Command peer-go is client-go's side of `pnpm bench peer`: it connects to a cluster (the
// standalone @tikv/mock-cluster), then runs the measurements the benchmark asks for, one JSON
// command a line on stdin, and answers each with one line on stdout:
//
//	{"op":"get","concurrency":64,"durationMs":2000,"warmupMs":500}
//	@peer {"op":"get","concurrency":64,"ops":91234,"ms":2000.4,"cpuUs":1734000}
//
// Answer lines start with "@peer " because the Go client may log to stdout too. CPU is this
// process's own (user + system, from getrusage) over the measured window only. Operations are
// registered by name (see ops_raw.go); the TypeScript worker (tools/bench/src/peer-worker.ts)
// registers the same names. Run `pnpm bench peer` rather than this directly: it builds this
// program against a local client-go checkout and starts the mock.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pingcap/log"
	"github.com/tikv/client-go/v2/rawkv"
	"go.uber.org/zap/zapcore"
)

// env is what an operation's setup gets: the cluster, the shared key set and lazily made clients.
type env struct {
	ctx     context.Context
	pdAddrs []string
	keys    [][]byte
	value   []byte

	rawOnce sync.Once
	raw     *rawkv.Client
	rawErr  error
}

// rawClient returns the one raw client every raw operation shares, connecting on first use.
func (e *env) rawClient() (*rawkv.Client, error) {
	e.rawOnce.Do(func() { e.raw, e.rawErr = rawkv.NewClientWithOpts(e.ctx, e.pdAddrs) })
	return e.raw, e.rawErr
}

func (e *env) close() {
	if e.raw != nil {
		_ = e.raw.Close()
	}
}

// op runs the i-th operation of a measurement; i grows by one per call across all workers.
type op func(i int) error

// setup prepares an operation once per process (writing the data it reads, say) and returns it.
type setup func(e *env) (op, error)

var setups = map[string]setup{}

func register(name string, s setup) { setups[name] = s }

type command struct {
	Op          string `json:"op"`
	Concurrency int    `json:"concurrency"`
	DurationMs  int    `json:"durationMs"`
	WarmupMs    int    `json:"warmupMs"`
}

type answer struct {
	Op          string  `json:"op,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	Ops         int64   `json:"ops"`
	Ms          float64 `json:"ms"`
	CPUUs       float64 `json:"cpuUs"`
	Ready       bool    `json:"ready,omitempty"`
	Mark        bool    `json:"mark,omitempty"`
	Error       string  `json:"error,omitempty"`
}

func reply(a answer) {
	b, _ := json.Marshal(a)
	fmt.Printf("@peer %s\n", b)
}

func cpuUs() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec)*1e6 + float64(ru.Utime.Usec+ru.Stime.Usec)
}

// loop keeps `concurrency` goroutines calling fn until d has passed and counts the completions.
func loop(concurrency int, d time.Duration, next *atomic.Int64, fn op) (int64, error) {
	var done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := fn(int(next.Add(1))); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return done.Load(), firstErr
}

func measure(e *env, prepared map[string]op, c command) answer {
	a := answer{Op: c.Op, Concurrency: c.Concurrency}
	fn, ok := prepared[c.Op]
	if !ok {
		s, known := setups[c.Op]
		if !known {
			a.Error = fmt.Sprintf("unknown op %q", c.Op)
			return a
		}
		var err error
		if fn, err = s(e); err != nil {
			a.Error = fmt.Sprintf("setting up %s: %v", c.Op, err)
			return a
		}
		prepared[c.Op] = fn
	}
	var next atomic.Int64
	if _, err := loop(c.Concurrency, time.Duration(c.WarmupMs)*time.Millisecond, &next, fn); err != nil {
		a.Error = err.Error()
		return a
	}
	reply(answer{Mark: true}) // the measured window opens now
	cpu := cpuUs()
	start := time.Now()
	n, err := loop(c.Concurrency, time.Duration(c.DurationMs)*time.Millisecond, &next, fn)
	a.Ms = float64(time.Since(start).Microseconds()) / 1e3
	a.CPUUs = cpuUs() - cpu
	a.Ops = n
	if err != nil {
		a.Error = err.Error()
	}
	return a
}

func main() {
	pd := flag.String("pd", "127.0.0.1:2379", "PD endpoints, comma separated")
	keyCount := flag.Int("keys", 4096, "size of the key set (a multiple of 16)")
	valueSize := flag.Int("value-size", 64, "bytes per value written")
	logLevel := flag.String("log-level", "warn", "level of the Go client's own log")
	flag.Parse()
	if lvl, err := zapcore.ParseLevel(*logLevel); err == nil {
		log.SetLevel(lvl)
	}

	e := &env{ctx: context.Background(), pdAddrs: strings.Split(*pd, ","), value: make([]byte, *valueSize)}
	e.keys = make([][]byte, *keyCount)
	for i := range e.keys {
		e.keys[i] = []byte(keyOf(i))
	}
	defer e.close()
	if _, err := e.rawClient(); err != nil {
		reply(answer{Error: fmt.Sprintf("connect: %v", err)})
		os.Exit(1)
	}
	reply(answer{Ready: true})

	prepared := map[string]op{}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		var c command
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			reply(answer{Error: fmt.Sprintf("bad command %q: %v", line, err)})
			continue
		}
		reply(measure(e, prepared, c))
	}
}

// keyOf is the i-th key of the shared set: 16 bytes, the same on both sides of the comparison.
func keyOf(i int) string { return fmt.Sprintf("bench-peer-%05d", i) }
