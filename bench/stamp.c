/* The benchmark's user program: prints CLOCK_MONOTONIC in nanoseconds the moment it runs, then exits 0.
   Built static (cc -static) so no dynamic loader time is counted; also the `true` of the runc rootfs.
   `stamp pause` waits for a signal instead: the standing container runc and podman exec into. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        pause();
        return 0;
    }
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    char b[32];
    int n = snprintf(b, sizeof b, "%lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    if (n > 0)
        (void)!write(1, b, (size_t)n);
    return 0;
}
