/*
 * psc-init (README.md, "Serve"): psc-init --serve, a launcher that stays, so a start costs no process
 * start of its own.  Reads requests "<length>\n<config records>" from stdin and answers each with the
 * one line a one-shot launch prints; EOF on stdin (the engine is gone or gave up) ends it, and during
 * a start aborts that start first.  The inits it clones are its children: it reaps each as soon as it
 * ends (SIGCHLD through a signalfd), so none lingers as a zombie.
 */
#include "psc-init.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* Requests are read into `area` with read(2) (no stdio, no malloc: see `area`), the length line in
 * reads of at most 24 bytes and the records in one read of exactly what is left of them.  The engine
 * sends one request and waits for its answer; should anything follow a short request in the first
 * read, it is carried over to the next one, as a stdio buffer would. */
static char carry[24] PER_START;
static size_t carried PER_START;

/* Reaps every init that has ended; `sfd` (SIGCHLD) has said some did. */
static void reap_inits(int sfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) > 0) {}
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

/* Reads into `area` (after what was carried over) until it holds the length line; returns its
 * newline, or NULL at EOF or when the first 24 bytes hold none.  `have` is what `area` holds. */
static char *read_length_line(int sfd, size_t *have)
{
    char *nl;
    memcpy(area, carry, carried);
    *have = carried;
    carried = 0;
    while (!(nl = memchr(area, '\n', *have))) {
        if (*have >= 24)
            return NULL;              /* not a length line */
        struct pollfd p[2] = { { 0, POLLIN, 0 }, { sfd, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents)
            reap_inits(sfd);
        if (!p[0].revents)
            continue;
        ssize_t n = read(0, area + *have, 24 - *have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        *have += (size_t)n;
    }
    return nl;
}

/* One request's records, NUL-terminated, in `area` (or from the heap when very large); NULL when
 * stdin ends or does not hold a request. */
static char *read_request(int sfd, size_t *len)
{
    size_t have;
    char *nl = read_length_line(sfd, &have);
    if (!nl)
        return NULL;
    size_t head = (size_t)(nl - area) + 1;
    unsigned long long v;
    *nl = '\0';
    if (!parse_num(area, 1 << 24, &v))
        return NULL;
    *len = (size_t)v;
    char *buf = area + head;
    if (have > head + *len) {         /* the next request began in the same read */
        carried = have - head - *len;
        memcpy(carry, area + head + *len, carried);
        have = head + *len;
    }
    if (head + *len + 1 > sizeof area) {      /* a very large request: from the heap */
        buf = malloc(*len + 1);
        if (!buf)
            return NULL;
        size_t got = have - head;
        memcpy(buf, area + head, got);
        if (read_all(0, buf + got, *len - got) < 0)
            return NULL;
    } else if (read_all(0, area + have, head + *len - have) < 0) {   /* no more than this request */
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

int serve_main(void)
{
    serving = true;
    if (chdir("/") < 0)               /* do not pin the session's working directory */
        return 1;
    close_range(3, ~0U, 0);           /* nor any descriptor the session left without close-on-exec */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);   /* C unblocks everything first thing */
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return 1;
    for (;;) {
        setjmp(next_request);         /* a failed start comes back here; at EOF the read ends us */
        close_launch();
        size_t len = 0;
        char *buf = read_request(sfd, &len);
        if (!buf)
            return 0;
        errno = EINVAL;
        const char *bad = load_config(buf, len);
        if (bad)
            die("error config %d %s", errno, bad);
        launch();
    }
}
