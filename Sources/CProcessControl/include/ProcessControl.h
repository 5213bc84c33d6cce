// Process control that Swift cannot call directly: prctl(2) is variadic, and
// a signal handler must be async-signal-safe C.
#ifndef ATTNBENCH_PROCESS_CONTROL_H
#define ATTNBENCH_PROCESS_CONTROL_H

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that write the signal's
/// number, as one byte, to `write_fd` and do nothing else (write(2) is
/// async-signal-safe). A thread reading the other end does the real work.
/// Returns 0, or -1 with errno set.
int attn_forward_termination_signals(int write_fd);

/// Restores the default action of `signal`, unblocks it and raises it, so the
/// process ends as if the signal had never been caught (a shell then sees
/// 128 + signal). Returns only if the default action does not end the process.
void attn_die_by_signal(int signal);

/// Asks the kernel to send `signal` to this process when its parent thread
/// exits (PR_SET_PDEATHSIG). Returns 0, or -1 with errno set.
int attn_set_parent_death_signal(int signal);

/// Makes this process the reaper of its orphaned descendants
/// (PR_SET_CHILD_SUBREAPER): a grandchild whose parent dies is re-parented
/// here instead of to init, so it can still be found and ended.
/// Returns 0, or -1 with errno set.
int attn_become_child_subreaper(void);

/// pipe2(fds, O_CLOEXEC), which needs _GNU_SOURCE. Returns 0, or -1 with errno set.
int attn_pipe_cloexec(int fds[2]);

/// Whether the child `pid` has ended, without reaping it (its pid stays
/// reserved, so its process group cannot be reused): 1 ended, 0 running,
/// -1 with errno set.
int attn_child_has_exited(int pid);

#endif
