/*
 * psc-init (README.md, "The depot"): every write psc-init makes into the container's depot directory.
 * A writes state.json and the "started" event before it lets the program run; C appends the "exited"
 * event and then writes the exit record when the program has ended.
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes `content` to <depot>/<file> through a temp file and a rename: readers see all of it or
 * nothing.  No fsync: the depot lives in /run and describes processes of this boot only.
 * `ready`, when not NULL, names an empty file made earlier for this very write (it is filled and renamed
 * instead): a new inode on a disk-backed depot (ext4 without a journal skips every recently deleted inode
 * while it looks for a free one) costs 0.1-0.7 ms, so the engine makes state.json.new at creation and the
 * start makes no file.  Without it (or when it is gone) a temporary file is made as usual.  (The exit record
 * takes the usual way: making its file ahead, in the init once the program runs, cost the next start more,
 * on 2 CPUs, than it saved the stop.) */
bool write_depot_from(int depot, const char *ready, const char *file, const char *content)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", file, getpid());
    /* Not O_TRUNC: truncating an existing file makes ext4 (auto_da_alloc) allocate and flush its blocks at
     * close, 0.2-0.3 ms here and as much again at unlink; the file is empty, which fstat confirms. */
    struct stat st;
    int fd = ready ? openat(depot, ready, O_WRONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != 0)) {
        close(fd);
        fd = -1;
    }
    const char *from = fd >= 0 ? ready : tmp;
    if (fd < 0)
        fd = openat(depot, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write_all(fd, content, strlen(content)) == 0 && renameat(depot, from, depot, file) == 0;
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (!ok)
        unlinkat(depot, from, 0);
    errno = err;
    return ok;
}

/* Appends one line to <depot>/events.log in one write, so lines of several writers never interleave.
 * False (errno set) when it cannot. */
bool append_event(int depot, const char *line, size_t len)
{
    int fd = openat(depot, "events.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write(fd, line, len) == (ssize_t)len;
    int err = errno;
    if (fd >= 0)
        close(fd);
    errno = err;
    return ok;
}

/* The oom_kill counter of a memory.events (v2) or memory.oom_control (v1) file; 0 when unreadable. */
static unsigned long long oom_kills(int oom)
{
    char buf[512];
    ssize_t n = oom >= 0 ? pread(oom, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    for (char *line = buf; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (!strncmp(line, "oom_kill ", 9))
            return strtoull(line + 9, NULL, 10);
    return 0;
}

/* C: an "oom-killed count=<n>" event per OOM kill the container's cgroup counted (the counter read once,
 * at most 1000 events), then the "exited" event, then `exit` (a temp file renamed, so readers see all of
 * it or nothing): whoever sees the exit record finds the events already logged, and the engine records
 * OOM kills itself only for an init that ended without one.  Failures are noted in the container's
 * output.log (note). */
void record_exit(int depot, int oom, int status)
{
    char code[8] = "", buf[160];
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (!sig)
        snprintf(code, sizeof code, "%d", WEXITSTATUS(status));
    long long t = now_ns(CLOCK_REALTIME);
    unsigned long long kills = oom_kills(oom);
    int len;
    for (unsigned long long i = 1; i <= kills && i <= 1000; i++) {
        len = snprintf(buf, sizeof buf, "%lld oom-killed count=%llu\n", t, i);
        if (!append_event(depot, buf, (size_t)len))
            note("psc-init: cannot append to %s/events.log: %s", cfg.depot, strerror(errno));
    }
    len = snprintf(buf, sizeof buf, "%lld exited code=%s signal=%d\n", t, code, sig);
    if (!append_event(depot, buf, (size_t)len))
        note("psc-init: cannot append to %s/events.log: %s", cfg.depot, strerror(errno));
    snprintf(buf, sizeof buf, "exit_code=%s\nsignal=%d\nexit_time_ns=%lld\n", code, sig, t);
    if (!write_depot_from(depot, NULL, "exit", buf))
        note("psc-init: cannot write the exit record in %s: %s", cfg.depot, strerror(errno));
}
