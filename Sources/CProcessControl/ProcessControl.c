#define _GNU_SOURCE
#include "ProcessControl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int forward_fd = -1;

static void forward(int signal) {
    int saved = errno;  // the interrupted code may be about to read errno
    unsigned char byte = (unsigned char)signal;
    if (forward_fd >= 0) { (void)write(forward_fd, &byte, 1); }
    errno = saved;
}

int attn_forward_termination_signals(int write_fd) {
    forward_fd = write_fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (sigaction(signals[i], &action, NULL) != 0) { return -1; }
    }
    return 0;
}

void attn_die_by_signal(int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    kill(getpid(), signal);
    // The signal is delivered to some thread of the process; give it a moment.
    for (int i = 0; i < 100; i++) { usleep(10000); }
}

int attn_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }

int attn_become_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int attn_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int attn_child_has_exited(int pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) { return -1; }
    return info.si_pid == pid ? 1 : 0;  // si_pid stays 0 while it runs
}
