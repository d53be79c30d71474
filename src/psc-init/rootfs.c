/*
 * psc-init (README.md, "The root's mounts"): what C mounts inside a container's root, in its private mount
 * namespace, after the root is bound and before pivot_root (runc's order): /proc, a minimal /dev, /sys read-only,
 * /tmp, and /etc/hosts, /etc/hostname, /etc/resolv.conf from the depot.  Whatever the root lacks, the container
 * still gets them; the only change to the root's folder is the mount points created where they are missing.
 *
 * Every path in the root is resolved inside it (openat2 RESOLVE_IN_ROOT on a descriptor of the root), so a
 * symbolic link in the root (an image's /dev -> /, /etc -> /host) never makes C create or mount anything outside
 * it; the mounts go onto /proc/self/fd/<n> of what was resolved.
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int root_fd = -1;

/* `path` (relative) resolved inside the root, symbolic links included; -1 with errno. */
static int in_root(const char *path, int flags, mode_t mode)
{
    struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC), .mode = flags & O_CREAT ? mode : 0,
                            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

/* The directory `path`, made (with `mode`) when missing; its parent must exist.  An O_PATH descriptor. */
static int mount_dir(const char *path, mode_t mode)
{
    int fd = in_root(path, O_PATH | O_DIRECTORY, 0);
    if (fd >= 0)
        return fd;
    if (errno != ENOENT)
        fail("mount_point", "%s", path);
    const char *slash = strrchr(path, '/'), *leaf = slash ? slash + 1 : path;
    char parent[64];
    snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int p = in_root(parent, O_PATH | O_DIRECTORY, 0);
    if (p < 0 || mkdirat(p, leaf, mode) < 0)
        fail("mount_point", "%s", path);   /* EEXIST: a link leading nowhere in the root */
    /* mkdir applied the umask, and /tmp must be 1777: only a directory made here is changed. */
    if (fchmodat(p, leaf, mode, 0) < 0)
        fail("mount_point", "%s", path);
    close(p);
    if ((fd = in_root(path, O_PATH | O_DIRECTORY, 0)) < 0)
        fail("mount_point", "%s", path);
    return fd;
}

/* The file `path` (links followed inside the root), made empty when missing.  An O_PATH descriptor. */
static int mount_file(const char *path)
{
    int fd = in_root(path, O_PATH, 0);
    if (fd < 0 && errno == ENOENT) {
        int made = in_root(path, O_WRONLY | O_CREAT | O_NOCTTY, 0644);
        if (made >= 0)
            close(made);
        fd = in_root(path, O_PATH, 0);
    }
    if (fd < 0)
        fail("mount_point", "%s", path);
    return fd;
}

static const char *fd_path(int fd)
{
    static char p[32];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    return p;
}

/* Mounts onto the mount point `fd` (closed), or fails with `step` naming `path`. */
static void mount_at(int fd, const char *src, const char *type, unsigned long flags, const char *data,
                     const char *step, const char *path)
{
    if (mount(src, fd_path(fd), type, flags, data) < 0)
        fail(step, "%s", path);
    close(fd);
}

/* A tmpfs on /dev with the host's device nodes bound in (binding works in a user namespace too, where mknod
 * does not), /dev/console bound to /dev/null (the container never gets the host's console; a process with a
 * terminal has its own pty), a devpts of the container's own with /dev/ptmx -> pts/ptmx, a tmpfs on /dev/shm and
 * the /proc/self/fd links. */
static void make_dev(void)
{
    static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
    mount_at(mount_dir("dev", 0755), "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k", "mount_dev", "/dev");
    int dev = in_root("dev", O_PATH | O_DIRECTORY, 0);
    if (dev < 0)
        fail("mount_dev", "/dev");
    char host[32];
    for (size_t i = 0; i <= COUNT(nodes); i++) {
        const char *name = i < COUNT(nodes) ? nodes[i] : "console";
        int f = openat(dev, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (f < 0)
            fail("mount_dev", "/dev/%s", name);
        close(f);
        snprintf(host, sizeof host, "/dev/%s", i < COUNT(nodes) ? name : "null");
        char at[16];
        snprintf(at, sizeof at, "dev/%s", name);
        mount_at(mount_file(at), host, NULL, MS_BIND, NULL, "mount_dev", host);
    }
    if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0)
        fail("mount_dev", "/dev/pts");
    mount_at(mount_dir("dev/pts", 0755), "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
             "newinstance,ptmxmode=0666,mode=0620", "mount_devpts", "/dev/pts");
    mount_at(mount_dir("dev/shm", 01777), "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
             "mode=1777,size=65536k", "mount_dev", "/dev/shm");
    static const char *const links[][2] = { { "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" },
        { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" } };
    for (size_t i = 0; i < COUNT(links); i++)
        if (symlinkat(links[i][1], dev, links[i][0]) < 0)
            fail("mount_dev", "/dev/%s", links[i][0]);
    close(dev);
}

/* sysfs read-only; where the kernel refuses it (a user namespace without a network namespace of its own), the
 * host's /sys bound with everything below it, all of it made read-only (runc's fallback). */
static void make_sys(void)
{
    int fd = mount_dir("sys", 0555);
    unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (mount("sysfs", fd_path(fd), "sysfs", ro, NULL) == 0) {
        close(fd);
        return;
    }
    if (errno != EPERM && errno != EACCES)
        fail("mount_sys", "/sys");
    if (mount("/sys", fd_path(fd), NULL, MS_BIND | MS_REC, NULL) < 0)
        fail("mount_sys", "/sys");
    close(fd);
    fd = mount_dir("sys", 0555);      /* the bind mount's top, not the directory under it */
    struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
    if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0 &&
        (errno != ENOSYS || mount(NULL, fd_path(fd), NULL, MS_REMOUNT | MS_BIND | ro, NULL) < 0))
        fail("mount_sys", "/sys read-only");
    close(fd);
}

/* The depot's hosts, hostname and resolv.conf over the root's (made empty where missing). */
static void make_etc(void)
{
    static const char *const files[] = { "hosts", "hostname", "resolv.conf" };
    close(mount_dir("etc", 0755));
    char src[4096], at[32];
    for (size_t i = 0; i < COUNT(files); i++) {
        snprintf(src, sizeof src, "%s/%s", cfg.etc, files[i]);
        snprintf(at, sizeof at, "etc/%s", files[i]);
        mount_at(mount_file(at), src, NULL, MS_BIND, NULL, "mount_etc", src);
    }
}

/* C, in its private mount namespace, with the root bound onto itself and the working directory: every mount the
 * container gets.  /proc is mounted fresh in a PID namespace, else the host's is bound (with what is below it). */
void prepare_root(bool pidns)
{
    root_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        fail("chdir_root", "%s", cfg.root);
    make_dev();
    make_sys();
    close(mount_dir("tmp", 01777));
    if (cfg.etc)
        make_etc();
    /* Last: the other mounts name their targets through the host's /proc/self/fd. */
    int proc = mount_dir("proc", 0555);
    if (pidns)
        mount_at(proc, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "mount_proc", "/proc");
    else
        mount_at(proc, "/proc", NULL, MS_BIND | MS_REC, NULL, "mount_proc", "/proc");
    close(root_fd);
    root_fd = -1;
}
