/*
 * psc-init: the native init of a PSContainers container (DESIGN.md, "Layers" 1).
 *
 * .NET cannot fork safely and must never reap or be a subreaper, so everything between fork
 * and exec, and the init role itself, lives here.  Usage: psc-init <config-file> to start a
 * container, psc-init --serve to start one per request on stdin (the engine keeps a few of
 * these, so a start costs no exec of psc-init; see serve_main), psc-init --exec <config-file>
 * to run one more program in a running one (below).
 *
 *   A  started by .NET (or the request loop of --serve): stdout is the answer, stdin the abort channel (anything arriving on it,
 *      EOF included, before the program runs makes A kill everything it made).  Parses the
 *      config, opens the cgroup.procs files, clones C straight into the new namespaces, writes
 *      C's pid into every cgroup and (user namespace) C's id maps from outside, tells C to go
 *      on.  When D is ready, writes state.json and the "started" event into the depot and
 *      tells D to exec.  It prints exactly one line:
 *        exec 0 <C host pid> <D host pid> <start time>   the program runs (the time as in state.json)
 *        exec <errno> <step>                the program could not be executed
 *        error <step> <errno> <detail>      any failure before (all killed, exit 1)
 *      The engine is not asked anything in between: one request, one answer.
 *   C  the init: PID 1 of the new PID namespace, else a child subreaper.  setsid, /dev/null on
 *      0-2, unshare(cgroup) once inside its cgroups, mounts, root, hostname, loopback; creates
 *      D (sharing C's memory until D execs), forwards signals to it, reaps every child and
 *      records D's exit atomically in the depot.
 *      It never depends on A or .NET staying alive once the program runs.
 *   D  the main process: rlimits, groups/gid/uid, cwd, no_new_privs, waits for go, execve.
 *
 * Everything below A talks to A over one AF_UNIX SOCK_SEQPACKET socketpair (close-on-exec).
 * A's end has SO_PASSCRED, so the kernel stamps each message with the sender's pid as seen
 * from A's PID namespace: that is how A learns D's host pid although D is pid 2 inside.
 *   to A:   "D" ready (D)  "E <step> <errno> <detail>" (C, D)  "X <errno> <step>" exec failed (D)
 *   from A: "s" cgroups joined and ids mapped (to C)  "g" go (to D)
 * C closes its copy after forking D, so a successful execve closes the last one: A reads EOF.
 *
 * Exec mode, `psc-init --exec <config-file>`: runs one more program inside a running container
 * (Garden's Run, runc exec).  The config has the same records (cgroup, arg, env, cwd, uid, gid,
 * groups, rlimit, no_new_privs) plus target=<host pid of the container's init> and optionally
 * target_start=<its start time in clock ticks>; depot, ns, hostname, root, stdout, stderr and
 * the id maps belong to the container and are refused.
 *
 *   A  started by .NET as above.  Opens /proc/<target> once (checking target_start, so a reused
 *      pid is never entered) and through that directory the target's namespaces (only those that
 *      differ from A's own, by inode) and its root; opens the cgroup.procs files, /dev/null and
 *      two pipes for the program's stdout and stderr; forks E1.  A never joins anything itself.
 *   E1 writes its pid into every cgroup, setns()es user first (the other joins need its
 *      capabilities), then ipc, uts, net, cgroup, mnt and pid last: setns(pid) only changes
 *      the namespace of children, so E1 clones E2 with CLONE_PARENT (A becomes E2's parent and
 *      waits for it; no middle process stays behind), reports "P <E2 host pid>" and exits.
 *   E2 is in the container's PID namespace (its init is pid 1) and cgroups.  Default signals,
 *      setsid, stdin /dev/null, stdout and stderr the two pipes; enters the target's root
 *      (fchdir + chroot) when its mount namespace was joined or the roots differ; rlimits,
 *      groups/gid/uid, cwd, no_new_privs, PR_SET_PDEATHSIG(SIGKILL) (after the id changes,
 *      which clear it; then checks A is still there), execve.
 *
 * A's stdout is one ordered stream of records; nothing else ever writes to it, so output can
 * neither spoof a status nor be mixed with one, and may be any bytes:
 *   o <n>\n<n bytes>    the program's stdout, relayed as A reads it
 *   e <n>\n<n bytes>    the program's stderr
 *   exec 0 <host pid> | exec <errno> <step>      the program runs | could not be executed
 *   error <step> <errno> <detail>                 setup failed (everything killed, exit 1)
 *   exit <code> <signal>                          the program ended (code 128+n for signal n)
 * When the program has ended, A relays what the pipes still hold at once (background processes
 * that keep them open are not waited for), prints "exit" last and exits 0.  A's stderr is for
 * its own diagnostics only.  On the socketpair (no SO_PASSCRED needed): "P <pid>" (E1),
 * "E <step> <errno> <detail>" (E1, E2), "X <errno> execve" (E2); EOF once E2 has exec'd.  stdin is the control channel: EOF, any line, SIGTERM, SIGINT or SIGHUP make
 * A SIGKILL the program and every process still in its session (repeated until none is left,
 * so children forking meanwhile die too), then report its "exit" as usual.  If A itself is
 * SIGKILLed, E2 dies of its parent-death signal.  Processes that left the session (setsid
 * daemons) stay in the container, as processes started by docker exec do; Stop-Container ends
 * them with the rest.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
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
    bool has_uid, has_gid, has_groups, nnp, has_target_start;
    uid_t uid;
    pid_t target;                     /* exec mode: the container's init */
    unsigned long long target_start;
    gid_t gid, *groups;
    struct { int res; struct rlimit lim; const char *name; } *rl;
} cfg;

static int sock = -1;                 /* A: its end of the socketpair; C, D: the other */
static bool exec_mode;                /* psc-init --exec */
static char *serve_arg;               /* the "--serve" in our argv, renamed "--init" in each C */

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

/* Reads exactly len bytes (EINTR retried); -1 on end of input or an error first. */
static int read_all(int fd, char *buf, size_t len)
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
    else if (!strcmp(k, "target")) {
        if (!parse_num(val, 0x3fffffffULL, &v) || v == 0)
            return k;
        cfg.target = (pid_t)v;
    } else if (!strcmp(k, "target_start")) {
        if (!parse_num(val, ~0ULL, &cfg.target_start))
            return k;
        cfg.has_target_start = true;
    }
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

/* Reads a whole file (NUL-terminated); NULL on failure. */
static char *read_file(const char *path, size_t *len)
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

/* The request buffer of --serve and, right after the request, the config's lists: after each clone
 * every page the launcher writes again is copied (C still maps the old one) with a TLB shootdown
 * (an IPI, costly in this kind of VM), so one request touches as few pages as possible - one or two
 * here, where malloc, calloc and stdio used to touch seven. */
static char area[1 << 16] __attribute__((aligned(4096)));

/* Parses the NUL-separated records in `buf` (which it keeps; freed next time unless it is in `area`)
 * into cfg, after freeing the last one's.  Returns NULL or what is wrong (errno set).  Lists get room
 * for as many entries as records: in `area` after `buf` when they fit, else from the heap. */
static const char *load_config(char *buf, size_t len)
{
    static char *last;
    static bool lists_owned;
    if ((uintptr_t)last < (uintptr_t)area || (uintptr_t)last >= (uintptr_t)(area + sizeof area))
        free(last);
    if (lists_owned) {
        free(cfg.cgroups);
        free(cfg.env);
        free(cfg.argv);
        free(cfg.rl);
    }
    free(cfg.groups);
    memset(&cfg, 0, sizeof cfg);
    last = buf;
    size_t max = 2;
    for (size_t i = 0; i < len; i++)
        max += buf[i] == '\0';
    size_t lists = 3 * max * sizeof(char *) + max * sizeof *cfg.rl;
    uintptr_t from = ((uintptr_t)(buf + len + 1) + 15) & ~(uintptr_t)15;
    lists_owned = !((uintptr_t)buf >= (uintptr_t)area && from + lists <= (uintptr_t)(area + sizeof area));
    if (lists_owned) {
        cfg.cgroups = calloc(max, sizeof(char *));
        cfg.env = calloc(max, sizeof(char *));
        cfg.argv = calloc(max, sizeof(char *));
        cfg.rl = calloc(max, sizeof *cfg.rl);
    } else {
        char *p = (char *)from;
        memset(p, 0, lists);
        cfg.cgroups = (const char **)p;
        cfg.env = (const char **)(p + max * sizeof(char *));
        cfg.argv = (const char **)(p + 2 * max * sizeof(char *));
        cfg.rl = (void *)(p + 3 * max * sizeof(char *));
    }
    cfg.cwd = "/";
    cfg.nnp = true;
    const char *bad = NULL;
    for (char *rec = buf, *next; rec < buf + len && !bad; rec = next) {
        next = rec + strlen(rec) + 1;     /* before parse_record splits it at '=' */
        bad = *rec ? parse_record(rec) : NULL;
    }
    if (exec_mode) {
        /* These belong to the container, made once by its init. */
        const char *const keys[] = { "depot", "ns", "hostname", "root", "stdout", "stderr", "uid_map", "gid_map" };
        const bool set[] = { cfg.depot, cfg.ns, cfg.hostname, cfg.root, cfg.out, cfg.err, cfg.uid_map, cfg.gid_map };
        for (size_t i = 0; i < COUNT(keys) && !bad; i++)
            if (set[i])
                bad = keys[i];
        if (!bad && !cfg.target) bad = "target";
    } else {
        if (!bad && (cfg.target || cfg.has_target_start)) bad = cfg.target ? "target" : "target_start";
        if (!bad && !cfg.depot) bad = "depot";
    }
    if (!bad && !cfg.nargs) bad = "arg";
    /* Without their namespace these would change the host itself. */
    if (!bad && cfg.hostname && !(cfg.ns & CLONE_NEWUTS)) bad = "hostname";
    if (!bad && cfg.root && !(cfg.ns & CLONE_NEWNS)) bad = "root";
    errno = EINVAL;
    return bad;
}

/* ---------------------------------------------------------------- D: the main process */

/* What D and E2 do last before execve: rlimits, groups/gid/uid, cwd, no_new_privs. */
static void setup_process(void)
{
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
}

static _Noreturn void run_d(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);    /* C's blocked set must not leak into the program */
    setup_process();
    close_except(sock);               /* 0-2 are /dev/null and the logs, set up by C */
    say("D");
    if (hear() != 'g')
        _exit(125);                   /* A went away without go: never start the program */
    execve(cfg.argv[0], (char *const *)cfg.argv, (char *const *)cfg.env);
    say("X %d execve", errno);
    _exit(127);
}

static int d_entry(void *unused)
{
    (void)unused;
    run_d();
}

/* ---------------------------------------------------------------- C: the init */

static void open_logs(void)
{
    const char *paths[2] = { cfg.out, cfg.err };
    for (int i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        int fd = open(paths[i], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);   /* made at creation */
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

/* Writes `content` to <depot>/<file> through a temp file and a rename: readers see all of it or
 * nothing.  No fsync: the depot lives in /run and describes processes of this boot only.
 * `ready`, when not NULL, names an empty file made earlier for this very write (it is filled and renamed
 * instead): a new inode on a disk-backed depot (ext4 without a journal skips every recently deleted inode
 * while it looks for a free one) costs 0.1-0.7 ms, so the engine makes state.json.new at creation and the
 * start makes no file.  Without it (or when it is gone) a temporary file is made as usual.  (The exit record
 * takes the usual way: making its file ahead, in the init once the program runs, cost the next start more,
 * on 2 CPUs, than it saved the stop.) */
static bool write_depot_from(int depot, const char *ready, const char *file, const char *content)
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

/* The "exited" event first, then `exit` (a temp file renamed, so readers see all of it or nothing):
 * whoever sees the exit record finds the event already logged. */
static void record_exit(int depot, int status)
{
    char code[8] = "", buf[160];
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (!sig)
        snprintf(code, sizeof code, "%d", WEXITSTATUS(status));
    long long t = now_ns(CLOCK_REALTIME);
    int len = snprintf(buf, sizeof buf, "%lld exited code=%s signal=%d\n", t, code, sig);
    int fd = openat(depot, "events.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, (size_t)len) != len)   /* one write: lines never interleave */
        dprintf(2, "psc-init: cannot append to %s/events.log: %s\n", cfg.depot, strerror(errno));
    if (fd >= 0)
        close(fd);
    snprintf(buf, sizeof buf, "exit_code=%s\nsignal=%d\nexit_time_ns=%lld\n", code, sig, t);
    if (!write_depot_from(depot, NULL, "exit", buf))
        dprintf(2, "psc-init: cannot write the exit record in %s: %s\n", cfg.depot, strerror(errno));
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

    /* D shares C's memory until it execs (CLONE_VM | CLONE_VFORK, as posix_spawn does): no page
     * tables to copy, and C, which only waits from here on, sleeps until then.  D touches no
     * state of C's but its own stack. */
    static char d_stack[1 << 16] __attribute__((aligned(16)));
    pid_t d = clone(d_entry, d_stack + sizeof d_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
    if (d < 0)
        fail("fork", "main");
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

/* ---------------------------------------------------------------- C's start */

/* C begins here, cloned by A straight into the new namespaces (all but the cgroup one).  It
 * waits for A's "s": by then A has put it into every cgroup and written its id maps, so
 * everything C forks is born inside the limits and nothing runs unmapped. */
static int c_entry(void *unused)
{
    (void)unused;
    if (serve_arg)                    /* ps in the container shows "psc-init --init" as pid 1 */
        memcpy(serve_arg, "--init\0", 8);
    if (hear() != 's')
        _exit(1);                     /* A is gone: nothing outlives A during setup */
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
    close_except(sock);               /* nothing below A keeps the .NET pipes or A's cgroup files */
    /* Unshared only now that C is in its cgroups, so they are the namespace's root. */
    if ((cfg.ns & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
        fail("unshare", "cgroup");
    run_c();
}

/* ---------------------------------------------------------------- A: the launcher */

static pid_t victims[8];              /* to SIGKILL on abort, in this order */
static int nvictims;

static void victim(pid_t p)
{
    if (p > 0 && nvictims < (int)COUNT(victims))
        victims[nvictims++] = p;
}

/* Reads /proc/<pid>/stat into buf; returns what follows the command name (the state field
 * onwards), or NULL when the process is gone.  The name may contain anything, ')' included. */
static char *stat_after_comm(pid_t p, char *buf, size_t size)
{
    char path[32];
    snprintf(path, sizeof path, "/proc/%d/stat", p);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? 0 : read(fd, buf, size - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *s = strrchr(buf, ')');
    return s ? s + 1 : NULL;
}

/* State letter (0 when gone) and parent of a pid, from /proc/<pid>/stat. */
static char proc_stat(pid_t p, pid_t *ppid)
{
    char buf[512], state = 0;
    char *s = stat_after_comm(p, buf, sizeof buf);
    *ppid = 0;
    if (!s || sscanf(s, " %c %d", &state, ppid) < 2)
        state = 0;
    return state;
}

/* SIGKILL everything created so far and wait up to 2 s until it is gone (zombies count as
 * gone: their new parent reaps them), so the engine finds empty cgroups once we exit.
 * C is killed before D: then C cannot record the death of a container that never started. */
static int state_written = -1;         /* A: the depot fd while state.json names a start not yet let go */
static bool serving;                  /* psc-init --serve: a failed start returns to the request loop */
static jmp_buf next_request;

static _Noreturn void abort_all(const char *line)
{
    pid_t ppid;
    if (state_written >= 0)
        unlinkat(state_written, "state.json", 0);
    for (int i = 0; i < nvictims; i++)
        kill(victims[i], SIGKILL);
    long long deadline = now_ns(CLOCK_MONOTONIC) + 2000000000LL;
    for (int i = 0; i < nvictims; i++)
        for (char st; (st = proc_stat(victims[i], &ppid)) && st != 'Z' && st != 'X' &&
                      now_ns(CLOCK_MONOTONIC) < deadline;)
            sleep_ms(5);
    while (waitpid(-1, NULL, WNOHANG) > 0) {}   /* C, when it was ours */
    write_all(1, line, strlen(line));
    if (serving)
        longjmp(next_request, 1);
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


/* ---------------------------------------------------------------- exec mode: E1, E2 and A */

/* Joined in this order: user first (its capabilities allow the rest), pid last. */
static const char *const join_names[] = { "user", "ipc", "uts", "net", "cgroup", "mnt", "pid" };
static const int join_flags[] = { CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
    CLONE_NEWCGROUP, CLONE_NEWNS, CLONE_NEWPID };
#define MNT_INDEX 5

static struct {
    int ns[COUNT(join_flags)];        /* the target's namespaces that differ from ours, else -1 */
    int root;                         /* the target's root directory (O_PATH) */
    bool enter_root;
    int *procs;                       /* cgroup.procs of each cgroup= */
    int null, out[2], err[2];
} ex;

/* E2: becomes the program, inside everything E1 joined. */
static _Noreturn void run_e2(void)
{
    for (int s = 1; s < NSIG; s++)    /* A ignores SIGPIPE and blocks what it waits for */
        signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (setsid() < 0)
        fail("setsid", "-");
    if (dup2(ex.out[1], 1) < 0 || dup2(ex.err[1], 2) < 0)
        fail("dup2", "stdio");
    /* Joining the mount namespace put us at its root; a chroot()ed init has another one. */
    if (ex.enter_root && (fchdir(ex.root) < 0 || chroot(".") < 0))
        fail("chroot", "/proc/%d/root", (int)cfg.target);
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
    char pid[24];
    int len = snprintf(pid, sizeof pid, "%d\n", getpid());
    for (int i = 0; i < cfg.ncgroups; i++)
        if (write_all(ex.procs[i], pid, (size_t)len) < 0)
            fail("cgroup", "%s", cfg.cgroups[i]);
    for (size_t i = 0; i < COUNT(join_flags); i++)
        if (ex.ns[i] >= 0 && setns(ex.ns[i], join_flags[i]) < 0)
            fail("setns", "%s", join_names[i]);
    /* Like fork, but the child's parent is A (runc's nsexec does the same). */
    pid_t e2 = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
    if (e2 < 0)
        fail("fork", "exec");
    if (e2 == 0)
        run_e2();
    say("P %d", (int)e2);             /* our PID namespace is still the host's: a host pid */
    _exit(0);
}

/* One status line on stdout (the record stream). */
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

/* State, start time (clock ticks) and session of a process from its stat file, read through
 * `dir` (an open /proc/<pid>, which keeps naming that process) or /proc/<pid>. */
static bool read_stat(int dir, pid_t pid, char *state, unsigned long long *start, pid_t *session)
{
    char path[40], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = dir >= 0 ? openat(dir, "stat", O_RDONLY | O_CLOEXEC) : open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *s = strrchr(buf, ')'), *save = NULL, *tok;     /* the command may contain anything */
    if (!s)
        return false;
    /* From field 3 (state): 4 ppid, 5 pgrp, 6 session, ..., 22 starttime. */
    tok = strtok_r(s + 1, " ", &save);
    for (int field = 3; tok && field < 22; field++) {
        if (field == 3)
            *state = tok[0];
        else if (field == 6)
            *session = (pid_t)atoi(tok);
        tok = strtok_r(NULL, " ", &save);
    }
    if (!tok)
        return false;
    *start = strtoull(tok, NULL, 10);
    return true;
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
            char st = 0;
            unsigned long long start;
            pid_t sid = 0, p = (pid_t)atoi(e->d_name);
            if (p > 0 && read_stat(-1, p, &st, &start, &sid) && sid == leader && st != 'Z' && st != 'X') {
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

/* Relays what one of the program's pipes holds as a record; closes it (-1) at EOF. */
static bool relay(int *fd, char tag, bool *out_ok)
{
    static char buf[65536];
    char head[32];
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return false;
    }
    int len = snprintf(head, sizeof head, "%c %zd\n", tag, n);
    if (*out_ok && (write_all(1, head, (size_t)len) < 0 || write_all(1, buf, (size_t)n) < 0))
        *out_ok = false;              /* the engine is gone: stop the program */
    return true;
}

/* True when a signal asks A to stop (SIGCHLD is only a wake-up). */
static bool stop_signal(int sigfd)
{
    struct signalfd_siginfo si;
    return read(sigfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD;
}

static int exec_main(const char *path)
{
    char msg[620], xmsg[620] = "";
    exec_mode = true;
    size_t len = 0;
    char *buf = read_file(path, &len);
    errno = buf ? EINVAL : errno;
    const char *bad = buf ? load_config(buf, len) : path;
    if (bad)
        die("error config %d %s", errno, bad);

    /* The target, held by its /proc directory: once its start time checks out, every file
     * opened through it belongs to that very process (or fails if it died). */
    char dir[32], st = 0;
    unsigned long long start = 0;
    pid_t sid;
    snprintf(dir, sizeof dir, "/proc/%d", (int)cfg.target);
    int proc = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0)
        die("error target %d %s", errno, dir);
    if (!read_stat(proc, cfg.target, &st, &start, &sid) || st == 'Z' || st == 'X' ||
        (cfg.has_target_start && start != cfg.target_start))
        die("error target %d %s is not the container's init (gone or reused)", ESRCH, dir);
    for (size_t i = 0; i < COUNT(join_flags); i++) {
        char self[40], rel[24];
        struct stat mine, theirs;
        snprintf(self, sizeof self, "/proc/self/ns/%s", join_names[i]);
        snprintf(rel, sizeof rel, "ns/%s", join_names[i]);
        ex.ns[i] = -1;
        if (stat(self, &mine) < 0)
            continue;                 /* a namespace type this kernel does not have */
        int fd = openat(proc, rel, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &theirs) < 0)
            die("error open_ns %d %s/%s", errno, dir, rel);
        if (mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino)
            close(fd);
        else
            ex.ns[i] = fd;
    }
    struct stat root, mine;
    ex.root = openat(proc, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ex.root < 0 || fstat(ex.root, &root) < 0 || stat("/", &mine) < 0)
        die("error open_root %d %s/root", errno, dir);
    ex.enter_root = ex.ns[MNT_INDEX] >= 0 || root.st_dev != mine.st_dev || root.st_ino != mine.st_ino;
    ex.procs = calloc((size_t)cfg.ncgroups + 1, sizeof(int));
    for (int i = 0; i < cfg.ncgroups; i++) {
        char *p = NULL;
        ex.procs[i] = asprintf(&p, "%s/cgroup.procs", cfg.cgroups[i]) > 0 ? open(p, O_WRONLY | O_CLOEXEC) : -1;
        if (ex.procs[i] < 0)
            die("error cgroup %d %s", errno, cfg.cgroups[i]);
        free(p);
    }
    ex.null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (ex.null < 0)
        die("error open %d /dev/null", errno);
    int sv[2];
    if (pipe2(ex.out, O_CLOEXEC) < 0 || pipe2(ex.err, O_CLOEXEC) < 0 ||
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

    pid_t e1 = fork(), e2 = 0, sender;
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
    close(ex.out[1]);
    close(ex.err[1]);
    close(ex.null);
    close(ex.root);
    close(proc);
    for (size_t i = 0; i < COUNT(join_flags); i++)
        if (ex.ns[i] >= 0)
            close(ex.ns[i]);
    for (int i = 0; i < cfg.ncgroups; i++)
        close(ex.procs[i]);

    /* Setup: until every copy of E1's end is closed (E1 gone, E2 exec'd or dead). */
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
        else if (msg[0] == 'X')
            snprintf(xmsg, sizeof xmsg, "%s", msg + 2);
        else
            die("error %s", msg[0] == 'E' ? msg + 2 : "protocol 71 unexpected message");
    }
    waitpid(e1, NULL, 0);
    if (!e2) {
        /* E1 died between clone and "P" (killed from outside): E2 is our child all the same. */
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
    if (xmsg[0]) {
        status("exec %s", xmsg);
        waitpid(e2, NULL, 0);         /* it _exit()s right after saying X */
        return 1;
    }
    status("exec 0 %d", (int)e2);

    /* Running: relay both pipes until the program ends; stop it when asked. */
    int fds[2] = { ex.out[0], ex.err[0] }, wstatus = 0;
    const char tags[2] = { 'o', 'e' };
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    bool out_ok = true, stopping = false, done = false;
    while (!done) {
        pid_t w;
        int ws;
        while ((w = waitpid(-1, &ws, WNOHANG)) > 0 || (w < 0 && errno == EINTR))
            if (w == e2) {
                done = true;
                wstatus = ws;
            }
        if (done)
            break;
        struct pollfd p[4] = { { sigfd, POLLIN, 0 }, { stopping ? -1 : 0, POLLIN, 0 },
                               { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
        if (poll(p, 4, -1) < 0)
            continue;
        for (int i = 0; i < 2; i++)
            if (p[2 + i].revents)
                relay(&fds[i], tags[i], &out_ok);
        bool stop = !out_ok || p[1].revents;
        if (p[0].revents && stop_signal(sigfd))
            stop = true;
        if (stop && !stopping) {
            stopping = true;
            kill_session(e2);
        }
    }
    /* What the pipes hold now; writers that live on (background children) are not awaited. */
    long long deadline = now_ns(CLOCK_MONOTONIC) + 1000000000LL;
    while ((fds[0] >= 0 || fds[1] >= 0) && now_ns(CLOCK_MONOTONIC) < deadline) {
        struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
        if (poll(p, 2, 0) <= 0)
            break;
        for (int i = 0; i < 2; i++)
            if (p[i].revents)
                relay(&fds[i], tags[i], &out_ok);
    }
    int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    status("exit %d %d", sig ? 128 + sig : WEXITSTATUS(wstatus), sig);
    return 0;
}

/* Start time of a pid in clock ticks (field 22 of /proc/<pid>/stat); 0 when unknown. */
static unsigned long long start_ticks(pid_t p)
{
    char buf[1024];
    unsigned long long t = 0;
    char *s = stat_after_comm(p, buf, sizeof buf);   /* at " <state> ...", field 3 */
    for (int field = 2; s && *s && field < 22; s++)
        if (*s == ' ')
            field++;
    if (s)
        t = strtoull(s, NULL, 10);
    return t;
}

/* True when stdin has news: any data or EOF means the engine gave up on this start. */
static bool stdin_says_stop(void)
{
    struct pollfd p = { 0, POLLIN, 0 };
    return poll(&p, 1, 0) > 0;
}

/* A's descriptors for one start; closed before the next one (a failed start jumps past its end). */
static int a_depot = -1, *a_procs, a_procs_here[32];   /* the usual case: no malloc (see `area`) */

static void close_launch(void)
{
    if (a_depot >= 0)
        close(a_depot);
    if (sock >= 0)
        close(sock);
    for (int i = 0; a_procs && a_procs[i] >= 0; i++)
        close(a_procs[i]);
    if (a_procs != a_procs_here)
        free(a_procs);
    a_depot = sock = -1;
    a_procs = NULL;
    nvictims = 0;
    state_written = -1;
}

/* A: starts the container cfg describes and prints exactly one line (see the top). */
static void launch(void)
{
    char msg[620];
    int depot = a_depot = open(cfg.depot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (depot < 0)
        die("error open_depot %d %s", errno, cfg.depot);
    char boot[40] = "";
    int bfd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    ssize_t blen = bfd < 0 ? 0 : read(bfd, boot, sizeof boot - 1);
    if (bfd >= 0)
        close(bfd);
    boot[blen > 0 ? blen : 0] = '\0';
    boot[strcspn(boot, "\n\"\\")] = '\0';
    /* Opened before C exists, so a missing cgroup fails before anything runs. */
    int *procs = a_procs = cfg.ncgroups < (int)COUNT(a_procs_here) ? a_procs_here
                                  : malloc(((size_t)cfg.ncgroups + 1) * sizeof(int));
    for (int i = 0; i <= cfg.ncgroups; i++)
        procs[i] = -1;
    for (int i = 0; i < cfg.ncgroups; i++) {
        char path[512], *p = NULL;    /* on the stack: no malloc in the usual case (see `area`) */
        int n = snprintf(path, sizeof path, "%s/cgroup.procs", cfg.cgroups[i]);
        if (n >= (int)sizeof path && asprintf(&p, "%s/cgroup.procs", cfg.cgroups[i]) < 0)
            p = NULL;
        procs[i] = n > 0 && (n < (int)sizeof path || p) ? open(p ? p : path, O_WRONLY | O_CLOEXEC) : -1;
        free(p);
        if (procs[i] < 0)
            die("error cgroup %d %s", errno, cfg.cgroups[i]);
    }
    int sv[2], one = 1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
        setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        die("error socketpair %d -", errno);

    /* C, straight into its namespaces: one clone instead of fork + unshare + fork.  Its stack
     * is a copy of this static buffer (no CLONE_VM), used only until it forks or execs. */
    static char stack[1 << 18] __attribute__((aligned(16)));
    sock = sv[1];
    pid_t c = clone(c_entry, stack + sizeof stack, (cfg.ns & ~CLONE_NEWCGROUP) | SIGCHLD, NULL), d = 0, sender;
    if (c < 0)
        die("error clone %d namespaces", errno);
    sock = sv[0];
    close(sv[1]);
    victim(c);
    unsigned long long c_start = start_ticks(c);
    /* From the parent side, before C goes on: A may write any mapping its privileges allow
     * (a process may map only its own id into a namespace it has just entered), and joining
     * here keeps A itself out of the container's cgroups. */
    char pid[24];
    int len = snprintf(pid, sizeof pid, "%d\n", c);
    for (int i = 0; i < cfg.ncgroups; i++)
        if (write_all(procs[i], pid, (size_t)len) < 0)
            die("error cgroup %d %s", errno, cfg.cgroups[i]);
    if (cfg.ns & CLONE_NEWUSER) {
        if (cfg.uid_map)
            write_proc(c, "uid_map", cfg.uid_map);
        if (cfg.gid_map && geteuid() != 0)
            write_proc(c, "setgroups", "deny");
        if (cfg.gid_map)
            write_proc(c, "gid_map", cfg.gid_map);
    }
    send(sock, "s", 1, MSG_NOSIGNAL);

    /* Until D is ready: relay the setup, and give up as soon as stdin says anything (or EOF). */
    while (!d) {
        struct pollfd p[2] = { { sock, POLLIN, 0 }, { 0, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents)
            die("error aborted 125 stopped before the program ran");
        if (!p[0].revents)
            continue;
        if (listen_sock(msg, sizeof msg, &sender) <= 0)
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
    /* Recorded before the program is told to run, so whoever looks next (this session or
     * another, even if this one is killed now) finds who runs the container.  An abort from
     * here on removes it again; once "g" is sent the program runs or D reports why not. */
    long long started = now_ns(CLOCK_REALTIME);
    len = snprintf(msg, sizeof msg,
                   "{\"InitPid\":%d,\"InitStartTicks\":%llu,\"MainPid\":%d,\"MainStartTicks\":%llu,"
                   "\"BootId\":\"%s\",\"StartTimeUnixNs\":%lld}\n",
                   c, c_start, d, start_ticks(d), boot, started);
    if (!write_depot_from(depot, "state.json.new", "state.json", msg))   /* made at creation */
        die("error depot_write %d %s/state.json", errno, cfg.depot);
    state_written = depot;
    int efd = openat(depot, "events.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    len = snprintf(msg, sizeof msg, "%lld started init=%d main=%d\n", started, c, d);
    if (efd < 0 || write(efd, msg, (size_t)len) != len)   /* one write: lines never interleave */
        die("error depot_write %d %s/events.log", errno, cfg.depot);
    close(efd);
    send(sock, "g", 1, MSG_NOSIGNAL);
    state_written = -1;
    nvictims = 0;                     /* the program is the engine's now, whatever happens */
    if (listen_sock(msg, sizeof msg, &sender) > 0) {
        for (char *s = msg; *s; s++)
            if (*s == '\n')
                *s = '?';
        char line[sizeof msg + 8];
        len = snprintf(line, sizeof line, "exec %s\n", msg[0] == 'X' ? msg + 2 : "71 protocol");
        write_all(1, line, (size_t)len);
    } else {
        char line[64];                /* one write, no stdio buffer to dirty */
        len = snprintf(line, sizeof line, "exec 0 %d %d %lld\n", c, d, started);
        write_all(1, line, (size_t)len);
    }
}

/* psc-init --serve: a launcher that stays, so a start costs no process start of its own.  Reads
 * requests "<length>\n<config records>" from stdin and answers each with the one line a
 * one-shot launch prints; EOF on stdin (the engine is gone or gave up) ends it, and during a
 * start aborts that start first.  The inits it clones are its children: it reaps each as soon
 * as it ends (SIGCHLD through a signalfd), so none lingers as a zombie. */
static int serve_main(void)
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
    /* Requests are read into `area` with read(2) (no stdio, no malloc: see `area`), the length line
     * in reads of at most 24 bytes and the records in one read of exactly what is left of them.  The
     * engine sends one request and waits for its answer; should anything follow a short request in
     * the first read, it is carried over to the next one, as a stdio buffer would. */
    static char carry[24];
    static size_t have, carried;
    for (;;) {
        setjmp(next_request);         /* a failed start comes back here; at EOF the read ends us */
        close_launch();
        memcpy(area, carry, carried);
        have = carried;
        carried = 0;
        size_t len = 0, head = 0;
        char *nl;
        while (!(nl = memchr(area, '\n', have))) {
            if (have >= 24)
                return 0;             /* not a length line */
            struct pollfd p[2] = { { 0, POLLIN, 0 }, { sfd, POLLIN, 0 } };
            if (poll(p, 2, -1) < 0)
                continue;
            if (p[1].revents) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) > 0) {}
                while (waitpid(-1, NULL, WNOHANG) > 0) {}
            }
            if (!p[0].revents)
                continue;
            ssize_t n = read(0, area + have, 24 - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return 0;
            have += (size_t)n;
        }
        head = (size_t)(nl - area) + 1;
        unsigned long long v;
        *nl = '\0';
        if (!parse_num(area, 1 << 24, &v))
            return 0;
        len = (size_t)v;
        char *buf = area + head;
        if (have > head + len) {      /* the next request began in the same read */
            carried = have - head - len;
            memcpy(carry, area + head + len, carried);
            have = head + len;
        }
        if (head + len + 1 > sizeof area) {      /* a very large request: from the heap */
            buf = malloc(len + 1);
            if (!buf)
                return 0;
            size_t got = have - head;
            memcpy(buf, area + head, got);
            if (read_all(0, buf + got, len - got) < 0)
                return 0;
        } else if (read_all(0, area + have, head + len - have) < 0) {   /* no more than this request */
            return 0;
        }
        have = 0;
        buf[len] = '\0';
        errno = EINVAL;
        const char *bad = load_config(buf, len);
        if (bad)
            die("error config %d %s", errno, bad);
        launch();
    }
}

int main(int argc, char **argv)
{
    for (int fd = 0; fd < 3; fd++)    /* so that nothing we open lands on 0-2 */
        if (fcntl(fd, F_GETFD) < 0)
            open("/dev/null", O_RDWR);
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && !strcmp(argv[1], "--exec"))
        return exec_main(argv[2]);
    if (argc == 2 && !strcmp(argv[1], "--serve")) {
        serve_arg = argv[1];
        return serve_main();
    }
    size_t len = 0;
    char *buf = argc == 2 ? read_file(argv[1], &len) : NULL;
    errno = buf ? EINVAL : argc == 2 ? errno : EINVAL;
    const char *bad = argc != 2 ? "usage: psc-init <config-file> | psc-init --serve | psc-init --exec <config-file>"
                    : buf ? load_config(buf, len) : argv[1];
    if (bad)
        die("error config %d %s", errno, bad);
    launch();
    return 0;
}
