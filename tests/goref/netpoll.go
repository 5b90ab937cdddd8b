package main

// netpoll: a server shape on real sockets. Each of `conns` connections is an AF_UNIX
// socketpair; the server end is wrapped with net.FileConn, so its reads park the goroutine on
// Go's netpoller (epoll). The other ends belong to a separate emulator process (this program
// re-executed as `goref emulate`), which plays the clients: when a connection's server
// goroutine writes a request stamp (its wait-start time), the emulator answers it after an
// exponential think time. The emulator is a single OS thread blocked in epoll_wait on the
// client sockets plus a timerfd armed (absolute, CLOCK_MONOTONIC) for the earliest due answer,
// so no goroutine of the measured process plays any part in producing readiness.
//
// Each answer carries [due time, actual write time]; the server goroutine compares both with
// its own clock when it runs again (nanotime, CLOCK_MONOTONIC, comparable across processes).

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

var npConns, npReqs *int
var npThink, npWork *int64

func runNetpoll(procs, rep int) {
	n := *npConns
	conns := make([]net.Conn, n)
	peer := make([]*os.File, n)
	for i := 0; i < n; i++ {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			fatalf("socketpair: %v", err)
		}
		f := os.NewFile(uintptr(fds[0]), "server-end")
		c, err := net.FileConn(f) // dups the fd, makes it non-blocking, registers it with epoll
		if err != nil {
			fatalf("FileConn: %v", err)
		}
		f.Close()
		conns[i] = c
		peer[i] = os.NewFile(uintptr(fds[1]), "client-end")
	}
	self, err := os.Executable()
	if err != nil {
		fatalf("executable: %v", err)
	}
	emu := exec.Command(self, "emulate", "-conns", strconv.Itoa(n),
		"-think", strconv.FormatInt(*npThink, 10),
		"-seed", strconv.FormatInt(*flagSeed+int64(rep), 10))
	emu.ExtraFiles = peer // client ends become fds 3 .. 3+n-1 in the emulator
	emu.Stderr = os.Stderr
	ready, err := emu.StdoutPipe()
	if err != nil {
		fatalf("pipe: %v", err)
	}
	if err := emu.Start(); err != nil {
		fatalf("start emulator: %v", err)
	}
	for _, f := range peer {
		f.Close()
	}
	if line, err := bufio.NewReader(ready).ReadString('\n'); err != nil || line != "ready\n" {
		fatalf("emulator did not start: %q %v", line, err)
	}

	reqs := *npReqs
	total := n * reqs
	dueLat := make([]int64, total)  // due time -> server goroutine running
	wrLat := make([]int64, total)   // emulator's write -> server goroutine running
	emuLate := make([]int64, total) // due time -> emulator's write
	var wg sync.WaitGroup
	wg.Add(n)
	c0 := cpuNanos()
	t0 := nanotime()
	for i := 0; i < n; i++ {
		go func(i int, c net.Conn) {
			var req [8]byte
			var resp [16]byte
			for k := 0; k < reqs; k++ {
				binary.LittleEndian.PutUint64(req[:], uint64(nanotime()))
				if _, err := c.Write(req[:]); err != nil {
					fatalf("write: %v", err)
				}
				if _, err := io.ReadFull(c, resp[:]); err != nil {
					fatalf("read: %v", err)
				}
				now := nanotime()
				due := int64(binary.LittleEndian.Uint64(resp[0:]))
				wr := int64(binary.LittleEndian.Uint64(resp[8:]))
				j := i*reqs + k
				dueLat[j], wrLat[j], emuLate[j] = now-due, now-wr, wr-due
				work(*npWork)
			}
			wg.Done()
		}(i, conns[i])
	}
	wg.Wait()
	el := nanotime() - t0
	cpu := cpuNanos() - c0
	threads := taskCount()
	for _, c := range conns {
		c.Close()
	}
	if err := emu.Wait(); err != nil {
		fatalf("emulator: %v", err)
	}
	emuCPU := emu.ProcessState.UserTime() + emu.ProcessState.SystemTime()
	sortInt64(dueLat)
	sortInt64(wrLat)
	sortInt64(emuLate)
	emit("Netpoll", procs, int64(total),
		metric{float64(el) / float64(total), "ns/op"},
		metric{float64(total) / (float64(el) / 1e9), "req/s"},
		metric{float64(pct(dueLat, 0.5)) / 1e3, "due-p50-us"},
		metric{float64(pct(dueLat, 0.99)) / 1e3, "due-p99-us"},
		metric{float64(pct(wrLat, 0.5)) / 1e3, "lat-p50-us"},
		metric{float64(pct(wrLat, 0.99)) / 1e3, "lat-p99-us"},
		metric{float64(pct(emuLate, 0.5)) / 1e3, "emu-late-p50-us"},
		metric{float64(pct(emuLate, 0.99)) / 1e3, "emu-late-p99-us"},
		metric{float64(cpu) / float64(el), "cpu-util"},
		// CPU the emulator process used over the same wall time (it shares the 2 cores)
		metric{float64(emuCPU.Nanoseconds()) / float64(el), "emu-cpu-util"},
		metric{float64(threads), "threads"})
}

// ---- the emulator process ----------------------------------------------------------------------

type dueItem struct {
	due int64
	idx int32
}

// dueHeap is a binary min-heap on due.
type dueHeap []dueItem

func (h *dueHeap) push(it dueItem) {
	*h = append(*h, it)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].due <= a[i].due {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *dueHeap) pop() dueItem {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(a) && a[l].due < a[m].due {
			m = l
		}
		if r < len(a) && a[r].due < a[m].due {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

const (
	clockMonotonic  = 1
	tfdNonblock     = syscall.O_NONBLOCK
	tfdCloexec      = syscall.O_CLOEXEC
	tfdTimerAbstime = 1
)

type itimerspec struct {
	interval, value syscall.Timespec
}

func timerfdArm(fd int, abs int64) {
	its := itimerspec{value: syscall.NsecToTimespec(abs)}
	_, _, e := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, uintptr(fd), tfdTimerAbstime,
		uintptr(unsafe.Pointer(&its)), 0, 0, 0)
	if e != 0 {
		fatalf("timerfd_settime: %v", e)
	}
}

func mainEmulate(args []string) {
	fs := flag.NewFlagSet("emulate", flag.ExitOnError)
	n := fs.Int("conns", 1, "client sockets, inherited as fds 3..3+conns-1")
	think := fs.Int64("think", 50000, "mean exponential think time, ns")
	seed := fs.Int64("seed", 1, "random seed")
	fs.Parse(args)

	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
	debug.SetGCPercent(-1)
	rng := rand.New(rand.NewSource(*seed))

	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		fatalf("epoll_create1: %v", err)
	}
	for i := 0; i < *n; i++ {
		if err := syscall.SetNonblock(3+i, true); err != nil {
			fatalf("nonblock fd %d: %v", 3+i, err)
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, 3+i, &ev); err != nil {
			fatalf("epoll_ctl fd %d: %v", 3+i, err)
		}
	}
	tfd, _, e := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if e != 0 {
		fatalf("timerfd_create: %v", e)
	}
	tev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(*n)}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, int(tfd), &tev); err != nil {
		fatalf("epoll_ctl timerfd: %v", err)
	}
	os.Stdout.WriteString("ready\n")

	pend := make([][]byte, *n) // partial request bytes per connection
	closed := make([]bool, *n)
	open := *n
	var h dueHeap
	armed := int64(-1)
	events := make([]syscall.EpollEvent, 128)
	var buf [4096]byte
	var resp [16]byte
	for open > 0 || len(h) > 0 {
		k, err := syscall.EpollWait(ep, events, -1)
		if err == syscall.EINTR {
			continue
		} else if err != nil {
			fatalf("epoll_wait: %v", err)
		}
		for _, ev := range events[:k] {
			i := int(ev.Fd)
			if i == *n {
				syscall.Read(int(tfd), buf[:8]) // clear the expiration count
				continue
			}
			m, err := syscall.Read(3+i, buf[:])
			if err == syscall.EAGAIN || err == syscall.EINTR {
				continue
			}
			if m <= 0 { // EOF or error: the server closed this connection
				syscall.EpollCtl(ep, syscall.EPOLL_CTL_DEL, 3+i, nil)
				syscall.Close(3 + i)
				closed[i] = true
				open--
				continue
			}
			p := append(pend[i], buf[:m]...)
			for len(p) >= 8 {
				start := int64(binary.LittleEndian.Uint64(p))
				h.push(dueItem{start + int64(rng.ExpFloat64()*float64(*think)), int32(i)})
				p = p[8:]
			}
			pend[i] = p
		}
		for len(h) > 0 && h[0].due <= nanotime() {
			it := h.pop()
			if closed[it.idx] {
				continue
			}
			binary.LittleEndian.PutUint64(resp[0:], uint64(it.due))
			binary.LittleEndian.PutUint64(resp[8:], uint64(nanotime()))
			syscall.Write(3+int(it.idx), resp[:])
		}
		if len(h) == 0 {
			armed = -1
		} else if h[0].due != armed {
			armed = h[0].due
			timerfdArm(int(tfd), armed)
		}
	}
}

func fatalf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "goref: "+format+"\n", a...)
	os.Exit(1)
}
