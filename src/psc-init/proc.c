/*
 * psc-init (README.md): the one parser of /proc/<pid>/stat.  A reads it for the start times it
 * records (state.json), to wait for what it killed, to check the target of an exec and to find
 * the processes of an exec's session.
 */
#include "psc-init.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads the stat file of `pid`, through `dir` (an open /proc/<pid>, which keeps naming that very
 * process) when it is not -1, else through /proc/<pid>.  False when the process is gone or the
 * file is cut short. */
bool read_proc_stat(int dir, pid_t pid, struct proc_stat *st)
{
    char path[32], buf[1024];
    int fd;
    if (dir >= 0)
        fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
    else {
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *s = strrchr(buf, ')'), *save = NULL;      /* the command name may contain anything, ')' too */
    if (!s)
        return false;
    /* From field 3 on: 3 state, 4 ppid, 5 pgrp, 6 session, ..., 22 starttime. */
    int field = 3;
    for (char *tok = strtok_r(s + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
        if (field == 3)
            st->state = tok[0];
        else if (field == 4)
            st->ppid = (pid_t)atoi(tok);
        else if (field == 6)
            st->session = (pid_t)atoi(tok);
        else if (field == 22) {
            st->start = strtoull(tok, NULL, 10);
            return true;
        }
    }
    return false;
}

/* True when the process exists and has not ended: a zombie (Z, X) counts as gone, its parent reaps it. */
bool proc_running(int dir, pid_t pid, struct proc_stat *st)
{
    return read_proc_stat(dir, pid, st) && st->state != 'Z' && st->state != 'X';
}
