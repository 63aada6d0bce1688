/* The container's monitor: starts the container (again, as its restart policy says), logs its
 * output, feeds its stdin, forwards signals, runs its health probes and records its state.
 *
 * The launcher (main, in shim.c) forks it and exits, so it outlives the engine process that
 * started the container: all of this works with no engine process running. Its files in BUNDLE:
 *
 *   state.json        {"status": "running" | "restarting" | "exited", "pid", "exit_code",
 *                      "restart_count", "boot_id", ...}, replaced atomically
 *   health.json       Docker's State.Health (shim_health.c)
 *   container.log     Docker's json-file log (shim_log.c)
 *   stdin, resize     FIFOs a client writes the container's input and terminal size ("ROWS COLS") to
 *   manually-stopped  made by the engine's stop and kill, removed by its start: no more restarts
 *
 * The restart policy (pairs `restart` = always | unless-stopped | on-failure, `restart_max` = N,
 * or BUNDLE/restart-policy "NAME N" once `update --restart` wrote it) follows Docker's restart
 * manager: never after a manual stop; on-failure only after a non-zero
 * exit and at most N times (0: no limit). Before each restart a delay, 100 ms doubling up to a
 * minute, back to 100 ms once the container had run for 10 s; meanwhile the state says
 * "restarting", and a signal to the monitor (the engine's stop sends SIGALRM) makes it look at
 * manually-stopped again. Each restart is a new PID namespace in the same bundle: the same root,
 * network namespace (so the same address) and log. After the last exit the monitor execs
 * `on_exit`, if any.
 */
#include "shim.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIRST_DELAY_MS 100
#define MAX_DELAY_MS 60000
#define RESET_AFTER_MS 10000

struct state {
    const char *status;          /* running | restarting | exited */
    pid_t pid, monitor;
    int exit_code, oom, restart_count, health;   /* health: a health.json to read */
    int on_exit;         /* the last state: the monitor goes on to exec `on_exit` (reap.py) */
    char started[40], finished[40], boot_id[40], error[4200];
};

struct mon {
    const char *bundle;
    int sfd;          /* signalfd: SIGCHLD, the forwarded signals, SIGALRM */
    int fifo;         /* the stdin FIFO's read end; -1 without -i, or once the client closed it */
    int resize;       /* the resize FIFO (-t), -1 otherwise */
    int selfns;       /* this process's PID namespace: children but PID 1 are born in it */
    int owner;        /* pidfd of the `owner` pair's process (a build's RUN dies with its
                         builder), -1 without one or once it ended */
    int ready;        /* the launcher's pipe, until the first start is reported */
    struct health *health;
    struct winsize ws;   /* the client's last terminal size: a restarted container's pty gets it */
    sigset_t set;
};

static void state_body(FILE *f, void *arg) {
    struct state *st = arg;
    fprintf(f, "{\"status\":\"%s\",\"pid\":%d,\"monitor\":%d,\"exit_code\":%d,\"oom_killed\":%s,"
            "\"restart_count\":%d,\"boot_id\":\"%s\",\"health\":%s,\"on_exit\":%s,\"error\":\"",
            st->status, st->pid, st->monitor, st->exit_code, st->oom ? "true" : "false",
            st->restart_count, st->boot_id, st->health ? "true" : "false",
            st->on_exit ? "true" : "false");
    json_string(f, st->error, strlen(st->error));
    fprintf(f, "\",\"started_at\":\"%s\",\"finished_at\":\"%s\"}\n", st->started, st->finished);
}

static void write_state(const char *bundle, struct state *st) {
    char *path = xasprintf("%s/state.json", bundle);
    if (write_file_atomic(path, state_body, st) < 0) { /* a full disk: the engine sees "dead" */ }
    free(path);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void read_boot_id(char out[40]) {
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, out, 39) : -1;
    if (fd >= 0) close(fd);
    out[n > 0 ? n : 0] = 0;
    out[strcspn(out, "\n")] = 0;
}

/* Whether an engine process that waits for this exit holds BUNDLE/attach.lock (shared): it
 * cleans up itself, so on_exit is skipped. A killed engine's lock is gone with it. */
static int engine_attached(const char *bundle) {
    char *path = xasprintf("%s/attach.lock", bundle);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) return 0;
    int held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

static int manually_stopped(const char *bundle) {
    char *path = xasprintf("%s/manually-stopped", bundle);
    int stopped = access(path, F_OK) == 0;
    free(path);
    return stopped;
}

/* The restart policy: BUNDLE/restart-policy ("NAME N", from `docker update --restart`), else
 * the spec's; "no" when there is none. */
static void restart_policy(const char *bundle, char name[32], long *limit) {
    char *path = xasprintf("%s/restart-policy", bundle);
    FILE *f = fopen(path, "re");
    free(path);
    int found = f && fscanf(f, "%31s %ld", name, limit) == 2;
    if (f) fclose(f);
    if (found) return;
    const char *spec = get("restart"), *max = get("restart_max");
    snprintf(name, 32, "%s", spec ? spec : "no");
    *limit = max ? atol(max) : 0;
}

/* Docker's RestartManager.ShouldRestart for an exit with `code` after `count` restarts. */
static int should_restart(const char *bundle, int code, int count) {
    char policy[32];
    long limit;
    restart_policy(bundle, policy, &limit);
    if (manually_stopped(bundle)) return 0;
    if (!strcmp(policy, "always") || !strcmp(policy, "unless-stopped")) return 1;
    if (strcmp(policy, "on-failure")) return 0;
    return code != 0 && (limit <= 0 || count < limit);
}

/* Wait `ms` before a restart; 0 when the container was stopped meanwhile. */
static int backoff(struct mon *m, long long ms) {
    long long end = now_ms() + ms;
    for (;;) {
        if (manually_stopped(m->bundle)) return 0;
        long long left = end - now_ms();
        if (left <= 0) return 1;
        struct pollfd p = {m->sfd, POLLIN, 0};
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR) return 1;
        struct signalfd_siginfo si;
        while (read(m->sfd, &si, sizeof si) == sizeof si) { /* nothing runs to forward it to */ }
    }
}

/* What stays for every run: the log, the FIFOs, the signalfd, the PID namespace, the probes. */
static int setup(struct mon *m, struct state *st) {
    char *path;
    if (chdir("/") < 0) { snprintf(st->error, sizeof st->error, "chdir /: %s", strerror(errno)); return -1; }
    if (log_open(m->bundle, st->error, sizeof st->error) < 0) return -1;
    if (flag("stdin")) {   /* a FIFO an attached client writes to; its close is the container's EOF */
        path = xasprintf("%s/stdin", m->bundle);
        if ((mkfifo(path, 0600) < 0 && errno != EEXIST) ||
            (m->fifo = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
            snprintf(st->error, sizeof st->error, "stdin fifo %s: %s", path, strerror(errno));
            return -1;
        }
        free(path);
    }
    if (flag("tty")) {
        path = xasprintf("%s/resize", m->bundle);   /* "ROWS COLS\n" lines */
        if ((mkfifo(path, 0600) < 0 && errno != EEXIST) ||
            (m->resize = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {   /* RDWR: never a HUP */
            snprintf(st->error, sizeof st->error, "resize fifo %s: %s", path, strerror(errno));
            return -1;
        }
        free(path);
    }
    if ((m->selfns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(st->error, sizeof st->error, "open /proc/self/ns/pid: %s", strerror(errno));
        return -1;
    }
    block_signals(&m->set);    /* handled through the signalfd, never in the child */
    sigaddset(&m->set, SIGALRM);
    if (sigprocmask(SIG_BLOCK, &m->set, NULL) < 0 ||
        (m->sfd = signalfd(-1, &m->set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        snprintf(st->error, sizeof st->error, "signalfd: %s", strerror(errno));
        return -1;
    }
    if (get("owner") && (m->owner = syscall(SYS_pidfd_open, atoi(get("owner")), 0)) < 0) {
        snprintf(st->error, sizeof st->error, "the owner %s is gone: %s", get("owner"), strerror(errno));
        return -1;
    }
    m->health = health_setup(m->bundle, st->error, sizeof st->error);
    return st->error[0] ? -1 : 0;
}

/* Fork the container's PID 1 into a new PID namespace; the monitor's later children (probes,
 * on_exit, the next PID 1) are born in its own again. */
static pid_t fork_pid1(struct mon *m, struct io *io, int rep, int *cg, struct state *st) {
    if (unshare(CLONE_NEWPID) < 0) {
        snprintf(st->error, sizeof st->error, "unshare pid namespace: %s", strerror(errno));
        return -1;
    }
    pid_t child = fork();
    if (child == 0) {
        report_fd = rep;
        CHECK(sigprocmask(SIG_UNBLOCK, &m->set, NULL), "sigprocmask: %s", strerror(errno));
        container_main(m->bundle, io, cg);
    }
    int saved = errno;
    if (setns(m->selfns, CLONE_NEWPID) < 0) {
        snprintf(st->error, sizeof st->error, "setns /proc/self/ns/pid: %s", strerror(errno));
        if (child > 0) { kill(child, SIGKILL); waitpid(child, NULL, 0); }
        return -1;
    }
    if (child < 0) snprintf(st->error, sizeof st->error, "fork: %s", strerror(saved));
    return child;
}

/* Copy the container's output to the log, the stdin FIFO to the container, pass signals on and
 * serve the probes until PID 1 has exited and its output has ended; returns its wait status. */
static int pump(struct mon *m, pid_t child, int master, int out, int err, int in_w) {
    static char pending[65536];
    size_t npending = 0;
    int tty = master >= 0, reaped = 0, status = 0;
    struct stream so = {tty ? master : out, "stdout", "", 0}, se = {err, "stderr", "", 0};
    if (tty && m->ws.ws_row) ioctl(master, TIOCSWINSZ, &m->ws);   /* a restart: the last size */
    while (!reaped || so.fd >= 0 || se.fd >= 0) {
        struct pollfd p[8] = {{m->sfd, POLLIN, 0}, {so.fd, POLLIN, 0}, {se.fd, POLLIN, 0},
                              {npending ? -1 : m->fifo, POLLIN, 0}, {m->resize, POLLIN, 0},
                              {m->owner, POLLIN, 0}, {-1, 0, 0}, {-1, 0, 0}};
        int nfds = 6 + (m->health ? health_fds(m->health, p + 6) : 0), fdin = -1;
        if (npending && in_w >= 0) { p[3].fd = in_w; p[3].events = POLLOUT; fdin = in_w; }
        /* after PID 1 is reaped every process of the namespace is gone: output ends at once */
        int ready_fds = poll(p, nfds, reaped ? 2000 : -1);
        if (ready_fds == 0) break;
        if (ready_fds < 0) continue;   /* EINTR */
        struct signalfd_siginfo si;
        while (read(m->sfd, &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGALRM) continue;   /* the engine's stop: looked at after the exit */
            if (si.ssi_signo != SIGCHLD) { kill(child, si.ssi_signo); continue; }
            if (!reaped && waitpid(child, &status, WNOHANG) == child) reaped = 1;
            /* a probe ended by the exit is no result, as Docker drops one: PID 1 is looked at
             * first, so the probe it took along is discarded, not counted as a failure */
            if (m->health) { if (reaped) health_stop(m->health); else health_reap(m->health); }
        }
        for (int k = 1; k <= 2; k++) {
            struct stream *s = k == 1 ? &so : &se;
            if (s->fd < 0 || !p[k].revents) continue;
            char buf[65536];
            ssize_t n = read(s->fd, buf, sizeof buf);
            if (n > 0) {
                log_feed(s, buf, n);
                /* A TTY's reader waits on prompts without a newline ("/ # "): each read is
                 * logged at once, as Docker logs TTY output. */
                if (tty) log_flush(s);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            log_flush(s);   /* EOF, or EIO on a pty master once the last slave closed */
            if (s->fd != in_w) close(s->fd);
            s->fd = -1;
        }
        if (fdin >= 0 && p[3].revents) {   /* the container takes more of its stdin */
            ssize_t n = write(in_w, pending, npending);
            if (n > 0) { memmove(pending, pending + n, npending - n); npending -= n; }
            else if (n < 0 && errno != EAGAIN) npending = 0;
        } else if (m->fifo >= 0 && p[3].revents) {
            ssize_t n = read(m->fifo, pending, sizeof pending);
            if (n > 0) npending = n;
            else if (n == 0) {   /* the client closed: EOF for the container */
                close(m->fifo);
                m->fifo = -1;
                if (tty) { if (write(master, "\4", 1) < 0) { /* the pty is gone */ } }  /* ^D */
                else if (in_w >= 0) { close(in_w); in_w = -1; }
            }
        }
        if (m->resize >= 0 && p[4].revents && read_winsize(m->resize, &m->ws) && tty)
            ioctl(master, TIOCSWINSZ, &m->ws);   /* a bad size is the client's, not ours */
        if (m->owner >= 0 && p[5].revents) {   /* the owner ended: so does the container */
            kill(child, SIGKILL);
            close(m->owner);
            m->owner = -1;
        }
        if (m->health) health_event(m->health, p + 6);
    }
    if (!reaped) waitpid(child, &status, 0);
    if (so.fd >= 0 && so.fd != master) close(so.fd);
    if (se.fd >= 0) close(se.fd);
    if (in_w >= 0 && in_w != master) close(in_w);
    if (tty) close(master);
    return status;
}

/* Docker's events for an exit, before anyone sees it in state.json. */
static void log_die(struct mon *m, struct state *st) {
    if (st->oom) log_event(m->bundle, "oom", "");
    char *attrs = xasprintf("\"exitCode\":\"%d\"", st->exit_code);
    log_event(m->bundle, "die", attrs);
    free(attrs);
}

/* One run of the container: 1 once it ran and exited (st->exit_code), 0 if it didn't start. */
static int run_once(struct mon *m, struct state *st) {
    int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1}, rep[2] = {-1, -1}, *cg = NULL;
    int tty = flag("tty"), master = -1;
    *st = (struct state){.status = "exited", .monitor = st->monitor, .restart_count = st->restart_count,
                         .health = m->health != NULL};
    read_boot_id(st->boot_id);
    pid_t child = -1;
    if (cgroup_create(st->error, sizeof st->error) < 0) goto failed;
    if (flag("stdin") && !tty && pipe2(in, O_CLOEXEC) < 0) {
        snprintf(st->error, sizeof st->error, "pipe2 for stdin: %s", strerror(errno));
        goto failed;
    }
    if (!tty && (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)) {
        snprintf(st->error, sizeof st->error, "pipe2 for stdout/stderr: %s", strerror(errno));
        goto failed;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep) < 0) {
        snprintf(st->error, sizeof st->error, "socketpair for the report: %s", strerror(errno));
        goto failed;
    }
    if (!(cg = open_cgroup_procs(st->error, sizeof st->error))) goto failed;
    struct io io = {in[0], out[1], err[1]};
    child = fork_pid1(m, &io, rep[1], cg, st);
    for (int i = 0; cg[i] >= 0; i++) close(cg[i]);
    free(cg);
    close(rep[1]); close(in[0]); close(out[1]); close(err[1]);
    rep[1] = in[0] = out[1] = err[1] = -1;
    if (child < 0) goto failed;
    st->pid = child;
    int code = read_report(rep[0], &master, st->error, sizeof st->error);
    close(rep[0]);
    rep[0] = -1;
    now_rfc3339(st->started);
    if (code) {
        waitpid(child, NULL, 0);
        st->exit_code = code;
        log_die(m, st);
        goto failed;
    }
    if (m->health) health_start(m->health, child);   /* "starting" before anyone sees it run */
    st->status = "running";
    write_state(m->bundle, st);
    log_event(m->bundle, "start", "");
    if (m->ready >= 0) {  /* tell the engine: the command is running */
        char line[200];
        int n = snprintf(line, sizeof line, "{\"status\":\"running\",\"pid\":%d,\"monitor\":%d}\n",
                         child, st->monitor);
        if (write(m->ready, line, n) < 0) { /* the engine is gone: carry on detached */ }
        close(m->ready);
        m->ready = -1;
    }
    int in_w = tty ? master : in[1];
    if (!tty && in_w >= 0 && fcntl(in_w, F_SETFL, O_NONBLOCK) < 0) { /* a blocking write only stalls stdin */ }
    if (!tty && in_w >= 0 && m->fifo < 0) { close(in_w); in_w = -1; }  /* no stdin, or its client is gone */
    int status = pump(m, child, master, out[0], err[0], in_w);
    if (m->health) health_stop(m->health);
    st->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    st->oom = cgroup_oom_kills() > 0;
    if (st->oom) st->exit_code = 137;
    cgroup_remove();
    now_rfc3339(st->finished);
    log_die(m, st);
    return 1;
failed:
    if (!st->exit_code) st->exit_code = 125;   /* the set-up failed before the command ran */
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0) close(out[i]);
        if (err[i] >= 0) close(err[i]);
        if (in[i] >= 0) close(in[i]);
        if (rep[i] >= 0) close(rep[i]);
    }
    if (master >= 0) close(master);
    cgroup_remove();
    return 0;
}

void monitor(const char *bundle, int ready) {
    struct state st = {.status = "exited", .monitor = getpid()};
    struct mon m = {.bundle = bundle, .fifo = -1, .resize = -1, .selfns = -1, .ready = ready, .sfd = -1,
                    .owner = -1};
    long long delay = 0;
    pid_t dns = 0;   /* the embedded DNS server (shim_dns.c): one for every run of the container */
    if (setup(&m, &st) == 0 && (dns = dns_start(bundle, st.error, sizeof st.error)) >= 0) {
        for (;;) {
            long long began = now_ms();
            if (!run_once(&m, &st)) break;
            if ((get("owner") && m.owner < 0) || !should_restart(bundle, st.exit_code, st.restart_count))
                break;   /* an owner that ended ends the container for good */
            /* Docker's back-off: reset once a run lasted 10 s, else doubled, at most a minute */
            delay = now_ms() - began >= RESET_AFTER_MS || !delay ? FIRST_DELAY_MS
                    : delay * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : delay * 2;
            st.restart_count++;
            st.status = "restarting";
            st.pid = 0;
            write_state(bundle, &st);
            if (!backoff(&m, delay)) break;
        }
    } else st.exit_code = 125;
    dns_stop(dns);      /* before anyone sees the exit: nothing of it outlives the container */
    st.status = "exited";
    if (!st.boot_id[0]) read_boot_id(st.boot_id);
    if (!st.started[0]) now_rfc3339(st.started);
    if (!st.finished[0]) now_rfc3339(st.finished);
    /* before the exit is written: an engine waiting for it can't have let go of the lock yet */
    const char **on_exit = values("on_exit", NULL);
    st.on_exit = on_exit[0] && !engine_attached(bundle);
    write_state(bundle, &st);
    if (m.ready >= 0) {   /* it never ran: the engine reads the final state instead */
        static const char line[] = "{\"status\":\"exited\"}\n";
        if (write(m.ready, line, sizeof line - 1) < 0) { /* gone */ }
        close(m.ready);
    }
    if (st.on_exit) {   /* the engine's clean-up (reap.py); "on_exit" in the state says so */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0 && dup2(null, 0) >= 0 && dup2(null, 1) >= 0 && dup2(null, 2) >= 0) {
            sigprocmask(SIG_UNBLOCK, &m.set, NULL);
            execv(on_exit[0], (char **)on_exit);
        }
    }
    _exit(0);
}
