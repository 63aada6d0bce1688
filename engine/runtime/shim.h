/* dockyard-shim: what its source files share (see shim.c for what the shim does). */
#ifndef DOCKYARD_SHIM_H
#define DOCKYARD_SHIM_H

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

/* The spec: key\0value\0 pairs; a key given more than once is a list. */
void load_pairs(int fd, const char *what);
void add_pair(const char *key, const char *value);
const char *get(const char *key);                 /* the last value of key, or NULL */
int flag(const char *key);                        /* value "1" */
const char **values(const char *key, size_t *n);  /* every value, NULL-terminated, malloc'd */
size_t npairs_total(void);
const char *pair_key(size_t i);
const char *pair_value(size_t i);

/* The report socket of the container's set-up; -1 outside it (errors go to stderr). */
extern int report_fd;

/* Report why the container can't start ("CODE message") and exit with Docker's code. */
void fail(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
#define CHECK(call, ...) do { if ((call) < 0) fail(125, __VA_ARGS__); } while (0)

void *xrealloc(void *p, size_t size);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int write_str(const char *path, const char *value);
int mkdir_p(const char *path, mode_t mode);
/* Hex digits to bytes; returns the byte count, or -1 for an odd length or a non-hex digit. */
ssize_t unhex(const char *hex, unsigned char **out);
/* The latest "ROWS COLS" line in what a non-blocking FIFO holds (lines never straddle reads:
 * each is one write, shorter than PIPE_BUF); 0 if none. */
struct winsize;
int read_winsize(int fd, struct winsize *ws);
/* Mark every fd from `from` up close-on-exec (close_range, or /proc/self/fd before 5.11). */
void cloexec_from(int from);

/* shim.c: the container's set-up, which the monitor runs for each start. */
extern const int forwarded[];                     /* signals passed on to the container, 0-ended */
void block_signals(sigset_t *set);                /* SIGCHLD and the forwarded ones, for a signalfd */
int cgroup_create(char *err, size_t errlen);
long cgroup_oom_kills(void);
void cgroup_remove(void);
int *open_cgroup_procs(char *err, size_t errlen); /* fds of every cgroup.procs to join, -1 ended */
struct io { int in, out, err; };   /* the container's ends of its stdio (-1: tty / /dev/null) */
void container_main(const char *bundle, struct io *io, int *cg) __attribute__((noreturn));
/* The report of a start: an optional pty master, then "CODE message" or EOF (exec'd: 0). */
int read_report(int sock, int *tty, char *msg, size_t size);

/* shim_monitor.c: the monitor of `run`; never returns. */
void monitor(const char *bundle, int ready) __attribute__((noreturn));

/* shim_log.c: Docker's json-file log, rotated by size (log_max_size, log_max_file), and events. */
void now_rfc3339(char out[40]);
void json_string(FILE *f, const char *s, size_t len);    /* a JSON string body, escaped */
/* Go's time.Duration.String() of `ns`, e.g. "30s", "1m30s", "500ms". */
void go_duration(long long ns, char out[64]);
int log_open(const char *bundle, char *err, size_t errlen);
struct stream { int fd; const char *name; char buf[16384]; size_t len; };
void log_feed(struct stream *s, const char *data, size_t len);
void log_flush(struct stream *s);
/* Append a container event to the data root's event log (engine/events.py): only the monitor
 * sees the command start and exit, so it writes Docker's "start", "oom", "die" (and
 * "health_status: ...") itself, in the order they happen, one line per write under the log's
 * flock. `attrs` is JSON members or "". */
void log_event(const char *bundle, const char *action, const char *attrs);
/* Replace `path` with `body` atomically (write a temp file, rename); -1 with errno on failure. */
int write_file_atomic(const char *path, void (*body)(FILE *, void *), void *arg);

/* shim_health.c: the HEALTHCHECK probes, run by the monitor (NULL: the container has none). */
struct health;
struct health *health_setup(const char *bundle, char *err, size_t errlen);
void health_start(struct health *h, pid_t child);  /* a (re)start: "starting", timers armed */
int health_fds(struct health *h, struct pollfd *p); /* fills 2 pollfds; returns 2 */
void health_event(struct health *h, struct pollfd *p);
void health_reap(struct health *h);                 /* on SIGCHLD: a probe that ended */
void health_stop(struct health *h);                 /* the container exited: "unhealthy" */

/* shim_mount.c: the overlay root and /sys/fs/cgroup. */
void mount_overlay(const char *bundle, const char *merged);
void mount_cgroupfs(const char *sys, int privileged);

/* shim_bpf.c: seccomp and the devices cgroup, both as programs the engine compiled. */
void load_seccomp(void);
int attach_device_program(const char *spec, char *err, size_t errlen);

/* shim_dns.c: the embedded DNS server at 127.0.0.11 of a container on a user network. */
pid_t dns_start(const char *bundle, char *err, size_t errlen);  /* its pid; 0: none; -1: err */
void dns_stop(pid_t pid);                                        /* kill and reap it */
int dns_main(const char *bundle);                                /* dockyard-shim dns BUNDLE */

#endif
