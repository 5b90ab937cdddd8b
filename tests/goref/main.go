// Command goref runs gmpbench's workload shapes on the real Go runtime, as reference figures.
//
//	goref <benchmark> [flags]     pingpong spawn fanout syscall netpoll pingponghog wakeup
//	goref all [-count N] [-idle C]  every benchmark with its default sizes
//
// The driver (the process you start) calibrates the CPU-work loop once, then runs every
// repetition of every GOMAXPROCS value in a fresh child process (this program re-executed with
// -child), so that thread counts and runtime state never carry over between measurements.
// Results go to stdout in Go's benchmark format, one line per repetition:
//
//	BenchmarkSyscall/procs=1 6400 102040 ns/op 9800 iters/s 6 threads ...
//
// (ops first, then "value unit" pairs, so benchstat and similar tools can read it). The driver
// appends two fields of its own: "peak-threads" (with -watch: the child's Threads: count in
// /proc/<pid>/status, sampled from the driver every -watch-every) and "other-cpu" (cores the
// rest of the machine was busy while the child ran, from /proc/stat: a noise flag for this
// shared VM; -idle C makes the driver wait for a quiet machine before each repetition).
// A summary (median, min, max per metric) goes to stderr at the end.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Flags common to every benchmark.
var (
	flagProcs   *string
	flagCount   *int
	flagSeed    *int64
	flagWarm    *float64
	flagIPUS    *float64
	flagWatch   *bool
	flagWatchIv *time.Duration
	flagIdle    *float64
	flagIdleMax *time.Duration
	flagChild   *bool
	flagRep     *int
)

type bench struct {
	name  string // subcommand
	procs string // default -procs
	watch bool   // default -watch
	flags func(fs *flag.FlagSet)
	run   func(procs, rep int)
}

var benches = []bench{
	{name: "pingpong", procs: "1,2", run: runPingPong, flags: func(fs *flag.FlagSet) {
		ppN = fs.Int("n", 100000, "round trips")
	}},
	{name: "spawn", procs: "1,2", run: runSpawn, flags: func(fs *flag.FlagSet) {
		spawnN = fs.Int("n", 100000, "goroutines in total")
		spawnBatch = fs.Int("batch", 100, "goroutines started before each wait")
	}},
	{name: "fanout", procs: "1,2,4", run: runFanout, flags: func(fs *flag.FlagSet) {
		fanN = fs.Int("n", 100000, "goroutines in total")
		fanBatch = fs.Int("batch", 100, "goroutines started before each wait")
		fanMaxWork = fs.Int64("maxwork", 10000, "each child works uniform [0, maxwork) ns")
	}},
	{name: "syscall", procs: "1,2", watch: true, run: runSyscall, flags: func(fs *flag.FlagSet) {
		scG = fs.Int("g", 64, "goroutines")
		scIters = fs.Int("iters", 100, "iterations per goroutine")
		scWork = fs.Int64("work", 5000, "CPU work per iteration, ns")
		scSleep = fs.Int64("sleep", 50000, "nanosleep per iteration, ns")
	}},
	{name: "netpoll", procs: "1,2", watch: true, run: runNetpoll, flags: func(fs *flag.FlagSet) {
		npConns = fs.Int("conns", 256, "connections (socketpairs)")
		npReqs = fs.Int("reqs", 200, "requests per connection")
		npThink = fs.Int64("think", 50000, "mean exponential client think time, ns")
		npWork = fs.Int64("work", 5000, "server CPU work per request, ns")
	}},
	{name: "pingponghog", procs: "1", run: runPingPongHog, flags: func(fs *flag.FlagSet) {
		hogN = fs.Int("n", 100000, "ping-pong exchanges")
	}},
	{name: "wakeup", procs: "2", run: runWakeup, flags: func(fs *flag.FlagSet) {
		wkN = fs.Int("n", 1000, "sends")
		wkInterval = fs.Int64("interval", 50000, "time.Sleep between sends, ns")
		wkWork = fs.Int64("work", 1000, "receiver CPU work per wakeup, ns")
		wkSleeper = fs.String("sleeper", "time", "how the sender waits: time (time.Sleep) or nanosleep (blocking syscall)")
	}},
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: goref <benchmark> [flags]   (goref <benchmark> -h for its flags)\n")
	fmt.Fprintf(os.Stderr, "       goref all [-count N] [-idle CORES] [-idle-max DUR]\nbenchmarks:")
	for _, b := range benches {
		fmt.Fprintf(os.Stderr, " %s", b.name)
	}
	fmt.Fprintln(os.Stderr)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	sub, args := os.Args[1], os.Args[2:]
	switch sub {
	case "emulate":
		mainEmulate(args)
		return
	case "all":
		fs := flag.NewFlagSet("all", flag.ExitOnError)
		count := fs.Int("count", 10, "repetitions per GOMAXPROCS value")
		idle := fs.Float64("idle", 0, "as for a single benchmark: wait for the machine to be idle")
		idleMax := fs.Duration("idle-max", 30*time.Second, "as for a single benchmark")
		fs.Parse(args)
		ipus := calibrate()
		header(ipus)
		var sum summary
		for _, b := range benches {
			drive(b, []string{"-count", strconv.Itoa(*count), "-idle", fmtVal(*idle),
				"-idle-max", idleMax.String()}, ipus, &sum)
		}
		sum.print()
		return
	}
	for _, b := range benches {
		if b.name == sub {
			fs := newFlagSet(b)
			fs.Parse(args)
			if fs.NArg() > 0 {
				fatalf("unexpected argument %q", fs.Arg(0))
			}
			if *flagChild {
				child(b)
				return
			}
			ipus := *flagIPUS
			if ipus <= 0 {
				ipus = calibrate()
			}
			header(ipus)
			var sum summary
			drive(b, args, ipus, &sum)
			sum.print()
			return
		}
	}
	usage()
}

func newFlagSet(b bench) *flag.FlagSet {
	fs := flag.NewFlagSet(b.name, flag.ExitOnError)
	flagProcs = fs.String("procs", b.procs, "comma-separated GOMAXPROCS values")
	flagCount = fs.Int("count", 10, "repetitions per GOMAXPROCS value (each in a fresh process)")
	flagSeed = fs.Int64("seed", 1, "random seed (repetition r uses seed+r)")
	flagWarm = fs.Float64("warm", 0.1, "untimed warm-up run, as a fraction of the timed size")
	flagIPUS = fs.Float64("ipus", 0, "work-loop steps per microsecond (0: calibrate)")
	flagWatch = fs.Bool("watch", b.watch, "driver samples the child's /proc/<pid>/status Threads (peak-threads)")
	flagWatchIv = fs.Duration("watch-every", time.Millisecond, "sampling interval for -watch")
	flagIdle = fs.Float64("idle", 0, "before each repetition wait until other processes use at most this many cores (0: don't wait)")
	flagIdleMax = fs.Duration("idle-max", 30*time.Second, "give up waiting for -idle after this long (and run anyway)")
	flagChild = fs.Bool("child", false, "internal: run one repetition in this process")
	flagRep = fs.Int("rep", 0, "internal: repetition number")
	b.flags(fs)
	return fs
}

func header(ipus float64) {
	fmt.Printf("goos: %s\ngoarch: %s\npkg: gmpbench/goref\n", runtime.GOOS, runtime.GOARCH)
	if m := cpuModel(); m != "" {
		fmt.Printf("cpu: %s\n", m)
	}
	fmt.Printf("go: %s\nncpu: %d\nwork-steps-per-us: %.1f\n", runtime.Version(), numCPU(), ipus)
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.IndexByte(line, ':'); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return ""
}

func numCPU() int { return runtime.NumCPU() }

// child performs one repetition in this process.
func child(b bench) {
	procs, err := strconv.Atoi(*flagProcs)
	if err != nil || procs < 1 {
		fatalf("child: bad -procs %q", *flagProcs)
	}
	if *flagIPUS <= 0 {
		fatalf("child: -ipus missing")
	}
	itersPerUS = *flagIPUS
	runtime.GOMAXPROCS(procs)
	b.run(procs, *flagRep)
}

// drive runs every (procs, repetition) of b in its own child process and relays the lines.
func drive(b bench, args []string, ipus float64, sum *summary) {
	fs := newFlagSet(b)
	fs.Parse(args)
	self, err := os.Executable()
	if err != nil {
		fatalf("executable: %v", err)
	}
	for _, ps := range strings.Split(*flagProcs, ",") {
		ps = strings.TrimSpace(ps)
		if p, err := strconv.Atoi(ps); err != nil || p < 1 {
			fatalf("bad -procs value %q", ps)
		}
		for rep := 0; rep < *flagCount; rep++ {
			cargs := append([]string{b.name}, args...)
			cargs = append(cargs, "-child", "-procs="+ps, "-rep="+strconv.Itoa(rep),
				"-ipus="+strconv.FormatFloat(ipus, 'g', -1, 64))
			cmd := exec.Command(self, cargs...)
			var out bytes.Buffer
			cmd.Stdout = &out
			cmd.Stderr = os.Stderr
			cmd.Env = append(os.Environ(), "GOMAXPROCS="+ps)
			if *flagIdle > 0 {
				waitIdle(*flagIdle, *flagIdleMax)
			}
			busy0 := machineBusy()
			w0 := time.Now()
			if err := cmd.Start(); err != nil {
				fatalf("start child: %v", err)
			}
			var peak int64 = -1
			stop := make(chan struct{})
			watched := make(chan struct{})
			if *flagWatch {
				// Sampling from this (separate) process keeps the measured process free of any
				// extra goroutine or thread.
				go func(pid int) {
					defer close(watched)
					t := time.NewTicker(*flagWatchIv)
					defer t.Stop()
					for {
						if n := int64(statusThreads(pid)); n > atomic.LoadInt64(&peak) {
							atomic.StoreInt64(&peak, n)
						}
						select {
						case <-stop:
							return
						case <-t.C:
						}
					}
				}(cmd.Process.Pid)
			} else {
				close(watched)
			}
			err := cmd.Wait()
			wall := time.Since(w0)
			busy := machineBusy() - busy0
			close(stop)
			<-watched
			if err != nil {
				fatalf("%s procs=%s rep=%d failed: %v", b.name, ps, rep, err)
			}
			// CPU the rest of the machine used while the child ran, in cores: busy time of all
			// CPUs minus the child's own (and its reaped children's). /proc/stat counts in 10 ms
			// ticks, so this is coarse for short repetitions; it is there to spot runs that
			// shared the machine with something else.
			own := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			other := (busy - own).Seconds() / wall.Seconds()
			if other < 0 {
				other = 0
			}
			for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
				if *flagWatch && strings.HasPrefix(line, "Benchmark") {
					// The child's own count at its end is a floor: under load the driver's
					// first sample can come after the child has exited.
					p := atomic.LoadInt64(&peak)
					if own := int64(lineMetric(line, "threads")); own > p {
						p = own
					}
					line += fmt.Sprintf(" %d peak-threads", p)
				}
				if strings.HasPrefix(line, "Benchmark") {
					line += " " + fmtVal(other) + " other-cpu"
				}
				fmt.Println(line)
				sum.add(line)
			}
		}
	}
}

// machineBusy is the non-idle CPU time of the whole machine so far (first line of /proc/stat:
// user nice system idle iowait irq softirq steal ..., in USER_HZ = 100 ticks per second).
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line := strings.SplitN(string(data), "\n", 2)[0]
	f := strings.Fields(line)
	var ticks int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// waitIdle waits until the machine's busy CPU, sampled over 200 ms windows, is at most cores,
// or until max has passed.
func waitIdle(cores float64, max time.Duration) {
	deadline := time.Now().Add(max)
	for {
		b0, t0 := machineBusy(), time.Now()
		time.Sleep(200 * time.Millisecond)
		used := (machineBusy() - b0).Seconds() / time.Since(t0).Seconds()
		if used <= cores {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "goref: machine still busy (%.2f cores), running anyway\n", used)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// summary collects the benchmark lines and prints median [min, max] per metric to stderr.
type summary struct {
	order []string
	vals  map[string][]float64
}

// lineMetric is the value of unit in a benchmark line ("... 6 threads ..."), or -1.
func lineMetric(line, unit string) float64 {
	f := strings.Fields(line)
	for i := 2; i+1 < len(f); i += 2 {
		if f[i+1] == unit {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				return v
			}
		}
	}
	return -1
}

func (s *summary) add(line string) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return
	}
	if s.vals == nil {
		s.vals = map[string][]float64{}
	}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		key := f[0] + "\t" + f[i+1]
		if _, ok := s.vals[key]; !ok {
			s.order = append(s.order, key)
		}
		s.vals[key] = append(s.vals[key], v)
	}
}

func (s *summary) print() {
	fmt.Fprintf(os.Stderr, "\n%-34s %-16s %12s %12s %12s %4s\n", "benchmark", "unit", "median", "min", "max", "n")
	for _, k := range s.order {
		v := append([]float64(nil), s.vals[k]...)
		sort.Float64s(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		kk := strings.SplitN(k, "\t", 2)
		fmt.Fprintf(os.Stderr, "%-34s %-16s %12s %12s %12s %4d\n", kk[0], kk[1], fmtVal(med), fmtVal(v[0]), fmtVal(v[len(v)-1]), len(v))
	}
}
