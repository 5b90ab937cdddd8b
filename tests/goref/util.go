package main

// Shared helpers: the monotonic clock, calibrated CPU work, percentiles, thread and CPU-time
// accounting, and the benchmark-format output line.

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's own clock: CLOCK_MONOTONIC read through the vDSO. Unlike
// time.Now's monotonic reading (which is offset by the process start), its value is comparable
// across processes, which the netpoll benchmark needs: the emulator process stamps the moment it
// wrote a byte and the server process compares that stamp with its own clock.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// itersPerUS is how many xorshift64 steps spin does per microsecond on this machine (set by the
// driver's calibration and handed to every child with -ipus).
var itersPerUS float64

// spin runs n steps of xorshift64 and returns the final state. Xorshift64 is a bijection on the
// non-zero states, so for a non-zero seed the result is never 0; the compiler cannot prove that,
// so callers writing `if spin(..) == 0 { panic(..) }` keep the loop from being removed.
//
//go:noinline
func spin(n int64, seed uint64) uint64 {
	x := seed | 1
	for i := int64(0); i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// itersFor converts a duration of CPU work in nanoseconds into spin steps.
func itersFor(ns int64) int64 { return int64(float64(ns) * itersPerUS / 1000) }

// work burns about ns nanoseconds of CPU (a fixed amount of work, not a deadline: if the thread
// is descheduled the work takes longer in wall time, as real computation would).
func work(ns int64) {
	n := itersFor(ns)
	if spin(n, uint64(n)+0x9e3779b97f4a7c15) == 0 {
		panic("unreachable: xorshift state became 0")
	}
}

// calibrate measures spin's speed: the fastest of several timed runs, since on a shared VM the
// slower runs are the ones that lost the CPU part of the way.
func calibrate() float64 {
	const steps = 400000
	spin(steps, 1) // warm
	best := int64(1 << 62)
	for i := 0; i < 25; i++ {
		t0 := nanotime()
		if spin(steps, uint64(i)+2) == 0 {
			panic("unreachable")
		}
		if d := nanotime() - t0; d < best {
			best = d
		}
	}
	return float64(steps) / (float64(best) / 1000)
}

// pct returns the p-quantile (0..1) of an ascending slice, nearest rank.
func pct(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1)+0.5)]
}

func sortInt64(a []int64) { sort.Slice(a, func(i, j int) bool { return a[i] < a[j] }) }

// taskCount is the number of OS threads of this process right now.
func taskCount() int {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1
	}
	return len(ents)
}

// statusThreads reads the "Threads:" line of /proc/<pid>/status (-1 if unreadable).
func statusThreads(pid int) int {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "Threads:") {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// cpuNanos is user+system CPU time of this process so far.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// metric is one "value unit" pair of a benchmark line.
type metric struct {
	v    float64
	unit string
}

func fmtVal(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 1000 || a == float64(int64(a)):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// emit prints one result in Go's benchmark format:
//
//	BenchmarkName/procs=P <ops> <value> <unit> <value> <unit> ...
func emit(name string, procs int, ops int64, ms ...metric) {
	var b strings.Builder
	fmt.Fprintf(&b, "Benchmark%s/procs=%d %d", name, procs, ops)
	for _, m := range ms {
		fmt.Fprintf(&b, " %s %s", fmtVal(m.v), m.unit)
	}
	fmt.Println(b.String())
}
