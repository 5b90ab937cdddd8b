"""The G instruction set: one table shared by the compiler, the interpreter and the disassembler.

A compiled workload is a flat ``code`` array of shape (n, CODE_WORDS), int64; each row is one instruction
``[op, a, b, c]``.  Program counters are row indices.  Every function body (``main`` and each entry
of ``functions:``) is laid out once and ends with ``RET``; a goroutine's first frame returns to
nothing, so ``RET`` with an empty frame stack is ``goexit``.

Durations are never inline: operand ``a`` of WORK/SYSCALL/NETWAIT/SLEEP/LOOP indexes the ``dists``
table (float64, shape (k, DIST_WORDS): ``[kind, p1, p2]``, times in nanoseconds), sampled at run time.
"""

# the words of an instruction row, by name: the compiler writes them, the interpreter
# (interp.py, selectgo.py, serve.py) and state.py read them; the width follows from them
I_OP, I_A, I_B, I_C = 0, 1, 2, 3
CODE_WORDS = I_C + 1   # int64 words per instruction: op, a, b, c
# the words of a distribution row (durations.py builds them; sampling.py and interp.py read them)
DIST_KIND, DIST_P1, DIST_P2 = 0, 1, 2
DIST_WORDS = DIST_P2 + 1   # words per distribution: kind, p1, p2

# --- opcodes (operand meanings in the comment; unused operands are 0) --------------------------
RET = 0            # return from a call; with no frame left: goexit
WORK = 1           # a=dist                       burn CPU for the sampled duration (preemptible)
GO = 2             # a=entry pc, b=n, c=group+1    start n goroutines (c=0: no group)
WAIT_CHILDREN = 3  #                              wait until every child this G started returned
WAIT_GROUP = 4     # a=group                      wait until group a's count is zero
SEND = 5           # a=chan                       c <- v
RECV = 6           # a=chan                       <-c
YIELD = 7          #                              runtime.Gosched()
SYSCALL = 8        # a=dist, b=1 if block          blocking system call lasting the duration
NETWAIT = 9        # a=dist                       wait on the netpoller; ready after the duration
SLEEP = 10         # a=dist                       time.Sleep
REPEAT = 11        # a=count, b=pc after the loop push a counter; count 0 jumps to b
NEXT = 12          # a=pc of the loop body         decrement the counter; >0 jumps to a, else pop
LOOP = 13          # a=dist, b=pc after the loop   leave (jump to b) once dist has passed since start
ENDLOOP = 14       # a=pc of the LOOP              jump back to the LOOP test
CALL = 15          # a=entry pc                   push the return pc and jump
LOCK = 16          # a=mutex                      sync.Mutex.Lock
UNLOCK = 17        # a=mutex                      sync.Mutex.Unlock
# --- STW / procresize / locked Ms (issue 13); numbered apart so other new ops do not collide ---
WORLDSEMA = 40     #                              acquire worldsema (may park): before STW/SETPROCS
STW = 41           # a=dist                       stop the world, hold it the duration, start it
SETPROCS = 42      # a=n                          runtime.GOMAXPROCS(n): stop, procresize, start
LOCKTHREAD = 43    #                              runtime.LockOSThread()
UNLOCKTHREAD = 44  #                              runtime.UnlockOSThread()

# channels as Go has them (select / close / range), bounded recursion and serve (issue 14): a
# block numbered from OPS14 on, so that renumbering it is the one edit of OPS14 (the interpreter
# tests ranges of it: CLOSE..CASE are the channel statements)
OPS14 = UNLOCKTHREAD + 1  # after issue 13's block (40..44)
CLOSE = OPS14 + 0  # a=chan                       close(c)
RANGE = OPS14 + 1  # a=chan, b=pc after the loop   v, ok := <-c; !ok jumps to b (`for range c`)
JMP = OPS14 + 2    # a=pc                         jump (end of a range body, of a select case)
SELECT = OPS14 + 3  # a=cases, b=default body pc or -1, c=pc after   selectgo over the CASE rows
CASE = OPS14 + 4   # a=CASE_* kind, b=chan or dist, c=body pc       one row per case after SELECT
CASE_RECV, CASE_SEND, CASE_AFTER = 1, 2, 3   # the case kinds (runtime/layout.py re-exports them)
# bounded recursion: a goroutine's depth is the levels of `go: F` inside F it may still start
GO_SELF = OPS14 + 5  # a=entry, b=n, c=group+1    `go: F` inside F: only at depth > 0; depth - 1
GO_DEPTH = OPS14 + 6  # a=entry, b=n, c=group+1 + depth << 32   `go: {fn: F, depth: N}`
# serve: open-loop arrivals on a listening connection, one goroutine per request
SERVE_BEGIN = OPS14 + 7  # a=inter-arrival dist, b=count  push frames: requests left, next arrival
SERVE_ACCEPT = OPS14 + 8  # a=handler entry, b=backlog, c=pc after  accept due ones, else netwait

NAMES = {
    RET: "RET", WORK: "WORK", GO: "GO", WAIT_CHILDREN: "WAIT_CHILDREN", WAIT_GROUP: "WAIT_GROUP",
    SEND: "SEND", RECV: "RECV", YIELD: "YIELD", SYSCALL: "SYSCALL", NETWAIT: "NETWAIT",
    SLEEP: "SLEEP", REPEAT: "REPEAT", NEXT: "NEXT", LOOP: "LOOP", ENDLOOP: "ENDLOOP",
    CALL: "CALL", LOCK: "LOCK", UNLOCK: "UNLOCK",
    WORLDSEMA: "WORLDSEMA", STW: "STW", SETPROCS: "SETPROCS", LOCKTHREAD: "LOCKTHREAD",
    UNLOCKTHREAD: "UNLOCKTHREAD",
    CLOSE: "CLOSE", RANGE: "RANGE", JMP: "JMP", SELECT: "SELECT", CASE: "CASE",
    GO_SELF: "GO_SELF", GO_DEPTH: "GO_DEPTH", SERVE_BEGIN: "SERVE_BEGIN",
    SERVE_ACCEPT: "SERVE_ACCEPT",
}

# --- distributions: dists[i] = [kind, p1, p2], nanoseconds --------------------------------------
D_CONST = 0        # p1
D_EXP = 1          # mean p1
D_UNIFORM = 2      # [p1, p2)
D_NORMAL = 3       # mean p1, stddev p2, clipped at 0
D_LOGNORMAL = 4    # median p1, sigma p2 (dimensionless)
SIGMA_SCALE = 1e9  # the core holds only integers: a lognormal sigma is stored as sigma * 1e9

DIST_NAMES = {D_CONST: "const", D_EXP: "exp", D_UNIFORM: "uniform", D_NORMAL: "normal",
              D_LOGNORMAL: "lognormal"}
