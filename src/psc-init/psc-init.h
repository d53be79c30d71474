/*
 * psc-init: the native init of a PSContainers container.  Its processes (A, C, D; E1, E2), the config
 * records, the socketpair messages, the stdout records and the depot writes are described in README.md
 * beside this file.  This header is what the files share; everything else in them is static.
 *
 *   main.c     the three modes: psc-init <config-file> | --serve | --exec <config-file>
 *   io.c       writes, reads, the socketpair (say, hear, listen_sock), fail, close_except, time
 *   proc.c     the one /proc/<pid>/stat parser
 *   config.c   the config records, load_config, `area`
 *   cgroups.c  joining the cgroups: opened once, joined without the global cgroup lock where possible
 *   depot.c    every write into the depot: state.json, events.log, exit
 *   outlog.c   output.log: a process's stdout and stderr as records, rotated at a cap; note
 *   launch.c   A: start one container, and how A fails (die)
 *   init.c     C, the init, and D, the main process
 *   rootfs.c   C: the mounts inside a container's root (/proc, /dev, /sys, /tmp, /etc files)
 *   exec.c     exec mode: A, E1 and E2; with proc=, A stays as the process's tracker
 *   serve.c    --serve: the request loop
 *   tty.c      a tracked process's pty: opened inside the container, its attach socket, and the
 *              attach client (--attach)
 */
#ifndef PSC_INIT_H
#define PSC_INIT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <poll.h>

#define COUNT(a) (sizeof (a) / sizeof *(a))

/* On the small state A writes for every start.  After each clone every page A writes again is copied
 * for it (C still maps the old one) with a TLB shootdown (see `area`); kept side by side in .data this
 * state dirties one page, where in .bss the large buffers between them spread it over five. */
#define PER_START __attribute__((section(".data.per_start")))

/* ---------------------------------------------------------------- config.c */

struct config {
    const char *depot, *hostname, *cwd, *root, *uid_map, *gid_map, *oom;
    const char *etc;                  /* start mode, with root: the depot folder with hosts, hostname, resolv.conf */
    const char *netns;                /* start mode: a network namespace file made at create; C is cloned in it */
    bool no_loopback;                 /* start mode, with ns=net: leave lo down (New-Container -Network None) */
    const char *proc;                 /* exec mode: the process's record directory (detached: tracked) */
    unsigned long long log_max;       /* output.log's size before it rotates; in start mode: log the main
                                       * program's output (else it goes to /dev/null) */
    bool sandbox;                     /* start mode: no program, the init holds the container open */
    bool stdin_records;               /* exec mode: A's stdin carries the program's stdin as records */
    unsigned tty_cols, tty_rows;      /* exec mode with proc: the program runs on a pty of this size */
    bool attach_wait;                 /* with tty: a terminal is coming; the attach socket waits for it */
    const char **cgroups, **env, **argv;
    int ncgroups, nenv, nargs, ns, nrl, ngroups;
    bool has_uid, has_gid, has_groups, nnp, has_target_start;
    uid_t uid;
    pid_t target;                     /* exec mode: the container's init */
    unsigned long long target_start;
    gid_t gid, *groups;
    struct { int res; struct rlimit lim; const char *name; } *rl;
};

extern struct config cfg;
extern bool exec_mode;                /* psc-init --exec */
extern char area[1 << 16];            /* the request buffer of --serve and the config's lists */

bool parse_num(const char *s, unsigned long long max, unsigned long long *out);
const char *load_config(char *buf, size_t len);
void load_config_file(const char *path);

/* ---------------------------------------------------------------- io.c */

extern int sock;                      /* A: its end of the socketpair; C, D, E1, E2: the other */

long long now_ns(clockid_t clk);
void sleep_ms(long ms);
int write_all(int fd, const char *buf, size_t len);
int read_all(int fd, char *buf, size_t len);
char *read_file(const char *path, size_t *len);
void close_except(int keep);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char hear(void);
ssize_t listen_sock(char *buf, size_t size, pid_t *sender);
extern int passed_fd;                 /* A: a descriptor that came with the last message, else -1 */
int send_fd(const char *what, int fd);
_Noreturn void fail(const char *step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- proc.c */

/* The fields of /proc/<pid>/stat that psc-init reads. */
struct proc_stat {
    char state;                       /* R, S, D, Z, X, ... */
    pid_t ppid, session;
    unsigned long long start;         /* start time in clock ticks after boot */
};

bool read_proc_stat(int dir, pid_t pid, struct proc_stat *st);
bool proc_running(int dir, pid_t pid, struct proc_stat *st);

/* ---------------------------------------------------------------- cgroups.c */

enum { JOIN_SELF = 1, JOIN_OTHER = 2 };
void cgroups_open(void);
bool cgroups_v2(void);
pid_t cgroups_clone(unsigned long flags);
int cgroups_join(pid_t pid, int what);
void cgroups_close(void);
int cgroups_members(void);

/* ---------------------------------------------------------------- depot.c */

bool write_depot_from(int depot, const char *ready, const char *file, const char *content);
bool append_event(int depot, const char *line, size_t len);
void record_exit(int depot, int oom, int status);

/* ---------------------------------------------------------------- outlog.c */

struct outlog {
    int dir, fd;                      /* the directory of output.log, and output.log (-1: none) */
    unsigned long long logged, max;   /* bytes in output.log, and the size at which it rotates */
};

extern struct outlog *diag_log;       /* where note() writes, when set */

bool outlog_open(struct outlog *l, int dir, unsigned long long max);
void outlog_put(struct outlog *l, char tag, const char *buf, size_t n);
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------------- launch.c */

extern bool serving;                  /* psc-init --serve: a failed start returns to the request loop */
extern jmp_buf next_request;

void victim(pid_t p);
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void launch(void);
void close_launch(void);

/* ---------------------------------------------------------------- init.c */

extern char *serve_arg;               /* the "--serve" in our argv, renamed "--init" in each C */

int c_entry(void *unused);
void default_signals(void);
void setup_process(void);

/* ---------------------------------------------------------------- rootfs.c */

void prepare_root(bool pidns);

/* ---------------------------------------------------------------- tty.c */

int open_pty_here(void);
int attach_listen(int dir);
void attach_poll(struct pollfd *fds, int *n);
bool attach_events(const struct pollfd *fds, int n, int master, bool *want_redraw);
void attach_output(const char *buf, size_t n);
void attach_linger(long ms);
void attach_close(int dir);
int attach_main(const char *dir);

/* ---------------------------------------------------------------- exec.c, serve.c */

int exec_main(const char *path);
int serve_main(void);

#endif
