/*
 * psc-init (README.md, "Exec"): psc-init --exec <config-file> runs one more program inside a running
 * container.  A opens the target's namespaces, root and cgroups and forks E1; E1 joins them and
 * clones E2 as A's child; E2 becomes the program.  A relays the program's stdout and stderr as
 * records on its own stdout and reports how it ended.
 */
#include "psc-init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Joined in this order: user first (its capabilities allow the rest), pid last. */
static const char *const join_names[] = { "user", "ipc", "uts", "net", "cgroup", "mnt", "pid" };
static const int join_flags[] = { CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
    CLONE_NEWCGROUP, CLONE_NEWNS, CLONE_NEWPID };
#define CGROUP_INDEX 4
#define MNT_INDEX 5

static struct {
    int proc;                         /* the target's /proc/<pid> directory (O_PATH) */
    int ns[COUNT(join_flags)];        /* the target's namespaces that differ from ours, else -1 */
    int root;                         /* the target's root directory (O_PATH) */
    bool enter_root;
    int null, out[2], err[2];
    int in[2];                        /* stdin=1: the program's stdin pipe (A keeps the write end) */
    int master;                       /* tty=: the pty's master, passed by E2 */
    int procdir;                      /* detached (proc=): the record directory */
    struct outlog log;                /* detached: its output.log (fd -1: attached) */
} ex = { .out = { -1, -1 }, .err = { -1, -1 }, .in = { -1, -1 }, .master = -1, .procdir = -1,
         .log = { -1, -1, 0, 0 } };

static const char tags[2] = { 'o', 'e' };    /* the records of the program's stdout and stderr */

/* ---------------------------------------------------------------- E1 and E2 */

/* E2: becomes the program, inside everything E1 joined. */
static _Noreturn void run_e2(void)
{
    if (cgroups_v2() && ex.ns[CGROUP_INDEX] >= 0 && setns(ex.ns[CGROUP_INDEX], CLONE_NEWCGROUP) < 0)
        fail("setns", "cgroup");          /* after the clone into the cgroup, so E1 still sees it */
    default_signals();
    if (setsid() < 0)
        fail("setsid", "-");
    if (!cfg.tty_cols && (dup2(ex.out[1], 1) < 0 || dup2(ex.err[1], 2) < 0 || (ex.in[0] >= 0 && dup2(ex.in[0], 0) < 0)))
        fail("dup2", "stdio");
    /* Joining the mount namespace put us at its root; a chroot()ed init has another one. */
    if (ex.enter_root && (fchdir(ex.root) < 0 || chroot(".") < 0))
        fail("chroot", "/proc/%d/root", (int)cfg.target);
    if (cfg.tty_cols)
        open_pty_here();              /* the container's own /dev/ptmx, now that we see its root */
    setup_process();
    /* After the id changes: they clear the parent-death signal. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        fail("pdeathsig", "-");
    struct pollfd p = { sock, POLLIN, 0 };
    if (poll(&p, 1, 0) != 0)          /* A never sends: readable means A is gone (EOF) */
        _exit(125);
    close_except(sock);
    execve(cfg.argv[0], (char *const *)cfg.argv, (char *const *)cfg.env);
    say("X %d execve", errno);
    _exit(127);
}

/* E1: joins the cgroups and namespaces, then clones E2 as A's child and leaves. */
static _Noreturn void run_e1(void)
{
    if (dup2(ex.null, 0) < 0 || dup2(ex.null, 1) < 0 || dup2(ex.null, 2) < 0)
        fail("open", "/dev/null");        /* nothing below A keeps the .NET pipes */
    /* Itself into the v1 cgroups and any other; E2 is cloned into the v2 one where it can be (cgroups.c). */
    int bad = cgroups_join(getpid(), JOIN_SELF | JOIN_OTHER);
    if (bad >= 0)
        fail("cgroup", "%s", cfg.cgroups[bad]);
    for (size_t i = 0; i < COUNT(join_flags); i++)
        if (ex.ns[i] >= 0 && (i != CGROUP_INDEX || !cgroups_v2()) && setns(ex.ns[i], join_flags[i]) < 0)
            fail("setns", "%s", join_names[i]);
    /* E2 as A's child (runc's nsexec does the same); E2 joins the cgroup namespace after that clone into the v2
     * cgroup, which is checked from the host's. */
    pid_t e2 = cgroups_clone(CLONE_PARENT);
    if (e2 < 0)
        fail("fork", "exec");
    if (e2 == 0)
        run_e2();
    say("P %d", (int)e2);             /* our PID namespace is still the host's: a host pid */
    _exit(0);
}

/* ---------------------------------------------------------------- A: before the fork */

/* The target, held by its /proc directory `dir`: once its start time checks out, every file
 * opened through it belongs to that very process (or fails if it died). */
static void open_target(const char *dir)
{
    struct proc_stat st;
    ex.proc = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ex.proc < 0)
        die("error target %d %s", errno, dir);
    if (!proc_running(ex.proc, cfg.target, &st) || (cfg.has_target_start && st.start != cfg.target_start))
        die("error target %d %s is not the container's init (gone or reused)", ESRCH, dir);
}

/* The target's namespaces that differ from A's own (by inode), into ex.ns. */
static void open_namespaces(const char *dir)
{
    for (size_t i = 0; i < COUNT(join_flags); i++) {
        char self[40], rel[24];
        struct stat mine, theirs;
        snprintf(self, sizeof self, "/proc/self/ns/%s", join_names[i]);
        snprintf(rel, sizeof rel, "ns/%s", join_names[i]);
        ex.ns[i] = -1;
        if (stat(self, &mine) < 0)
            continue;                 /* a namespace type this kernel does not have */
        int fd = openat(ex.proc, rel, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &theirs) < 0)
            die("error open_ns %d %s/%s", errno, dir, rel);
        if (mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino)
            close(fd);
        else
            ex.ns[i] = fd;
    }
}

/* The target's root, and whether E2 must enter it: when it joins the mount namespace, or the roots differ. */
static void open_root(const char *dir)
{
    struct stat root, mine;
    ex.root = openat(ex.proc, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ex.root < 0 || fstat(ex.root, &root) < 0 || stat("/", &mine) < 0)
        die("error open_root %d %s/root", errno, dir);
    ex.enter_root = ex.ns[MNT_INDEX] >= 0 || root.st_dev != mine.st_dev || root.st_ino != mine.st_ino;
}

/* /dev/null, the program's two pipes and the socketpair `sv`; then SIGCHLD, SIGTERM, SIGINT and
 * SIGHUP blocked and returned as a signalfd. */
static int open_channels(int sv[2])
{
    ex.null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (ex.null < 0)
        die("error open %d /dev/null", errno);
    bool pipes = !cfg.tty_cols;       /* on a pty the program's 0-2 are the pty */
    if ((pipes && (pipe2(ex.out, O_CLOEXEC) < 0 || pipe2(ex.err, O_CLOEXEC) < 0)) ||
        (cfg.stdin_records && pipe2(ex.in, O_CLOEXEC) < 0) ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        die("error pipe %d -", errno);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sigfd < 0)
        die("error signalfd %d -", errno);
    return sigfd;
}

/* Forks E1 with the other end of `sv`; A keeps its own end and closes what only E1 and E2 need. */
static pid_t fork_e1(int sv[2])
{
    pid_t e1 = fork();
    if (e1 < 0)
        die("error fork %d exec", errno);
    if (e1 == 0) {
        sock = sv[1];
        close(sv[0]);
        run_e1();
    }
    sock = sv[0];
    close(sv[1]);
    victim(e1);
    if (ex.out[1] >= 0) {
        close(ex.out[1]);
        close(ex.err[1]);
    }
    if (ex.in[0] >= 0) {
        close(ex.in[0]);
        fcntl(ex.in[1], F_SETFL, O_NONBLOCK);
    }
    close(ex.null);
    close(ex.root);
    close(ex.proc);
    for (size_t i = 0; i < COUNT(join_flags); i++)
        if (ex.ns[i] >= 0)
            close(ex.ns[i]);
    cgroups_close();
    return e1;
}

/* ---------------------------------------------------------------- A: until the program runs */

/* True when a signal asks A to stop (SIGCHLD is only a wake-up). */
static bool stop_signal(int sigfd)
{
    struct signalfd_siginfo si;
    return read(sigfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD;
}

/* E1 died between clone and "P" (killed from outside): E2 is our child all the same, and
 * with everything else among our children it is killed before A dies. */
static _Noreturn void die_without_e2(void)
{
    char kids[64], list[256] = "";
    snprintf(kids, sizeof kids, "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
    int fd = open(kids, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? 0 : read(fd, list, sizeof list - 1);
    if (fd >= 0)
        close(fd);
    list[n > 0 ? n : 0] = '\0';
    for (char *s = list, *end; (n = strtol(s, &end, 10)) > 0; s = end)
        victim((pid_t)n);
    die("error setup 32 the exec process ended before it ran the program");
}

/* Setup: until every copy of E1's end is closed (E1 gone, E2 exec'd or dead), gives up when stdin
 * or a signal says stop.  Returns E2's host pid; `xmsg` holds "<errno> execve" if its execve failed. */
static pid_t await_program(int sigfd, pid_t e1, char *xmsg, size_t size)
{
    char msg[620];
    pid_t e2 = 0, sender;
    for (;;) {
        struct pollfd p[3] = { { sock, POLLIN, 0 }, { 0, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
        if (poll(p, 3, -1) < 0)
            continue;
        if (p[1].revents || (p[2].revents && stop_signal(sigfd)))
            die("error aborted 125 stopped before the program ran");
        if (!p[0].revents)
            continue;
        ssize_t n = listen_sock(msg, sizeof msg, &sender);
        if (n <= 0)
            break;
        if (msg[0] == 'P')
            victim(e2 = (pid_t)atoi(msg + 2));
        else if (msg[0] == 'T' && passed_fd >= 0) {
            ex.master = passed_fd;    /* E2's pty */
            passed_fd = -1;
        } else if (msg[0] == 'X')
            snprintf(xmsg, size, "%s", msg + 2);
        else
            die("error %s", msg[0] == 'E' ? msg + 2 : "protocol 71 unexpected message");
    }
    waitpid(e1, NULL, 0);
    if (!e2)
        die_without_e2();
    return e2;
}

/* ---------------------------------------------------------------- A: while the program runs */

/* One status line on stdout (the record stream). */
static void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void status(const char *fmt, ...)
{
    char line[700];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    n = n < (int)sizeof line - 1 ? n : (int)sizeof line - 2;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = '?';
    line[n++] = '\n';
    write_all(1, line, (size_t)n);
}

/* SIGKILLs the program and everything alive in its session (its sid is its pid: it called
 * setsid) until nothing is left, for at most 2 s.  Called before the program is reaped, so
 * its pid, and with it the session id, cannot be reused meanwhile. */
static void kill_session(pid_t leader)
{
    long long deadline = now_ns(CLOCK_MONOTONIC) + 2000000000LL;
    int alive = 1;
    while (alive && now_ns(CLOCK_MONOTONIC) < deadline) {
        alive = 0;
        kill(leader, SIGKILL);
        DIR *d = opendir("/proc");
        for (struct dirent *e; d && (e = readdir(d));) {
            struct proc_stat st;
            pid_t p = (pid_t)atoi(e->d_name);
            if (p > 0 && proc_running(-1, p, &st) && st.session == leader) {
                kill(p, SIGKILL);
                alive++;
            }
        }
        if (d)
            closedir(d);
        if (alive)
            sleep_ms(5);
    }
}

/* One record: on stdout (attached; false when the engine is gone), else appended to output.log
 * (detached; a failed write drops the record, the program goes on). */
static bool emit(char tag, const char *buf, size_t n)
{
    if (ex.log.fd >= 0) {
        outlog_put(&ex.log, tag, buf, n);
        return true;
    }
    char head[32];
    int len = snprintf(head, sizeof head, "%c %zu\n", tag, n);
    return write_all(1, head, (size_t)len) == 0 && write_all(1, buf, n) == 0;
}

/* Relays what one of the program's pipes holds as a record; closes it (-1) at EOF. */
static bool relay(int *fd, char tag, bool *out_ok)
{
    static char buf[65536];
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (n <= 0) {                     /* EOF, or EIO from a pty whose last slave is closed */
        if (*fd == ex.master)
            ex.master = -1;
        close(*fd);
        *fd = -1;
        return false;
    }
    if (*out_ok && !emit(tag, buf, (size_t)n))
        *out_ok = false;              /* the engine is gone: stop the program */
    if (*fd == ex.master)
        attach_output(buf, (size_t)n);
    return true;
}

/* stdin=1: A's stdin is a stream of records from the engine (README.md, "Exec"): "i <n>\n" and n bytes
 * for the program's stdin, "c\n" to close it; anything else, or EOF, stops the program.  A takes in more
 * only when what it holds has gone into the pipe, so a program that does not read holds the engine back
 * (and never A's relay of its output). */
static struct {
    char pending[65536];              /* bytes for the program's stdin, from `off` to `len` */
    size_t off, len;
    size_t need;                      /* bytes of the current "i" record still to come */
    char head[24];                    /* a record header being read */
    size_t hlen;
    bool close_after;                 /* "c" came: close the pipe once `pending` is written */
} in;

/* Takes in what A's stdin holds now; false when it says stop (EOF, a read error, a bad record). */
static bool take_stdin(void)
{
    char raw[65536];
    ssize_t n = read(0, raw, sizeof raw - in.len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    for (ssize_t i = 0; i < n;) {
        if (in.need) {
            size_t take = (size_t)(n - i) < in.need ? (size_t)(n - i) : in.need;
            memcpy(in.pending + in.len, raw + i, take);
            in.len += take;
            in.need -= take;
            i += (ssize_t)take;
            continue;
        }
        char c = raw[i++];
        if (c != '\n') {
            if (in.hlen + 1 >= sizeof in.head)
                return false;
            in.head[in.hlen++] = c;
            continue;
        }
        in.head[in.hlen] = '\0';
        in.hlen = 0;
        unsigned long long len;
        if (!strcmp(in.head, "c"))
            in.close_after = true;
        else if (in.head[0] == 'i' && in.head[1] == ' ' && parse_num(in.head + 2, sizeof in.pending, &len))
            in.need = (size_t)len;
        else
            return false;
    }
    return true;
}

/* Writes what is pending into the program's stdin; closes it when "c" came and all is written, or when the
 * program closed its end (EPIPE: the rest is dropped, as a pipe to a process that stopped reading). */
static void feed_stdin(void)
{
    while (ex.in[1] >= 0 && in.off < in.len) {
        ssize_t w = write(ex.in[1], in.pending + in.off, in.len - in.off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return;
        if (w < 0) {
            close(ex.in[1]);
            ex.in[1] = -1;
            break;
        }
        in.off += (size_t)w;
    }
    if (in.off == in.len)
        in.off = in.len = 0;
    if (ex.in[1] >= 0 && in.close_after && !in.len && !in.need) {
        close(ex.in[1]);
        ex.in[1] = -1;
    }
}

/* Relays both pipes until the program (`e2`) ends, stopping it when stdin, a signal or a failed
 * write to stdout says so; reaps every child meanwhile.  Returns the program's wait status. */
static int relay_until_exit(int sigfd, pid_t e2, int fds[2], bool *out_ok)
{
    bool stopping = false;
    for (;;) {
        pid_t w;
        int ws, wstatus = 0;
        bool done = false;
        while ((w = waitpid(-1, &ws, WNOHANG)) > 0 || (w < 0 && errno == EINTR))
            if (w == e2) {
                done = true;
                wstatus = ws;
            }
        if (done)
            return wstatus;
        /* stdin: a control channel, or with stdin=1 the records of the program's stdin, taken only when
         * what came before is written (or the program's stdin is closed, and what comes is dropped). */
        bool room = !cfg.stdin_records || ex.in[1] < 0 || in.len == 0;
        struct pollfd p[5 + 1 + 8] = { { sigfd, POLLIN, 0 }, { stopping || ex.log.fd >= 0 || !room ? -1 : 0, POLLIN, 0 },
                               { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 },
                               { ex.in[1] >= 0 && in.len ? ex.in[1] : -1, POLLOUT, 0 } };
        int np = 5;
        if (ex.master >= 0)
            attach_poll(p, &np);      /* the attach socket and its clients */
        if (poll(p, (nfds_t)np, -1) < 0)
            continue;
        bool redraw = false;
        if (ex.master >= 0 && attach_events(p + 5, np - 5, ex.master, &redraw) && redraw) {
            pid_t fg = tcgetpgrp(ex.master);   /* a client attached or resized: the program redraws */
            if (fg > 0)
                kill(-fg, SIGWINCH);
        }
        for (int i = 0; i < 2; i++)
            if (p[2 + i].revents)
                relay(&fds[i], tags[i], out_ok);
        bool stop = !*out_ok;
        if (p[1].revents)
            stop |= cfg.stdin_records ? !take_stdin() : true;
        if (cfg.stdin_records && ex.in[1] < 0)
            in.len = in.off = 0;          /* the program closed its stdin: drop what comes */
        if (cfg.stdin_records)
            feed_stdin();
        if (p[0].revents && stop_signal(sigfd) && ex.log.fd < 0)
            stop = true;              /* detached: nothing but the program's end stops the relay */
        if (stop && !stopping) {
            stopping = true;
            kill_session(e2);
        }
    }
}

/* What the pipes hold now, for at most 1 s; writers that live on (background children) are not awaited. */
static void relay_rest(int fds[2], bool *out_ok)
{
    long long deadline = now_ns(CLOCK_MONOTONIC) + 1000000000LL;
    while ((fds[0] >= 0 || fds[1] >= 0) && now_ns(CLOCK_MONOTONIC) < deadline) {
        struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
        if (poll(p, 2, 0) <= 0)
            break;
        for (int i = 0; i < 2; i++)
            if (p[i].revents)
                relay(&fds[i], tags[i], out_ok);
    }
}

/* ---------------------------------------------------------------- A, detached: the tracker */

/* Detached (proc=): A leaves the engine's session and process group (a Ctrl+C in its terminal, or the
 * session's end, must not reach the tracker), opens the record directory and output.log. */
static void open_record(void)
{
    if (setsid() < 0)
        die("error setsid %d -", errno);
    ex.procdir = open(cfg.proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ex.procdir < 0 || !outlog_open(&ex.log, ex.procdir, cfg.log_max ? cfg.log_max : 8 << 20))
        die("error open_proc %d %s", errno, cfg.proc);
}

/* Detached: the process's id, the last part of its record directory (<depot>/processes/<id>). */
static const char *process_id(void)
{
    const char *slash = strrchr(cfg.proc, '/');
    return slash ? slash + 1 : cfg.proc;
}

/* Detached: one line "<ns> <what>" appended to the container's events.log, two levels above the record. */
static void append_container_event(const char *fmt, long long t, ...) __attribute__((format(printf, 1, 3)));
static void append_container_event(const char *fmt, long long t, ...)
{
    char buf[200];
    va_list ap;
    int len = snprintf(buf, sizeof buf, "%lld ", t);
    va_start(ap, t);
    len += vsnprintf(buf + len, sizeof buf - (size_t)len - 1, fmt, ap);
    va_end(ap);
    len = len < (int)sizeof buf - 1 ? len : (int)sizeof buf - 2;
    buf[len++] = '\n';
    int depot = openat(ex.procdir, "../..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (depot >= 0) {
        append_event(depot, buf, (size_t)len);
        close(depot);
    }
}

/* Detached: `state` (the program's and the tracker's pids with their start times, and the start time),
 * written before the engine is answered, so whoever looks next finds who runs the process. */
static void record_process_start(pid_t e2, long long started)
{
    struct proc_stat prog, self;
    char buf[256];
    if (!read_proc_stat(-1, e2, &prog))
        prog.start = 0;
    if (!read_proc_stat(-1, getpid(), &self))
        self.start = 0;
    snprintf(buf, sizeof buf, "pid=%d\nstart_ticks=%llu\nshim_pid=%d\nshim_start_ticks=%llu\nstart_time_ns=%lld\n",
             (int)e2, prog.start, (int)getpid(), self.start, started);
    if (!write_depot_from(ex.procdir, NULL, "state", buf))
        die("error depot_write %d %s/state", errno, cfg.proc);
    append_container_event("process-started id=%s pid=%d", started, process_id(), (int)e2);
}

/* Detached: the process's `exit` record, then a "process-exited" event in the container's events.log
 * (two levels up: <depot>/processes/<id>). */
static void record_process_exit(int wstatus)
{
    char buf[200], code[8] = "";
    int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    if (!sig)
        snprintf(code, sizeof code, "%d", WEXITSTATUS(wstatus));
    long long t = now_ns(CLOCK_REALTIME);
    /* The record first: whoever sees the event (an engine event watcher) finds the process ended. */
    snprintf(buf, sizeof buf, "exit_code=%s\nsignal=%d\nexit_time_ns=%lld\n", code, sig, t);
    write_depot_from(ex.procdir, NULL, "exit", buf);
    append_container_event("process-exited id=%s code=%s signal=%d", t, process_id(), code, sig);
}

/* psc-init --exec: A.  Returns 0 when the program ran ("exit" printed, or recorded when detached), 1
 * when its execve failed. */
int exec_main(const char *path)
{
    char xmsg[620] = "", dir[32];
    exec_mode = true;
    load_config_file(path);
    if (cfg.proc)
        open_record();
    snprintf(dir, sizeof dir, "/proc/%d", (int)cfg.target);
    open_target(dir);
    open_namespaces(dir);
    open_root(dir);
    cgroups_open();
    int sv[2];
    int sigfd = open_channels(sv);
    pid_t e1 = fork_e1(sv);
    pid_t e2 = await_program(sigfd, e1, xmsg, sizeof xmsg);
    if (xmsg[0]) {
        status("exec %s", xmsg);
        waitpid(e2, NULL, 0);         /* it _exit()s right after saying X */
        return 1;
    }
    if (cfg.tty_cols && ex.master < 0)
        die("error setup 71 the program's pty did not arrive");
    if (ex.master >= 0 && attach_listen(ex.procdir) < 0)
        die("error attach %d %s/attach.sock", errno, cfg.proc);
    if (ex.log.fd >= 0) {
        record_process_start(e2, now_ns(CLOCK_REALTIME));
        status("exec 0 %d", (int)e2);
        /* The engine has its answer: from here the tracker is nobody's but its own. */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; null >= 0 && fd < 3; fd++)
            dup2(null, fd);
        if (null > 2)
            close(null);
    } else
        status("exec 0 %d", (int)e2);

    int fds[2] = { ex.master >= 0 ? ex.master : ex.out[0], ex.master >= 0 ? -1 : ex.err[0] };
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    if (fds[1] >= 0)
        fcntl(fds[1], F_SETFL, O_NONBLOCK);
    bool out_ok = true;
    int wstatus = relay_until_exit(sigfd, e2, fds, &out_ok);
    relay_rest(fds, &out_ok);
    int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    if (ex.log.fd >= 0)
        record_process_exit(wstatus);
    if (cfg.attach_wait)
        attach_linger(5000);
    if (ex.procdir >= 0)
        attach_close(ex.procdir);
    else
        status("exit %d %d", sig ? 128 + sig : WEXITSTATUS(wstatus), sig);
    return 0;
}
