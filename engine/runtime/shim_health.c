/* HEALTHCHECK, run by the container's monitor, so it needs no engine process.
 *
 * Pairs: health_test (repeated: "CMD", ARG... or "CMD-SHELL", COMMAND), health_interval,
 * health_timeout, health_start_period, health_start_interval (nanoseconds), health_retries.
 * A probe is `dockyard-shim exec BUNDLE PIDFD SPECFD` of the test (this very binary, through
 * /proc/self/exe), as the container's user, in its own process group so that a timeout kills
 * all of it. Its stdout and stderr, the first 4096 bytes, are the result's Output.
 *
 * As Docker: the first probe runs `interval` after the start (`start_interval` while still
 * starting within `start_period`), the next one `interval` after the previous ended; a success
 * makes the container healthy, `retries` failures in a row unhealthy, failures within the start
 * period count only once it was healthy; a probe over `timeout` is killed and fails with exit
 * code -1. BUNDLE/health.json is Docker's State.Health with the last 5 results; the exit of the
 * container makes it "unhealthy", a restart "starting" again.
 */
#include "shim.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LOG 5
#define MAX_OUTPUT 4096
#define SECOND 1000000000LL

struct result { char start[40], end[40]; int exit_code; char *output; size_t len; int truncated; };

struct health {
    const char *bundle;
    char *path;                                  /* BUNDLE/health.json */
    long long interval, timeout, start_period, start_interval;   /* ns */
    long retries;
    int spec, timer, pidfd;    /* the probe's exec spec (memfd), the timerfd, the container's PID 1 */
    pid_t child;               /* the container's PID 1 */
    pid_t probe;               /* the running probe, or 0 */
    int out, timed_out;        /* the probe's output pipe (-1: none or ended) */
    long long started;         /* this run's start, CLOCK_MONOTONIC ns */
    const char *status;
    long streak;
    struct result log[MAX_LOG], cur;
    int nlog;
};

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * SECOND + ts.tv_nsec;
}

static long long number(const char *key, long long fallback) {
    const char *v = get(key);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : 0;
    return v && !*end && *v && n > 0 ? n : fallback;
}

static void health_body(FILE *f, void *arg) {
    struct health *h = arg;
    fprintf(f, "{\"Status\":\"%s\",\"FailingStreak\":%ld,\"Log\":[", h->status, h->streak);
    for (int i = 0; i < h->nlog; i++) {
        struct result *r = &h->log[i];
        fprintf(f, "%s{\"Start\":\"%s\",\"End\":\"%s\",\"ExitCode\":%d,\"Output\":\"", i ? "," : "",
                r->start, r->end, r->exit_code);
        json_string(f, r->output, r->len);
        fprintf(f, "%s\"}", r->truncated ? "..." : "");
    }
    fprintf(f, "]}\n");
}

static void save(struct health *h) {
    if (write_file_atomic(h->path, health_body, h) < 0) { /* a full disk: the last state stays */ }
}

static void arm(struct health *h, long long ns) {
    struct itimerspec it = {.it_value = {ns / SECOND, ns % SECOND}};
    if (!ns) it.it_value.tv_nsec = 1;   /* zero would disarm it */
    if (timerfd_settime(h->timer, 0, &it, NULL) < 0) { /* EINVAL only: sizes are checked */ }
}

/* The wait before the next probe: start_interval while starting within the start period. */
static long long next_interval(struct health *h) {
    if (now_ns() - h->started < h->start_period && !strcmp(h->status, "starting"))
        return h->start_interval;
    return h->interval;
}

/* The pairs of the probe's exec: the test as args; the container's env, user and cwd stay. */
static int make_spec(const char **test, size_t n, char *err, size_t errlen) {
    int fd = memfd_create("dockyard-health-spec", MFD_CLOEXEC);
    if (fd < 0) { snprintf(err, errlen, "memfd_create for the health check: %s", strerror(errno)); return -1; }
    FILE *f = fdopen(dup(fd), "w");
    if (!f) { snprintf(err, errlen, "fdopen memfd: %s", strerror(errno)); close(fd); return -1; }
    if (!strcmp(test[0], "CMD-SHELL") && n == 2) fprintf(f, "args%c/bin/sh%cargs%c-c%cargs%c%s%c", 0, 0, 0, 0, 0, test[1], 0);
    else for (size_t i = 1; i < n; i++) fprintf(f, "args%c%s%c", 0, test[i], 0);
    fprintf(f, "tty%c0%cstdin%c0%c", 0, 0, 0, 0);
    if (ferror(f) | fclose(f)) { snprintf(err, errlen, "write the health check's spec: %s", strerror(errno)); close(fd); return -1; }
    return fd;
}

struct health *health_setup(const char *bundle, char *err, size_t errlen) {
    size_t n;
    const char **test = values("health_test", &n);
    if (!n || !strcmp(test[0], "NONE")) { free(test); return NULL; }
    if ((strcmp(test[0], "CMD") && strcmp(test[0], "CMD-SHELL")) || n < 2) {
        snprintf(err, errlen, "health check: unknown test %s (CMD, CMD-SHELL or NONE)", test[0]);
        free(test);
        return NULL;
    }
    struct health *h = xrealloc(NULL, sizeof *h);
    *h = (struct health){.bundle = bundle, .path = xasprintf("%s/health.json", bundle),
        .interval = number("health_interval", 30 * SECOND), .timeout = number("health_timeout", 30 * SECOND),
        .start_period = number("health_start_period", 0),
        .start_interval = number("health_start_interval", 5 * SECOND),
        .retries = number("health_retries", 3), .pidfd = -1, .out = -1, .status = "starting"};
    h->spec = make_spec(test, n, err, errlen);
    free(test);
    if (h->spec < 0) return NULL;
    if ((h->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
        snprintf(err, errlen, "timerfd_create for the health check: %s", strerror(errno));
        return NULL;
    }
    return h;
}

void health_start(struct health *h, pid_t child) {
    h->pidfd = syscall(SYS_pidfd_open, child, 0);   /* fails only if it died: no probe then */
    h->child = child;
    h->started = now_ns();
    h->status = "starting";
    h->streak = 0;
    save(h);
    arm(h, next_interval(h));
}

int health_fds(struct health *h, struct pollfd *p) {
    p[0] = (struct pollfd){h->timer, POLLIN, 0};
    p[1] = (struct pollfd){h->out, POLLIN, 0};
    return 2;
}

/* Keep the first MAX_OUTPUT bytes of what the probe writes; the rest only marks truncation. */
static void read_output(struct health *h) {
    char buf[4096];
    for (;;) {
        ssize_t n = read(h->out, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) { close(h->out); h->out = -1; return; }
        size_t keep = MAX_OUTPUT - h->cur.len < (size_t)n ? MAX_OUTPUT - h->cur.len : (size_t)n;
        memcpy(h->cur.output + h->cur.len, buf, keep);
        h->cur.len += keep;
        h->cur.truncated |= keep < (size_t)n;
    }
}

static void record(struct health *h, int exit_code) {
    struct result *r = &h->cur;
    now_rfc3339(r->end);
    r->exit_code = exit_code;
    if (h->timed_out) {   /* Docker's words, with what the probe said before it was killed */
        char limit[64], *said = xasprintf("%.*s", (int)r->len, r->output);
        go_duration(h->timeout, limit);
        r->len = snprintf(r->output, MAX_OUTPUT + 1, "Health check exceeded timeout (%s)%s%s", limit,
                          *said ? ": " : "", said);
        if (r->len > MAX_OUTPUT) r->len = MAX_OUTPUT;
        free(said);
    }
    if (h->nlog == MAX_LOG) {
        free(h->log[0].output);
        memmove(h->log, h->log + 1, (MAX_LOG - 1) * sizeof *h->log);
        h->nlog--;
    }
    h->log[h->nlog++] = *r;
    r->output = NULL;
    const char *before = h->status;
    if (exit_code == 0) {
        h->streak = 0;
        h->status = "healthy";
    } else if (strcmp(h->status, "starting") || now_ns() - h->started >= h->start_period) {
        if (++h->streak >= h->retries) h->status = "unhealthy";
    }
    save(h);
    if (strcmp(before, h->status)) {   /* Docker's event, on each change */
        char *action = xasprintf("health_status: %s", h->status);
        log_event(h->bundle, action, "");
        free(action);
    }
}

static void launch(struct health *h) {
    int pipefd[2];
    h->cur = (struct result){.output = xrealloc(NULL, MAX_OUTPUT + 1)};
    h->timed_out = 0;
    now_rfc3339(h->cur.start);
    if (h->pidfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0 || lseek(h->spec, 0, SEEK_SET) < 0) {
        h->cur.len = snprintf(h->cur.output, MAX_OUTPUT, "health check: %s",
                              h->pidfd < 0 ? "the container's process is gone" : strerror(errno));
        record(h, -1);
        arm(h, next_interval(h));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (setpgid(0, 0) < 0) { dprintf(pipefd[1], "health check: setpgid: %s\n", strerror(errno)); _exit(126); }
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int pidfd = dup(h->pidfd), spec = dup(h->spec);   /* dup: without close-on-exec */
        if (null < 0 || dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0 ||
            pidfd < 0 || spec < 0) {
            dprintf(pipefd[1], "health check: set up the probe: %s\n", strerror(errno));
            _exit(126);
        }
        sigset_t none;
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) _exit(126);   /* cannot fail with a valid set */
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", pidfd);
        snprintf(b, sizeof b, "%d", spec);
        execl("/proc/self/exe", "dockyard-shim", "exec", h->bundle, a, b, (char *)NULL);
        fprintf(stderr, "health check: exec /proc/self/exe: %s\n", strerror(errno));
        _exit(126);
    }
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        h->cur.len = snprintf(h->cur.output, MAX_OUTPUT, "health check: fork: %s", strerror(errno));
        record(h, -1);
        arm(h, next_interval(h));
        return;
    }
    /* as the child does, whichever runs first, so kill(-pid) reaches it; EACCES once it has
     * exec'd means the child's own call was first */
    if (setpgid(pid, pid) < 0 && errno != EACCES) { /* ESRCH: it is gone, the reap records it */ }
    h->probe = pid;
    h->out = pipefd[0];
    if (fcntl(h->out, F_SETFL, O_NONBLOCK) < 0) { /* reads may block a moment: still correct */ }
    arm(h, h->timeout);
}

void health_event(struct health *h, struct pollfd *p) {
    if (p[1].revents && h->out >= 0) read_output(h);
    if (!p[0].revents) return;
    uint64_t ticks;
    if (read(h->timer, &ticks, sizeof ticks) != sizeof ticks) return;   /* not due after all */
    if (!h->probe) { launch(h); return; }
    h->timed_out = 1;               /* over its timeout: the whole group goes; reaped below */
    kill(-h->probe, SIGKILL);
}

/* Whether the container's PID 1 is on its way out (PF_EXITING in /proc/PID/stat is set first
 * thing in the kernel's do_exit): its namespaces go before its parent hears of the exit. */
static int exiting(pid_t pid) {
    char path[32], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 1;
    buf[n] = 0;
    const char *fields = strrchr(buf, ')');   /* after the command name, which may hold ")" */
    unsigned long flags;
    if (!fields || sscanf(fields + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1) return 0;
    return (flags & 0x4) != 0;   /* PF_EXITING */
}

void health_reap(struct health *h) {
    int status;
    if (!h->probe || waitpid(h->probe, &status, WNOHANG) != h->probe) return;
    h->probe = 0;
    if (h->out >= 0) {   /* what is left in the pipe; a process that still holds it is cut off */
        read_output(h);
        if (h->out >= 0) { close(h->out); h->out = -1; }
    }
    int code = h->timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code && exiting(h->child)) {   /* cut off by the container's exit: no result (Docker */
        free(h->cur.output);           /* drops those too); the exit ends the checks */
        h->cur.output = NULL;
        return;
    }
    record(h, code);
    arm(h, next_interval(h));
}

void health_stop(struct health *h) {
    struct itimerspec off = {0};
    if (timerfd_settime(h->timer, 0, &off, NULL) < 0) { /* cannot fail for a valid timerfd */ }
    if (h->probe) {
        kill(-h->probe, SIGKILL);
        waitpid(h->probe, NULL, 0);
        h->probe = 0;
        free(h->cur.output);
        h->cur.output = NULL;
    }
    if (h->out >= 0) { close(h->out); h->out = -1; }
    if (h->pidfd >= 0) { close(h->pidfd); h->pidfd = -1; }
    h->status = "unhealthy";    /* as Docker, once the container has stopped */
    save(h);
}
