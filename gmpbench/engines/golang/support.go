// The fixed part of every program the Go engine generates (gmpbench/engines/golang): the
// driver that times runs, the goroutine context the translated statements use, sampled
// durations, calibrated CPU work, the blocking system call, and the network emulator.
// The generated file (workload.go) supplies newRun, runMain, the workload's functions and the
// constants this file names; the two are built together as one `package main`.
//
// Protocol (bench/worker.py reads it): flags -procs -values -warmups -steps-per-ns -seed; one
// JSON object per line on stdout: first {"go_version": ...}, then one per run, warm-ups first.

package main

import (
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe" // and go:linkname
)

// nanotime is the runtime's CLOCK_MONOTONIC (comparable across processes: the emulator's due
// times are the server's).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// ---- the run ------------------------------------------------------------------------------------

var (
	seed       int64   // the workload's seed: every G's stream derives from it and its goid
	stepsPerNs float64 // the machine's calibrated work rate, the port's (gmpbench.runtime.work)
	runStart   int64   // nanotime when main started: `loop: D` runs until D has passed since
	nextGoid   int64   // atomic: goids handed out in batches of goidBatch (Go's goidcache)
	runGen     int32   // atomic: the run now measured; Gs of an ended run leave (see live)

	// atomic: counters summed from the Gs as they exit (see (*G).flush)
	created, syscalls, netwaits int64
	netLat                      [histBuckets]int64 // atomic: readiness due -> G running, ns

	// issue 13: stop-the-world and GOMAXPROCS (see stw, gc, setprocs)
	runProcs              int                // -procs: every run starts with it
	stwCalls, procresizes int64              // atomic
	stwLat                [histBuckets]int64 // atomic: ReadMemStats call, ns
	usesSTW               bool               // the workload stops the world
)

const goidBatch = 16

// G is a goroutine's context: what the port keeps in its G row.
type G struct {
	rng                            uint64          // xorshift64* state for sampled durations
	gen                            int32           // the run this G belongs to
	parent                         *G              // whose `children` this G is counted in (nil for main)
	group                          *sync.WaitGroup // the named group it is counted in, if any
	children                       sync.WaitGroup  // `wait: children`
	conn                           *netConn        // its connection, opened by the first netwait
	goids, goidsEnd                int64           // this G's batch of goids for the Gs it starts
	nCreated, nSyscalls, nNetwaits int64
	ts                             syscall.Timespec
	depth                          int64 // bounded recursion: levels of `go: F` inside F it may still start
	arrival                        int64 // serve: the scheduled arrival of the request this handler serves
}

func splitmix(x uint64) uint64 {
	z := x + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return (z ^ (z >> 31)) | 1
}

func newG(goid int64, parent *G, group *sync.WaitGroup) *G {
	return &G{rng: splitmix(uint64(seed*1000003 + goid)), gen: atomic.LoadInt32(&runGen),
		parent: parent, group: group}
}

// live is checked at every loop iteration: a run ends when main returns (as in the port, which
// stops its threads then), so a G still looping after that leaves at its next iteration instead
// of running into the next run's measurement. Gs blocked forever on an ended run's channels
// stay parked and cost nothing.
func (g *G) live() {
	if atomic.LoadInt32(&runGen) != g.gen {
		runtime.Goexit()
	}
}

func (g *G) goid() int64 {
	if g.goids == g.goidsEnd {
		g.goidsEnd = atomic.AddInt64(&nextGoid, goidBatch)
		g.goids = g.goidsEnd - goidBatch
	}
	g.goids++
	return g.goids
}

// spawn is `go: F` (with its group, or nil): counted in this G's children and in the group
// before the child can run, as wg.Add before `go` in Go code.
func (g *G) spawn(f func(*G), group *sync.WaitGroup) {
	g.children.Add(1)
	if group != nil {
		group.Add(1)
	}
	g.nCreated++
	go newG(g.goid(), g, group).body(f)
}

// spawnDepth is spawn with the child's bounded-recursion depth (`go: {fn: F, depth: N}`, and
// `go: F` inside F, which starts nothing at depth 0).
func (g *G) spawnDepth(f func(*G), group *sync.WaitGroup, depth int64) {
	g.children.Add(1)
	if group != nil {
		group.Add(1)
	}
	g.nCreated++
	child := newG(g.goid(), g, group)
	child.depth = depth
	go child.body(f)
}

func (g *G) body(f func(*G)) {
	f(g)
	if g.arrival != 0 {
		histAdd(&reqLat, nanotime()-g.arrival)
	}
	g.flush()
	g.parent.children.Done()
	if g.group != nil {
		g.group.Done()
	}
}

// flush adds this G's counts to the run's: one atomic per non-zero counter, at exit only.
func (g *G) flush() {
	if g.nCreated != 0 {
		atomic.AddInt64(&created, g.nCreated)
	}
	if g.nSyscalls != 0 {
		atomic.AddInt64(&syscalls, g.nSyscalls)
	}
	if g.nNetwaits != 0 {
		atomic.AddInt64(&netwaits, g.nNetwaits)
	}
	if g.conn != nil {
		g.conn.c.Close()
	}
}

// ---- durations: the port's sampler (gmpbench/runtime/interp.py), draw for draw -----------------

func (g *G) rand01() float64 {
	x := g.rng
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	g.rng = x
	r := x * 2685821657736338717
	return (float64(r>>11) + 0.5) * (1.0 / 9007199254740992.0)
}

func (g *G) stdNormal() float64 {
	u1 := g.rand01()
	u2 := g.rand01()
	return math.Sqrt(-2.0*math.Log(u1)) * math.Cos(2.0*math.Pi*u2)
}

func clip(v float64) int64 {
	if v <= 0 {
		return 0
	}
	return int64(v)
}

func (g *G) exp(mean float64) int64           { return clip(-mean * math.Log(g.rand01())) }
func (g *G) uniform(lo, hi float64) int64     { return clip(lo + (hi-lo)*g.rand01()) }
func (g *G) normal(mean, sd float64) int64    { return clip(mean + sd*g.stdNormal()) }
func (g *G) lognormal(med, sig float64) int64 { return clip(med * math.Exp(sig*g.stdNormal())) }

// ---- statements ---------------------------------------------------------------------------------

// spin runs n xorshift64 steps: the port's `work` loop (gmpbench/runtime/work.py), call-free.
//
//go:noinline
func spin(n int64, x uint64) uint64 {
	x |= 1
	for i := int64(0); i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

var spinSink uint64

// work is `work: D`: steps_for(D, rate) steps, rounded as the port rounds them.
func (g *G) work(ns int64) {
	spinSink += spin(int64(float64(ns)*stepsPerNs+0.5), g.rng)
}

// syscall is `syscall: D`: a real nanosleep through syscall.Syscall (entersyscall/exitsyscall).
func (g *G) syscall(ns int64) {
	g.ts = syscall.NsecToTimespec(ns)
	syscall.Syscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&g.ts)), 0, 0)
	g.nSyscalls++
}

func (g *G) sleep(ns int64) {
	if ns > 0 {
		time.Sleep(time.Duration(ns))
	}
}

// ---- the network: netwait over real sockets, readiness from the emulator process ---------------

type netConn struct {
	c   net.Conn
	buf [8]byte
}

var (
	ctrlFd   int   // this end of the control socket: new connections' client ends go there
	nextConn int32 // atomic: connection ids
	emulator *exec.Cmd
)

// netwait is `netwait: D`: ask the emulator for readiness at now+D, then read (the G parks on
// the netpoller until the byte arrives) and record due -> running.
func (g *G) netwait(ns int64) {
	if g.conn == nil {
		g.conn = dial()
	}
	b := g.conn.buf[:]
	due := nanotime() + ns
	binary.LittleEndian.PutUint64(b, uint64(due))
	if _, err := g.conn.c.Write(b); err != nil {
		fatalf("netwait: write: %v", err)
	}
	if _, err := io.ReadFull(g.conn.c, b); err != nil {
		fatalf("netwait: read: %v", err)
	}
	histAdd(&netLat, nanotime()-due)
	g.nNetwaits++
}

// dial opens a connection: a socketpair whose server end Go's netpoller watches and whose
// client end goes to the emulator over the control socket (SCM_RIGHTS).
func dial() *netConn {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		fatalf("netwait: socketpair: %v", err)
	}
	f := os.NewFile(uintptr(fds[0]), "conn")
	c, err := net.FileConn(f) // dups the fd, sets it non-blocking, registers it with epoll
	if err != nil {
		fatalf("netwait: FileConn: %v", err)
	}
	f.Close()
	var id [4]byte
	binary.LittleEndian.PutUint32(id[:], uint32(atomic.AddInt32(&nextConn, 1)))
	if err := syscall.Sendmsg(ctrlFd, id[:], syscall.UnixRights(fds[1]), nil, 0); err != nil {
		fatalf("netwait: send to the emulator: %v", err)
	}
	syscall.Close(fds[1])
	return &netConn{c: c}
}

func startEmulator() {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		fatalf("emulator: socketpair: %v", err)
	}
	ctrlFd = fds[0]
	self, err := os.Executable()
	if err != nil {
		fatalf("emulator: %v", err)
	}
	emulator = exec.Command(self, "-emulate")
	peer := os.NewFile(uintptr(fds[1]), "ctrl")
	emulator.ExtraFiles = []*os.File{peer} // fd 3 in the emulator
	emulator.Stderr = os.Stderr
	ready, err := emulator.StdoutPipe()
	if err != nil {
		fatalf("emulator: %v", err)
	}
	if err := emulator.Start(); err != nil {
		fatalf("emulator: start: %v", err)
	}
	peer.Close()
	var line [6]byte
	if _, err := io.ReadFull(ready, line[:]); err != nil || string(line[:]) != "ready\n" {
		fatalf("emulator did not start: %q %v", line, err)
	}
}

// ---- serve: open-loop arrivals on a listening connection ----------------------------------------

var (
	reqLat              [histBuckets]int64 // atomic: a request's scheduled arrival -> its handler's end
	reqLate, reqDropped int64              // atomic
)

// serve is `serve:`, net/http's accept loop, as the port runs it: the server accepts every
// arrival that is due by now (drawing the gaps from this G's stream, in the port's order) --
// dropping what exceeds the backlog (a full listen queue), counting as late what it accepts
// after the next arrival was due -- and starts one goroutine per request; then it asks the
// emulator for readiness of its listener (this G's connection) at the next scheduled arrival
// and reads, parked on Go's netpoller until then. The schedule never waits for the server.
func (g *G) serve(handler func(*G), n, backlog int64, gap func() int64) {
	next := nanotime() + gap()
	for left := n; ; {
		now, waiting := nanotime(), int64(0)
		for left > 0 && next <= now {
			arrival := next
			next += gap()
			left--
			waiting++
			if waiting > backlog {
				atomic.AddInt64(&reqDropped, 1)
				continue
			}
			if next <= now {
				atomic.AddInt64(&reqLate, 1)
			}
			g.spawnRequest(handler, arrival)
		}
		if left == 0 {
			break
		}
		g.netwait(next - nanotime()) // the listener: ready at the next arrival
	}
	g.children.Wait()
}

func (g *G) spawnRequest(f func(*G), arrival int64) {
	g.children.Add(1)
	g.nCreated++
	child := newG(g.goid(), g, nil)
	child.arrival = arrival
	go child.body(f)
}

// ---- histograms: gmpbench.runtime.stats's log-linear buckets ------------------------------------

func histBucket(v int64) int {
	if v < histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	if v >= 1<<histMaxBits {
		v = 1<<histMaxBits - 1
	}
	e := 63 - bitsLeadingZeros(uint64(v))
	shift := e - histSubBits
	return (shift+1)*histSub + int(v>>uint(shift)) - histSub
}

func bitsLeadingZeros(x uint64) int {
	n := 0
	for x&(1<<63) == 0 {
		x <<= 1
		n++
	}
	return n
}

func histAdd(h *[histBuckets]int64, v int64) { atomic.AddInt64(&h[histBucket(v)], 1) }

func sparse(h *[histBuckets]int64) map[string]int64 {
	out := map[string]int64{}
	for i := range h {
		if n := atomic.SwapInt64(&h[i], 0); n != 0 {
			out[fmt.Sprint(i)] = n
		}
	}
	return out
}

// ---- measuring a run ----------------------------------------------------------------------------

var samples = []metrics.Sample{
	{Name: "/sched/latencies:seconds"},
	{Name: "/gc/cycles/total:gc-cycles"},
}

type snapshot struct {
	lat   []uint64
	gc    uint64
	cpu   int64
	wall  int64
	edges []float64
}

func snap() snapshot {
	metrics.Read(samples)
	h := samples[0].Value.Float64Histogram()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return snapshot{lat: append([]uint64(nil), h.Counts...), gc: samples[1].Value.Uint64(),
		cpu: ru.Utime.Nano() + ru.Stime.Nano(), wall: nanotime(), edges: h.Buckets}
}

type runFigures struct {
	Warmup           bool             `json:"warmup"`
	WallNs           int64            `json:"wall_ns"`
	CPUNs            int64            `json:"cpu_ns"`
	Threads          int              `json:"threads"`
	Counters         map[string]int64 `json:"counters"`
	Latency          [][3]float64     `json:"sched_latency_buckets"` // [lo s, hi s, count]
	NetpollLatency   map[string]int64 `json:"netpoll_latency"`
	RequestLatency   map[string]int64 `json:"request_latency"`
	SafepointLatency map[string]int64 `json:"safepoint_latency,omitempty"`
}

func threadCount() int {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1
	}
	return len(ents)
}

// ---- stop-the-world, GOMAXPROCS (issue 13) -------------------------------------------------------

// stw is `stw: D`. Go has no public call that stops the world for a given time; ReadMemStats
// is the nearest: stopTheWorld("read mem stats"), a few µs of reading, startTheWorld. Its
// duration is recorded as the time to safepoint (an upper bound: it includes that short pause
// and the start); D is not held.
func (g *G) stw(ns int64) {
	var ms runtime.MemStats
	t0 := nanotime()
	runtime.ReadMemStats(&ms)
	histAdd(&stwLat, nanotime()-t0)
	atomic.AddInt64(&stwCalls, 1)
}

// setprocs is `setprocs: N`: runtime.GOMAXPROCS(N), a stop-the-world and resize when N
// differs; the call's duration goes with stw's (time to safepoint, with the resize and start).
func (g *G) setprocs(n int) {
	if runtime.GOMAXPROCS(0) == n {
		return
	}
	t0 := nanotime()
	runtime.GOMAXPROCS(n)
	histAdd(&stwLat, nanotime()-t0)
	atomic.AddInt64(&stwCalls, 1)
	atomic.AddInt64(&procresizes, 1)
}

// stwFigures adds the run's stop-the-world counter and time-to-safepoint histogram.
func stwFigures(fig *runFigures) {
	fig.SafepointLatency = sparse(&stwLat)
	fig.Counters["stw_pauses"] = atomic.SwapInt64(&stwCalls, 0)
}

func runOnce(warmup bool) runFigures {
	runtime.GOMAXPROCS(runProcs) // a setprocs: of the previous run must not carry over
	created, syscalls, netwaits = 0, 0, 0
	nextGoid = 1 // main is goid 1
	newRun()
	main := newG(1, nil, nil)
	before := snap()
	runStart = before.wall
	runMain(main)
	after := snap()
	atomic.AddInt32(&runGen, 1)
	main.flush()
	fig := runFigures{Warmup: warmup, WallNs: after.wall - before.wall, CPUNs: after.cpu - before.cpu,
		Threads: threadCount(), NetpollLatency: sparse(&netLat)}
	fig.Counters = map[string]int64{
		"gs_created": created + 1, "syscalls": syscalls, "gc_cycles": int64(after.gc - before.gc),
		"threads_max": int64(fig.Threads)}
	if usesNetwait {
		fig.Counters["netwaits"] = netwaits
	}
	if usesServe {
		fig.RequestLatency = sparse(&reqLat)
		requests := int64(0)
		for _, c := range fig.RequestLatency {
			requests += c
		}
		fig.Counters["requests"] = requests
		fig.Counters["requests_late"] = atomic.SwapInt64(&reqLate, 0)
		fig.Counters["requests_dropped"] = atomic.SwapInt64(&reqDropped, 0)
	}
	if usesSTW {
		stwFigures(&fig)
	}
	fig.Counters["procresizes"] = atomic.SwapInt64(&procresizes, 0)
	for i, n := range after.lat {
		if d := n - before.lat[i]; d != 0 {
			fig.Latency = append(fig.Latency, [3]float64{after.edges[i], after.edges[i+1], float64(d)})
		}
	}
	return fig
}

func main() {
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	values := flag.Int("values", 1, "measured runs")
	warmups := flag.Int("warmups", 0, "warm-up runs before them")
	flag.Float64Var(&stepsPerNs, "steps-per-ns", 0, "work rate (xorshift64 steps per ns)")
	flag.Int64Var(&seed, "seed", workloadSeed, "seed for sampled durations")
	emulate := flag.Bool("emulate", false, "be the network emulator (internal)")
	flag.Parse()
	if *emulate {
		emulateMain()
		return
	}
	if stepsPerNs <= 0 {
		fatalf("-steps-per-ns is required")
	}
	runProcs = *procs
	usesSTW = workloadUsesSTW
	runtime.GOMAXPROCS(*procs)
	if usesNetwait || usesServe {
		startEmulator()
	}
	out := json.NewEncoder(os.Stdout)
	out.Encode(map[string]string{"go_version": runtime.Version()})
	for i := 0; i < *warmups+*values; i++ {
		if err := out.Encode(runOnce(i < *warmups)); err != nil {
			fatalf("writing results: %v", err)
		}
	}
}

func fatalf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "gmpbench go engine: "+format+"\n", a...)
	os.Exit(1)
}

// ---- the network emulator process: one OS thread, no part of the measured scheduler -------------

type dueItem struct {
	due int64
	fd  int32
}

type dueHeap []dueItem

func (h dueHeap) Len() int            { return len(h) }
func (h dueHeap) Less(i, j int) bool  { return h[i].due < h[j].due }
func (h dueHeap) Swap(i, j int)       { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x interface{}) { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() interface{} {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func timerfdArm(fd int, abs int64) {
	its := [2]syscall.Timespec{{}, syscall.NsecToTimespec(abs)}
	const abstime = 1
	if _, _, e := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, uintptr(fd), abstime,
		uintptr(unsafe.Pointer(&its)), 0, 0, 0); e != 0 {
		fatalf("emulator: timerfd_settime: %v", e)
	}
}

// emulateMain serves readiness: a connection's request carries its due time; at that time the
// emulator writes it back, which makes the server end readable. Driven by epoll_wait on the
// control socket, the client ends and a timerfd armed (absolute) at the earliest due time.
func emulateMain() {
	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
	const ctrl = 3
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		fatalf("emulator: epoll_create1: %v", err)
	}
	tfd, _, e := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, 1 /* CLOCK_MONOTONIC */, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		fatalf("emulator: timerfd_create: %v", e)
	}
	for _, fd := range []int{ctrl, int(tfd)} {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			fatalf("emulator: epoll_ctl: %v", err)
		}
	}
	os.Stdout.WriteString("ready\n")
	pend := map[int32][]byte{}
	var h dueHeap
	armed := int64(-1)
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(4))
	for {
		k, err := syscall.EpollWait(ep, events, -1)
		if err == syscall.EINTR {
			continue
		} else if err != nil {
			fatalf("emulator: epoll_wait: %v", err)
		}
		for _, ev := range events[:k] {
			switch fd := int(ev.Fd); fd {
			case int(tfd):
				syscall.Read(fd, buf[:8])
			case ctrl:
				n, oobn, _, _, err := syscall.Recvmsg(ctrl, buf, oob, 0)
				if err != nil || n == 0 {
					return // the server exited
				}
				cmsgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
				for _, m := range cmsgs {
					rights, _ := syscall.ParseUnixRights(&m)
					for _, cfd := range rights {
						syscall.SetNonblock(cfd, true)
						cev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(cfd)}
						if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, cfd, &cev); err != nil {
							fatalf("emulator: epoll_ctl: %v", err)
						}
					}
				}
			default:
				n, err := syscall.Read(fd, buf)
				if err == syscall.EAGAIN || err == syscall.EINTR {
					continue
				}
				if n <= 0 { // the server closed the connection
					syscall.EpollCtl(ep, syscall.EPOLL_CTL_DEL, fd, nil)
					syscall.Close(fd)
					delete(pend, ev.Fd)
					continue
				}
				p := append(pend[ev.Fd], buf[:n]...)
				for ; len(p) >= 8; p = p[8:] {
					heap.Push(&h, dueItem{int64(binary.LittleEndian.Uint64(p)), ev.Fd})
				}
				pend[ev.Fd] = p
			}
		}
		var out [8]byte
		for len(h) > 0 && h[0].due <= nanotime() {
			it := heap.Pop(&h).(dueItem)
			binary.LittleEndian.PutUint64(out[:], uint64(it.due))
			syscall.Write(int(it.fd), out[:])
		}
		if len(h) == 0 {
			armed = -1
		} else if h[0].due != armed {
			armed = h[0].due
			timerfdArm(int(tfd), armed)
		}
	}
}
