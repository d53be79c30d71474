/*
 * psc-init (README.md, "Terminals"): a tracked process's pty.  E2 opens it inside the container and
 * passes the master to A; A, the tracker, serves it on an attach socket in the process's record
 * directory; `psc-init --attach <dir>` is the client a terminal runs (Enter-Container).
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

/* ---------------------------------------------------------------- E2: the pty */

/* In E2, inside the container's root and mount namespace: a pty from its /dev/ptmx (the container's own
 * devpts when it has a mount namespace), sized cfg.tty_cols x cfg.tty_rows; the master goes to A ("T"),
 * the peer becomes the controlling terminal and 0-2 (E2 has called setsid). */
int open_pty_here(void)
{
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        fail("ptmx", "/dev/ptmx");
    int unlock = 0;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
        fail("ptmx", "unlock");
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (s < 0)
        fail("ptmx", "peer");
    struct winsize ws = { .ws_row = (unsigned short)cfg.tty_rows, .ws_col = (unsigned short)cfg.tty_cols };
    if (ioctl(m, TIOCSWINSZ, &ws) < 0)
        fail("ptmx", "size");
    if (cfg.has_uid && fchown(s, cfg.uid, cfg.has_gid ? cfg.gid : (gid_t)-1) < 0)
        fail("ptmx", "chown");
    if (send_fd("T", m) < 0)
        fail("ptmx", "send");
    close(m);
    if (ioctl(s, TIOCSCTTY, 0) < 0)
        fail("ptmx", "ctty");
    if (dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
        fail("dup2", "pty");
    if (s > 2)
        close(s);
    return 0;
}

/* ---------------------------------------------------------------- A: the attach socket */

enum { MAX_CLIENTS = 8, RING = 16384 };

static int listener = -1;
static int clients[MAX_CLIENTS] = { -1, -1, -1, -1, -1, -1, -1, -1 };
static bool ever_attached;
static char ring[RING];               /* the last RING bytes of output, replayed to a new client */
static size_t ring_start, ring_len;

/* A path for *at-less socket calls that stays short however deep the depot is. */
static void sock_path(struct sockaddr_un *a, int dir)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "/proc/self/fd/%d/attach.sock", dir);
}

/* Listens on <dir>/attach.sock (SOCK_SEQPACKET: each message one frame).  -1 when it cannot. */
int attach_listen(int dir)
{
    struct sockaddr_un a;
    sock_path(&a, dir);
    unlinkat(dir, "attach.sock", 0);
    listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) < 0 || listen(listener, 4) < 0) {
        if (listener >= 0)
            close(listener);
        listener = -1;
    }
    return listener;
}

void attach_poll(struct pollfd *fds, int *n)
{
    fds[(*n)++] = (struct pollfd){ listener, POLLIN, 0 };
    for (int i = 0; i < MAX_CLIENTS; i++)
        fds[(*n)++] = (struct pollfd){ clients[i], POLLIN, 0 };
}

static void drop(int i)
{
    close(clients[i]);
    clients[i] = -1;
}

/* A new client gets what the ring holds (the recent screen), oldest first. */
static void welcome(int c)
{
    char buf[RING];
    for (size_t i = 0; i < ring_len; i++)
        buf[i] = ring[(ring_start + i) % RING];
    if (ring_len)
        send(c, buf, ring_len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Input for the program: written into the master, waiting at most 100 ms for room (a program that does
 * not read its terminal loses keystrokes rather than stopping the tracker). */
static void to_master(int master, const char *p, size_t n)
{
    long long deadline = now_ns(CLOCK_MONOTONIC) + 100000000LL;
    /* Written at least once whatever the clock says: a tracker that was not scheduled for 100 ms must not drop
     * keystrokes the terminal has room for. */
    for (bool first = true; n > 0 && (first || now_ns(CLOCK_MONOTONIC) < deadline); first = false) {
        ssize_t w = write(master, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR)
            return;
        else {
            struct pollfd o = { master, POLLOUT, 0 };
            poll(&o, 1, 10);
        }
    }
}

/* One message from the client: "i<bytes>" input, "w<cols> <rows>" its size (then a redraw is due). */
static void client_message(char *buf, size_t n, int master, bool *want_redraw)
{
    buf[n] = '\0';
    if (n > 0 && buf[0] == 'i')
        to_master(master, buf + 1, n - 1);
    else if (n > 0 && buf[0] == 'w') {
        unsigned cols = 0, rows = 0;
        char *end;
        cols = (unsigned)strtoul(buf + 1, &end, 10);
        rows = (unsigned)strtoul(end, NULL, 10);
        if (cols >= 1 && cols <= 9999 && rows >= 1 && rows <= 9999) {
            struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
            ioctl(master, TIOCSWINSZ, &ws);
            *want_redraw = true;
        }
    }
}

/* What the client sent.  A client that closed with output of ours unread (it typed and detached, or left
 * at once) makes the kernel set ECONNRESET on this end, and the next recv reports that error *before* the
 * messages still queued: those are the client's last keystrokes, so they are read to the end and only then
 * is the client dropped. */
static void from_client(int i, int master, bool *want_redraw)
{
    static char buf[65536];
    bool reset = false;
    for (int k = 0; k < 1024; k++) {
        ssize_t n = recv(clients[i], buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n < 0 && errno == ECONNRESET && !reset) {
            reset = true;             /* the error is reported once; what was queued follows */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN && !reset)
            return;
        if (n <= 0)
            break;                    /* EOF, or the reset client's queue is empty */
        client_message(buf, (size_t)n, master, want_redraw);
        if (!reset)
            return;                   /* one message per wake-up from a live client */
    }
    drop(i);
}

/* Handles what poll found on the descriptors attach_poll added (starting at fds[0]). */
bool attach_events(const struct pollfd *fds, int n, int master, bool *want_redraw)
{
    if (n < 1 + MAX_CLIENTS || listener < 0)
        return false;
    if (fds[0].revents & POLLIN) {
        int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        int slot = -1;
        for (int i = 0; i < MAX_CLIENTS && c >= 0 && slot < 0; i++)
            if (clients[i] < 0)
                slot = i;
        if (slot >= 0) {
            clients[slot] = c;
            ever_attached = true;
            welcome(c);
        } else if (c >= 0)
            close(c);
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i] >= 0 && fds[1 + i].fd == clients[i] && fds[1 + i].revents)
            from_client(i, master, want_redraw);
    return true;
}

/* Output of the program: into the ring and to every client (one that cannot keep up is dropped). */
void attach_output(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ring[(ring_start + ring_len) % RING] = buf[i];
        if (ring_len < RING)
            ring_len++;
        else
            ring_start = (ring_start + 1) % RING;
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i] >= 0 && send(clients[i], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            drop(i);
}

/* The program has ended (its exit recorded) before the terminal that is coming (attach_wait) attached: up to
 * `ms` for it to connect, so it still gets the output (the ring) and then EOF. */
void attach_linger(long ms)
{
    struct pollfd p = { listener, POLLIN, 0 };
    if (listener < 0 || ever_attached || poll(&p, 1, (int)ms) <= 0)
        return;
    int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0) {
        welcome(c);
        close(c);
    }
}

/* The program has ended: every client sees EOF, and the socket goes. */
void attach_close(int dir)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i] >= 0)
            drop(i);
    if (listener >= 0) {
        close(listener);
        listener = -1;
        unlinkat(dir, "attach.sock", 0);
    }
}

/* ---------------------------------------------------------------- the client: --attach */

static void send_size(int s)
{
    struct winsize ws;
    char msg[32];
    if (ioctl(1, TIOCGWINSZ, &ws) < 0 && ioctl(0, TIOCGWINSZ, &ws) < 0)
        return;
    int n = snprintf(msg, sizeof msg, "w%u %u", ws.ws_col, ws.ws_row);
    send(s, msg, (size_t)n, MSG_NOSIGNAL);
}

/* Keystrokes to the program, but Ctrl+P Ctrl+Q (docker's and podman's detach keys) detaches: returns
 * true then.  A Ctrl+P is held back until the next key shows whether it begins the sequence. */
static bool forward_keys(int s, const char *in, size_t n, bool *held_p)
{
    char out[8193];
    size_t len = 1;
    out[0] = 'i';
    bool detach = false;
    for (size_t i = 0; i < n && !detach; i++) {
        if (*held_p && in[i] == 0x11) {
            detach = true;            /* what came before the keys still goes */
            break;
        }
        if (*held_p)
            out[len++] = 0x10;
        *held_p = in[i] == 0x10;
        if (!*held_p)
            out[len++] = in[i];
    }
    if (len > 1)
        send(s, out, len, MSG_NOSIGNAL);
    return detach;
}

/* psc-init --attach <dir>: connects to <dir>/attach.sock and joins this terminal to the process's pty
 * (raw mode, the size sent now and on every SIGWINCH) until the process ends (exit 0) or Ctrl+P Ctrl+Q
 * detaches (exit 3); the terminal is restored either way.  Exit 1: it could not attach. */
int attach_main(const char *path)
{
    int dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un a;
    sock_path(&a, dir);
    if (dir < 0 || s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        dprintf(2, "psc-init: cannot attach to %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct termios saved, raw;
    bool tty = tcgetattr(0, &saved) == 0;
    if (tty) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    send_size(s);
    bool in_open = true, held_p = false;
    int rc = -1;
    static char buf[65536];
    while (rc < 0) {
        struct pollfd p[3] = { { s, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 }, { sfd, POLLIN, 0 } };
        if (poll(p, 3, -1) < 0)
            continue;
        if (p[0].revents) {
            ssize_t n = recv(s, buf, sizeof buf, 0);
            if (n <= 0)
                rc = 0;               /* the process has ended: the tracker closed the socket */
            else
                write_all(1, buf, (size_t)n);
        }
        if (rc < 0 && p[1].revents) {
            ssize_t n = read(0, buf, 8192);
            if (n <= 0)
                in_open = false;
            else if (forward_keys(s, buf, (size_t)n, &held_p))
                rc = 3;
        }
        struct signalfd_siginfo si;
        if (rc < 0 && p[2].revents && read(sfd, &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGWINCH)
                send_size(s);
            else
                rc = 3;               /* the terminal went away: leave the process running */
        }
    }
    if (tty)
        tcsetattr(0, TCSANOW, &saved);
    if (rc == 3)
        write_all(1, "\r\n", 2);        /* what comes next starts on a line of its own */
    return rc;
}
