/* dockyard-shim: a container's monitor, its PID 1 set-up, a tiny init, and `exec`.
 *
 *   dockyard-shim run  BUNDLE                 start the container described by BUNDLE/spec
 *   dockyard-shim exec BUNDLE PID [KEY VAL]...  run a process inside the running container PID
 *
 * BUNDLE/spec is a list of NUL-terminated strings, `key\0value\0key\0value\0...`; a key given
 * more than once is a list (args, env, lower, mount, ...). engine/runtime/process.py writes it.
 *
 * run: the launcher forks the monitor and prints one line of JSON (the state) once the command
 * has been exec'd or has failed, then exits, so the engine never has a long-lived child. The
 * monitor stays in the host's namespaces (setsid by the engine), creates the cgroup, unshares a
 * PID namespace and forks the container's PID 1, which joins the cgroup, unshares the other
 * namespaces, builds the overlay root, pivots, drops privileges and execs. The monitor then logs
 * stdout/stderr as Docker json-file lines, feeds stdin from a FIFO, forwards signals, records the
 * exit in BUNDLE/state.json (atomically), removes the cgroup and finally execs `on_exit`, if any.
 *
 * Errors before the command runs go back on a socketpair as "CODE message" (125: set-up failed,
 * 126: not executable, 127: not found); EOF on it (close-on-exec) means execve succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAXV 4096

/* ---------------------------------------------------------------- spec */

static char *keys[MAXV], *vals[MAXV];
static int nspec;
static int report_fd = -1;  /* the child's end of the report socketpair */

static void add_pair(char *k, char *v) {
    if (nspec < MAXV) { keys[nspec] = k; vals[nspec] = v; nspec++; }
}

/* The last value of `key`, or NULL. */
static const char *get(const char *key) {
    for (int i = nspec - 1; i >= 0; i--)
        if (!strcmp(keys[i], key)) return vals[i];
    return NULL;
}

static int flag(const char *key) { const char *v = get(key); return v && !strcmp(v, "1"); }

/* Every value of `key`, in order, into out (NULL-terminated); returns the count. */
static int all(const char *key, char **out, int max) {
    int n = 0;
    for (int i = 0; i < nspec && n < max - 1; i++)
        if (!strcmp(keys[i], key)) out[n++] = vals[i];
    out[n] = NULL;
    return n;
}

static int load_spec(const char *bundle) {
    char path[4096];
    snprintf(path, sizeof path, "%s/spec", bundle);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) return -1;
    char *buf = malloc(st.st_size + 1);
    ssize_t got = 0, n;
    while (got < st.st_size && (n = read(fd, buf + got, st.st_size - got)) > 0) got += n;
    close(fd);
    buf[got] = 0;
    for (char *p = buf; p < buf + got;) {     /* key\0value\0 ... */
        char *k = p, *v = k + strlen(k) + 1;
        if (v >= buf + got) break;
        p = v + strlen(v) + 1;
        add_pair(k, v);
    }
    return 0;
}

/* ---------------------------------------------------------------- small helpers */

/* In the container's set-up: report why it can't start and exit with Docker's code. */
static void fail(int code, const char *fmt, ...) {
    char msg[1200];
    int n = snprintf(msg, sizeof msg, "%d ", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - n, fmt, ap);
    va_end(ap);
    if (report_fd >= 0) send(report_fd, msg, strlen(msg), MSG_NOSIGNAL);
    else fprintf(stderr, "%s\n", msg + n);
    _exit(code);
}

#define CHECK(call, ...) do { if ((call) < 0) fail(125, __VA_ARGS__); } while (0)

static int write_str(const char *path, const char *value) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, value, strlen(value));
    int saved = errno;
    close(fd);
    errno = saved;
    return n < 0 ? -1 : 0;
}

static int mkdir_p(char *path, mode_t mode) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int r = mkdir(path, mode);
        *p = '/';
        if (r < 0 && errno != EEXIST) return -1;
    }
    return mkdir(path, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static void now_rfc3339(char out[40]) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%09ldZ", ts.tv_nsec);
}

/* JSON string body of `len` bytes into out (room for 6*len+1); returns the length written. */
static size_t json_escape(char *out, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    char *o = out;
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
    return o - out;
}

/* ---------------------------------------------------------------- cgroups
 * Python decides v1 or v2 and which files to write; here we only carry it out:
 * cg_mkdir DIR, cg_set/cg_try "FILE\nVALUE", cg_join PROCS-FILE, cg_oom FILE, cg_rmdir DIR. */

static int cgroup_create(char *err, size_t errlen) {
    char *list[64];
    int n = all("cg_mkdir", list, 64);
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", list[i]);
        if (mkdir_p(path, 0755) < 0) {
            snprintf(err, errlen, "cgroup mkdir %s: %s", list[i], strerror(errno));
            return -1;
        }
    }
    for (int i = 0; i < nspec; i++) {   /* in order; cg_try: a file this kernel lacks is fine */
        int optional = !strcmp(keys[i], "cg_try");
        if (!optional && strcmp(keys[i], "cg_set")) continue;
        char path[4096], *nl;
        snprintf(path, sizeof path, "%s", vals[i]);
        if (!(nl = strchr(path, '\n'))) continue;
        *nl = 0;
        if (write_str(path, nl + 1) < 0 && !(optional && errno == ENOENT)) {
            snprintf(err, errlen, "cgroup write %s=%s: %s", path, nl + 1, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static long cgroup_oom_kills(void) {
    const char *path = get("cg_oom");
    char buf[4096];
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *p = strstr(buf, "oom_kill ");
    return p ? atol(p + 9) : 0;
}

static void cgroup_remove(void) {
    char *list[64];
    int n = all("cg_rmdir", list, 64);
    for (int i = 0; i < n; i++)
        /* EBUSY for a moment while the kernel releases the last exited tasks */
        for (int tries = 0; tries < 200 && rmdir(list[i]) < 0 && errno == EBUSY; tries++)
            usleep(5000);
}

/* Open every cgroup.procs to join; writing "0" later moves the writer. */
static int open_cgroup_procs(int *fds, int max) {
    char *list[64];
    int n = all("cg_join", list, max < 64 ? max : 64);
    for (int i = 0; i < n; i++)
        CHECK(fds[i] = open(list[i], O_WRONLY | O_CLOEXEC), "open %s: %s", list[i], strerror(errno));
    return n;
}

static void join_cgroups(int *fds, int n) {
    for (int i = 0; i < n; i++) {
        CHECK(write(fds[i], "0", 1), "join cgroup: %s", strerror(errno));
        close(fds[i]);
    }
}

/* ---------------------------------------------------------------- rootfs */

#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static void do_mount(const char *src, const char *dst, const char *type, unsigned long fl,
                     const char *data) {
    CHECK(mount(src, dst, type, fl, data), "mount %s on %s: %s", type ? type : src, dst,
          strerror(errno));
}

/* openat2(RESOLVE_IN_ROOT): `path` resolved as if `root` were "/", so no symlink escapes it. */
static int open_in_root(int root, const char *path, int flags) {
    struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    while (*path == '/') path++;
    return syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof how);
}

/* mkdir -p `target` inside the root (and an empty file at the end when `file`); returns an
 * O_PATH fd of it, for mounting through /proc/self/fd so nothing is re-resolved. A dangling
 * symlink on the way is followed as runc's securejoin does: its target is made, inside the root. */
static int make_target(int root, const char *target, int file) {
    char path[4096];
    snprintf(path, sizeof path, "%s", target);
    for (int hops = 0; hops < 40; hops++) {
        size_t len = strlen(path), i;
        for (i = 1; i <= len; i++) {
            if (path[i] != '/' && path[i] != 0) continue;
            char saved = path[i];
            path[i] = 0;
            int fd = open_in_root(root, path, O_PATH);
            if (fd < 0 && errno == ENOENT) {
                char *slash = strrchr(path, '/'), link[4096];
                *slash = 0;
                int parent = open_in_root(root, path, O_PATH | O_DIRECTORY);
                *slash = '/';
                if (parent < 0) return -1;
                ssize_t n = readlinkat(parent, slash + 1, link, sizeof link - 1);
                if (n > 0) {   /* dangling symlink: continue along its target */
                    char next[4096];
                    link[n] = 0;
                    *slash = 0;
                    snprintf(next, sizeof next, "%s%s%s%s%s", link[0] == '/' ? "" : path,
                             link[0] == '/' ? "" : "/", link, saved ? "/" : "", saved ? path + i + 1 : "");
                    snprintf(path, sizeof path, "%s", next);
                    close(parent);
                    break;
                }
                if (saved == 0 && file) {
                    int f = openat(parent, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
                    if (f >= 0) close(f);
                } else mkdirat(parent, slash + 1, 0755);
                close(parent);
                fd = open_in_root(root, path, O_PATH);
            }
            path[i] = saved;
            if (fd < 0) return -1;
            if (saved == 0) return fd;
            close(fd);
        }
        if (i > len) break;
    }
    errno = ELOOP;
    return -1;
}

/* Remount a bind mount with MS_RDONLY; a bind remount sets exactly the flags given, so the
 * nosuid/nodev/noexec the mount already has are read back and kept. */
static void remount_readonly(const char *path) {
    struct statvfs sv;
    unsigned long keep = 0;
    if (statvfs(path, &sv) == 0)
        keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC);  /* same bits as MS_* */
    do_mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL);
}

/* Extra mounts, "type\nsource\ntarget\nro\ndata", in order, before pivot_root. */
static void extra_mounts(int root) {
    char *list[256];
    int n = all("mount", list, 256);
    for (int i = 0; i < n; i++) {
        char buf[8192], *f[5] = {buf};
        snprintf(buf, sizeof buf, "%s", list[i]);
        for (int j = 1; j < 5; j++) {
            f[j] = strchr(f[j - 1], '\n');
            if (!f[j]) fail(125, "bad mount entry %s", list[i]);
            *f[j]++ = 0;
        }
        const char *type = f[0], *src = f[1], *dst = f[2], *data = f[4];
        int ro = !strcmp(f[3], "1"), bind = !strcmp(type, "bind");
        struct stat st;
        if (bind && stat(src, &st) < 0) fail(125, "bind source %s: %s", src, strerror(errno));
        int fd = make_target(root, dst, bind && !S_ISDIR(st.st_mode));
        if (fd < 0) fail(125, "mount target %s: %s", dst, strerror(errno));
        char at[64];
        snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
        if (bind) do_mount(src, at, NULL, MS_BIND | MS_REC, NULL);
        else do_mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV | (ro ? MS_RDONLY : 0),
                      *data ? data : NULL);
        close(fd);
        if (bind && ro) {
            fd = make_target(root, dst, 0);  /* the new mount on top, not the covered dir */
            snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
            remount_readonly(at);
            close(fd);
        }
    }
}

static const char *masked[] = {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap", NULL};
static const char *readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
    "/proc/sysrq-trigger", NULL};

static void mask_paths(void) {
    struct stat st;
    for (int i = 0; masked[i]; i++) {
        if (stat(masked[i], &st) < 0) continue;   /* not every kernel has every path */
        if (S_ISDIR(st.st_mode)) do_mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, NULL);
        else do_mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
    }
    for (int i = 0; readonly[i]; i++) {
        if (stat(readonly[i], &st) < 0) continue;
        do_mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL);
        remount_readonly(readonly[i]);
    }
}

static void make_dev(const char *dev) {
    static const struct { const char *name; int major, minor; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9},
        {"tty", 5, 0}};
    static const char *links[][2] = {{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"},
        {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
        {"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"}};
    char path[4096];
    do_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, nodes[i].name);
        /* umask is 0 here (set in the child), so 0666 is what the node gets */
        CHECK(mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)),
              "mknod %s: %s", path, strerror(errno));
    }
    static const struct { const char *dir, *type, *data; unsigned long fl; } subs[] = {
        {"pts", "devpts", "newinstance,ptmxmode=0666,mode=0620,gid=5", MS_NOSUID | MS_NOEXEC},
        {"shm", "tmpfs", "mode=1777,size=65536k", NOSUID_NODEV_NOEXEC},
        {"mqueue", "mqueue", NULL, NOSUID_NODEV_NOEXEC}};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, subs[i].dir);
        CHECK(mkdir(path, 0755), "mkdir %s: %s", path, strerror(errno));
        do_mount(subs[i].type, path, subs[i].type, subs[i].fl, subs[i].data);
    }
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, links[i][0]);
        CHECK(symlink(links[i][1], path), "symlink %s: %s", path, strerror(errno));
    }
}

static void setup_rootfs(const char *bundle) {
    char merged[4096], opts[4096], path[4096];
    snprintf(merged, sizeof merged, "%s/merged", bundle);
    /* Every mount becomes a slave: host mounts still arrive, nothing done here reaches the host. */
    do_mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
    /* Lower dirs are short names relative to the snapshots root (like overlay2's l/ links),
     * so many layers still fit the one page mount(2) takes for its options. */
    const char *root = get("root");
    if (root) CHECK(chdir(root), "chdir %s: %s", root, strerror(errno));
    char *lower[512];
    int n = all("lower", lower, 512);
    int len = snprintf(opts, sizeof opts, "lowerdir=%s/init", bundle);
    for (int i = 0; i < n; i++) len += snprintf(opts + len, sizeof opts - len, ":%s", lower[i]);
    len += snprintf(opts + len, sizeof opts - len,
                    ",upperdir=%s/upper,workdir=%s/work,index=off,redirect_dir=off,metacopy=off",
                    bundle, bundle);
    if (len >= (int)sizeof opts || len >= 4096) fail(125, "overlay options exceed one page");
    do_mount("overlay", merged, "overlay", 0, opts);
    int privileged = flag("privileged");
    snprintf(path, sizeof path, "%s/proc", merged);
    do_mount("proc", path, "proc", NOSUID_NODEV_NOEXEC, NULL);
    snprintf(path, sizeof path, "%s/sys", merged);
    do_mount("sysfs", path, "sysfs", NOSUID_NODEV_NOEXEC | (privileged ? 0 : MS_RDONLY), NULL);
    snprintf(path, sizeof path, "%s/dev", merged);
    make_dev(path);
    static const char *files[] = {"hostname", "hosts", "resolv.conf"};
    for (int i = 0; i < 3; i++) {   /* bind the files themselves: the engine edits them in place */
        char src[4096];
        snprintf(src, sizeof src, "%s/%s", bundle, files[i]);
        snprintf(path, sizeof path, "%s/etc/%s", merged, files[i]);
        if (access(src, F_OK) == 0) do_mount(src, path, NULL, MS_BIND, NULL);
    }
    int rootfd = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    CHECK(rootfd, "open %s: %s", merged, strerror(errno));
    extra_mounts(rootfd);
    close(rootfd);
    CHECK(chdir(merged), "chdir %s: %s", merged, strerror(errno));
    CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root: %s", strerror(errno));
    /* The old root now sits on top of the new one; it is a slave, so this never reaches the host. */
    CHECK(umount2(".", MNT_DETACH), "umount old root: %s", strerror(errno));
    CHECK(chdir("/"), "chdir /: %s", strerror(errno));
    if (!privileged) mask_paths();
    if (flag("readonly")) do_mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

static void link_up(const char *name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr), "SIOCGIFFLAGS %s: %s", name, strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    CHECK(ioctl(fd, SIOCSIFFLAGS, &ifr), "SIOCSIFFLAGS %s: %s", name, strerror(errno));
    close(fd);
}

/* ---------------------------------------------------------------- user */

struct user { uid_t uid; gid_t gid; gid_t groups[64]; int ngroups; char home[1024]; };

/* Fields of the line in `file` whose field 0 (or numeric field 2) matches; 0 if none. */
static int find_entry(const char *file, const char *name, char *line, size_t size, char **f, int nf) {
    FILE *fp = fopen(file, "re");
    if (!fp) return 0;
    char *end;
    long id = strtol(name, &end, 10);
    int numeric = *name && !*end;
    while (fgets(line, size, fp)) {
        line[strcspn(line, "\n")] = 0;
        int k = 0;
        for (char *p = line; k < nf; k++) {
            f[k] = p;
            p = strchr(p, ':');
            if (!p) { k++; break; }
            *p++ = 0;
        }
        if (k < 3) continue;
        if (!strcmp(f[0], name) || (numeric && atol(f[2]) == id)) { fclose(fp); return k; }
    }
    fclose(fp);
    return 0;
}

static long parse_id(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 ? v : -1;
}

/* "uid[:gid]" or "name[:group]", resolved in the container's own /etc/passwd and /etc/group
 * (after pivot_root, as runc does). Supplementary groups come from /etc/group when no group
 * is given explicitly. */
static void lookup_user(const char *spec, struct user *u) {
    char name[256] = "0", *group = NULL, line[4096], *f[7];
    if (spec && *spec) snprintf(name, sizeof name, "%s", spec);
    if ((group = strchr(name, ':'))) *group++ = 0;
    u->uid = 0; u->gid = 0; u->ngroups = 0;
    snprintf(u->home, sizeof u->home, "/");
    char username[256] = "";
    long uid = parse_id(name);
    if (find_entry("/etc/passwd", name, line, sizeof line, f, 7) >= 6) {
        u->uid = atol(f[2]);
        u->gid = atol(f[3]);
        snprintf(u->home, sizeof u->home, "%s", f[5]);
        snprintf(username, sizeof username, "%s", f[0]);
    } else if (uid >= 0) u->uid = uid;
    else fail(125, "unable to find user %s: no matching entries in passwd file", name);
    if (group) {
        if (find_entry("/etc/group", group, line, sizeof line, f, 4) >= 3) u->gid = atol(f[2]);
        else if (parse_id(group) >= 0) u->gid = parse_id(group);
        else fail(125, "unable to find group %s: no matching entries in group file", group);
    }
    u->groups[u->ngroups++] = u->gid;    /* primary gid included (CVE-2023-25173 fix) */
    FILE *fp = group || !*username ? NULL : fopen("/etc/group", "re");
    while (fp && fgets(line, sizeof line, fp) && u->ngroups < 64) {
        line[strcspn(line, "\n")] = 0;
        char *gid = NULL, *members = line;
        for (int k = 0; k < 3 && members; k++) {
            members = strchr(members, ':');
            if (members) { *members++ = 0; if (k == 1) gid = members; }
        }
        if (!members || !gid) continue;
        for (char *m = strtok(members, ","); m; m = strtok(NULL, ","))
            if (!strcmp(m, username) && atol(gid) != (long)u->gid) {
                u->groups[u->ngroups++] = atol(gid);
                break;
            }
    }
    if (fp) fclose(fp);
}

/* ---------------------------------------------------------------- exec the command */

static void drop_bounding_set(unsigned long long caps) {
    for (int cap = 0; cap <= 63; cap++)
        if (!(caps >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            fail(125, "drop capability %d: %s", cap, strerror(errno));
}

static void set_caps(unsigned long long caps) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct cur[2];
    /* never more than we hold: --privileged on a host whose root lacks some (CAP_SYS_RESOURCE) */
    CHECK(syscall(SYS_capget, &h, cur), "capget: %s", strerror(errno));
    caps &= cur[0].permitted | (unsigned long long)cur[1].permitted << 32;
    struct __user_cap_data_struct d[2] = {
        {(__u32)caps, (__u32)caps, 0}, {(__u32)(caps >> 32), (__u32)(caps >> 32), 0}};
    /* empty inheritable set, as Docker since 20.10.14 (CVE-2022-24769) */
    CHECK(syscall(SYS_capset, &h, d), "capset: %s", strerror(errno));
}

static const char *env_get(char **env, const char *name) {
    size_t n = strlen(name);
    for (; *env; env++)
        if (!strncmp(*env, name, n) && (*env)[n] == '=') return *env + n + 1;
    return NULL;
}

/* strerror as Go words it, lower case: "no such file or directory". */
static const char *go_error(int err) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s", err == EACCES ? "permission denied" : strerror(err));
    buf[0] = buf[0] >= 'A' && buf[0] <= 'Z' ? buf[0] + 32 : buf[0];
    return buf;
}

/* execve does no PATH search: look the command up in the container's PATH, as Go's LookPath. */
static void find_executable(const char *name, char **env, char *out, size_t size) {
    struct stat st;
    if (strchr(name, '/')) {
        if (stat(name, &st) < 0)
            fail(errno == ENOENT || errno == ENOTDIR ? 127 : 126, "exec: \"%s\": stat %s: %s",
                 name, name, go_error(errno));
        snprintf(out, size, "%s", name);
        return;
    }
    const char *path = env_get(env, "PATH");
    char dirs[8192];
    snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, size, "%s/%s", *d ? d : ".", name);
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return;
    }
    fail(127, "exec: \"%s\": executable file not found in $PATH", name);
}

/* The common tail of run and exec, in the container: user, cwd, capabilities, execve. */
static void exec_command(char **args, char **env, const char *user, const char *cwd) {
    if (!args[0]) fail(125, "no command specified");
    unsigned long long caps = strtoull(get("caps") ? get("caps") : "a80425fb", NULL, 16);
    struct user u;
    lookup_user(user, &u);
    static char *envp[MAXV + 2];
    int n = 0;
    for (; env[n] && n < MAXV; n++) envp[n] = env[n];
    char home[1100];
    if (!env_get(env, "HOME")) {  /* HOME from passwd when the image or user doesn't set it */
        snprintf(home, sizeof home, "HOME=%s", u.home);
        envp[n++] = home;
    }
    envp[n] = NULL;
    umask(022);
    if (cwd && *cwd) {  /* created if missing, as Docker does for WorkingDir */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", cwd);
        if (mkdir_p(dir, 0755) < 0 || chdir(cwd) < 0)
            fail(125, "chdir to cwd (\"%s\") set in config.json failed: %s", cwd, strerror(errno));
    }
    drop_bounding_set(caps);
    CHECK(setgroups(u.ngroups, u.groups), "setgroups: %s", strerror(errno));
    CHECK(setgid(u.gid), "setgid %u: %s", u.gid, strerror(errno));
    CHECK(setuid(u.uid), "setuid %u: %s", u.uid, strerror(errno));   /* uid != 0: caps cleared */
    if (u.uid == 0) set_caps(caps);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (flag("nnp")) CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: %s", strerror(errno));
    char file[4096];
    find_executable(args[0], envp, file, sizeof file);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);   /* the mask survives execve */
    execve(file, args, envp);
    fail(errno == ENOENT || errno == ENOTDIR ? 127 : 126, "exec: \"%s\": %s", args[0], go_error(errno));
}

static void apply_rlimits(void) {
    char *list[64];
    int n = all("rlimit", list, 64);
    for (int i = 0; i < n; i++) {
        int res;
        long long soft, hard;
        if (sscanf(list[i], "%d %lld %lld", &res, &soft, &hard) != 3) continue;
        struct rlimit cur, lim;
        getrlimit(res, &cur);
        /* raising a hard limit needs CAP_SYS_RESOURCE, which this host lacks: clamp */
        lim.rlim_max = hard < 0 ? RLIM_INFINITY : (rlim_t)hard;
        if (cur.rlim_max != RLIM_INFINITY && lim.rlim_max > cur.rlim_max) lim.rlim_max = cur.rlim_max;
        lim.rlim_cur = soft < 0 ? RLIM_INFINITY : (rlim_t)soft;
        if (lim.rlim_cur > lim.rlim_max) lim.rlim_cur = lim.rlim_max;
        CHECK(setrlimit(res, &lim), "setrlimit %d: %s", res, strerror(errno));
    }
}

/* ---------------------------------------------------------------- terminals */

static void send_fd(int sock, int fd) {
    char data = 'T', cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {&data, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    CHECK(sendmsg(sock, &msg, MSG_NOSIGNAL), "send pty: %s", strerror(errno));
}

/* A pty from the container's own devpts (so `tty` names /dev/pts/0 inside): the master goes to
 * the monitor over the report socket, the slave becomes the controlling terminal and stdio. */
static void open_container_tty(int stdin_too) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(master, "open /dev/ptmx: %s", strerror(errno));
    CHECK(unlockpt(master), "unlockpt: %s", strerror(errno));
    char name[64];
    CHECK(ptsname_r(master, name, sizeof name) ? -1 : 0, "ptsname: %s", strerror(errno));
    send_fd(report_fd, master);
    close(master);
    setsid();
    int slave = open(name, O_RDWR | O_NOCTTY);
    CHECK(slave, "open %s: %s", name, strerror(errno));
    CHECK(ioctl(slave, TIOCSCTTY, 0), "TIOCSCTTY: %s", strerror(errno));
    if (stdin_too) dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2) close(slave);
}

/* Receive the report: an optional pty master (SCM_RIGHTS), then "CODE message" or EOF. */
static int read_report(int sock, int *tty, char *msg, size_t size) {
    int code = 0;
    msg[0] = 0;
    for (;;) {
        char buf[1300], cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {buf, sizeof buf - 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                           .msg_controllen = sizeof cbuf};
        ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return code;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (c && c->cmsg_type == SCM_RIGHTS) { memcpy(tty, CMSG_DATA(c), sizeof(int)); continue; }
        buf[n] = 0;
        code = atoi(buf);
        snprintf(msg, size, "%s", strchr(buf, ' ') ? strchr(buf, ' ') + 1 : buf);
    }
}

/* ---------------------------------------------------------------- --init: a tiny PID 1 */

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, 0};

/* Like tini: reap every zombie, forward signals to the command, exit with its status. */
static void tiny_init(pid_t child) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int i = 0; forwarded[i]; i++) sigaddset(&set, forwarded[i]);
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig < 0) continue;
        if (sig != SIGCHLD) { kill(child, sig); continue; }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            if (pid == child) _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
}

/* ---------------------------------------------------------------- the container's PID 1 */

struct io { int in, out, err; };   /* the container's ends of its stdio (-1: tty / /dev/null) */

static void container_main(const char *bundle, struct io *io, int *cg, int ncg) {
    static char *args[MAXV], *env[MAXV];
    for (int i = 0; forwarded[i]; i++) signal(forwarded[i], SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    join_cgroups(cg, ncg);   /* before CLONE_NEWCGROUP, so the namespace's root is this cgroup */
    const char *netns = get("netns");
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    int joinnet = netns && *netns && strcmp(netns, "host");
    int netfd = joinnet ? open(netns, O_RDONLY | O_CLOEXEC) : -1;
    if (joinnet && netfd < 0) fail(125, "open network namespace %s: %s", netns, strerror(errno));
    if (!netns || !*netns) flags |= CLONE_NEWNET;
    CHECK(unshare(flags), "unshare: %s", strerror(errno));
    if (joinnet) CHECK(setns(netfd, CLONE_NEWNET), "join %s: %s", netns, strerror(errno));
    if (flags & CLONE_NEWNET) link_up("lo");
    const char *host = get("hostname");
    if (host) CHECK(sethostname(host, strlen(host)), "sethostname: %s", strerror(errno));
    umask(0);
    setup_rootfs(bundle);
    apply_rlimits();
    int tty = flag("tty");
    if (tty) open_container_tty(1);   /* docker run -t: stdin is the terminal too, even without -i */
    else {
        int in = io->in >= 0 ? io->in : open("/dev/null", O_RDONLY);
        dup2(in, 0);
    }
    if (!tty) { dup2(io->out, 1); dup2(io->err, 2); }
    for (int fd = 3; fd < 64; fd++) if (fd != report_fd) close(fd);
    all("args", args, MAXV);
    all("env", env, MAXV);
    if (flag("init")) {
        sigset_t set;
        sigfillset(&set);
        sigprocmask(SIG_BLOCK, &set, NULL);
        pid_t child = fork();
        CHECK(child, "fork: %s", strerror(errno));
        if (child > 0) {  /* stays PID 1, as root, with no more than the container's capabilities */
            close(report_fd);
            unsigned long long caps = strtoull(get("caps") ? get("caps") : "a80425fb", NULL, 16);
            drop_bounding_set(caps);
            set_caps(caps);
            close(0);
            tiny_init(child);
        }
        setpgid(0, 0);
    }
    exec_command(args, env, get("user"), get("cwd"));
}

/* ---------------------------------------------------------------- logs */

struct stream { int fd; const char *name; char buf[16384]; size_t len; };
static int log_fd = -1;

/* One Docker json-file line: {"log":"...","stream":"stdout","time":"..."} */
static void log_line(struct stream *s, const char *data, size_t len) {
    static char line[16384 * 6 + 200];
    char t[40];
    now_rfc3339(t);
    size_t n = sprintf(line, "{\"log\":\"");
    n += json_escape(line + n, data, len);
    n += sprintf(line + n, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", s->name, t);
    if (write(log_fd, line, n) < 0) { /* a full disk loses the line, never the container */ }
}

/* Append bytes; emit every complete line, and a 16 KiB chunk without newline as Docker does. */
static void log_feed(struct stream *s, const char *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        s->buf[s->len++] = data[i];
        if (data[i] == '\n' || s->len == sizeof s->buf) { log_line(s, s->buf, s->len); s->len = 0; }
    }
}

static void log_flush(struct stream *s) {   /* at EOF: the last line without a newline */
    if (s->len) log_line(s, s->buf, s->len);
    s->len = 0;
}

/* ---------------------------------------------------------------- state.json */

struct state { pid_t pid, monitor; int exit_code, oom, running, on_exit; char started[40], finished[40], error[1200]; };

static void write_state(const char *bundle, struct state *st) {
    char path[4096], tmp[4096], err[7300], body[9000];
    snprintf(path, sizeof path, "%s/state.json", bundle);
    snprintf(tmp, sizeof tmp, "%s/.state.json.tmp", bundle);
    json_escape(err, st->error, strlen(st->error));
    int n = snprintf(body, sizeof body,
        "{\"status\":\"%s\",\"pid\":%d,\"monitor\":%d,\"exit_code\":%d,\"oom_killed\":%s,"
        "\"error\":\"%s\",\"started_at\":\"%s\",\"finished_at\":\"%s\",\"on_exit\":%s}\n",
        st->running ? "running" : "exited", st->pid, st->monitor, st->exit_code,
        st->oom ? "true" : "false", err, st->started, st->finished,
        st->on_exit ? "true" : "false");
    /* Atomic replace: a reader sees the old file or the new one. No fsync: the state only
     * matters while this host is up (a reboot ends every container anyway). */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (write(fd, body, n) == n) rename(tmp, path);
    close(fd);
}

/* ---------------------------------------------------------------- the monitor */

/* Whether an engine process that waits for this exit holds BUNDLE/attach.lock (shared): it
 * cleans up itself, so on_exit is skipped. A killed engine's lock is gone with it. */
static int engine_attached(const char *bundle) {
    char path[4096];
    snprintf(path, sizeof path, "%s/attach.lock", bundle);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

static void monitor(const char *bundle, int ready) {
    struct state st = {.monitor = getpid()};
    int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1}, rep[2], cg[64], ncg = 0;
    int tty = flag("tty"), want_stdin = flag("stdin"), master = -1, fifo = -1, resize = -1;
    char path[4096];
    chdir("/");
    snprintf(path, sizeof path, "%s/container.log", bundle);
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (cgroup_create(st.error, sizeof st.error) < 0) goto failed;
    if (want_stdin) {   /* a FIFO an attached client writes to; its close is the container's EOF */
        snprintf(path, sizeof path, "%s/stdin", bundle);
        if ((mkfifo(path, 0600) < 0 && errno != EEXIST) ||
            (fifo = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
            snprintf(st.error, sizeof st.error, "stdin fifo: %s", strerror(errno));
            goto failed;
        }
        if (!tty) pipe2(in, O_CLOEXEC);
    }
    if (tty) {
        snprintf(path, sizeof path, "%s/resize", bundle);   /* "ROWS COLS\n" lines */
        if (mkfifo(path, 0600) == 0 || errno == EEXIST)
            resize = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);   /* RDWR: never a HUP */
    } else {
        pipe2(out, O_CLOEXEC);
        pipe2(err, O_CLOEXEC);
    }
    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep);
    ncg = open_cgroup_procs(cg, 64);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int i = 0; forwarded[i]; i++) sigaddset(&set, forwarded[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);    /* handled through a signalfd, never in the child */
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    /* Only children enter the new PID namespace: the monitor itself stays on the host. */
    if (unshare(CLONE_NEWPID) < 0) {
        snprintf(st.error, sizeof st.error, "unshare pid namespace: %s", strerror(errno));
        goto failed;
    }
    pid_t child = fork();
    if (child == 0) {
        struct io io = {in[0], out[1], err[1]};
        report_fd = rep[1];
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        container_main(bundle, &io, cg, ncg);
        _exit(125);
    }
    for (int i = 0; i < ncg; i++) close(cg[i]);
    close(rep[1]); close(in[0]); close(out[1]); close(err[1]);
    st.pid = child;
    int code = read_report(rep[0], &master, st.error, sizeof st.error);
    close(rep[0]);
    now_rfc3339(st.started);
    st.running = 1;
    if (code) st.exit_code = code;
    else write_state(bundle, &st);
    if (!code) {  /* tell the engine: the command is running (started as JSON state) */
        char line[200];
        int n = snprintf(line, sizeof line, "{\"status\":\"running\",\"pid\":%d,\"monitor\":%d}\n",
                         child, st.monitor);
        if (write(ready, line, n) < 0) { /* the engine is gone: carry on detached */ }
        close(ready);
        ready = -1;
    }
    /* owner: a pid whose end ends the container (a build's RUN dies with its builder) */
    int owner = get("owner") ? (int)syscall(SYS_pidfd_open, atoi(get("owner")), 0) : -1;
    if (get("owner") && owner < 0) kill(child, SIGKILL);    /* gone already */
    struct stream so = {tty ? master : out[0], "stdout"}, se = {err[0], "stderr"};
    char pending[65536];
    size_t npending = 0;
    int in_w = tty ? master : in[1], reaped = 0, status = 0;
    if (in_w >= 0 && !tty) fcntl(in_w, F_SETFL, O_NONBLOCK);
    if (!want_stdin && !tty && in_w >= 0) { close(in_w); in_w = -1; }
    while (!reaped || so.fd >= 0 || se.fd >= 0) {
        struct pollfd p[6] = {{sfd, POLLIN}, {so.fd, POLLIN}, {se.fd, POLLIN},
                              {npending ? -1 : fifo, POLLIN}, {resize, POLLIN}, {owner, POLLIN}};
        int nfds = 6, fdin = -1;
        if (npending && in_w >= 0) { p[3].fd = in_w; p[3].events = POLLOUT; fdin = in_w; }
        /* after PID 1 is reaped every process of the namespace is gone: output ends at once */
        if (poll(p, nfds, reaped ? 2000 : -1) == 0) break;
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == sizeof si) {
            if (si.ssi_signo != SIGCHLD) { kill(child, si.ssi_signo); continue; }
            if (waitpid(child, &status, WNOHANG) == child) reaped = 1;
        }
        for (int k = 1; k <= 2; k++) {
            struct stream *s = k == 1 ? &so : &se;
            if (s->fd < 0 || !p[k].revents) continue;
            char buf[65536];
            ssize_t n = read(s->fd, buf, sizeof buf);
            if (n > 0) { log_feed(s, buf, n); continue; }
            if (n < 0 && errno == EINTR) continue;
            log_flush(s);   /* EOF, or EIO on a pty master once the last slave closed */
            if (s->fd != in_w) close(s->fd);
            s->fd = -1;
        }
        if (fdin >= 0 && p[3].revents) {   /* the container takes more of its stdin */
            ssize_t n = write(in_w, pending, npending);
            if (n > 0) { memmove(pending, pending + n, npending - n); npending -= n; }
            else if (n < 0 && errno != EAGAIN) npending = 0;
        } else if (fifo >= 0 && p[3].revents) {
            ssize_t n = read(fifo, pending, sizeof pending);
            if (n > 0) npending = n;
            else if (n == 0) {   /* the client closed: EOF for the container */
                close(fifo);
                fifo = -1;
                if (tty && in_w >= 0) { char eof = 4; write(in_w, &eof, 1); }  /* ^D */
                else if (in_w >= 0) { close(in_w); in_w = -1; }
            }
        }
        if (owner >= 0 && p[5].revents) {
            kill(child, SIGKILL);
            close(owner);
            owner = -1;
        }
        if (resize >= 0 && p[4].revents) {
            char buf[64];
            ssize_t n = read(resize, buf, sizeof buf - 1);
            struct winsize ws = {0};
            if (n > 0 && (buf[n] = 0, sscanf(buf, "%hu %hu", &ws.ws_row, &ws.ws_col) == 2) && master >= 0)
                ioctl(master, TIOCSWINSZ, &ws);
        }
    }
    if (!reaped) waitpid(child, &status, 0);
    if (!code) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    st.exit_code = code;
failed:
    if (!st.pid) st.exit_code = 125;   /* the set-up failed before the container existed */
    st.running = 0;
    st.oom = cgroup_oom_kills() > 0;
    if (st.oom) st.exit_code = 137;
    if (!st.started[0]) now_rfc3339(st.started);
    now_rfc3339(st.finished);
    cgroup_remove();
    /* before the exit is written: an engine waiting for it can't have let go of the lock yet */
    char *on_exit[256];
    st.on_exit = all("on_exit", on_exit, 256) && !engine_attached(bundle);
    write_state(bundle, &st);
    if (ready >= 0) {   /* it never ran: the engine reads the final state instead */
        char line[64];
        int n = snprintf(line, sizeof line, "{\"status\":\"exited\"}\n");
        if (write(ready, line, n) < 0) { /* gone */ }
        close(ready);
    }
    if (st.on_exit) {   /* the engine's clean-up (reap.py); "on_exit" in the state says so */
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0); dup2(null, 1); dup2(null, 2);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        execv(on_exit[0], on_exit);
    }
    _exit(0);
}

/* ---------------------------------------------------------------- exec */

static void pump_tty(int master, pid_t child, int sfd) {
    int in_open = 1, out_open = 1, status;
    while (out_open) {
        struct pollfd p[3] = {{master, POLLIN}, {in_open ? 0 : -1, POLLIN}, {sfd, POLLIN}};
        if (poll(p, 3, -1) < 0) continue;
        char buf[65536];
        if (p[0].revents) {
            ssize_t n = read(master, buf, sizeof buf);
            if (n <= 0) out_open = 0;
            else if (write(1, buf, n) < 0) out_open = 0;
        }
        if (p[1].revents) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0) { in_open = 0; char eof = 4; write(master, &eof, 1); }
            else if (write(master, buf, n) < 0) in_open = 0;
        }
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == sizeof si)
            if (si.ssi_signo != SIGCHLD) kill(child, si.ssi_signo);
            else if (waitpid(child, &status, WNOHANG) == child)
                _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
}

static int exec_main(const char *bundle, pid_t target, int argc, char **argv) {
    static char *args[MAXV], *env[MAXV];
    if (load_spec(bundle) < 0) { fprintf(stderr, "%s/spec: %s\n", bundle, strerror(errno)); return 125; }
    int base = nspec, nargs = 0;
    for (int i = 0; i + 1 < argc; i += 2) add_pair(argv[i], argv[i + 1]);
    int nenv = 0, given_env = 0;
    for (int i = base; i < nspec; i++) {   /* args and env given here replace the container's */
        if (!strcmp(keys[i], "args")) args[nargs++] = vals[i];
        if (!strcmp(keys[i], "env") && vals[i][0]) env[nenv++] = vals[i];
        if (!strcmp(keys[i], "env")) given_env = 1;
    }
    args[nargs] = env[nenv] = NULL;
    if (!given_env) all("env", env, MAXV);
    static const char *names[] = {"ipc", "uts", "net", "pid", "cgroup", "mnt"};
    int ns[6], cg[64];
    char path[256];
    for (int i = 0; i < 6; i++) {   /* open them all first: after setns(mnt) /proc is the container's */
        snprintf(path, sizeof path, "/proc/%d/ns/%s", target, names[i]);
        CHECK(ns[i] = open(path, O_RDONLY | O_CLOEXEC), "open %s: %s", path, strerror(errno));
    }
    int ncg = open_cgroup_procs(cg, 64);
    join_cgroups(cg, ncg);   /* before setns(cgroup): the move must be visible from our namespace */
    for (int i = 0; i < 6; i++) {
        CHECK(setns(ns[i], 0), "setns %s: %s", names[i], strerror(errno));
        close(ns[i]);
    }
    int rep[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int i = 0; forwarded[i]; i++) sigaddset(&set, forwarded[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    pid_t child = fork();   /* setns(pid) applies to children only */
    if (child == 0) {
        report_fd = rep[1];
        signal(SIGPIPE, SIG_DFL);
        signal(SIGXFSZ, SIG_DFL);
        if (flag("tty")) open_container_tty(1);
        else if (!flag("stdin")) { int null = open("/dev/null", O_RDONLY); dup2(null, 0); }
        exec_command(args, env, get("user"), get("cwd"));
    }
    close(rep[1]);
    int master = -1, status;
    char msg[1200];
    int code = read_report(rep[0], &master, msg, sizeof msg);
    if (code) fprintf(stderr, "%s\n", msg);
    if (master >= 0 && !code) pump_tty(master, child, sfd);
    for (;;) {   /* forward signals until the child exits */
        struct pollfd p = {sfd, POLLIN};
        poll(&p, 1, -1);
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == sizeof si)
            if (si.ssi_signo != SIGCHLD) kill(child, si.ssi_signo);
        if (waitpid(child, &status, WNOHANG) == child) break;
    }
    return code ? code : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "exec")) return exec_main(argv[2], atoi(argv[3]), argc - 4, argv + 4);
    if (argc != 3 || strcmp(argv[1], "run")) {
        fprintf(stderr, "usage: dockyard-shim run BUNDLE | exec BUNDLE PID [KEY VALUE]...\n");
        return 2;
    }
    if (load_spec(argv[2]) < 0) { fprintf(stderr, "%s/spec: %s\n", argv[2], strerror(errno)); return 125; }
    /* The launcher forks the monitor, relays its one ready line to the engine and exits, so the
     * monitor is never the engine's child (no zombie while the engine lives). */
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) return 125;
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 125; }
    if (pid == 0) {
        close(ready[0]);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0); dup2(null, 1); dup2(null, 2);
        if (null > 2) close(null);
        monitor(argv[2], ready[1]);
    }
    close(ready[1]);
    char line[256];
    ssize_t n, got = 0;
    while ((n = read(ready[0], line + got, sizeof line - 1 - got)) > 0) got += n;
    if (got > 0 && write(1, line, got) < 0) return 1;
    return got > 0 ? 0 : 125;
}
