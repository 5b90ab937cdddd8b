"""Exit statuses of the ``gmpbench`` command and of its worker processes, in one place
(README, "Running workloads").  No imports: the CLI and the workers read them at once."""

EXIT_OK = 0
EXIT_RUN_FAILED = 1      # a run failed: deadlock, timeout, a crash of the core (doctor: an A/A
                         # false-verdict rate too high)
EXIT_BAD_INPUT = 2       # bad input: file, YAML, schema, policy, param, unreadable results
EXIT_INTERRUPTED = 130   # Ctrl-C (128 + SIGINT); a worker interrupted writes nothing
