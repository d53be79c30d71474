/*
 * psc-init (README.md, "Start"): C, the init, cloned by A straight into the new namespaces: PID 1 of
 * the new PID namespace, else a child subreaper; and D, the main process, which C creates and which
 * becomes the program.  setup_process and default_signals are shared with E2 (exec.c).
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

char *serve_arg;

/* With log_max: the main program's output.log, and the pipes of its stdout and stderr (open_logs), each
 * grown to PIPE_ROOM where the kernel allows, so a program that writes much wakes C once per PIPE_ROOM bytes
 * rather than per 64 KiB. */
#define PIPE_ROOM (1 << 20)
static struct outlog main_log = { -1, -1, 0, 0 };
static int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };

/* A ignores SIGPIPE, and ignored dispositions survive execve; A also blocks what it waits for:
 * give the program default dispositions and an empty signal mask. */
void default_signals(void)
{
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ---------------------------------------------------------------- D: the main process */

/* What D and E2 do last before execve: rlimits, groups/gid/uid, cwd, no_new_privs. */
void setup_process(void)
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
    if (out_pipe[1] >= 0 && (dup2(out_pipe[1], 1) < 0 || dup2(err_pipe[1], 2) < 0))
        fail("dup2", "output");
    setup_process();
    close_except(sock);               /* 0 is /dev/null, 1 and 2 the output pipes or /dev/null */
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

/* Blocked before D exists so no signal or SIGCHLD is lost.  Blocked signals are queued even for
 * a PID 1, which would otherwise drop every signal it has no handler for.  Returns their signalfd. */
static int block_signals(void)
{
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
    return sfd;
}

/* With log_max (README.md, "Output logs"): the main program's stdout and stderr are pipes that C drains
 * into the depot's output.log, so the two streams keep the order C read them in and the file has a cap;
 * C's own diagnostics from then on go there too (a sandbox's log holds only those).  Without it, the
 * program's stdout and stderr are /dev/null, as C's are. */
static void open_logs(int depot)
{
    if (!cfg.log_max)
        return;
    if (!outlog_open(&main_log, depot, cfg.log_max))
        fail("open_output", "%s/output.log", cfg.depot);
    diag_log = &main_log;
    if (cfg.sandbox)
        return;                       /* no program: the log holds C's diagnostics only */
    if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0)
        fail("pipe", "output");
    fcntl(out_pipe[0], F_SETPIPE_SZ, PIPE_ROOM);   /* a refusal (pipe-max-size, a user's pipe quota) keeps 64 KiB */
}

/* The root bound onto itself, its mounts made inside it (rootfs.c), then pivoted into. */
static void enter_root(bool pidns)
{
    if (mount(cfg.root, cfg.root, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail("bind_root", "%s", cfg.root);
    if (chdir(cfg.root) < 0)
        fail("chdir_root", "%s", cfg.root);
    prepare_root(pidns);
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

/* In a new mount namespace without a root (a root gets its own /dev: rootfs.c): a devpts instance of the
 * container's own on /dev/pts and /dev/ptmx bound to its ptmx, so the ptys of the container's terminals are not
 * the host's.  A kernel that refuses keeps /dev as it is. */
static void own_devpts(void)
{
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") == 0)
        mount("/dev/pts/ptmx", "/dev/ptmx", NULL, MS_BIND, NULL);
}

/* Inside the namespaces, after everything on the host side is open: the root with its mounts, else /proc of
 * the new PID namespace and a devpts; the hostname, the loopback. */
static void enter_container(bool pidns)
{
    if (cfg.root)
        enter_root(pidns);
    else {
        if (chdir("/") < 0)           /* do not pin the launcher's working directory */
            fail("chdir", "/");
        if (pidns && (cfg.ns & CLONE_NEWNS) &&
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            fail("mount_proc", "/proc");
        if (cfg.ns & CLONE_NEWNS)
            own_devpts();
    }
    if (cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) < 0)
        fail("sethostname", "%s", cfg.hostname);
    if ((cfg.ns & CLONE_NEWNET) && !cfg.no_loopback)
        loopback_up();
}

/* D shares C's memory until it execs (CLONE_VM | CLONE_VFORK, as posix_spawn does): no page
 * tables to copy, and C, which only waits from here on, sleeps until then.  D touches no
 * state of C's but its own stack (page-aligned, so its top is a page's end and D's frames
 * dirty one page, not two). */
static pid_t start_main(void)
{
    static char d_stack[1 << 16] __attribute__((aligned(4096)));
    pid_t d = clone(d_entry, d_stack + sizeof d_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
    if (d < 0)
        fail("fork", "main");
    return d;
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

/* One read from an output pipe into output.log; closes it (-1) at EOF.  False when it held nothing. */
static bool drain(int *fd, char tag)
{
    static char buf[PIPE_ROOM];
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return false;
    }
    outlog_put(&main_log, tag, buf, (size_t)n);
    return true;
}

/* What the output pipes hold now, for at most 1 s: writers that live on (background children) are not
 * awaited. */
static void drain_rest(void)
{
    long long deadline = now_ns(CLOCK_MONOTONIC) + 1000000000LL;
    bool more = true;
    while (more && now_ns(CLOCK_MONOTONIC) < deadline) {
        more = false;
        if (out_pipe[0] >= 0)
            more |= drain(&out_pipe[0], 'o');
        if (err_pipe[0] >= 0)
            more |= drain(&err_pipe[0], 'e');
    }
}

/* C's life once D runs: forwards signals to D, drains its output into output.log and reaps every child
 * until D has ended; returns D's status. */
static int wait_main(int sfd, pid_t d)
{
    int d_status = 0;
    for (;;) {
        struct pollfd p[3] = { { sfd, POLLIN, 0 }, { out_pipe[0], POLLIN, 0 }, { err_pipe[0], POLLIN, 0 } };
        if (poll(p, 3, -1) < 0) {
            if (reap(d, &d_status))   /* EINTR; anything else cannot happen, but would spin */
                return d_status;
            sleep_ms(10);
            continue;
        }
        if (p[1].revents)
            drain(&out_pipe[0], 'o');
        if (p[2].revents)
            drain(&err_pipe[0], 'e');
        struct signalfd_siginfo si;
        if (p[0].revents && read(sfd, &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGCHLD) {
                if (reap(d, &d_status))
                    return d_status;
            } else
                kill(d, (int)si.ssi_signo);   /* D is not reaped yet, so the pid is still D's */
        }
    }
}

/* Sends `sig` to every pid in `fd` (from cgroups_members) but ours; returns how many took it (sig 0:
 * how many are alive). */
static int signal_members(int fd, int sig)
{
    static char buf[1 << 16];
    ssize_t n, len = 0;
    int took = 0;
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, buf + len, sizeof buf - 1 - (size_t)len)) > 0 || (n < 0 && errno == EINTR))
        len += n > 0 ? n : 0;
    buf[len] = '\0';
    for (char *s = buf, *end; (n = strtol(s, &end, 10)) > 0; s = end)
        if (n != getpid() && kill((pid_t)n, sig) == 0)
            took++;
    return took;
}

/* Without a PID namespace nothing ends the rest of the tree for us: SIGKILL every pid in `fd` (from
 * cgroups_members) until only we are left, for at most 2 s. */
static void kill_rest(int fd)
{
    long long deadline = now_ns(CLOCK_MONOTONIC) + 2000000000LL;
    int others = 1, unused;
    while (fd >= 0 && others && now_ns(CLOCK_MONOTONIC) < deadline) {
        reap(0, &unused);
        others = signal_members(fd, SIGKILL);
        if (others)
            sleep_ms(10);
    }
    reap(0, &unused);
}

/* Every other process of the container, told `sig` (0: asked whether any is left): in a PID namespace
 * kill(-1) from its pid 1 reaches all of them; without one, the members of its first cgroup. */
static bool signal_others(int members, bool pidns, int sig)
{
    if (pidns)
        return kill(-1, sig) == 0;
    return members >= 0 && signal_members(members, sig) > 0;
}

/* A sandbox's C (README.md, "Sandbox"): there is no program, so C says it is ready in D's place (A records
 * C as the main process too) and then reaps whatever runs in the container.  SIGTERM, SIGINT or SIGHUP
 * stop it: every other process is sent SIGTERM, and once none is left C records exit code 0 and ends.
 * The engine's stop kills the whole cgroup if they outlive its grace period. */
static _Noreturn void hold_open(int sfd, int depot, int oom, int members, bool pidns)
{
    say("D");
    if (hear() != 'g')
        _exit(125);
    close(sock);
    bool stopping = false;
    int unused;
    for (;;) {
        struct pollfd p = { sfd, POLLIN, 0 };
        struct signalfd_siginfo si;
        if (poll(&p, 1, stopping ? 10 : -1) > 0 && read(sfd, &si, sizeof si) == sizeof si &&
            (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP) && !stopping) {
            stopping = true;
            signal_others(members, pidns, SIGTERM);
        }
        reap(0, &unused);
        if (stopping && !signal_others(members, pidns, 0))
            break;
    }
    record_exit(depot, oom, 0);
    _exit(0);
}

static _Noreturn void run_c(void)
{
    int sfd = block_signals();
    bool pidns = cfg.ns & CLONE_NEWPID;
    if (!pidns && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        fail("subreaper", "-");
    if ((cfg.ns & CLONE_NEWNS) && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail("mount_private", "/");

    /* Everything on the host side is opened before the root changes. */
    int depot = open(cfg.depot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (depot < 0)
        fail("open_depot", "%s", cfg.depot);
    open_logs(depot);
    int members = pidns ? -1 : cgroups_members();
    /* The cgroup's OOM kill counter, read at the exit; without it no OOM kill is recorded here. */
    int oom = cfg.oom ? open(cfg.oom, O_RDONLY | O_CLOEXEC) : -1;

    enter_container(pidns);
    if (cfg.sandbox)
        hold_open(sfd, depot, oom, members, pidns);
    pid_t d = start_main();
    close(sock);
    if (out_pipe[1] >= 0) {           /* D has its copies: EOF comes when the last writer is gone */
        close(out_pipe[1]);
        close(err_pipe[1]);
        fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
        fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
    }
    int d_status = wait_main(sfd, d);
    drain_rest();
    record_exit(depot, oom, d_status);
    if (!pidns) {
        kill_rest(members);
        drain_rest();
    }
    _exit(0);                         /* in a PID namespace the kernel kills the rest */
}

/* C begins here, cloned by A straight into the new namespaces (all but the cgroup one) and its v2
 * cgroup.  It waits for A's "s": by then A has put it into the cgroups it could not join itself and
 * written its id maps; it joins the v1 cgroups first thing, so everything C forks is born inside the
 * limits and nothing runs unmapped. */
int c_entry(void *unused)
{
    (void)unused;
    if (serve_arg)                    /* ps in the container shows "psc-init --init" as pid 1 */
        memcpy(serve_arg, "--init\0", 8);
    if (hear() != 's')
        _exit(1);                     /* A is gone: nothing outlives A during setup */
    int bad = cgroups_join(0, JOIN_SELF);   /* the v1 cgroups, before anything else runs (cgroups.c) */
    if (bad >= 0)
        fail("cgroup", "%s", cfg.cgroups[bad]);
    default_signals();
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
