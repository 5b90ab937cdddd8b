package main

// The measurements. Each run* function is called in a fresh child process with GOMAXPROCS
// already set, performs one repetition and prints one benchmark line.

import (
	"math/rand"
	"sync"
	"syscall"
	"time"
)

// warmN is the size of the untimed warm-up run done before the timed one.
func warmN(n int) int {
	w := int(float64(n) * *flagWarm)
	if w < 1 && *flagWarm > 0 {
		w = 1
	}
	return w
}

// ---- pingpong: two goroutines bounce a token over two unbuffered channels ----------------------

var ppN *int

func runPingPong(procs, rep int) {
	once := func(n int) int64 {
		ping, pong := make(chan int), make(chan int)
		done := make(chan struct{})
		go func() {
			for v := range ping {
				pong <- v
			}
			close(done)
		}()
		t0 := nanotime()
		for i := 0; i < n; i++ {
			ping <- i
			<-pong
		}
		el := nanotime() - t0
		close(ping)
		<-done
		return el
	}
	if w := warmN(*ppN); w > 0 {
		once(w)
	}
	el := once(*ppN)
	emit("PingPong", procs, int64(*ppN), metric{float64(el) / float64(*ppN), "ns/op"})
}

// ---- spawn: start empty goroutines in batches and wait for each batch --------------------------

var spawnN, spawnBatch *int

func runSpawn(procs, rep int) {
	once := func(n, batch int) int64 {
		var wg sync.WaitGroup
		t0 := nanotime()
		for started := 0; started < n; started += batch {
			k := batch
			if n-started < k {
				k = n - started
			}
			wg.Add(k)
			for j := 0; j < k; j++ {
				go func() { wg.Done() }()
			}
			wg.Wait()
		}
		return nanotime() - t0
	}
	if w := warmN(*spawnN); w > 0 {
		once(w, *spawnBatch)
	}
	el := once(*spawnN, *spawnBatch)
	emit("Spawn", procs, int64(*spawnN), metric{float64(el) / float64(*spawnN), "ns/op"},
		metric{float64(taskCount()), "threads"})
}

// ---- fanout: like spawn, but every child burns uniform [0, maxwork) ns of CPU ------------------

var fanN, fanBatch *int
var fanMaxWork *int64

func runFanout(procs, rep int) {
	// The work amounts are drawn up front (seeded, per repetition) so that drawing them is not
	// part of the timed region.
	draw := func(n int, seed int64) ([]int64, int64) {
		r := rand.New(rand.NewSource(seed))
		it := make([]int64, n)
		var sum int64
		for i := range it {
			ns := r.Int63n(*fanMaxWork)
			sum += ns
			it[i] = itersFor(ns)
		}
		return it, sum
	}
	once := func(iters []int64, batch int) int64 {
		var wg sync.WaitGroup
		t0 := nanotime()
		for started := 0; started < len(iters); started += batch {
			k := batch
			if len(iters)-started < k {
				k = len(iters) - started
			}
			wg.Add(k)
			for _, n := range iters[started : started+k] {
				go func(n int64) {
					if spin(n, uint64(n)+7) == 0 {
						panic("unreachable")
					}
					wg.Done()
				}(n)
			}
			wg.Wait()
		}
		return nanotime() - t0
	}
	if w := warmN(*fanN); w > 0 {
		it, _ := draw(w, -1)
		once(it, *fanBatch)
	}
	iters, workNs := draw(*fanN, *flagSeed+int64(rep))
	c0 := cpuNanos()
	el := once(iters, *fanBatch)
	cpu := cpuNanos() - c0
	par := procs
	if ncpu := numCPU(); par > ncpu {
		par = ncpu
	}
	emit("Fanout", procs, int64(*fanN),
		metric{float64(el) / float64(*fanN), "ns/op"},
		metric{float64(el) / 1e6, "wall-ms"},
		metric{float64(workNs) / 1e6, "work-ms"},
		metric{float64(cpu) / 1e6, "cpu-ms"},
		// efficiency: nominal work / (wall time x cores the run could use)
		metric{float64(workNs) / (float64(el) * float64(par)), "eff"},
		metric{float64(taskCount()), "threads"})
}

// ---- syscall: goroutines alternating CPU work and a blocking nanosleep system call ------------

var scG, scIters *int
var scWork, scSleep *int64

// nanosleep sleeps through syscall.Nanosleep, i.e. syscall.Syscall(SYS_NANOSLEEP), the path that
// calls entersyscall/exitsyscall (so sysmon may retake the P and hand it to another M).
func nanosleep(ns int64) {
	ts := syscall.NsecToTimespec(ns)
	var rem syscall.Timespec
	for syscall.Nanosleep(&ts, &rem) == syscall.EINTR {
		ts = rem
	}
}

func runSyscall(procs, rep int) {
	once := func(g, iters int, sleeps []int64) int64 {
		var wg sync.WaitGroup
		wg.Add(g)
		t0 := nanotime()
		for i := 0; i < g; i++ {
			go func(i int) {
				for k := 0; k < iters; k++ {
					work(*scWork)
					s0 := nanotime()
					nanosleep(*scSleep)
					if sleeps != nil {
						sleeps[i*iters+k] = nanotime() - s0
					}
				}
				wg.Done()
			}(i)
		}
		wg.Wait()
		return nanotime() - t0
	}
	if w := warmN(*scIters); w > 0 {
		once(*scG, w, nil)
	}
	total := *scG * *scIters
	sleeps := make([]int64, total)
	c0 := cpuNanos()
	el := once(*scG, *scIters, sleeps)
	cpu := cpuNanos() - c0
	sortInt64(sleeps)
	emit("Syscall", procs, int64(total),
		metric{float64(el) / float64(total), "ns/op"},
		metric{float64(total) / (float64(el) / 1e9), "iters/s"},
		metric{float64(taskCount()), "threads"},
		// time from calling nanosleep(sleep) until the goroutine runs again: the kernel's sleep
		// (plus timer slack and VM wakeup delay) plus any wait for a P in exitsyscall
		metric{float64(pct(sleeps, 0.5)) / 1e3, "block-p50-us"},
		metric{float64(pct(sleeps, 0.99)) / 1e3, "block-p99-us"},
		metric{float64(cpu) / float64(el), "cpu-util"})
}

// ---- pingponghog: ping-pong beside a CPU hog at GOMAXPROCS=1 (runtime/proc_test.go shape) -----

var hogN *int

func runPingPongHog(procs, rep int) {
	once := func(n int) int64 {
		stop := make(chan struct{})
		done := make(chan struct{}, 3)
		// The hog: polls stop with a non-blocking select and otherwise never blocks, so it only
		// leaves the P when preempted.
		go func() {
			for {
				select {
				case <-stop:
					done <- struct{}{}
					return
				default:
				}
			}
		}()
		ping, pong := make(chan bool), make(chan bool)
		go func() { // ponger: answers n pings, then stops the hog
			for j := 0; j < n; j++ {
				pong <- <-ping
			}
			close(stop)
			done <- struct{}{}
		}()
		go func() { // pinger
			for i := 0; i < n; i++ {
				ping <- <-pong
			}
			done <- struct{}{}
		}()
		t0 := nanotime()
		ping <- true // serve the first ball
		<-stop
		el := nanotime() - t0
		<-ping // the pinger's last ball
		<-done
		<-done
		<-done
		return el
	}
	if w := warmN(*hogN); w > 0 {
		once(w)
	}
	el := once(*hogN)
	emit("PingPongHog", procs, int64(*hogN), metric{float64(el) / float64(*hogN), "ns/op"})
}

// ---- wakeup: a time.Sleep-paced sender wakes a receiver that does a little work ---------------

var wkN *int
var wkInterval, wkWork *int64
var wkSleeper *string

func runWakeup(procs, rep int) {
	once := func(n int, lats []int64) (el, sendSpan int64) {
		ch := make(chan int64)
		done := make(chan struct{})
		go func() { // receiver
			i := 0
			for t := range ch {
				if lats != nil {
					lats[i] = nanotime() - t
				}
				i++
				work(*wkWork)
			}
			close(done)
		}()
		interval := time.Duration(*wkInterval)
		pause := func() { time.Sleep(interval) }
		if *wkSleeper == "nanosleep" {
			pause = func() { nanosleep(*wkInterval) }
		}
		t0 := nanotime()
		var first, last int64
		for i := 0; i < n; i++ {
			pause()
			t := nanotime()
			if i == 0 {
				first = t
			}
			last = t
			ch <- t
		}
		close(ch)
		<-done
		return nanotime() - t0, last - first
	}
	if w := warmN(*wkN); w > 0 {
		once(w, nil)
	}
	lats := make([]int64, *wkN)
	c0 := cpuNanos()
	el, span := once(*wkN, lats)
	cpu := cpuNanos() - c0
	sortInt64(lats)
	gap := float64(span) / float64(*wkN-1)
	if *wkN < 2 {
		gap = float64(el)
	}
	emit("Wakeup", procs, int64(*wkN),
		metric{float64(el) / float64(*wkN), "ns/op"},
		metric{float64(pct(lats, 0.5)), "lat-p50-ns"},
		metric{float64(pct(lats, 0.99)), "lat-p99-ns"},
		// CPU seconds the whole process used per wall second (1.0 = one core busy)
		metric{float64(cpu) / float64(el), "cpu-util"},
		// what time.Sleep(interval) really gave: mean gap between consecutive sends
		metric{gap / 1e3, "interval-us"},
		metric{float64(taskCount()), "threads"})
}
