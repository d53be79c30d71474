/*
 * psc-init (README.md): plain I/O every process uses: whole writes and reads, a whole file, the
 * socketpair between A and the processes below it, a failed setup step below A, time.
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int sock PER_START = -1;

long long now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes (EINTR retried); -1 on end of input or an error first. */
int read_all(int fd, char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads a whole file (NUL-terminated); NULL on failure. */
char *read_file(const char *path, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        return NULL;
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t n;
    *len = 0;
    while (*len < (size_t)st.st_size && ((n = read(fd, buf + *len, (size_t)st.st_size - *len)) > 0 || errno == EINTR))
        *len += n > 0 ? (size_t)n : 0;
    close(fd);
    buf[*len] = '\0';
    return buf;
}

/* Closes every descriptor above 2 except `keep`. */
void close_except(int keep)
{
    if (keep > 3)
        close_range(3, (unsigned)keep - 1, 0);
    close_range(keep >= 3 ? (unsigned)keep + 1 : 3, ~0U, 0);
}

/* ---------------------------------------------------------------- the socketpair */

/* One socket message.  MSG_NOSIGNAL: A may already be gone. */
void say(const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    n = n < (int)sizeof buf ? n : (int)sizeof buf - 1;
    while (send(sock, buf, (size_t)n, MSG_NOSIGNAL) < 0 && errno == EINTR) {}
}

/* Blocks until A sends something (returns its first byte) or is gone (returns 0). */
char hear(void)
{
    char c;
    ssize_t n;
    while ((n = recv(sock, &c, 1, 0)) < 0 && errno == EINTR) {}
    return n == 1 ? c : 0;
}

/* A: one message and its sender's pid (in our PID namespace; A's end has SO_PASSCRED when it needs
 * it); returns 0 on EOF.  A descriptor passed with it (SCM_RIGHTS: the master of a pty) lands in
 * `passed_fd`. */
int passed_fd = -1;

ssize_t listen_sock(char *buf, size_t size, pid_t *sender)
{
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))]; } ctl;
    struct iovec iov = { buf, size - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof ctl };
    ssize_t n;
    while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
    buf[n > 0 ? n : 0] = '\0';
    *sender = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
            *sender = ((struct ucred *)CMSG_DATA(c))->pid;
        else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(&passed_fd, CMSG_DATA(c), sizeof passed_fd);
    }
    return n;
}

/* Sends one message `what` with descriptor `fd` attached (SCM_RIGHTS). */
int send_fd(const char *what, int fd)
{
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } ctl;
    struct iovec iov = { (void *)what, strlen(what) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof ctl };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n;
    while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
    return n < 0 ? -1 : 0;
}

/* A setup step below A failed: report it, then wait for A's SIGKILL instead of exiting, so C
 * never sees D die before ready (no exit record for a container that never started).  If A
 * is gone the socket hits EOF and we exit: nothing outlives A during setup. */
_Noreturn void fail(const char *step, const char *fmt, ...)
{
    int err = errno;
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    say("E %s %d %s", step, err, detail);
    hear();
    _exit(127);
}
