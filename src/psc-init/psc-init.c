/*
 * psc-init: the native init of a PSContainers container (DESIGN.md, "Layers" 1).
 *
 * .NET cannot fork safely and must never reap or be a subreaper, so everything between fork
 * and exec, and the init role itself, lives here.  Usage: psc-init <config-file>.
 *
 *   A  started by .NET, stdin/stdout are the protocol pipes.  Parses the config, forks B,
 *      relays the setup and prints one of
 *        ready <C host pid> <D host pid>   once D waits for go; then expects "go" on stdin
 *        exec 0 | exec <errno> <step>      after go
 *        error <step> <errno> <detail>     any failure before ready (all killed, exit 1)
 *   B  joins the cgroups (so A stays outside them), setsid, /dev/null on 0-2, unshare(user)
 *      and has A write the id maps, unshare(the rest), forks C, reports C's pid, exits.
 *   C  the init: PID 1 of the new PID namespace, else a child subreaper.  Mounts, root,
 *      hostname, loopback; forks D, forwards signals to it, reaps every child and records
 *      D's exit atomically in the depot.  It never depends on A or .NET staying alive.
 *   D  the main process: rlimits, groups/gid/uid, cwd, no_new_privs, waits for go, execve.
 *
 * Everything below A talks to A over one AF_UNIX SOCK_SEQPACKET socketpair (close-on-exec).
 * A's end has SO_PASSCRED, so the kernel stamps each message with the sender's pid as seen
 * from A's PID namespace: that is how A learns D's host pid although D is pid 2 inside.
 *   to A:   "C <pid>" (B)  "U" user ns made, map me (B)  "D" ready (D)
 *           "E <step> <errno> <detail>" (B, C, D)  "X <errno> <step>" exec failed (D)
 *   from A: "u" maps written (to B)  "g" go (to D)
 * C closes its copy after forking D, so a successful execve closes the last one: A reads EOF.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct {
    const char *depot, *hostname, *cwd, *root, *out, *err, *uid_map, *gid_map;
    const char **cgroups, **env, **argv;
    int ncgroups, nenv, nargs, ns, nrl, ngroups;
    bool has_uid, has_gid, has_groups, nnp;
    uid_t uid;
    gid_t gid, *groups;
    struct { int res; struct rlimit lim; const char *name; } *rl;
} cfg;

static int sock = -1;                 /* A: its end of the socketpair; B, C, D: the other */

static long long now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static int write_all(int fd, const char *buf, size_t len)
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

/* One socket message.  MSG_NOSIGNAL: A may already be gone. */
static void say(const char *fmt, ...)
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
static char hear(void)
{
    char c;
    ssize_t n;
    while ((n = recv(sock, &c, 1, 0)) < 0 && errno == EINTR) {}
    return n == 1 ? c : 0;
}

/* A setup step below A failed: report it, then wait for A's SIGKILL instead of exiting, so C
 * never sees D die before ready (no exit record for a container that never started).  If A
 * is gone the socket hits EOF and we exit: nothing outlives A during setup. */
static _Noreturn void fail(const char *step, const char *fmt, ...)
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

/* Closes every descriptor above 2 except `keep`. */
static void close_except(int keep)
{
    if (keep > 3)
        close_range(3, (unsigned)keep - 1, 0);
    close_range(keep >= 3 ? (unsigned)keep + 1 : 3, ~0U, 0);
}

/* ---------------------------------------------------------------- config */

static const char *const rl_names[] = { "as", "core", "cpu", "data", "fsize", "locks", "memlock",
    "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack" };
static const int rl_res[] = { RLIMIT_AS, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE,
    RLIMIT_LOCKS, RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_NOFILE, RLIMIT_NPROC,
    RLIMIT_RSS, RLIMIT_RTPRIO, RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK };
static const char *const ns_names[] = { "pid", "mount", "uts", "ipc", "net", "user", "cgroup" };
static const int ns_flags[] = { CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWCGROUP };
#define COUNT(a) (sizeof (a) / sizeof *(a))

static bool parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return !errno && !*end && *out <= max;
}

static bool parse_rlim(const char *s, rlim_t *out)
{
    unsigned long long v = RLIM_INFINITY;
    bool ok = !strcmp(s, "unlimited") || parse_num(s, ~0ULL, &v);
    *out = (rlim_t)v;
    return ok;
}

/* Returns NULL, or what to name in "error config 22 <...>". */
static const char *parse_record(char *rec)
{
    unsigned long long v;
    char *val = strchr(rec, '=');
    if (!val)
        return rec;
    *val++ = '\0';
    const char *k = rec;
    size_t i;
    if (!strcmp(k, "depot")) cfg.depot = val;
    else if (!strcmp(k, "cgroup")) cfg.cgroups[cfg.ncgroups++] = val;
    else if (!strcmp(k, "hostname")) cfg.hostname = val;
    else if (!strcmp(k, "cwd")) cfg.cwd = val;
    else if (!strcmp(k, "root")) cfg.root = val;
    else if (!strcmp(k, "stdout")) cfg.out = val;
    else if (!strcmp(k, "stderr")) cfg.err = val;
    else if (!strcmp(k, "uid_map")) cfg.uid_map = val;
    else if (!strcmp(k, "gid_map")) cfg.gid_map = val;
    else if (!strcmp(k, "env")) cfg.env[cfg.nenv++] = val;
    else if (!strcmp(k, "arg")) cfg.argv[cfg.nargs++] = val;
    else if (!strcmp(k, "no_new_privs")) {
        if (strcmp(val, "0") && strcmp(val, "1"))
            return k;
        cfg.nnp = val[0] == '1';
    } else if (!strcmp(k, "uid") || !strcmp(k, "gid")) {
        if (!parse_num(val, 0xfffffffeULL, &v))
            return k;
        if (k[0] == 'u') { cfg.uid = (uid_t)v; cfg.has_uid = true; }
        else { cfg.gid = (gid_t)v; cfg.has_gid = true; }
    } else if (!strcmp(k, "groups")) {
        cfg.has_groups = true;
        cfg.ngroups = 0;
        for (char *tok = strtok(val, ","); tok; tok = strtok(NULL, ",")) {
            if (!parse_num(tok, 0xfffffffeULL, &v))
                return k;
            cfg.groups = realloc(cfg.groups, sizeof(gid_t) * (size_t)(cfg.ngroups + 1));
            cfg.groups[cfg.ngroups++] = (gid_t)v;
        }
    } else if (!strcmp(k, "ns")) {
        for (i = 0; i < COUNT(ns_flags) && strcmp(val, ns_names[i]); i++) {}
        if (i == COUNT(ns_flags))
            return k;
        cfg.ns |= ns_flags[i];
    } else if (!strcmp(k, "rlimit")) {
        char *soft = strchr(val, ':'), *hard = soft ? strchr(soft + 1, ':') : NULL;
        if (!hard)
            return k;
        *soft++ = '\0';
        *hard++ = '\0';
        for (i = 0; i < COUNT(rl_res) && strcmp(val, rl_names[i]); i++) {}
        if (i == COUNT(rl_res) || !parse_rlim(soft, &cfg.rl[cfg.nrl].lim.rlim_cur) ||
            !parse_rlim(hard, &cfg.rl[cfg.nrl].lim.rlim_max))
            return k;
        cfg.rl[cfg.nrl].res = rl_res[i];
        cfg.rl[cfg.nrl++].name = rl_names[i];
    } else
        return k;
    return NULL;
}

/* Returns NULL or what is wrong (errno set).  Lists get room for as many entries as records. */
static const char *load_config(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        return path;
    char *buf = malloc((size_t)st.st_size + 1);
    size_t len = 0, max = 2;
    ssize_t n;
    while (len < (size_t)st.st_size && ((n = read(fd, buf + len, (size_t)st.st_size - len)) > 0 || errno == EINTR))
        len += n > 0 ? (size_t)n : 0;
    close(fd);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        max += buf[i] == '\0';
    cfg.cgroups = calloc(max, sizeof(char *));
    cfg.env = calloc(max, sizeof(char *));
    cfg.argv = calloc(max, sizeof(char *));
    cfg.rl = calloc(max, sizeof *cfg.rl);
    cfg.cwd = "/";
    cfg.nnp = true;
    const char *bad = NULL;
    for (char *rec = buf, *next; rec < buf + len && !bad; rec = next) {
        next = rec + strlen(rec) + 1;     /* before parse_record splits it at '=' */
        bad = *rec ? parse_record(rec) : NULL;
    }
    if (!bad && !cfg.depot) bad = "depot";
    if (!bad && !cfg.nargs) bad = "arg";
    /* Without their namespace these would change the host itself. */
    if (!bad && cfg.hostname && !(cfg.ns & CLONE_NEWUTS)) bad = "hostname";
    if (!bad && cfg.root && !(cfg.ns & CLONE_NEWNS)) bad = "root";
    errno = EINVAL;
    return bad;
}

/* ---------------------------------------------------------------- D: the main process */

static _Noreturn void run_d(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);    /* C's blocked set must not leak into the program */
    for (int i = 0; i < cfg.nrl; i++)
        if (setrlimit(cfg.rl[i].res, &cfg.rl[i].lim) < 0)
            fail("rlimit", "%s", cfg.rl[i].name);
    if (cfg.has_groups && setgroups((size_t)cfg.ngroups, cfg.groups) < 0)
        fail("setgroups", "%d", cfg.ngroups);
    if (cfg.has_gid && setgid(cfg.gid) < 0)
        fail("setgid", "%u", cfg.gid);
    if (cfg.has_uid && setuid(cfg.uid) < 0)
        fail("setuid", "%u", cfg.uid);
    if (chdir(cfg.cwd) < 0)
        fail("chdir", "%s", cfg.cwd);
    if (cfg.nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail("no_new_privs", "-");
    close_except(sock);               /* 0-2 are /dev/null and the logs, set up by B and C */
    say("D");
    if (hear() != 'g')
        _exit(125);                   /* A went away without go: never start the program */
    execve(cfg.argv[0], (char *const *)cfg.argv, (char *const *)cfg.env);
    say("X %d execve", errno);
    _exit(127);
}

/* ---------------------------------------------------------------- C: the init */

static void open_logs(void)
{
    const char *paths[2] = { cfg.out, cfg.err };
    for (int i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        int fd = open(paths[i], O_WRONLY | O_APPEND | O_CLOEXEC);
        /* On 1 and 2 of C itself: D inherits them, and C's own diagnostics (an unwritable
         * depot) land in the container's stderr log, the only place anyone will look. */
        if (fd < 0 || dup2(fd, 1 + i) < 0)
            fail(i ? "open_stderr" : "open_stdout", "%s", paths[i]);
        close(fd);
    }
}

static void enter_root(void)
{
    if (mount(cfg.root, cfg.root, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail("bind_root", "%s", cfg.root);
    if (chdir(cfg.root) < 0)
        fail("chdir_root", "%s", cfg.root);
    /* pivot_root(".", ".") stacks the old root on the new one and detaching "." drops it
     * (runc's trick: no put_old directory needed).  chroot where pivot_root cannot work,
     * e.g. when the host root is a ramfs. */
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) < 0)
            fail("umount_old_root", "%s", cfg.root);
    } else if (chroot(".") < 0)
        fail("chroot", "%s", cfg.root);
    if (chdir("/") < 0)
        fail("chdir_root", "/");
}

static void loopback_up(void)
{
    struct ifreq ifr = { 0 };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return;
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
}

/* `exit` is written to a temp file and renamed, so readers see all of it or nothing. */
static void record_exit(int depot, int status)
{
    char code[8] = "", tmp[32], buf[160];
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (!sig)
        snprintf(code, sizeof code, "%d", WEXITSTATUS(status));
    long long t = now_ns(CLOCK_REALTIME);
    int len = snprintf(buf, sizeof buf, "exit_code=%s\nsignal=%d\nexit_time_ns=%lld\n", code, sig, t);
    snprintf(tmp, sizeof tmp, "exit.tmp.%d", getpid());
    int fd = openat(depot, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, buf, (size_t)len) < 0 || fsync(fd) < 0 || renameat(depot, tmp, depot, "exit") < 0) {
        dprintf(2, "psc-init: cannot write the exit record in %s: %s\n", cfg.depot, strerror(errno));
        unlinkat(depot, tmp, 0);
    }
    if (fd >= 0)
        close(fd);
    len = snprintf(buf, sizeof buf, "%lld exited code=%s signal=%d\n", t, code, sig);
    fd = openat(depot, "events.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, (size_t)len) != len)   /* one write: lines never interleave */
        dprintf(2, "psc-init: cannot append to %s/events.log: %s\n", cfg.depot, strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* Reaps every child that has ended; true (and its status) if `d` was among them. */
static bool reap(pid_t d, int *d_status)
{
    int st;
    pid_t p;
    bool found = false;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0 || (p < 0 && errno == EINTR))
        if (p == d) {
            found = true;
            *d_status = st;
        }
    return found;
}

/* Without a PID namespace nothing ends the rest of the tree for us: SIGKILL every pid in `fd`
 * (the first cgroup's cgroup.procs; without cgroups our /proc children file, since as the
 * subreaper we inherit every orphan) until only we are left, for at most 2 s. */
static void kill_rest(int fd)
{
    static char buf[1 << 16];
    long long deadline = now_ns(CLOCK_MONOTONIC) + 2000000000LL;
    int others = 1, unused;
    while (fd >= 0 && others && now_ns(CLOCK_MONOTONIC) < deadline) {
        reap(0, &unused);
        ssize_t n, len = 0;
        lseek(fd, 0, SEEK_SET);
        while ((n = read(fd, buf + len, sizeof buf - 1 - (size_t)len)) > 0 || (n < 0 && errno == EINTR))
            len += n > 0 ? n : 0;
        buf[len] = '\0';
        others = 0;
        for (char *s = buf, *end; (n = strtol(s, &end, 10)) > 0; s = end)
            if (n != getpid() && kill((pid_t)n, SIGKILL) == 0)
                others++;
        if (others)
            sleep_ms(10);
    }
    reap(0, &unused);
}

static _Noreturn void run_c(void)
{
    /* Blocked before D exists so no signal or SIGCHLD is lost.  Blocked signals are queued
     * even for a PID 1, which would otherwise drop every signal it has no handler for. */
    static const int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (size_t i = 0; i < COUNT(fwd); i++)
        sigaddset(&set, fwd[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0)
        fail("signalfd", "-");
    bool pidns = cfg.ns & CLONE_NEWPID;
    if (!pidns && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        fail("subreaper", "-");
    if ((cfg.ns & CLONE_NEWNS) && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail("mount_private", "/");

    /* Everything on the host side is opened before the root changes. */
    int depot = open(cfg.depot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (depot < 0)
        fail("open_depot", "%s", cfg.depot);
    open_logs();
    int procs = -1;
    if (!pidns) {
        char *p = NULL;
        if (cfg.ncgroups && asprintf(&p, "%s/cgroup.procs", cfg.cgroups[0]) > 0)
            procs = open(p, O_RDONLY | O_CLOEXEC);
        if (procs < 0 && asprintf(&p, "/proc/%d/task/%d/children", getpid(), getpid()) > 0)
            procs = open(p, O_RDONLY | O_CLOEXEC);
    }

    if (cfg.root)
        enter_root();
    else if (chdir("/") < 0)          /* do not pin the launcher's working directory */
        fail("chdir", "/");
    if (pidns && (cfg.ns & CLONE_NEWNS) &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        fail("mount_proc", "/proc");
    if (cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) < 0)
        fail("sethostname", "%s", cfg.hostname);
    if (cfg.ns & CLONE_NEWNET)
        loopback_up();

    pid_t d = fork();
    if (d < 0)
        fail("fork", "main");
    if (d == 0)
        run_d();
    close(sock);

    int d_status = 0;
    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof si);
        if (n != sizeof si) {         /* EINTR; anything else cannot happen, but would poll */
            if (reap(d, &d_status))
                break;
            sleep_ms(10);
            continue;
        }
        if (si.ssi_signo == SIGCHLD) {
            if (reap(d, &d_status))
                break;
        } else
            kill(d, (int)si.ssi_signo);   /* D is not reaped yet, so the pid is still D's */
    }
    record_exit(depot, d_status);
    if (!pidns)
        kill_rest(procs);
    _exit(0);                         /* in a PID namespace the kernel kills the rest */
}

/* ---------------------------------------------------------------- B: namespaces */

static _Noreturn void run_b(void)
{
    /* Joined here, not in A: C's cleanup kills everything in the cgroup but itself, and A
     * (still reporting to .NET) must be neither killed by it nor charged to the container. */
    char pid[24];
    int len = snprintf(pid, sizeof pid, "%d\n", getpid());
    for (int i = 0; i < cfg.ncgroups; i++) {
        char *p = NULL;
        int fd = asprintf(&p, "%s/cgroup.procs", cfg.cgroups[i]) > 0 ? open(p, O_WRONLY | O_CLOEXEC) : -1;
        if (fd < 0 || write_all(fd, pid, (size_t)len) < 0)
            fail("cgroup", "%s", cfg.cgroups[i]);
        close(fd);
    }
    /* A ignores SIGPIPE, and ignored dispositions survive execve: give the program defaults. */
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (setsid() < 0)
        fail("setsid", "-");
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        fail("open", "/dev/null");
    close_except(sock);               /* nothing below A keeps the .NET pipes */
    if (cfg.ns & CLONE_NEWUSER) {
        if (unshare(CLONE_NEWUSER) < 0)
            fail("unshare", "user");
        say("U");
        if (hear() != 'u')
            _exit(1);
    }
    if ((cfg.ns & ~CLONE_NEWUSER) && unshare(cfg.ns & ~CLONE_NEWUSER) < 0)
        fail("unshare", "namespaces");
    pid_t c = fork();
    if (c < 0)
        fail("fork", "init");
    if (c == 0)
        run_c();
    say("C %d", c);
    _exit(0);
}

/* ---------------------------------------------------------------- A: the launcher */

static pid_t victims[8];              /* to SIGKILL on abort, in this order */
static int nvictims;

static void victim(pid_t p)
{
    if (p > 0 && nvictims < (int)COUNT(victims))
        victims[nvictims++] = p;
}

/* State letter (0 when gone) and parent of a pid, from /proc/<pid>/stat. */
static char proc_stat(pid_t p, pid_t *ppid)
{
    char path[32], buf[512], state = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", p);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *s = strrchr(buf, ')');     /* the command name may contain anything */
    *ppid = 0;
    if (!s || sscanf(s + 1, " %c %d", &state, ppid) < 2)
        state = 0;
    return state;
}

/* SIGKILL everything created so far and wait up to 2 s until it is gone (zombies count as
 * gone: their new parent reaps them), so the engine finds empty cgroups once we exit.
 * C is killed before D: then C cannot record the death of a container that never started. */
static _Noreturn void abort_all(const char *line)
{
    pid_t ppid;
    for (int i = 0; i < nvictims; i++)
        kill(victims[i], SIGKILL);
    long long deadline = now_ns(CLOCK_MONOTONIC) + 2000000000LL;
    for (int i = 0; i < nvictims; i++)
        for (char st; (st = proc_stat(victims[i], &ppid)) && st != 'Z' && st != 'X' &&
                      now_ns(CLOCK_MONOTONIC) < deadline;)
            sleep_ms(5);
    while (waitpid(-1, NULL, WNOHANG) > 0) {}   /* B */
    write_all(1, line, strlen(line));
    exit(1);
}

/* Prints "error ..." as one line (after killing everything) and exits 1. */
static _Noreturn void die(const char *fmt, ...)
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

/* stdin: 1 = the line "go", -1 = EOF or any other line, 0 = undecided yet. */
static char inbuf[256];
static size_t inlen;
static bool ineof;

static int verdict(void)
{
    char *nl = memchr(inbuf, '\n', inlen);
    if (nl)
        return nl - inbuf == 2 && !memcmp(inbuf, "go", 2) ? 1 : -1;
    return ineof || inlen == sizeof inbuf ? -1 : 0;
}

static void read_stdin(void)
{
    ssize_t n = read(0, inbuf + inlen, sizeof inbuf - inlen);
    if (n > 0)
        inlen += (size_t)n;
    else if (n == 0 || errno != EINTR)
        ineof = true;
}

/* One message and its sender's pid (in our PID namespace); returns 0 on EOF. */
static ssize_t listen_sock(char *buf, size_t size, pid_t *sender)
{
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(struct ucred))]; } ctl;
    struct iovec iov = { buf, size - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof ctl };
    ssize_t n;
    while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
    buf[n > 0 ? n : 0] = '\0';
    *sender = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
            *sender = ((struct ucred *)CMSG_DATA(c))->pid;
    return n;
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

int main(int argc, char **argv)
{
    char msg[620];
    for (int fd = 0; fd < 3; fd++)    /* so that nothing we open lands on 0-2 */
        if (fcntl(fd, F_GETFD) < 0)
            open("/dev/null", O_RDWR);
    signal(SIGPIPE, SIG_IGN);
    errno = EINVAL;
    const char *bad = argc == 2 ? load_config(argv[1]) : "usage: psc-init <config-file>";
    if (bad)
        die("error config %d %s", errno, bad);
    int sv[2], one = 1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
        setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        die("error socketpair %d -", errno);
    pid_t b = fork(), c = 0, d = 0, sender;
    if (b < 0)
        die("error fork %d launcher", errno);
    if (b == 0) {
        sock = sv[1];
        close(sv[0]);
        run_b();
    }
    sock = sv[0];
    close(sv[1]);
    victim(b);

    /* Until D is ready: relay the setup, and give up as soon as stdin says no (or EOF). */
    while (!d) {
        struct pollfd p[2] = { { sock, POLLIN, 0 }, { verdict() ? -1 : 0, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents) {
            read_stdin();
            if (verdict() < 0)
                die("error aborted 125 no go");
        }
        if (!p[0].revents)
            continue;
        if (listen_sock(msg, sizeof msg, &sender) <= 0)
            die("error setup 32 init ended before ready");
        if (msg[0] == 'C')
            victim(c = (pid_t)atoi(msg + 2));
        else if (msg[0] == 'U') {
            /* From the parent namespace: a process may map only its own id into a namespace
             * it has just entered, while A may write any mapping its privileges allow. */
            if (cfg.uid_map)
                write_proc(b, "uid_map", cfg.uid_map);
            if (cfg.gid_map && geteuid() != 0)
                write_proc(b, "setgroups", "deny");
            if (cfg.gid_map)
                write_proc(b, "gid_map", cfg.gid_map);
            send(sock, "u", 1, MSG_NOSIGNAL);
        } else if (msg[0] == 'D')
            victim(d = sender);
        else {
            victim(sender);
            die("error %s", msg[0] == 'E' ? msg + 2 : "protocol 71 unexpected message");
        }
    }
    if (!c)                           /* B's "C" can arrive after D's "D": C is D's parent */
        proc_stat(d, &c);
    waitpid(b, NULL, 0);
    nvictims = 0;
    victim(c);
    victim(d);
    printf("ready %d %d\n", c, d);
    fflush(stdout);

    while (!verdict())
        read_stdin();
    if (verdict() < 0)
        die("error aborted 125 no go");
    send(sock, "g", 1, MSG_NOSIGNAL);
    ssize_t n;
    while ((n = listen_sock(msg, sizeof msg, &sender)) > 0 && msg[0] == 'C') {}   /* a late "C" */
    if (n > 0 && msg[0] == 'X') {
        for (char *s = msg; *s; s++)
            if (*s == '\n')
                *s = '?';
        printf("exec %s\n", msg + 2);
    } else
        printf("exec 0\n");
    return 0;
}
