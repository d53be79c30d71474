/*
 * psc-init (README.md): the native init of a PSContainers container.  .NET cannot fork safely and must
 * never reap or be a subreaper, so everything between fork and exec, and the init role itself, lives
 * here.  Three modes:
 *   psc-init <config-file>          start one container (launch.c, init.c)
 *   psc-init --serve                start one per request on stdin (serve.c): the engine keeps a few
 *                                   of these, so a start costs no exec of psc-init
 *   psc-init --exec <config-file>   run one more program in a running one (exec.c)
 *   psc-init --attach <dir>         join this terminal to a tracked process's pty (tty.c)
 */
#include "psc-init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

int main(int argc, char **argv)
{
    for (int fd = 0; fd < 3; fd++)    /* so that nothing we open lands on 0-2 */
        if (fcntl(fd, F_GETFD) < 0)
            open("/dev/null", O_RDWR);
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && !strcmp(argv[1], "--exec"))
        return exec_main(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--attach"))
        return attach_main(argv[2]);
    if (argc == 2 && !strcmp(argv[1], "--serve")) {
        serve_arg = argv[1];
        return serve_main();
    }
    if (argc != 2) {
        errno = EINVAL;
        die("error config %d %s", errno,
            "usage: psc-init <config-file> | psc-init --serve | psc-init --exec <config-file> | psc-init --attach <dir>");
    }
    load_config_file(argv[1]);
    launch();
    return 0;
}
