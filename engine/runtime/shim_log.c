/* The container's output as Docker's json-file log, rotated as Docker rotates it, and the small
 * JSON helpers the monitor's files share.
 *
 * BUNDLE/container.log holds {"log":"...","stream":"stdout","time":"..."} lines. With
 * log_max_size (bytes) the file is rotated once it has reached that size, before the next line:
 * container.log -> container.log.1 -> ... -> container.log.<max_file - 1>, the oldest dropped;
 * with log_max_file 1 (Docker's default) the file is emptied instead. A reader follows a
 * rotation by noticing that the path names another file (engine/runtime/logs.py).
 * log_driver "none": no file is written, unless the starting client left an empty container.log
 * to read this run's output from (an attached `run`).
 */
#include "shim.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
    int fd;                  /* -1: nothing is logged */
    char *path;
    long long size, max_size;   /* max_size 0: never rotated */
    long max_file;
} out = {.fd = -1};

void now_rfc3339(char out_[40]) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out_, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out_ + n, 40 - n, ".%09ldZ", ts.tv_nsec);
}

/* JSON string body of `len` bytes into o (room for 6*len+1); returns the length written. */
static size_t escape(char *o, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    char *start = o;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') { *o++ = '\\'; *o++ = c; }
        else if (c == '\n') { *o++ = '\\'; *o++ = 'n'; }
        else if (c == '\r') { *o++ = '\\'; *o++ = 'r'; }
        else if (c == '\t') { *o++ = '\\'; *o++ = 't'; }
        else if (c < 0x20 || c == 0x7f) {
            memcpy(o, "\\u00", 4); o += 4; *o++ = hex[c >> 4]; *o++ = hex[c & 15];
        } else *o++ = c;    /* UTF-8 passes through; readers decode with errors="replace" */
    }
    *o = 0;
    return o - start;
}

void json_string(FILE *f, const char *s, size_t len) {
    char chunk[6 * 256 + 1];
    for (size_t i = 0; i < len; i += 256) {
        size_t n = len - i < 256 ? len - i : 256;
        fwrite(chunk, 1, escape(chunk, s + i, n), f);
    }
}

/* v / unit with up to `digits` decimals, trailing zeros dropped: 1500000, 1000000, 6 -> "1.5". */
static int decimal(char *o, size_t room, long long v, long long unit, int digits) {
    int n = snprintf(o, room, "%lld", v / unit);
    if (v % unit) {
        n += snprintf(o + n, room - n, ".%0*lld", digits, v % unit);
        while (o[n - 1] == '0') o[--n] = 0;
    }
    return n;
}

void go_duration(long long ns, char o[64]) {
    if (ns < 1000) { snprintf(o, 64, "%lldns", ns); if (!ns) snprintf(o, 64, "0s"); return; }
    if (ns < 1000000) { snprintf(o + decimal(o, 64, ns, 1000, 3), 16, "µs"); return; }
    if (ns < 1000000000LL) { snprintf(o + decimal(o, 64, ns, 1000000, 6), 16, "ms"); return; }
    long long h = ns / 3600000000000LL, m = ns / 60000000000LL % 60;
    int n = 0;
    if (h) n += snprintf(o, 64, "%lldh", h);
    if (h || m) n += snprintf(o + n, 64 - n, "%lldm", m);
    n += decimal(o + n, 64 - n, ns % 60000000000LL, 1000000000LL, 9);
    snprintf(o + n, 64 - n, "s");
}

int write_file_atomic(const char *path, void (*body)(FILE *, void *), void *arg) {
    char *tmp = xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    int r = -1;
    if (f) {
        body(f, arg);
        int failed = ferror(f);
        /* No fsync: these files matter while this host is up (a reboot ends the container). */
        if (fclose(f) == 0 && !failed && rename(tmp, path) == 0) r = 0;
        else unlink(tmp);
    }
    int saved = errno;
    free(tmp);
    errno = saved;
    return r;
}

void log_event(const char *bundle, const char *action, const char *attrs) {
    const char *id = get("id") ? get("id") : "";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char *lock_path = xasprintf("%s/../../events.lock", bundle);
    char *log_path = xasprintf("%s/../../events.jsonl", bundle);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int fd = lock < 0 || flock(lock, LOCK_EX) < 0 ? -1
             : open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    char *line = xasprintf(
        "{\"Type\":\"container\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"%s\",\"Attributes\""
        ":{%s}},\"scope\":\"local\",\"time\":%lld,\"timeNano\":%lld%09ld,\"status\":\"%s\","
        "\"id\":\"%s\"}\n", action, id, attrs, (long long)ts.tv_sec, (long long)ts.tv_sec,
        ts.tv_nsec, action, id);
    if (fd >= 0 && write(fd, line, strlen(line)) < 0) { /* a full disk loses the event only */ }
    if (fd >= 0) close(fd);
    if (lock >= 0) close(lock);
    free(line);
    free(lock_path);
    free(log_path);
}

/* Docker's json-file rotation: shift the rotated files up by one, the current one becomes .1. */
static void rotate(void) {
    if (out.max_file < 2) {
        if (ftruncate(out.fd, 0) == 0) out.size = 0;   /* else it grows: better than losing it */
        return;
    }
    for (long i = out.max_file - 1; i >= 1; i--) {
        char *from = i == 1 ? xasprintf("%s", out.path) : xasprintf("%s.%ld", out.path, i - 1);
        char *to = xasprintf("%s.%ld", out.path, i);
        if (rename(from, to) < 0 && errno != ENOENT) { /* the next rotation tries again */ }
        free(from);
        free(to);
    }
    int fd = open(out.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return;     /* lines go on to container.log.1 rather than nowhere */
    close(out.fd);
    out.fd = fd;
    out.size = 0;
}

static long long number(const char *key, long long fallback) {
    const char *v = get(key);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : fallback;
    return v && (*end || !*v) ? -1 : n;
}

int log_open(const char *bundle, char *err, size_t errlen) {
    out.path = xasprintf("%s/container.log", bundle);
    out.max_size = number("log_max_size", 0);
    out.max_file = number("log_max_file", 1);
    if (out.max_size < 0 || out.max_file < 1) {
        snprintf(err, errlen, "bad log options log_max_size=%s log_max_file=%s",
                 get("log_max_size") ? get("log_max_size") : "", get("log_max_file") ? get("log_max_file") : "");
        return -1;
    }
    const char *driver = get("log_driver");
    int none = driver && !strcmp(driver, "none");
    out.fd = open(out.path, O_WRONLY | O_APPEND | O_CLOEXEC | (none ? 0 : O_CREAT), 0640);
    if (out.fd < 0 && !(none && errno == ENOENT)) {
        snprintf(err, errlen, "open %s: %s", out.path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (out.fd >= 0 && fstat(out.fd, &st) < 0) {
        snprintf(err, errlen, "fstat %s: %s", out.path, strerror(errno));
        return -1;
    }
    out.size = out.fd >= 0 ? st.st_size : 0;
    return 0;
}

/* One Docker json-file line: {"log":"...","stream":"stdout","time":"..."} */
static void log_line(struct stream *s, const char *data, size_t len) {
    static char line[sizeof s->buf * 6 + 200];
    if (out.fd < 0) return;
    char t[40];
    now_rfc3339(t);
    size_t n = sprintf(line, "{\"log\":\"");
    n += escape(line + n, data, len);
    n += sprintf(line + n, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", s->name, t);
    if (out.max_size && out.size >= out.max_size) rotate();
    ssize_t w = write(out.fd, line, n);
    if (w > 0) out.size += w;   /* a full disk loses the line, never the container */
}

/* Append bytes; emit every complete line, and a 16 KiB chunk without newline as Docker does. */
void log_feed(struct stream *s, const char *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        s->buf[s->len++] = data[i];
        if (data[i] == '\n' || s->len == sizeof s->buf) { log_line(s, s->buf, s->len); s->len = 0; }
    }
}

void log_flush(struct stream *s) {   /* at EOF: the last line without a newline */
    if (s->len) log_line(s, s->buf, s->len);
    s->len = 0;
}
