"""The state layout of the port: the runtime2.go of gmpbench.

All state of a run lives in ONE int64 array ``S`` allocated once (state.py) and passed to every
nogil function: one array is one pointer-sized argument, where a tuple of tables costs a hundred
(passing the state as a tuple of arrays measured 5x slower per call here).  ``S`` starts with
the sched words; the other tables are regions whose base offsets sit in the H_* header words,
addressed through mem.py (``gx(S, gp)`` is the index of G gp's first field, and so on).
Row 0 of the G, M and P tables is unused so that id 0 means nil, as a nil pointer does in Go:
G ids, M ids and P ids all start at 1.  Channels, wait groups and mutexes are numbered from 0, as
the compiler numbers them.  Each field is listed once with who
may write it; "atomic" fields are read by other threads with atomics.load and written with
atomics.store/cas/xadd; "owner" fields are touched only by the thread that owns the row; "sched
lock" fields only while holding sched.lock.  Hot words written by different threads sit on
different 64-byte cache lines (false sharing measured as 3x swings in the hot paths).

Offsets are never written by hand: each table is a ``Table`` whose declarations, in order, take
the next free words (``word``), several words (``words(n)``), the first word of a fresh cache
line (``line``) or a cache line of its own (``own_line``); ``end()`` gives the row stride.  At
import, ``check_tables`` verifies that every name with a table's prefix is one declaration of
that table and that no two declarations overlap (DESIGN.md, "State layout").
"""
from ..workload.ops import CODE_WORDS, DIST_WORDS  # noqa: F401 (re-exported: mem.py, state.py)
from ..workload.ops import CASE_AFTER, CASE_RECV, CASE_SEND  # noqa: F401 (select case kinds)

LINE = 8  # int64 words per cache line


class Table:
    """Ordered declarations of one table's words; each call returns the offset it allocated."""

    def __init__(self, name: str, *prefixes: str):
        self.name, self.prefixes = name, prefixes
        self.next = 0
        self.spans: list[tuple[int, int]] = []     # (offset, words) of each declaration

    def words(self, n: int) -> int:
        """The next n words (a small struct or buffer), one declaration."""
        off = self.next
        self.spans.append((off, n))
        self.next += n
        return off

    def word(self) -> int:
        return self.words(1)

    def line(self, n: int = 1) -> int:
        """n words starting a fresh cache line (the words after it may share that line)."""
        self.next = -(-self.next // LINE) * LINE
        return self.words(n)

    def own_line(self) -> int:
        """One word alone on its cache line (a hot word written by other threads)."""
        off = self.line()
        self.next = off + LINE
        return off

    def end(self) -> int:
        """The row stride: the words declared so far, rounded up to whole cache lines."""
        return -(-self.next // LINE) * LINE


def check_tables(names: dict, tables) -> None:
    """Every name with a table's prefix must be exactly one of its declarations, and
    declarations must not overlap: a hand-numbered offset or a second name fails here."""
    for t in tables:
        mine = {k: v for k, v in names.items()
                if k.startswith(t.prefixes) and type(v) is int}
        starts = {off for off, _ in t.spans}
        for k, v in mine.items():
            assert v in starts, f"layout.py: {k} = {v} is not a declaration of table {t.name}"
        by_off = {}
        for k, v in mine.items():
            assert v not in by_off, f"layout.py: {k} and {by_off[v]} are the same word of {t.name}"
            by_off[v] = k
        assert len(by_off) == len(starts), \
            f"layout.py: a declaration of {t.name} has no name: {sorted(starts - set(by_off))}"
        spans = sorted(t.spans)
        for (a, n), (b, _) in zip(spans, spans[1:]):
            assert a + n <= b, f"layout.py: {by_off[a]} overlaps {by_off[b]} in {t.name}"


# ---- G: a goroutine (table allg[gid]) ----------------------------------------------------------
Gidle, Grunnable, Grunning, Gsyscall, Gwaiting, Gdead = 0, 1, 2, 3, 4, 6
_G = Table("G", "G_", "SEL_", "REQ_")
G_STATUS = _G.word()       # atomic; checked transitions in casgstatus
G_GOID = _G.word()         # set by newproc on the creating M
G_PC = _G.word()           # owner (the M running it): next instruction
G_SP = _G.word()           # owner: frames in use on gstk[gid]
G_SCHEDLINK = _G.word()    # link in run queues / free lists / wait queues: whoever holds the list
G_M = _G.word()            # the M running it (0 when not running); for dumps and preemptone
G_PREEMPT = _G.word()      # atomic; set by sysmon's preemptone, cleared by execute
G_WAITREASON = _G.word()   # why it is _Gwaiting (WAIT_* below)
G_WAITOBJ = _G.word()      # index of the channel/group/mutex it waits on
G_CHILDREN = _G.word()     # atomic; CHILD_* protocol word: live children + flags (sync.py)
G_PARENT = _G.word()       # the G that started it (0 for main)
G_GROUP = _G.word()        # wait group it is counted in, plus one (0 none)
G_WORKLEFT = _G.word()     # owner: xorshift steps of an interrupted `work` still to run (0 none)
G_ELEM = _G.word()         # value carried by a blocked send/recv (the sudog's elem)
G_READYTICK = _G.word()    # cputicks when it last became runnable, when sampled (proc.stamp_runnable)
G_RNG = _G.word()          # owner: xorshift state for sampled durations
G_FUNC = _G.word()         # function id it started in (for dumps)
G_TRACKSEQ = _G.word()     # owner: its runs so far, for sched-latency sampling (Go's trackingSeq)
G_WHEN = _G.word()         # timer lock: when its `sleep` ends (ns, nanotime)
G_PDRG = _G.word()         # atomic: its connection's pollDesc.rg: 0, PD_READY, PD_WAIT or the G
G_CONNFD = _G.word()       # owner: its connection's eventfd (0: none yet); the connection id is gp
G_NETDUE = _G.word()       # owner: when the pending readiness is due (ns, nanotime)
G_NETSTATE = _G.word()     # owner: 1 while a `netwait` waits for readiness
# --- STW / procresize / locked Ms (issue 13) ---
G_LOCKEDM = _G.word()      # the M this G is locked to (0 none); set and cleared by the G itself
# --- select / close / serve (issue 14): G words ---
G_DEPTH = _G.word()        # owner: bounded recursion: levels of `go: F` inside F it may still start
# --- sizes (issue 16): the select header, in the G row ---
# The select header (select.go's g.selectDone and g.param) was row 0 of a G's sudog block: in the
# G row it fills words the row's cache-line rounding already paid for (GSTRIDE is unchanged), so
# a program without `select` keeps one sudog row per G and no header row.  These words sit on the
# row's last line, after every older G word: no hot G word moved.
SEL_DONE = _G.word()       # atomic: g.selectDone -- 0 while blocked, CAS to 1 by the one waker
SEL_PARAM = _G.word()      # g.param: the sudog that completed the G's operation; 0: a close woke it
SEL_RESUME = _G.word()     # owner: 1 while the G is parked in a channel operation (resumes it)
REQ_ARRIVAL = _G.word()    # owner (serve.py): ns (nanotime) its request was due; 0: none
# (new G words: append a marked block here)
GSTRIDE = _G.end()

WAIT_NONE, WAIT_CHANSEND, WAIT_CHANRECV, WAIT_CHILDREN, WAIT_GROUP, WAIT_MUTEX, WAIT_SLEEP, \
    WAIT_NETIO = range(8)
WAIT_REASONS = ["", "chan send", "chan receive", "wait children", "sync.WaitGroup.Wait",
                "sync.Mutex.Lock", "sleep", "IO wait"]

# Why a G stopped running: interp.run_g's result (what Go's mcall would run on g0), recorded in
# the execution trace (EV_GO_STOP) and named in reports.
WHY_EXIT = 0      # goexit0
WHY_PARK = 1      # park_m
WHY_YIELD = 2     # gosched_m
WHY_PREEMPT = 3   # gopreempt_m
WHY_STOP = 4      # the run is over; leave the G where it is
WHY_SYSCALL = 5   # exitsyscall took the slow path (exitsyscall0): see sched.finish
WHY_NAMES = {WHY_EXIT: "exit", WHY_PARK: "park", WHY_YIELD: "yield", WHY_PREEMPT: "preempt",
             WHY_STOP: "end of run", WHY_SYSCALL: "syscall (slow exit)"}

# ---- M: an OS thread (table allm[mid]) ---------------------------------------------------------
_M = Table("M", "M_")
M_ID = _M.word()
M_P = _M.word()            # owner: the P it holds (0 none)
M_NEXTP = _M.word()        # startm writes it under sched.lock before notewakeup; the M reads it
M_SPINNING = _M.word()     # owner (startm sets it before waking the M)
M_SCHEDLINK = _M.word()    # sched lock: link in sched.midle
M_CURG = _M.word()         # atomic: G it runs (read by sysmon's preemptone)
M_SYSCALLTICK = _M.word()  # owner: P's syscalltick at entersyscall
M_FASTRAND = _M.word()     # owner: xorshift state for steal order
M_WAITLOCKKIND = _M.word()  # owner: what park_m must unlock after parking (UNLOCK_* below; 0 none)
M_WAITLOCKOBJ = _M.word()  # owner: which object's lock
M_STARTED = _M.word()      # atomic: the thread entered mstart (1) / left it (2)
M_SCRATCH = _M.words(2)    # owner: an epoll_event (12 bytes) or eventfd counter for its syscalls
# --- STW / procresize / locked Ms (issue 13) ---
M_LOCKEDG = _M.word()      # owner: the G locked to this M (0 none); the G's side is G_LOCKEDM
M_LOCKEDEXT = _M.word()    # owner: lockthread nesting count of that G (Go 1.10's m.lockedExt)
M_EXITED = _M.word()       # owner: 1 once the M left mstart through mexit (a locked G exited)
# (new M words: append a marked block here)
M_PARK = _M.own_line()     # futex note: stopm sleeps here, startm wakes (own cache line)
MSTRIDE = _M.end()

UNLOCK_CHAN, UNLOCK_GROUP, UNLOCK_MUTEX, UNLOCK_CHILDREN, UNLOCK_TIMER, UNLOCK_NETPOLL = \
    range(1, 7)

# ---- P: a processor (table allp[pid]; its ring buffer is runq[pid]) ----------------------------
Pidle, Prunning, Psyscall, Pgcstop, Pdead = 0, 1, 2, 3, 4   # Pgcstop, Pdead: stop-the-world
_P = Table("P", "P_")
P_ID = _P.word()
P_STATUS = _P.word()       # atomic: Prunning by owner; Psyscall->Prunning/Pidle by CAS (retake)
P_M = _P.word()            # the M holding it (0 none)
P_LINK = _P.word()         # sched lock: link in sched.pidle
P_SCHEDTICK = _P.word()    # owner; sysmon reads it (relaxed): +1 on every non-inherited execute
P_SYSCALLTICK = _P.word()  # owner/retake; incremented on every syscall and on retake
P_RUNNEXT = _P.word()      # atomic: G to run next (0 none); CAS by owner and by thieves
P_GFREE = _P.word()        # owner: free G list
P_GFREECNT = _P.word()     # owner
P_GOIDCACHE = _P.word()    # owner: next goid of the cached batch
P_GOIDCACHEEND = _P.word()
P_SM_SCHEDTICK = _P.word()    # sysmon only: sysmontick.schedtick
P_SM_SCHEDWHEN = _P.word()
P_SM_SYSCALLTICK = _P.word()
P_SM_SYSCALLWHEN = _P.word()
# (new P words: append a marked block here)
P_RUNQHEAD = _P.own_line()  # atomic: consumers (owner and thieves) CAS it; own cache line
P_RUNQTAIL = _P.own_line()  # atomic: written only by the owner (store-release); own cache line
PSTRIDE = _P.end()
RUNQ_MAX = 256     # slots per local run queue (the knob runq_size may use fewer)
GOID_BATCH = 16    # goids a P takes from sched.goidgen at once (Go: _GoidCacheBatch)

# ---- sched: the global scheduler (1-D table sched), then the header and the knobs --------------
_S = Table("sched", "S_", "H_")
S_LOCK = _S.word()           # sched.lock (mutex word) -- the next words are under it
S_RUNQHEAD = _S.word()       # global run queue, linked through G_SCHEDLINK
S_RUNQTAIL = _S.word()
S_RUNQSIZE = _S.word()       # atomic reads allowed for the "is it empty" hints
S_PIDLE = _S.word()          # idle P list, linked through P_LINK
S_MIDLE = _S.word()          # idle M list, linked through M_SCHEDLINK
S_NMIDLE = _S.word()
S_MCOUNT = _S.word()         # Ms ever created (their rows are allm[1..mcount])
S_NMIDLELOCKED = _S.word()
S_NMSYS = _S.word()          # system Ms (sysmon) not counted by checkdead
S_MAXMCOUNT = _S.word()      # max_threads
S_NEWM = _S.word()           # Ms waiting for an OS thread (a stack linked through M_SCHEDLINK)
S_THREADS_MAX = _S.word()    # peak of mcount: every M ever started, sysmon included (Go's threads=)
S_NPOOL = _S.word()          # sched lock: spare threads waiting for an M
S_NPIDLE = _S.own_line()     # atomic
S_NMSPINNING = _S.own_line()  # atomic
S_GFLOCK = _S.line()         # sched.gflock -- the next words under it
S_GFREE = _S.word()          # global free G list
S_NGFREE = _S.word()
S_ALLGLEN = _S.own_line()    # atomic: G rows handed out (allg[1..allglen])
S_GOIDGEN = _S.own_line()    # atomic
S_LASTPOLL = _S.own_line()   # atomic
S_SYSMONWAIT = _S.own_line()  # atomic
S_SYSMONNOTE = _S.own_line()  # futex note
S_STOP = _S.own_line()       # atomic: the run is over; every M leaves mstart
S_TEMPLNOTE = _S.own_line()  # futex word: the template thread sleeps on it (newm, done, fatal)
S_POOLWORD = _S.own_line()   # futex word: bumped to hand a new M to a spare thread (threads.py)
S_DONE = _S.line()           # atomic: main returned
S_FATAL = _S.word()          # atomic: FATAL_* code of a throw, first writer wins
S_FATALARG = _S.word()
S_MAINSTARTED = _S.word()    # main is runnable; checkdead may judge from now on
S_MAING = _S.word()          # gid of main
S_STARTTICK = _S.word()      # cputicks when main became runnable
S_ENDTICK = _S.word()        # cputicks when main returned
S_MAINPENDING = _S.word()    # atomic: 1 until the first M creates main (sched.runtime_main)
S_RUNSTART_NS = _S.word()    # nanotime when main became runnable (loop: D deadlines)
# read-only during the run (set by new_state)
S_NPROCS = _S.line()         # gomaxprocs
S_MAXG = _S.word()           # rows of allg
S_NS_PER_TSC_Q20 = _S.word()  # ns per cputick << 20 (state.py calibrates; clock.ticks_to_ns)
S_SEED = _S.word()
S_TRACE = _S.word()          # events per M's trace buffer; 0: tracing off
S_TRACE_MS = _S.word()       # Ms 0..S_TRACE_MS-1 have a trace buffer (trace.py)
S_STEPS_PER_NS = _S.word()   # float64 bits: `work`'s xorshift steps per ns (work.py)
S_EPFD = _S.word()           # the epoll instance (set before the run)
S_BREAKFD = _S.word()        # eventfd in the epoll set that wakes a blocked netpoll (netpollBreak)
S_TIMERLOCK = _S.line()      # lock of the timer heap -- the next word under it
S_TIMERHEAPN = _S.word()     # entries in the timer heap
S_NTIMERS = _S.word()        # atomic: sleeping Gs, until the timer thread made them runnable
S_TIMERNOTE = _S.own_line()  # futex word (sequence): bumped when the earliest timer changes
S_NETPOLLWAITERS = _S.line()  # atomic: Gs parked on the netpoller
S_BREAKBUF = _S.words(2)     # netpollBreak's write(2) buffer; its epoll_event before the run
S_NETLOCK = _S.line()        # lock of the network emulator's heap -- the next words under it
S_NETHEAPN = _S.word()
S_NETEMUBUF = _S.word()      # the network emulator's write(2) buffer
S_NETNOTE = _S.own_line()    # futex word (sequence): bumped when the earliest due readiness changes
# --- STW / procresize / locked Ms (issue 13) ---
S_GCWAITING = _S.own_line()  # atomic: a stop-the-world is in progress (sched.gcwaiting); set
                             # and cleared under sched.lock, read by every schedule: own line
S_STOPWAIT = _S.word()       # sched lock: Ps the stopper still waits for (sched.stopwait)
S_NMFREED = _S.word()        # sched lock: Ms that exited (mexit); mcount() = S_MCOUNT - S_NMFREED
S_MAXPROCS = _S.word()       # rows of allp/runq allocated: the run's largest gomaxprocs (read-only)
S_WORLDSEMA = _S.word()      # the mutex row (H_MUTEXES) that stands for worldsema (read-only)
S_GCENTRY = _S.word()        # entry pc + 1 of the gc: section's system G (0 none; read-only)
S_STOPNOTE = _S.own_line()   # futex note: the stopper sleeps here until the last P stops
# (new sched words: append a marked block here)

# Header: base offsets of the tables (constant during a run), contiguous from H_ALLP to H_END.
H_ALLP = _S.line()           # PSTRIDE words per P
H_RUNQ = _S.word()           # RUNQ_MAX slots per P
H_ALLM = _S.word()           # MSTRIDE words per M
H_ALLG = _S.word()           # GSTRIDE words per G
H_GSTK = _S.word()           # H_GSTKDEPTH frames per G
H_GSTKDEPTH = _S.word()
H_CHANS = _S.word()          # CSTRIDE words per channel
H_CHANBUF = _S.word()        # buffer slots of all channels
H_GROUPS = _S.word()         # WSTRIDE words per wait group
H_MUTEXES = _S.word()        # XSTRIDE words per mutex
H_CODE = _S.word()           # CODE_WORDS words per instruction (ops.py)
H_DISTS = _S.word()          # DIST_WORDS per distribution: kind, p1, p2 (ns; ops.SIGMA_SCALE)
H_MSTATS = _S.word()         # STSTRIDE counters per M
H_MLAT = _S.word()           # histogram.NBUCKETS latency buckets per M
H_COPRIMES = _S.word()       # [count, coprimes of gomaxprocs...]
H_TIMERS = _S.word()         # the timer heap: HEAP_WORDS (when, gp) per sleeping G
H_NETHEAP = _S.word()        # the network emulator's heap: HEAP_WORDS (due, gp) per connection
H_MEVENTS = _S.word()        # EVENTS_WORDS per M: epoll_wait's event buffer
H_MNETLAT = _S.word()        # histogram.NBUCKETS per M: readiness due -> G running latency
H_MTRACE = _S.word()         # S_TRACE events of TRACE_WORDS per M with a buffer (trace.py)
# --- STW / procresize / locked Ms (issue 13) ---
H_STWLAT = _S.word()         # 2 * histogram.NBUCKETS: time-to-safepoint, then pause
                             # (written by the worldsema holder)
# --- select / close / serve (issue 14): header words ---
H_SUDOGS = _S.word()         # the sudog table: H_SUDOGN rows of SGSTRIDE words per G
H_SUDOGN = _S.word()         # rows per G: the most cases of any select of the program, >= 1
H_MREQLAT = _S.word()        # histogram.NBUCKETS per M: a request's scheduled arrival -> its end
# (new tables: append their header word here)
H_END = _S.word()            # size of S
KNOBS_MAX = 32
S_KNOBS = _S.line(KNOBS_MAX)  # the policy's knobs (policy.py): one load each, at a constant index
SCHED_SIZE = _S.end()
HEAP_KEY, HEAP_VALUE = 0, 1  # a heap entry (heap.py): the key it is ordered by, its G
HEAP_WORDS = 2

FATAL_NONE, FATAL_DEADLOCK, FATAL_TIMEOUT, FATAL_THROW, FATAL_MAXTHREADS, FATAL_MAXG, \
    FATAL_INTERRUPT = range(7)
# --- sizes (issue 16) ---
FATAL_NOFILE = 8   # an eventfd could not be opened (EMFILE: RLIMIT_NOFILE); the arg is the errno
#                   (7 is issue 14's FATAL_PANIC, below; test_layout checks the codes differ)

# A wait queue: its first and last entry.  Channels queue sudogs, linked through SG_NEXT/SG_PREV
# (chan.py's enqueue / dequeue); wait groups and mutexes queue Gs (Go's waitq, the sudogs
# collapsed into their Gs), linked through G_SCHEDLINK (chan.py's waitq_push / waitq_pop).
WAITQ_FIRST, WAITQ_LAST = 0, 1
WAITQ_WORDS = 2

# ---- channels (table chans[cid]; buffer slots in chanbuf[C_BUFOFF : C_BUFOFF+C_CAP]) ----------
_C = Table("channel", "C_")
C_LOCK = _C.word()
C_CAP = _C.word()
C_COUNT = _C.word()        # chan lock: elements in the buffer
C_SENDX = _C.word()
C_RECVX = _C.word()
C_RECVQ = _C.words(WAITQ_WORDS)  # chan lock: sudogs of Gs blocked receiving (chan.enqueue)
C_SENDQ = _C.words(WAITQ_WORDS)  # chan lock: sudogs of Gs blocked sending
C_BUFOFF = _C.word()
C_NEXTVAL = _C.word()      # chan lock: id of the next message sent
C_SENT = _C.word()         # chan lock: messages sent / received, and their id sums
C_RECVD = _C.word()
C_SENTSUM = _C.word()
C_RECVDSUM = _C.word()
# --- select / close / serve (issue 14): channel words ---
C_CLOSED = _C.word()       # chan lock: close(c) happened (never cleared)
# (new channel words: append a marked block here)
CSTRIDE = _C.end()

# ---- wait groups (table groups[wid]) and mutexes (table mutexes[xid]) --------------------------
_W = Table("wait group", "W_")
W_LOCK = _W.word()
W_COUNT = _W.word()
W_WAITQ = _W.words(WAITQ_WORDS)  # group lock: Gs in Wait
WSTRIDE = _W.end()

_X = Table("mutex", "X_")
X_STATE = _X.word()        # atomic: sync.Mutex state (locked bit, woken bit, waiter count)
X_SEMALOCK = _X.word()     # lock of the semaphore's wait queue
X_SEMAQ = _X.words(WAITQ_WORDS)  # sema lock: Gs blocked in semacquire
XSTRIDE = _X.end()

# --- select / close / serve (issue 14): the sudog table ---
# Sudogs (chan.go's sudog): every G owns a block of S[H_SUDOGN] rows of SGSTRIDE words, its
# sudogs k = 1..H_SUDOGN, one per case of the select it blocks in (k = 1 for a plain send/recv);
# its select header is in its G row (SEL_*).  Sudog id sg = gp * S[H_SUDOGN] + k - 1 (chan.sudog).
_SG = Table("sudog", "SG_")
SG_NEXT = _SG.word()       # chan lock: wait queue links
SG_PREV = _SG.word()
SG_ELEM = _SG.word()       # chan lock: the value carried (filled by the partner)
SG_CHAN = _SG.word()       # the channel (cid) of the case
SG_ISSELECT = _SG.word()   # 1 when the sudog belongs to a select (the partner must win SEL_DONE)
SG_KIND = _SG.word()       # the case kind, CASE_* (select only)
SG_POLL = _SG.word()       # owner: pollorder[k - 1] (a case index, 0-based)
SG_LOCKORD = _SG.word()    # owner: lockorder[k - 1]
SGSTRIDE = _SG.end()

check_tables(globals(), (_G, _M, _P, _S, _C, _W, _X, _SG))

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
# --- STW / procresize / locked Ms (issue 13) ---
# counters of the later mechanisms (README, "Reading results"): in every port result
LATER_COUNTERS = ("stw_pauses", "stw_preemptions", "procresizes", "lockedm_handoffs",
                  "threads_exited")
(ST_STW_PAUSES, ST_STW_PREEMPTIONS, ST_PROCRESIZES, ST_LOCKEDM_HANDOFFS,
 ST_THREADS_EXITED) = range(len(COUNTERS) + len(EXTRA_COUNTERS),
                            len(COUNTERS) + len(EXTRA_COUNTERS) + len(LATER_COUNTERS))
STSTRIDE = 48
# unnamed slots at the end of the row (not results): the M's trace events written and dropped
ST_TRACE_N = STSTRIDE - 2
ST_TRACE_DROPPED = STSTRIDE - 1

# ---- execution trace (trace.py) -----------------------------------------------------------------
TR_TICKS, TR_KINDARG, TR_GOID, TR_P = range(4)   # an event: cputicks, kind | arg << 8, goid, P
TRACE_WORDS = 4
TRACE_MAX = 65536    # default events per M
TRACE_MS_MAX = 256   # Ms (rows 0..255) with a buffer; later Ms only count drops


PD_READY = -1      # pollDesc.rg: readiness arrived and nobody consumed it
PD_WAIT = -2       # pollDesc.rg: a G is about to park on it
EVENTS_MAX = 128   # epoll events per netpoll call
EVENTS_WORDS = EVENTS_MAX * 12 // 8  # epoll_event is 12 packed bytes
assert len(COUNTERS) + len(EXTRA_COUNTERS) + len(LATER_COUNTERS) <= ST_TRACE_N, \
    "mstats rows too short"


# --- select / close / serve (issue 14) ----------------------------------------------------------
CAP_NIL = -1         # C_CAP of a nil channel (declared `nil`)

WAIT_SELECT = 8      # G_WAITREASON values (WAIT_REASONS continued)
WAIT_CHANSEND_NIL = 9
WAIT_CHANRECV_NIL = 10
WAIT_REASONS += ["select", "chan send (nil chan)", "chan receive (nil chan)"]
UNLOCK_SELECT = 7    # park_m: unlock every channel of the select, then the timer lock
UNLOCK_NONE = 0      # park_m unlocks nothing (a nil channel: the G blocks forever)

FATAL_PANIC = 7      # a Go panic; S_FATALARG is PANIC_*
PANIC_SEND_CLOSED, PANIC_CLOSE_CLOSED, PANIC_CLOSE_NIL = 1, 2, 3
PANIC_MESSAGES = {PANIC_SEND_CLOSED: "send on closed channel",
                  PANIC_CLOSE_CLOSED: "close of closed channel",
                  PANIC_CLOSE_NIL: "close of nil channel"}

SELECT_COUNTERS = ("selects", "select_parks", "requests_late", "requests_dropped")
# results' counters, after LATER_COUNTERS (issue 13)
ST_SELECTS = len(COUNTERS) + len(EXTRA_COUNTERS) + len(LATER_COUNTERS)
ST_SELECT_PARKS = ST_SELECTS + 1
ST_REQ_LATE = ST_SELECTS + 2
ST_REQ_DROPPED = ST_SELECTS + 3
assert ST_REQ_DROPPED < ST_TRACE_N, "mstats rows too short"
