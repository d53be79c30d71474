/*
 * psc-init (README.md, "Start"): A, the launcher.  It starts the container cfg describes and prints
 * exactly one line: clones C into the new namespaces, puts it into its cgroups and id maps, waits
 * for D to be ready, records the start in the depot and lets D exec.  Also how A fails: it kills
 * what it made and prints one "error" line (die), in exec mode too.
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

bool serving;
jmp_buf next_request PER_START;

/* ---------------------------------------------------------------- how A fails */

static pid_t victims[8] PER_START;    /* to SIGKILL on abort, in this order */
static int nvictims PER_START;
static int state_written PER_START = -1;   /* the depot fd while state.json names a start not yet let go */

void victim(pid_t p)
{
    if (p > 0 && nvictims < (int)COUNT(victims))
        victims[nvictims++] = p;
}

/* SIGKILL everything created so far and wait up to 2 s until it is gone (zombies count as
 * gone: their new parent reaps them), so the engine finds empty cgroups once we exit.
 * C is killed before D: then C cannot record the death of a container that never started.
 * Then prints `line`; the request loop of --serve goes on with the next request, else A exits 1. */
static _Noreturn void abort_all(const char *line)
{
    struct proc_stat st;
    if (state_written >= 0)
        unlinkat(state_written, "state.json", 0);
    for (int i = 0; i < nvictims; i++)
        kill(victims[i], SIGKILL);
    long long deadline = now_ns(CLOCK_MONOTONIC) + 2000000000LL;
    for (int i = 0; i < nvictims; i++)
        while (proc_running(-1, victims[i], &st) && now_ns(CLOCK_MONOTONIC) < deadline)
            sleep_ms(5);
    while (waitpid(-1, NULL, WNOHANG) > 0) {}   /* C, when it was ours */
    write_all(1, line, strlen(line));
    if (serving)
        longjmp(next_request, 1);
    exit(1);
}

/* Prints "error ..." as one line (after killing everything) and exits 1. */
_Noreturn void die(const char *fmt, ...)
{
    char line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    for (char *s = line; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = '?';
    strcat(line, "\n");
    abort_all(line);
}

/* ---------------------------------------------------------------- the steps of a start */

enum { MSG_SIZE = 620 };              /* a socket message, and state.json */
static int depot_fd PER_START = -1;   /* this start's depot; closed before the next one (close_launch) */

/* Closes what one start opened: a failed start jumps past its end. */
void close_launch(void)
{
    if (depot_fd >= 0)
        close(depot_fd);
    if (sock >= 0)
        close(sock);
    cgroups_close();
    depot_fd = sock = -1;
    nvictims = 0;
    state_written = -1;
}

static void read_boot_id(char *boot, size_t size)
{
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? 0 : read(fd, boot, size - 1);
    if (fd >= 0)
        close(fd);
    boot[n > 0 ? n : 0] = '\0';
    boot[strcspn(boot, "\n\"\\")] = '\0';
}

/* Start time of a pid in clock ticks; 0 when unknown. */
static unsigned long long start_ticks(pid_t p)
{
    struct proc_stat st;
    return read_proc_stat(-1, p, &st) ? st.start : 0;
}

/* A bridged container's network namespace was made at create (netns=): A joins it just for the clone, so C
 * is born in it whatever user namespace C gets (C, in a new user namespace, could not join it), then A goes
 * home.  Returns A's own namespace, -1 without netns=, -2 (errno set) when it cannot be joined. */
static int enter_netns(void)
{
    if (!cfg.netns)
        return -1;
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int ns = open(cfg.netns, O_RDONLY | O_CLOEXEC);
    if (home < 0 || ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
        int err = errno;
        if (home >= 0)
            close(home);
        if (ns >= 0)
            close(ns);
        errno = err;
        return -2;
    }
    close(ns);
    return home;
}

/* A serves the next start from its own namespace, or not at all. */
static void leave_netns(int home)
{
    if (home < 0)
        return;
    if (setns(home, CLONE_NEWNET) < 0)
        _exit(125);
    close(home);
}

/* C, straight into its namespaces and, where it can be, its v2 cgroup: one clone instead of fork + unshare +
 * fork, and no migration (cgroups.c).  C gets `sv[1]`, A keeps `sv[0]`, with SO_PASSCRED (README.md: how A
 * learns D's host pid). */
static pid_t clone_init(void)
{
    int sv[2], one = 1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
        setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        die("error socketpair %d -", errno);
    sock = sv[1];
    int home = enter_netns();
    if (home == -2) {
        int err = errno;
        close(sv[0]);
        close(sv[1]);
        sock = -1;
        die("error netns %d %s", err, cfg.netns);
    }
    pid_t c = cgroups_clone((unsigned long)(cfg.ns & ~CLONE_NEWCGROUP));
    if (c == 0)
        _exit(c_entry(NULL));
    int err = errno;
    leave_netns(home);
    if (c < 0)
        die("error clone %d namespaces", err);
    sock = sv[0];
    close(sv[1]);
    victim(c);
    return c;
}

static void write_proc(pid_t p, const char *file, const char *val)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", p, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))   /* must be one write */
        die("error %s %d %s", file, errno, val);
    close(fd);
}

/* From the parent side, before C goes on: A may write any mapping its privileges allow (a process
 * may map only its own id into a namespace it has just entered), and joining C here keeps A itself
 * out of the container's cgroups: C's pid into the cgroups C can neither be born in nor join by itself.
 * Then tells C to go on ("s"); C's first step is to join the v1 cgroups itself. */
static void place_init(pid_t c)
{
    int bad = cgroups_join(c, JOIN_OTHER);
    if (bad >= 0)
        die("error cgroup %d %s", errno, cfg.cgroups[bad]);
    if (cfg.ns & CLONE_NEWUSER) {
        if (cfg.uid_map)
            write_proc(c, "uid_map", cfg.uid_map);
        if (cfg.gid_map && geteuid() != 0)
            write_proc(c, "setgroups", "deny");
        if (cfg.gid_map)
            write_proc(c, "gid_map", cfg.gid_map);
    }
    send(sock, "s", 1, MSG_NOSIGNAL);
}

/* True when stdin has news: any data or EOF means the engine gave up on this start. */
static bool stdin_says_stop(void)
{
    struct pollfd p = { 0, POLLIN, 0 };
    return poll(&p, 1, 0) > 0;
}

/* Until D is ready: relays the setup, and gives up as soon as stdin says anything (or EOF).
 * Returns D's host pid. */
static pid_t await_ready(char *msg)
{
    pid_t d = 0, sender;
    while (!d) {
        struct pollfd p[2] = { { sock, POLLIN, 0 }, { 0, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents)
            die("error aborted 125 stopped before the program ran");
        if (!p[0].revents)
            continue;
        if (listen_sock(msg, MSG_SIZE, &sender) <= 0)
            die("error setup 32 init ended before ready");
        if (msg[0] == 'D')
            victim(d = sender);
        else {
            victim(sender);
            die("error %s", msg[0] == 'E' ? msg + 2 : "protocol 71 unexpected message");
        }
    }
    if (stdin_says_stop())
        die("error aborted 125 stopped before the program ran");
    return d;
}

/* Recorded before the program is told to run, so whoever looks next (this session or another, even
 * if this one is killed now) finds who runs the container: state.json, then the "started" event.
 * An abort from here on removes state.json again.  Returns the start time written. */
static long long record_start(char *msg, pid_t c, unsigned long long c_start, pid_t d, const char *boot)
{
    long long started = now_ns(CLOCK_REALTIME);
    snprintf(msg, MSG_SIZE,
                       "{\"InitPid\":%d,\"InitStartTicks\":%llu,\"MainPid\":%d,\"MainStartTicks\":%llu,"
                       "\"BootId\":\"%s\",\"StartTimeUnixNs\":%lld}\n",
                       c, c_start, d, start_ticks(d), boot, started);
    if (!write_depot_from(depot_fd, "state.json.new", "state.json", msg))   /* made at creation */
        die("error depot_write %d %s/state.json", errno, cfg.depot);
    state_written = depot_fd;
    int len = snprintf(msg, MSG_SIZE, "%lld started init=%d main=%d\n", started, c, d);
    if (!append_event(depot_fd, msg, (size_t)len))
        die("error depot_write %d %s/events.log", errno, cfg.depot);
    return started;
}

/* Tells D to exec ("g"); from here the program runs or D reports why not, and it is the engine's
 * whatever happens.  Prints the one line: "exec 0 ..." at EOF (the exec closed D's end), else
 * "exec <errno> <step>". */
static void let_go(char *msg, pid_t c, pid_t d, long long started)
{
    pid_t sender;
    int len;
    send(sock, "g", 1, MSG_NOSIGNAL);
    state_written = -1;
    nvictims = 0;
    if (listen_sock(msg, MSG_SIZE, &sender) > 0) {
        for (char *s = msg; *s; s++)
            if (*s == '\n')
                *s = '?';
        char line[MSG_SIZE + 8];
        len = snprintf(line, sizeof line, "exec %s\n", msg[0] == 'X' ? msg + 2 : "71 protocol");
        write_all(1, line, (size_t)len);
    } else {
        char line[64];                /* one write, no stdio buffer to dirty */
        len = snprintf(line, sizeof line, "exec 0 %d %d %lld\n", c, d, started);
        write_all(1, line, (size_t)len);
    }
}

/* A: starts the container cfg describes and prints exactly one line (README.md, "Start"). */
void launch(void)
{
    char msg[MSG_SIZE], boot[40] = "";    /* one message buffer for the whole start (see `area`) */
    depot_fd = open(cfg.depot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (depot_fd < 0)
        die("error open_depot %d %s", errno, cfg.depot);
    read_boot_id(boot, sizeof boot);
    cgroups_open();                   /* before C exists, so a missing cgroup fails before anything runs */
    pid_t c = clone_init();
    unsigned long long c_start = start_ticks(c);
    place_init(c);
    pid_t d = await_ready(msg);
    long long started = record_start(msg, c, c_start, d, boot);
    let_go(msg, c, d, started);
}
