/* dockyard-shim: what its source files share (see shim.c for what the shim does). */
#ifndef DOCKYARD_SHIM_H
#define DOCKYARD_SHIM_H

#define _GNU_SOURCE
#include <errno.h>
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
/* Mark every fd from `from` up close-on-exec (close_range, or /proc/self/fd before 5.11). */
void cloexec_from(int from);

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
