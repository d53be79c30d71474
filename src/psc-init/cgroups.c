/*
 * psc-init (README.md): the one way to join the container's cgroups.  A opens the cgroup.procs file of
 * every cgroup= record once, before anything runs (a missing cgroup fails first), into one list; then a
 * pid is written into each: C's by A at a start, E1's own in exec mode.  The list is A's until the next
 * start (cgroups_close).  C opens the first cgroup's file once more, to read, for kill_rest.
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int *procs PER_START, procs_here[32] PER_START;    /* the usual case: no malloc (see `area`) */

/* <cgroup>/cgroup.procs opened with `flags`; the path on the stack unless it is very long. */
static int open_procs(const char *cgroup, int flags)
{
    char path[512], *p = NULL;
    int n = snprintf(path, sizeof path, "%s/cgroup.procs", cgroup);
    if (n >= (int)sizeof path && asprintf(&p, "%s/cgroup.procs", cgroup) < 0)
        p = NULL;
    int fd = n > 0 && (n < (int)sizeof path || p) ? open(p ? p : path, flags) : -1;
    free(p);
    return fd;
}

/* A: the cgroup.procs file of every cgroup= record, open for writing, in a list that -1 ends; dies
 * with "error cgroup <errno> <cgroup>" when one cannot be opened. */
int *cgroups_open(void)
{
    procs = cfg.ncgroups < (int)COUNT(procs_here) ? procs_here : malloc(((size_t)cfg.ncgroups + 1) * sizeof(int));
    for (int i = 0; i <= cfg.ncgroups; i++)
        procs[i] = -1;
    for (int i = 0; i < cfg.ncgroups; i++) {
        procs[i] = open_procs(cfg.cgroups[i], O_WRONLY | O_CLOEXEC);
        if (procs[i] < 0)
            die("error cgroup %d %s", errno, cfg.cgroups[i]);
    }
    return procs;
}

/* Writes `pid` into each file of `list` (from cgroups_open), in the order of the cgroup= records.
 * Returns -1, or the index of the cgroup that refused it (errno set). */
int cgroups_join(const int *list, pid_t pid)
{
    char line[24];
    int len = snprintf(line, sizeof line, "%d\n", (int)pid);
    for (int i = 0; list[i] >= 0; i++)
        if (write_all(list[i], line, (size_t)len) < 0)
            return i;
    return -1;
}

/* Closes the list cgroups_open made (all of it or, after a failure, what it got to). */
void cgroups_close(void)
{
    for (int i = 0; procs && procs[i] >= 0; i++)
        close(procs[i]);
    if (procs != procs_here)
        free(procs);
    procs = NULL;
}

/* C without a PID namespace: where the rest of the tree can be read, for kill_rest.  The first
 * cgroup's cgroup.procs; without cgroups our /proc children file, since as the subreaper we
 * inherit every orphan.  -1 when neither opens. */
int cgroups_members(void)
{
    int fd = cfg.ncgroups ? open_procs(cfg.cgroups[0], O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", getpid(), getpid());
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    return fd;
}
