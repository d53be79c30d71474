/*
 * psc-init (README.md, "The config"): the config records, key=value separated by NUL bytes, parsed
 * into cfg.  `area` holds the request of --serve and, right after it, the config's lists.
 */
#include "psc-init.h"

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct config cfg PER_START;
bool exec_mode;

/* The request buffer of --serve and, right after the request, the config's lists: after each clone
 * every page the launcher writes again is copied (C still maps the old one) with a TLB shootdown
 * (an IPI, costly in this kind of VM), so one request touches as few pages as possible - one or two
 * here, where malloc, calloc and stdio used to touch seven. */
char area[1 << 16] __attribute__((aligned(4096)));

static const char *const rl_names[] = { "as", "core", "cpu", "data", "fsize", "locks", "memlock",
    "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack" };
static const int rl_res[] = { RLIMIT_AS, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE,
    RLIMIT_LOCKS, RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_NOFILE, RLIMIT_NPROC,
    RLIMIT_RSS, RLIMIT_RTPRIO, RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK };
static const char *const ns_names[] = { "pid", "mount", "uts", "ipc", "net", "user", "cgroup" };
static const int ns_flags[] = { CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWCGROUP };

bool parse_num(const char *s, unsigned long long max, unsigned long long *out)
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

/* groups=<gid>,<gid>,... */
static bool parse_groups(char *val)
{
    unsigned long long v;
    cfg.has_groups = true;
    cfg.ngroups = 0;
    for (char *tok = strtok(val, ","); tok; tok = strtok(NULL, ",")) {
        if (!parse_num(tok, 0xfffffffeULL, &v))
            return false;
        cfg.groups = realloc(cfg.groups, sizeof(gid_t) * (size_t)(cfg.ngroups + 1));
        cfg.groups[cfg.ngroups++] = (gid_t)v;
    }
    return true;
}

/* ns=<name>, one record per namespace. */
static bool parse_ns(const char *val)
{
    size_t i;
    for (i = 0; i < COUNT(ns_flags) && strcmp(val, ns_names[i]); i++) {}
    if (i == COUNT(ns_flags))
        return false;
    cfg.ns |= ns_flags[i];
    return true;
}

/* rlimit=<name>:<soft>:<hard>, each limit a number or "unlimited". */
static bool parse_rlimit(char *val)
{
    size_t i;
    char *soft = strchr(val, ':'), *hard = soft ? strchr(soft + 1, ':') : NULL;
    if (!hard)
        return false;
    *soft++ = '\0';
    *hard++ = '\0';
    for (i = 0; i < COUNT(rl_res) && strcmp(val, rl_names[i]); i++) {}
    if (i == COUNT(rl_res) || !parse_rlim(soft, &cfg.rl[cfg.nrl].lim.rlim_cur) ||
        !parse_rlim(hard, &cfg.rl[cfg.nrl].lim.rlim_max))
        return false;
    cfg.rl[cfg.nrl].res = rl_res[i];
    cfg.rl[cfg.nrl++].name = rl_names[i];
    return true;
}

/* The records kept as they are (a path, a name, one list entry); false when `k` is none of them. */
static bool keep_record(const char *k, const char *val)
{
    if (!strcmp(k, "depot")) cfg.depot = val;
    else if (!strcmp(k, "cgroup")) cfg.cgroups[cfg.ncgroups++] = val;
    else if (!strcmp(k, "hostname")) cfg.hostname = val;
    else if (!strcmp(k, "cwd")) cfg.cwd = val;
    else if (!strcmp(k, "root")) cfg.root = val;
    else if (!strcmp(k, "etc")) cfg.etc = val;
    else if (!strcmp(k, "netns")) cfg.netns = val;
    else if (!strcmp(k, "uid_map")) cfg.uid_map = val;
    else if (!strcmp(k, "gid_map")) cfg.gid_map = val;
    else if (!strcmp(k, "oom")) cfg.oom = val;
    else if (!strcmp(k, "proc")) cfg.proc = val;
    else if (!strcmp(k, "env")) cfg.env[cfg.nenv++] = val;
    else if (!strcmp(k, "arg")) cfg.argv[cfg.nargs++] = val;
    else
        return false;
    return true;
}

/* target=<pid>, exec mode: the container's init (host pid). */
static bool parse_target(const char *val)
{
    unsigned long long v;
    if (!parse_num(val, 0x3fffffffULL, &v) || v == 0)
        return false;
    cfg.target = (pid_t)v;
    return true;
}

/* target_start=<clock ticks>, exec mode: the init's start time, so a reused pid is never entered. */
static bool parse_target_start(const char *val)
{
    if (!parse_num(val, ~0ULL, &cfg.target_start))
        return false;
    cfg.has_target_start = true;
    return true;
}

/* tty=<cols>x<rows>, each 1 to 9999 */
static bool parse_tty(char *val)
{
    unsigned long long c, r;
    char *x = strchr(val, 'x');
    if (!x)
        return false;
    *x = '\0';
    if (!parse_num(val, 9999, &c) || !parse_num(x + 1, 9999, &r) || !c || !r)
        return false;
    cfg.tty_cols = (unsigned)c;
    cfg.tty_rows = (unsigned)r;
    return true;
}

/* no_new_privs=0|1 */
static bool parse_nnp(const char *val)
{
    if (strcmp(val, "0") && strcmp(val, "1"))
        return false;
    cfg.nnp = val[0] == '1';
    return true;
}

/* uid=<n> or gid=<n> */
static bool parse_id(const char *k, const char *val)
{
    unsigned long long v;
    if (!parse_num(val, 0xfffffffeULL, &v))
        return false;
    if (k[0] == 'u') { cfg.uid = (uid_t)v; cfg.has_uid = true; }
    else { cfg.gid = (gid_t)v; cfg.has_gid = true; }
    return true;
}

/* Returns NULL, or what to name in "error config 22 <...>". */
static const char *parse_record(char *rec)
{
    char *val = strchr(rec, '=');
    if (!val)
        return rec;
    *val++ = '\0';
    const char *k = rec;
    bool ok;
    if (keep_record(k, val)) ok = true;
    else if (!strcmp(k, "target")) ok = parse_target(val);
    else if (!strcmp(k, "target_start")) ok = parse_target_start(val);
    else if (!strcmp(k, "no_new_privs")) ok = parse_nnp(val);
    else if (!strcmp(k, "sandbox")) ok = !strcmp(val, "1") && (cfg.sandbox = true);
    else if (!strcmp(k, "loopback")) ok = !strcmp(val, "0") && (cfg.no_loopback = true);
    else if (!strcmp(k, "stdin")) ok = !strcmp(val, "1") && (cfg.stdin_records = true);
    else if (!strcmp(k, "tty")) ok = parse_tty(val);
    else if (!strcmp(k, "attach_wait")) ok = !strcmp(val, "1") && (cfg.attach_wait = true);
    else if (!strcmp(k, "log_max")) ok = parse_num(val, 1ULL << 40, &cfg.log_max) && cfg.log_max >= 4096;
    else if (!strcmp(k, "uid") || !strcmp(k, "gid")) ok = parse_id(k, val);
    else if (!strcmp(k, "groups")) ok = parse_groups(val);
    else if (!strcmp(k, "ns")) ok = parse_ns(val);
    else if (!strcmp(k, "rlimit")) ok = parse_rlimit(val);
    else ok = false;
    return ok ? NULL : k;
}

/* Room for `max` entries in each list: in `area` after `buf` when they fit, else from the heap.
 * Returns whether they came from the heap (so the next load frees them). */
static bool make_lists(char *buf, size_t len, size_t max)
{
    size_t lists = 3 * max * sizeof(char *) + max * sizeof *cfg.rl;
    uintptr_t from = ((uintptr_t)(buf + len + 1) + 15) & ~(uintptr_t)15;
    if ((uintptr_t)buf >= (uintptr_t)area && from + lists <= (uintptr_t)(area + sizeof area)) {
        char *p = (char *)from;
        memset(p, 0, lists);
        cfg.cgroups = (const char **)p;
        cfg.env = (const char **)(p + max * sizeof(char *));
        cfg.argv = (const char **)(p + 2 * max * sizeof(char *));
        cfg.rl = (void *)(p + 3 * max * sizeof(char *));
        return false;
    }
    cfg.cgroups = calloc(max, sizeof(char *));
    cfg.env = calloc(max, sizeof(char *));
    cfg.argv = calloc(max, sizeof(char *));
    cfg.rl = calloc(max, sizeof *cfg.rl);
    return true;
}

/* NULL, or the record a config of this mode must have or must not have. */
static const char *check_config(void)
{
    if (exec_mode) {
        /* These belong to the container, made once by its init. */
        const char *const keys[] = { "depot", "ns", "hostname", "root", "etc", "uid_map", "gid_map", "oom", "sandbox", "netns", "loopback" };
        const bool set[] = { cfg.depot, cfg.ns, cfg.hostname, cfg.root, cfg.etc, cfg.uid_map, cfg.gid_map, cfg.oom, cfg.sandbox, cfg.netns, cfg.no_loopback };
        for (size_t i = 0; i < COUNT(keys); i++)
            if (set[i])
                return keys[i];
        if (!cfg.target) return "target";
        if (cfg.log_max && !cfg.proc) return "log_max";
        if (cfg.stdin_records && cfg.proc) return "stdin";     /* a tracked process has no one to read from */
        if (cfg.tty_cols && !cfg.proc) return "tty";           /* a pty is attached to through its tracker */
        if (cfg.attach_wait && !cfg.tty_cols) return "attach_wait";
    } else {
        if (cfg.target || cfg.has_target_start) return cfg.target ? "target" : "target_start";
        if (cfg.proc) return "proc";
        if (cfg.stdin_records || cfg.tty_cols || cfg.attach_wait)
            return cfg.stdin_records ? "stdin" : cfg.tty_cols ? "tty" : "attach_wait";
        if (!cfg.depot) return "depot";
    }
    /* A sandbox runs no program: its init holds the container open until it is stopped. */
    if (cfg.sandbox ? cfg.nargs > 0 : !cfg.nargs) return "arg";
    /* Without their namespace these would change the host itself. */
    if (cfg.hostname && !(cfg.ns & CLONE_NEWUTS)) return "hostname";
    if (cfg.root && !(cfg.ns & CLONE_NEWNS)) return "root";
    if (cfg.etc && (!cfg.root || cfg.etc[0] != '/')) return "etc";     /* bound inside a root, from the host */
    if (cfg.netns && (cfg.ns & CLONE_NEWNET || cfg.netns[0] != '/')) return "netns";  /* one network namespace */
    if (cfg.no_loopback && !(cfg.ns & CLONE_NEWNET)) return "loopback";                 /* never the host's lo */
    return NULL;
}

/* Parses the NUL-separated records in `buf` (which it keeps; freed next time unless it is in `area`)
 * into cfg, after freeing the last one's.  Returns NULL or what is wrong (errno set).  Lists get room
 * for as many entries as records: in `area` after `buf` when they fit, else from the heap. */
const char *load_config(char *buf, size_t len)
{
    static char *last PER_START;
    static bool lists_owned PER_START;
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
    lists_owned = make_lists(buf, len, max);
    cfg.cwd = "/";
    cfg.nnp = true;
    const char *bad = NULL;
    for (char *rec = buf, *next; rec < buf + len && !bad; rec = next) {
        next = rec + strlen(rec) + 1;     /* before parse_record splits it at '=' */
        bad = *rec ? parse_record(rec) : NULL;
    }
    if (!bad)
        bad = check_config();
    errno = EINVAL;
    return bad;
}

/* A: loads the config file of a one-shot start or an exec, or dies with "error config <errno> <what>". */
void load_config_file(const char *path)
{
    size_t len = 0;
    char *buf = read_file(path, &len);
    const char *bad = buf ? load_config(buf, len) : path;    /* errno: read_file's, or load_config's EINVAL */
    if (bad)
        die("error config %d %s", errno, bad);
}
