/* The shim's spec (key\0value\0 pairs, any number, any size) and small helpers.
 *
 * Nothing here has a fixed capacity: whatever the engine wrote is read whole, or the container
 * is refused with a line that says why. A truncated file or a key without a value refuses too.
 */
#include "shim.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct pair { const char *key, *value; };
static struct pair *pairs;
static size_t npairs, cap;
int report_fd = -1;

void fail(int code, const char *fmt, ...) {
    char msg[4096];
    int n = snprintf(msg, sizeof msg, "%d ", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - n, fmt, ap);
    va_end(ap);
    if (report_fd >= 0) {
        if (send(report_fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) { /* the monitor is gone */ }
    } else fprintf(stderr, "%s\n", msg + n);
    _exit(code);
}

void *xrealloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q) fail(125, "malloc %zu bytes: %s", size, strerror(errno));
    return q;
}

char *xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xrealloc(NULL, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void add_pair(const char *key, const char *value) {
    if (npairs == cap) {
        cap = cap ? cap * 2 : 512;
        pairs = xrealloc(pairs, cap * sizeof *pairs);
    }
    pairs[npairs++] = (struct pair){key, value};
}

void load_pairs(int fd, const char *what) {
    struct stat st;
    CHECK(fstat(fd, &st), "fstat %s: %s", what, strerror(errno));
    size_t size = st.st_size, got = 0;
    char *buf = xrealloc(NULL, size + 1);
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(125, "read %s: %s", what, strerror(errno));
        if (n == 0) fail(125, "read %s: %zu of %zu bytes, then end of file", what, got, size);
        got += n;
    }
    buf[size] = 0;
    if (size && buf[size - 1]) fail(125, "%s: the last value is not NUL-terminated (truncated?)", what);
    for (char *p = buf, *end = buf + size; p < end;) {
        const char *key = p;
        p += strlen(p) + 1;
        if (p >= end) fail(125, "%s: key %s has no value (truncated?)", what, key);
        add_pair(key, p);
        p += strlen(p) + 1;
    }
}

const char *get(const char *key) {
    for (size_t i = npairs; i-- > 0;)
        if (!strcmp(pairs[i].key, key)) return pairs[i].value;
    return NULL;
}

int flag(const char *key) { const char *v = get(key); return v && !strcmp(v, "1"); }

const char **values(const char *key, size_t *count) {
    size_t n = 0;
    for (size_t i = 0; i < npairs; i++) n += !strcmp(pairs[i].key, key);
    const char **out = xrealloc(NULL, (n + 1) * sizeof *out);
    n = 0;
    for (size_t i = 0; i < npairs; i++)
        if (!strcmp(pairs[i].key, key)) out[n++] = pairs[i].value;
    out[n] = NULL;
    if (count) *count = n;
    return out;
}

size_t npairs_total(void) { return npairs; }
const char *pair_key(size_t i) { return pairs[i].key; }
const char *pair_value(size_t i) { return pairs[i].value; }

int write_str(const char *path, const char *value) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, value, strlen(value));
    int saved = errno;
    close(fd);
    errno = saved;
    if (n >= 0 && (size_t)n != strlen(value)) { errno = EIO; return -1; }
    return n < 0 ? -1 : 0;
}

int mkdir_p(const char *target, mode_t mode) {
    char *path = xasprintf("%s", target);
    int r = 0;
    for (char *p = path + 1; *p && r == 0; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(path, mode) < 0 && errno != EEXIST) r = -1;
        *p = '/';
    }
    if (r == 0 && mkdir(path, mode) < 0 && errno != EEXIST) r = -1;
    int saved = errno;
    free(path);
    errno = saved;
    return r;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

ssize_t unhex(const char *hex, unsigned char **out) {
    size_t len = strlen(hex);
    if (len % 2) return -1;
    unsigned char *buf = xrealloc(NULL, len / 2);
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) { free(buf); return -1; }
        buf[i] = hi << 4 | lo;
    }
    *out = buf;
    return len / 2;
}

void cloexec_from(int from) {
    if (syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    DIR *d = opendir("/proc/self/fd");      /* kernels before 5.11 */
    if (!d) fail(125, "close_range and opendir /proc/self/fd: %s", strerror(errno));
    for (struct dirent *e; (e = readdir(d));) {
        int fd = atoi(e->d_name);
        if (fd >= from && fd != dirfd(d) && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
            fail(125, "fcntl FD_CLOEXEC on fd %d: %s", fd, strerror(errno));
    }
    closedir(d);
}

int read_winsize(int fd, struct winsize *ws) {
    char buf[4096];
    int found = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf - 1)) > 0) {
        buf[n] = 0;
        for (char *line = buf, *end; (end = strchr(line, '\n')); line = end + 1) {
            struct winsize got = {0};
            *end = 0;
            if (sscanf(line, "%hu %hu", &got.ws_row, &got.ws_col) == 2) { *ws = got; found = 1; }
        }
    }
    return found;
}
