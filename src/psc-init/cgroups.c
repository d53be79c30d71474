/*
 * psc-init (README.md, "Joining the cgroups"): the one way into the container's cgroups.  A opens every
 * cgroup= record once, before anything runs (a missing cgroup fails first): its cgroup.procs, its `tasks`
 * when it is a v1 cgroup, and the first one without `tasks` (the v2 cgroup) as a directory to clone into.
 * Writing a pid into cgroup.procs takes the kernel's global cgroup lock for writing, and the first writer after
 * a quiet spell waits for an RCU grace period (7-15 ms; docs/performance.md, "Issue 17"), so the joins avoid it:
 * a process that joins by itself writes "0" into each v1 `tasks` (itself, one thread: no global lock), and a
 * process is cloned straight into the v2 cgroup (clone3 CLONE_INTO_CGROUP).  cgroup.procs is written only for a
 * cgroup that is neither, and for the v2 one where a child cannot be born there (before 5.7, or a kernel that
 * kills it: clone_into_lives).
 * The lists are A's until the next start (cgroups_close).  C opens the first cgroup's file once more, to read,
 * for kill_rest.
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The usual case needs no malloc (see `area`): up to 31 cgroups in the lists here. */
static int *procs PER_START, procs_here[32] PER_START;
static int *tasks PER_START, tasks_here[32] PER_START;
static int into PER_START = -1, into_at PER_START = -1, opened PER_START;

/* <cgroup>/<file> opened with `flags`; the path on the stack unless it is very long. */
static int open_in(const char *cgroup, const char *file, int flags)
{
    char path[512], *p = NULL;
    int n = snprintf(path, sizeof path, "%s/%s", cgroup, file);
    if (n >= (int)sizeof path && asprintf(&p, "%s/%s", cgroup, file) < 0)
        p = NULL;
    int fd = n > 0 && (n < (int)sizeof path || p) ? open(p ? p : path, flags) : -1;
    free(p);
    return fd;
}

static int *list(int *here)
{
    int *l = cfg.ncgroups < 32 ? here : malloc(((size_t)cfg.ncgroups + 1) * sizeof(int));
    if (!l)
        die("error cgroup %d -", errno);
    for (int i = 0; i <= cfg.ncgroups; i++)
        l[i] = -1;
    return l;
}

/* Whether a child cloned into the v2 cgroup `dir` lives.  Some kernels (6.18 here) SIGKILL at birth every child
 * cloned into a cgroup that was ever killed through cgroup.kill (the clone compares the kill counter of the
 * parent's cgroup, not the target's), and our stop kills through cgroup.kill: a probe child tells, for about
 * 0.1 ms.  It is born and ends in the container's cgroup before anything of the container runs. */
static bool clone_into_lives(int dir)
{
    struct clone_args a = { .flags = CLONE_INTO_CGROUP, .exit_signal = 0, .cgroup = (__u64)dir };
    pid_t p = (pid_t)syscall(SYS_clone3, &a, sizeof a);
    if (p == 0)
        _exit(0);
    int st;
    if (p < 0)
        return false;                 /* before 5.7, a refusal (pids.max): the join by cgroup.procs says the rest */
    while (waitpid(p, &st, __WALL) < 0 && errno == EINTR) {}
    return WIFEXITED(st);
}

/* A: every cgroup= record opened; dies with "error cgroup <errno> <cgroup>" when one's cgroup.procs cannot be
 * opened for writing.  The v2 cgroup is kept to clone into only where a child cloned there lives. */
void cgroups_open(void)
{
    procs = list(procs_here);
    tasks = list(tasks_here);
    opened = cfg.ncgroups;
    for (int i = 0; i < cfg.ncgroups; i++) {
        procs[i] = open_in(cfg.cgroups[i], "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (procs[i] < 0)
            die("error cgroup %d %s", errno, cfg.cgroups[i]);
        tasks[i] = open_in(cfg.cgroups[i], "tasks", O_WRONLY | O_CLOEXEC);
        if (tasks[i] < 0 && errno == ENOENT && into_at < 0) {
            into_at = i;
            into = open(cfg.cgroups[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
    }
    if (into >= 0 && !clone_into_lives(into)) {
        close(into);
        into = -1;
    }
    if (into < 0)
        into_at = -1;                 /* joined through its cgroup.procs like any other */
}

/* Whether there is a v2 cgroup to be born in (else it is joined through cgroup.procs with the others). */
bool cgroups_v2(void)
{
    return into >= 0;
}

/* Like fork, with `flags` (namespaces, CLONE_PARENT), the child born in the v2 cgroup when there is one to be
 * born in (cgroups_v2).  -1 (errno set) when the clone fails. */
pid_t cgroups_clone(unsigned long flags)
{
    if (into >= 0) {
        /* With CLONE_PARENT the child's exit signal is the caller's own, and clone3 refuses one given. */
        struct clone_args a = { .flags = flags | CLONE_INTO_CGROUP, .exit_signal = flags & CLONE_PARENT ? 0 : SIGCHLD,
                                .cgroup = (__u64)into };
        return (pid_t)syscall(SYS_clone3, &a, sizeof a);
    }
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
}

/* Writes what `what` asks (JOIN_*) for `pid`: "0" into each v1 `tasks` (JOIN_SELF: only the caller itself can
 * join so) and `pid` into the cgroup.procs of every other cgroup but the one to be born in (JOIN_OTHER).  Returns -1, or the index of the cgroup that refused (errno set). */
int cgroups_join(pid_t pid, int what)
{
    char line[24];
    int len = snprintf(line, sizeof line, "%d\n", (int)pid);
    for (int i = 0; i < cfg.ncgroups; i++) {
        int rc = 0;
        if (tasks[i] >= 0)
            rc = what & JOIN_SELF ? write_all(tasks[i], "0\n", 2) : 0;
        else if (i != into_at)
            rc = what & JOIN_OTHER ? write_all(procs[i], line, (size_t)len) : 0;
        if (rc < 0)
            return i;
    }
    return -1;
}

/* Closes what cgroups_open opened (all of it or, after a failure, what it got to). */
void cgroups_close(void)
{
    for (int i = 0; procs && i < opened; i++) {
        if (procs[i] >= 0)
            close(procs[i]);
        if (tasks && tasks[i] >= 0)
            close(tasks[i]);
    }
    if (procs != procs_here)
        free(procs);
    if (tasks != tasks_here)
        free(tasks);
    if (into >= 0)
        close(into);
    procs = tasks = NULL;
    into = into_at = -1;
    opened = 0;
}

/* C without a PID namespace: where the rest of the tree can be read, for kill_rest.  The first
 * cgroup's cgroup.procs; without cgroups our /proc children file, since as the subreaper we
 * inherit every orphan.  -1 when neither opens. */
int cgroups_members(void)
{
    int fd = cfg.ncgroups ? open_in(cfg.cgroups[0], "cgroup.procs", O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", getpid(), getpid());
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    return fd;
}
