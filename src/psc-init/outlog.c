/*
 * psc-init (README.md, "Output logs"): output.log, where a process's stdout and stderr are kept when nobody
 * reads them as they come: the main program's in the depot (C writes it), a tracked process's in its record
 * (its tracker writes it).  Each read from the program's pipes is one record, "o <n>\n" or "e <n>\n" and the
 * n bytes, appended in one write, so the two streams stay in the order they were read.  At the size cap the
 * file becomes output.log.1 (replacing the one before) and a new one is begun.
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

struct outlog *diag_log;

/* Opens (or makes) output.log in `dir` for appending; false, errno set, when it cannot. */
bool outlog_open(struct outlog *l, int dir, unsigned long long max)
{
    struct stat st;
    l->dir = dir;
    l->max = max;
    l->fd = openat(dir, "output.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (l->fd < 0)
        return false;
    if (fstat(l->fd, &st) < 0) {
        int err = errno;
        close(l->fd);
        l->fd = -1;
        errno = err;
        return false;
    }
    l->logged = (unsigned long long)st.st_size;
    return true;
}

/* output.log has reached the cap: it becomes output.log.1 and a new one is begun.  A reader that holds the
 * old one open reads it to its end, then the new one.  If that fails, writing goes on where it was. */
static void rotate(struct outlog *l)
{
    int fd;
    if (renameat(l->dir, "output.log", l->dir, "output.log.1") < 0 ||
        (fd = openat(l->dir, "output.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0)
        return;
    close(l->fd);
    l->fd = fd;
    l->logged = 0;
}

/* One record; a failed write drops it (the program goes on). */
void outlog_put(struct outlog *l, char tag, const char *buf, size_t n)
{
    char head[32];
    int len = snprintf(head, sizeof head, "%c %zu\n", tag, n);
    struct iovec iov[2] = { { head, (size_t)len }, { (void *)buf, n } };
    ssize_t w = writev(l->fd, iov, 2);   /* O_APPEND: one record lands whole, or not at all */
    if (w > 0)
        l->logged += (unsigned long long)w;
    if (l->logged >= l->max)
        rotate(l);
}

/* A diagnostic of psc-init's own, after setup: an "e" record in `diag_log` when there is one (where
 * whoever reads the process's output will see it), else on stderr. */
void note(const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    n = n < 0 ? 0 : n < (int)sizeof buf - 1 ? n : (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (diag_log && diag_log->fd >= 0)
        outlog_put(diag_log, 'e', buf, (size_t)n);
    else
        write_all(2, buf, (size_t)n);
}
