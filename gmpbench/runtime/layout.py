"""The state layout of the port: the runtime2.go of gmpbench.

All state of a run lives in ONE int64 array ``S`` allocated once (state.py) and passed to every
nogil function: one array is one pointer-sized argument, where a tuple of tables costs a hundred
(the guide's "state as a tuple of arrays" measured 5x slower per call here).  ``S`` starts with
the sched words; the other tables are regions whose base offsets sit in the H_* header words,
addressed through mem.py (``gx(S, gp)`` is the index of G gp's first field, and so on).
Row 0 of the G, M and P tables is unused so that id 0 means nil, as a nil pointer does in Go:
G ids, M ids and P ids all start at 1.  Channels, wait groups and mutexes are numbered from 0, as
the compiler numbers them.  Each field is listed once with who
may write it; "atomic" fields are read by other threads with atomics.load and written with
atomics.store/cas/xadd; "owner" fields are touched only by the thread that owns the row; "sched
lock" fields only while holding sched.lock.  Hot words written by different threads sit on
different 64-byte cache lines (the guide measured 3x swings from false sharing).
"""
LINE = 8  # int64 words per cache line

# ---- G: a goroutine (table allg[gid]) ----------------------------------------------------------
Gidle, Grunnable, Grunning, Gsyscall, Gwaiting, Gdead = 0, 1, 2, 3, 4, 6
G_STATUS = 0       # atomic; checked transitions in casgstatus
G_GOID = 1         # set by newproc on the creating M
G_PC = 2           # owner (the M running it): next instruction
G_SP = 3           # owner: frames in use on gstk[gid]
G_SCHEDLINK = 4    # link in run queue lists / free lists / wait queues; owned by whoever holds the list
G_M = 5            # the M running it (0 when not running); for dumps and preemptone
G_PREEMPT = 6      # atomic; set by sysmon's preemptone, cleared by execute
G_WAITREASON = 7   # why it is _Gwaiting (WAIT_* below)
G_WAITOBJ = 8      # index of the channel/group/mutex it waits on
G_CHILDREN = 9     # atomic; CHILD_* protocol word: live children + flags (sync.py)
G_PARENT = 10      # the G that started it (0 for main)
G_GROUP = 11       # wait group it is counted in, plus one (0 none)
G_WORKLEFT = 12    # owner: xorshift steps of an interrupted `work` still to run (0 none)
G_ELEM = 13        # value carried by a blocked send/recv (the sudog's elem)
G_READYTICK = 14   # cputicks when it last became runnable (latency stamp)
G_RNG = 15         # owner: xorshift state for sampled durations
G_FUNC = 16        # function id it started in (for dumps)
G_WAITSINCE = 17   # cputicks when it blocked (for dumps)
G_WHEN = 18        # timer lock: when its `sleep` ends (ns, nanotime)
G_PDRG = 19        # atomic: its connection's pollDesc.rg -- 0, PD_READY, PD_WAIT or the G itself
G_CONNFD = 20      # owner: the eventfd of its connection (0: none yet); the connection id is gp
G_NETDUE = 21      # owner: when the pending readiness is due (ns, nanotime)
G_NETSTATE = 22    # owner: 1 while a `netwait` waits for readiness
GSTRIDE = 24

WAIT_NONE, WAIT_CHANSEND, WAIT_CHANRECV, WAIT_CHILDREN, WAIT_GROUP, WAIT_MUTEX, WAIT_SLEEP, \
    WAIT_NETIO = range(8)
WAIT_REASONS = ["", "chan send", "chan receive", "wait children", "sync.WaitGroup.Wait",
                "sync.Mutex.Lock", "sleep", "IO wait"]

# ---- M: an OS thread (table allm[mid]) ---------------------------------------------------------
M_ID = 0
M_P = 1            # owner: the P it holds (0 none)
M_NEXTP = 2        # written by startm under sched.lock before notewakeup, read by the M after
M_SPINNING = 3     # owner (startm sets it before waking the M)
M_SCHEDLINK = 4    # sched lock: link in sched.midle
M_CURG = 5         # atomic: G it runs (read by sysmon's preemptone)
M_SYSCALLTICK = 6  # owner: P's syscalltick at entersyscall
M_FASTRAND = 8     # owner: xorshift state for steal order
M_WAITLOCKKIND = 9  # owner: what park_m must unlock after parking (UNLOCK_* below)
M_WAITLOCKOBJ = 10  # owner: which object's lock
M_STARTED = 11     # atomic: the thread entered mstart (1) / left it (2)
M_SCRATCH = 12     # owner: 2 words of buffer for the M's own syscalls (eventfd, epoll_ctl)
M_PARK = 16        # futex note: stopm sleeps here, startm wakes (own cache line)
MSTRIDE = 24

UNLOCK_NONE, UNLOCK_CHAN, UNLOCK_GROUP, UNLOCK_MUTEX, UNLOCK_CHILDREN, UNLOCK_TIMER, UNLOCK_NETPOLL = \
    range(7)

# ---- P: a processor (table allp[pid]; its ring buffer is runq[pid]) ----------------------------
Pidle, Prunning, Psyscall, Pgcstop, Pdead = 0, 1, 2, 3, 4
P_ID = 0
P_STATUS = 1       # atomic: Prunning by owner; Psyscall->Prunning/Pidle by CAS (exitsyscall, retake)
P_M = 2            # the M holding it (0 none)
P_LINK = 3         # sched lock: link in sched.pidle
P_SCHEDTICK = 4    # owner; read by sysmon (relaxed): incremented on every non-inherited execute
P_SYSCALLTICK = 5  # owner/retake; incremented on every syscall and on retake
P_RUNNEXT = 6      # atomic: G to run next (0 none); CAS by owner and by thieves
P_GFREE = 7        # owner: free G list
P_GFREECNT = 8     # owner
P_GOIDCACHE = 9    # owner: next goid of the cached batch
P_GOIDCACHEEND = 10
P_SM_SCHEDTICK = 11   # sysmon only: sysmontick.schedtick
P_SM_SCHEDWHEN = 12
P_SM_SYSCALLTICK = 13
P_SM_SYSCALLWHEN = 14
P_RUNQHEAD = 16    # atomic: consumers (owner and thieves) CAS it; own cache line
P_RUNQTAIL = 24    # atomic: written only by the owner (store-release); own cache line
PSTRIDE = 32
RUNQ_MAX = 256     # slots per local run queue (the knob runq_size may use fewer)
GOID_BATCH = 16    # goids a P takes from sched.goidgen at once (Go: _GoidCacheBatch)

# ---- sched: the global scheduler (1-D table sched) ---------------------------------------------
S_LOCK = 0           # sched.lock (mutex word) -- the next words are under it
S_RUNQHEAD = 1       # global run queue, linked through G_SCHEDLINK
S_RUNQTAIL = 2
S_RUNQSIZE = 3       # atomic reads allowed for the "is it empty" hints
S_PIDLE = 4          # idle P list, linked through P_LINK
S_MIDLE = 5          # idle M list, linked through M_SCHEDLINK
S_NMIDLE = 6
S_MCOUNT = 7         # Ms ever created (their rows are allm[1..mcount])
S_NMIDLELOCKED = 8
S_NMSYS = 9          # system Ms (sysmon) not counted by checkdead
S_MAXMCOUNT = 10     # max_threads
S_NEWM = 11          # Ms waiting for the template thread to create their OS thread (stack via M_SCHEDLINK)
S_THREADS_MAX = 12   # peak of mcount: every M ever started, sysmon included (Go's threads=)
S_NPIDLE = 16        # atomic
S_NMSPINNING = 24    # atomic
S_GFLOCK = 32        # sched.gflock -- the next words under it
S_GFREE = 33         # global free G list
S_NGFREE = 34
S_ALLGLEN = 40       # atomic: G rows handed out (allg[1..allglen])
S_GOIDGEN = 48       # atomic
S_LASTPOLL = 56      # atomic
S_SYSMONWAIT = 64    # atomic
S_SYSMONNOTE = 72    # futex note
S_STOP = 80          # atomic: the run is over; every M leaves mstart
S_TEMPLNOTE = 88     # futex word: the Python template thread sleeps on it (newm, done, fatal)
S_DONE = 96          # atomic: main returned
S_FATAL = 97         # atomic: FATAL_* code of a throw, first writer wins
S_FATALARG = 98
S_MAINSTARTED = 99   # main is runnable; checkdead may judge from now on
S_MAING = 100        # gid of main
S_STARTTICK = 101    # cputicks when main became runnable
S_ENDTICK = 102      # cputicks when main returned
S_NPROCS = 103       # gomaxprocs
S_MAXG = 104         # rows of allg
S_TSC_PER_NS_Q20 = 105  # cputicks per ns, fixed point << 20 (calibrated in state.py)
S_SEED = 106
S_RUNSTART_NS = 107  # nanotime when main became runnable (loop: D deadlines)
S_TRACE = 108        # events per M's trace buffer; 0: tracing off (set before the run, read-only)
S_TRACE_MS = 109     # Ms 0..S_TRACE_MS-1 have a trace buffer (trace.py)
S_NS_PER_TSC_Q20 = 111  # ns per cputick, fixed point << 20: converting needs no division
S_MAINPENDING = 110  # atomic: 1 until the first M creates main on its P (sched.runtime_main)
S_POOLWORD = 112     # futex word: bumped to hand a new M to a spare thread (threads.py)
S_NPOOL = 113        # sched lock: spare threads waiting for an M
S_STEPS_PER_NS = 114  # float64 bits: `work`'s xorshift steps per ns (work.py; read-only)

S_TIMERLOCK = 120    # lock of the timer heap -- the next word under it
S_TIMERHEAPN = 121   # entries in the timer heap
S_NTIMERS = 122      # atomic: sleeping Gs, counted until the timer thread has made them runnable
S_TIMERNOTE = 128    # futex word (sequence): bumped when the earliest timer changes
S_NETPOLLWAITERS = 136  # atomic: Gs parked on the netpoller
S_EPFD = 137         # the epoll instance (set before the run)
S_BREAKFD = 138      # eventfd in the epoll set that wakes a blocked netpoll (netpollBreak)
S_NETSCRATCH = 139   # 2 words: the network emulator's syscall buffer
S_NETLOCK = 152      # lock of the network emulator's heap of due readiness -- next word under it
S_NETHEAPN = 153
S_NETNOTE = 160      # futex word (sequence): bumped when the earliest due readiness changes

# Header: base offsets of the tables (constant during a run).
H_ALLP = 200         # PSTRIDE words per P
H_RUNQ = 201         # RUNQ_MAX slots per P
H_ALLM = 202         # MSTRIDE words per M
H_ALLG = 203         # GSTRIDE words per G
H_GSTK = 204         # H_GSTKDEPTH frames per G
H_GSTKDEPTH = 205
H_CHANS = 206        # CSTRIDE words per channel
H_CHANBUF = 207      # buffer slots of all channels
H_GROUPS = 208       # WSTRIDE words per wait group
H_MUTEXES = 209      # XSTRIDE words per mutex
H_CODE = 210         # 4 words per instruction
H_DISTS = 211        # 3 words per distribution: kind, p1, p2 (ns; lognormal sigma * 1e9)
H_MSTATS = 212       # STSTRIDE counters per M
H_MLAT = 213         # stats.NBUCKETS latency buckets per M
H_COPRIMES = 214     # [count, coprimes of gomaxprocs...]
H_TIMERS = 215       # the timer heap: 2 words (when, gp) per sleeping G
H_NETHEAP = 216      # the network emulator's heap: 2 words (due, gp) per waiting connection
H_MEVENTS = 217      # EVENTS_WORDS per M: epoll_wait's event buffer
H_MNETLAT = 218      # stats.NBUCKETS per M: readiness due -> G running latency
H_MTRACE = 219       # S_TRACE events of TRACE_WORDS per M with a buffer (trace.py)
H_END = 220          # size of S
S_KNOBS = 232        # the policy's knobs (policy.py): one load each, at a constant index
KNOBS_MAX = 32
SCHED_SIZE = S_KNOBS + KNOBS_MAX

FATAL_NONE, FATAL_DEADLOCK, FATAL_TIMEOUT, FATAL_THROW, FATAL_MAXTHREADS, FATAL_MAXG, \
    FATAL_INTERRUPT = range(7)

# ---- channels (table chans[cid]; buffer slots in chanbuf[C_BUFOFF : C_BUFOFF+C_CAP]) ----------
C_LOCK = 0
C_CAP = 1
C_COUNT = 2        # chan lock: elements in the buffer
C_SENDX = 3
C_RECVX = 4
C_RECVQ_HEAD = 5   # chan lock: Gs blocked receiving, linked through G_SCHEDLINK
C_RECVQ_TAIL = 6
C_SENDQ_HEAD = 7
C_SENDQ_TAIL = 8
C_BUFOFF = 9
C_NEXTVAL = 10     # chan lock: id of the next message sent
C_SENT = 11        # chan lock: messages sent / received, and their id sums (every message once)
C_RECVD = 12
C_SENTSUM = 13
C_RECVDSUM = 14
CSTRIDE = 16

# ---- wait groups (table groups[wid]) and mutexes (table mutexes[xid]) --------------------------
W_LOCK = 0
W_COUNT = 1
W_WAITHEAD = 2
W_WAITTAIL = 3
WSTRIDE = 8

X_STATE = 0        # atomic: sync.Mutex state (locked bit, woken bit, waiter count)
X_SEMALOCK = 1     # lock of the semaphore's wait queue
X_SEMAHEAD = 2
X_SEMATAIL = 3
X_SEMA = 4         # semaphore count (sema lock)
XSTRIDE = 8

# ---- per-M statistics (table mstats[mid]) -------------------------------------------------------
COUNTERS = (
    "gs_created gs_exited schedules runnext_puts local_puts global_puts global_gets "
    "fairness_gets steal_attempts steals gs_stolen runnext_steals wakeps startms stopms "
    "spinning_transitions handoffs retakes preemptions syscalls syscall_fast_exits "
    "syscall_slow_exits netpoll_calls netpoll_gs threads_max"
).split()
(ST_GS_CREATED, ST_GS_EXITED, ST_SCHEDULES, ST_RUNNEXT_PUTS, ST_LOCAL_PUTS, ST_GLOBAL_PUTS,
 ST_GLOBAL_GETS, ST_FAIRNESS_GETS, ST_STEAL_ATTEMPTS, ST_STEALS, ST_GS_STOLEN, ST_RUNNEXT_STEALS,
 ST_WAKEPS, ST_STARTMS, ST_STOPMS, ST_SPINNING_TRANSITIONS, ST_HANDOFFS, ST_RETAKES,
 ST_PREEMPTIONS, ST_SYSCALLS, ST_SYSCALL_FAST_EXITS, ST_SYSCALL_SLOW_EXITS, ST_NETPOLL_CALLS,
 ST_NETPOLL_GS, ST_THREADS_MAX) = range(len(COUNTERS))
# extra figures beyond the documented counters (README, "Reading results")
EXTRA_COUNTERS = ("netpoll_blocking_calls", "cpu_ns", "netpoll_gs_nonblocking",
                  "netpoll_gs_blocking", "netpoll_gs_sysmon", "netwaits", "netwait_ready_early",
                  "direct_handoffs", "eager_wakeups")
(ST_NETPOLL_BLOCKING, ST_CPU_NS, ST_NETPOLL_GS_NONBLOCKING, ST_NETPOLL_GS_BLOCKING,
 ST_NETPOLL_GS_SYSMON, ST_NETWAITS, ST_NETWAIT_EARLY, ST_DIRECT_HANDOFFS,
 ST_EAGER_WAKEUPS) = range(
    len(COUNTERS), len(COUNTERS) + len(EXTRA_COUNTERS))
STSTRIDE = 40
# unnamed slots at the end of the row (not results): the M's trace events written and dropped
ST_TRACE_N = STSTRIDE - 2
ST_TRACE_DROPPED = STSTRIDE - 1

# ---- execution trace (trace.py) -----------------------------------------------------------------
TRACE_WORDS = 4      # per event: cputicks, kind | arg << 8, goid, P id
TRACE_MAX = 65536    # default events per M
TRACE_MS_MAX = 256   # Ms (rows 0..255) with a buffer; later Ms only count drops


PD_READY = -1      # pollDesc.rg: readiness arrived and nobody consumed it
PD_WAIT = -2       # pollDesc.rg: a G is about to park on it
EVENTS_MAX = 128   # epoll events per netpoll call
EVENTS_WORDS = EVENTS_MAX * 12 // 8  # epoll_event is 12 packed bytes
assert len(COUNTERS) + len(EXTRA_COUNTERS) <= ST_TRACE_N, "mstats rows too short"


# --- select / close / serve (issue 14) ---------------------------------------------------------
# Channels: closed flag; a nil channel (declared `nil`) has C_CAP = CAP_NIL.
C_CLOSED = 15      # chan lock: close(c) happened (never cleared)
CAP_NIL = -1

# Sudogs (table sudogs, chan.go's sudog): every G owns a block of S[H_SUDOGN] rows of SGSTRIDE
# words: row 0 is the G's select header (SEL_*), rows 1.. are its sudogs, one per case of the
# select it blocks in (row 1 for a plain send/recv).  Sudog id sg = gp * S[H_SUDOGN] + k.
# Wait queues (C_RECVQ_*/C_SENDQ_*) hold sudog ids, doubly linked through SG_NEXT/SG_PREV.
H_SUDOGS = 221       # base of the sudog table
H_SUDOGN = 222       # rows per G: 1 + the most cases of any select of the program
SGSTRIDE = 8
SG_NEXT = 0          # chan lock: wait queue links
SG_PREV = 1
SG_ELEM = 2          # chan lock: the value carried (filled by the partner)
SG_CHAN = 3          # the channel (cid) of the case
SG_ISSELECT = 4      # 1 when the sudog belongs to a select (the partner must win SEL_DONE)
SG_KIND = 5          # the case kind, CASE_* (select only)
SG_POLL = 6          # owner: pollorder[k - 1] (a case index, 0-based)
SG_LOCKORD = 7       # owner: lockorder[k - 1]
SEL_DONE = 0         # atomic: g.selectDone -- 0 while blocked, CAS to 1 by the one waker
SEL_PARAM = 1        # g.param: the sudog that completed the G's operation; 0: a close woke it
SEL_RESUME = 2       # owner: 1 while the G is parked in a channel operation (resumes it)
CASE_RECV, CASE_SEND, CASE_AFTER = 1, 2, 3

WAIT_SELECT = 8      # G_WAITREASON values (WAIT_REASONS continued)
WAIT_CHANSEND_NIL = 9
WAIT_CHANRECV_NIL = 10
WAIT_REASONS += ["select", "chan send (nil chan)", "chan receive (nil chan)"]
UNLOCK_SELECT = 7    # park_m: unlock every channel of the select, then the timer lock

FATAL_PANIC = 7      # a Go panic; S_FATALARG is PANIC_*
PANIC_SEND_CLOSED, PANIC_CLOSE_CLOSED, PANIC_CLOSE_NIL = 1, 2, 3
PANIC_MESSAGES = {PANIC_SEND_CLOSED: "send on closed channel",
                  PANIC_CLOSE_CLOSED: "close of closed channel",
                  PANIC_CLOSE_NIL: "close of nil channel"}

G_DEPTH = 23         # owner: bounded recursion: how many more levels `go: F` inside F may start

# serve (serve.py): a request's scheduled arrival sits in its handler G's select header row
REQ_ARRIVAL = 3      # owner: ns (nanotime) when the request this handler serves was due; 0: none
H_MREQLAT = 223      # stats.NBUCKETS per M: a request's scheduled arrival -> its handler's end

SELECT_COUNTERS = ("selects", "select_parks", "requests_late", "requests_dropped")
ST_SELECTS = len(COUNTERS) + len(EXTRA_COUNTERS)   # results' counters, after EXTRA_COUNTERS
ST_SELECT_PARKS = ST_SELECTS + 1
ST_REQ_LATE = ST_SELECTS + 2
ST_REQ_DROPPED = ST_SELECTS + 3
assert ST_REQ_DROPPED < ST_TRACE_N, "mstats rows too short"
