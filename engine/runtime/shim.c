/* dockyard-shim: a container's monitor, its PID 1 set-up, a tiny init, and `exec`.
 *
 *   dockyard-shim run  BUNDLE                  start the container described by BUNDLE/spec
 *   dockyard-shim exec BUNDLE PIDFD SPECFD     run a process inside the running container whose
 *                                              PID 1 is PIDFD; SPECFD holds the exec's pairs
 *   /sbin/docker-init -- COMMAND...            (inside a container, --init) reap and forward
 *   dockyard-shim dns BUNDLE                   the container's embedded DNS server (shim_dns.c),
 *                                              started by its monitor
 *
 * BUNDLE/spec is a list of NUL-terminated strings, `key\0value\0key\0value\0...`; a key given
 * more than once is a list (args, env, lower, mount, ...). engine/runtime/bundle.py writes it;
 * shim_spec.c reads it whole, whatever its size.
 *
 * run: the launcher forks the monitor (shim_monitor.c) and prints one line of JSON (the state)
 * once the command has been exec'd or has failed, then exits, so the engine never has a
 * long-lived child. For each run, the monitor creates the cgroup and forks the container's
 * PID 1 into a new PID namespace; PID 1 (container_main, here) joins the cgroup, unshares the
 * other namespaces, builds the overlay root, pivots, drops privileges, loads seccomp and execs.
 *
 * Errors before the command runs go back on a socketpair as "CODE message" (125: set-up failed,
 * 126: not executable, 127: not found); EOF on it (close-on-exec) means execve succeeded.
 * Every fd but 0, 1 and 2 is close-on-exec when the command starts: nothing of the host's
 * crosses into the container.
 */
#include "shim.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

#define INIT_PATH "/sbin/docker-init"   /* where --init's PID 1 runs from, as in Docker */

const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, 0};

/* ---------------------------------------------------------------- small helpers */

void block_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    for (int i = 0; forwarded[i]; i++) sigaddset(set, forwarded[i]);
    CHECK(sigprocmask(SIG_BLOCK, set, NULL), "sigprocmask: %s", strerror(errno));
}


/* ---------------------------------------------------------------- cgroups
 * Python decides v1 or v2 and which files to write; here we only carry it out:
 * cg_mkdir DIR, cg_set/cg_try "FILE\nVALUE", cg_devices "DIR\nPROGRAM", cg_join PROCS-FILE,
 * cg_oom FILE, cg_rmdir DIR. */

int cgroup_create(char *err, size_t errlen) {
    size_t n;
    const char **dirs = values("cg_mkdir", &n);
    for (size_t i = 0; i < n; i++)
        if (mkdir_p(dirs[i], 0755) < 0) {
            snprintf(err, errlen, "cgroup mkdir %s: %s", dirs[i], strerror(errno));
            return -1;
        }
    free(dirs);
    for (size_t i = 0; i < npairs_total(); i++) {   /* in order; cg_try: a file this kernel lacks is fine */
        const char *key = pair_key(i);
        if (!strcmp(key, "cg_devices")) {
            if (attach_device_program(pair_value(i), err, errlen) < 0) return -1;
            continue;
        }
        int optional = !strcmp(key, "cg_try");
        if (!optional && strcmp(key, "cg_set")) continue;
        char *path = xasprintf("%s", pair_value(i)), *nl = strchr(path, '\n');
        if (!nl) { snprintf(err, errlen, "bad cgroup entry %s", path); return -1; }
        *nl = 0;
        if (write_str(path, nl + 1) < 0 && !(optional && errno == ENOENT)) {
            snprintf(err, errlen, "cgroup write %s=%s: %s", path, nl + 1, strerror(errno));
            return -1;
        }
        free(path);
    }
    return 0;
}

long cgroup_oom_kills(void) {
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

void cgroup_remove(void) {
    const char **dirs = values("cg_rmdir", NULL);
    for (size_t i = 0; dirs[i]; i++)
        /* EBUSY for a moment while the kernel releases the last exited tasks */
        for (int tries = 0; tries < 200 && rmdir(dirs[i]) < 0 && errno == EBUSY; tries++)
            usleep(5000);
    free(dirs);
}

/* Open every cgroup.procs to join (-1 terminated); writing "0" later moves the writer. */
int *open_cgroup_procs(char *err, size_t errlen) {
    size_t n;
    const char **procs = values("cg_join", &n);
    int *fds = xrealloc(NULL, (n + 1) * sizeof *fds);
    for (size_t i = 0; i < n; i++)
        if ((fds[i] = open(procs[i], O_WRONLY | O_CLOEXEC)) < 0) {
            snprintf(err, errlen, "open %s: %s", procs[i], strerror(errno));
            while (i-- > 0) close(fds[i]);
            free(fds);
            return NULL;
        }
    fds[n] = -1;
    free(procs);
    return fds;
}

static void join_cgroups(int *fds) {
    for (int i = 0; fds[i] >= 0; i++) {
        CHECK(write(fds[i], "0", 1), "join cgroup: %s", strerror(errno));
        close(fds[i]);
    }
    free(fds);
}

/* ---------------------------------------------------------------- rootfs */

#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static void do_mount(const char *src, const char *dst, const char *type, unsigned long fl,
                     const char *data) {
    CHECK(mount(src, dst, type, fl, data), "mount %s on %s: %s", type ? type : src ? src : "(remount)",
          dst, strerror(errno));
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
    if (snprintf(path, sizeof path, "%s", target) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
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
                    int w = snprintf(next, sizeof next, "%s%s%s%s%s", link[0] == '/' ? "" : path,
                                     link[0] == '/' ? "" : "/", link, saved ? "/" : "",
                                     saved ? path + i + 1 : "");
                    close(parent);
                    if (w >= (int)sizeof next) { errno = ENAMETOOLONG; return -1; }
                    memcpy(path, next, w + 1);
                    break;
                }
                if (saved == 0 && file) {
                    int f = openat(parent, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
                    if (f >= 0) close(f);
                } else if (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST) {
                    int saved_errno = errno;
                    close(parent);
                    errno = saved_errno;
                    return -1;
                }
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
    CHECK(statvfs(path, &sv), "statvfs %s: %s", path, strerror(errno));
    unsigned long keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC);  /* same bits as MS_* */
    do_mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL);
}

/* Bind `src` (a host path) on `dst` inside the root, made as a file or directory like `src`. */
static void bind_in_root(int root, const char *src, const char *dst, int ro) {
    struct stat st;
    if (stat(src, &st) < 0) fail(125, "bind source %s: %s", src, strerror(errno));
    int fd = make_target(root, dst, !S_ISDIR(st.st_mode));
    if (fd < 0) fail(125, "mount target %s: %s", dst, strerror(errno));
    char at[64];
    snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
    do_mount(src, at, NULL, MS_BIND | MS_REC, NULL);
    close(fd);
    if (!ro) return;
    fd = make_target(root, dst, 0);  /* the new mount on top, not the covered dir */
    CHECK(fd, "open %s: %s", dst, strerror(errno));
    snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
    remount_readonly(at);
    close(fd);
}

/* Extra mounts, "type\nsource\ntarget\nro\ndata", in order, before pivot_root. */
static void extra_mounts(int root) {
    const char **list = values("mount", NULL);
    for (size_t i = 0; list[i]; i++) {
        char *buf = xasprintf("%s", list[i]), *f[5] = {buf};
        for (int j = 1; j < 5; j++) {
            f[j] = strchr(f[j - 1], '\n');
            if (!f[j]) fail(125, "bad mount entry %s", list[i]);
            *f[j]++ = 0;
        }
        const char *type = f[0], *src = f[1], *dst = f[2], *data = f[4];
        int ro = !strcmp(f[3], "1");
        if (!strcmp(type, "bind")) { bind_in_root(root, src, dst, ro); free(buf); continue; }
        int fd = make_target(root, dst, 0);
        if (fd < 0) fail(125, "mount target %s: %s", dst, strerror(errno));
        char at[64];
        snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
        do_mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV | (ro ? MS_RDONLY : 0), *data ? data : NULL);
        close(fd);
        free(buf);
    }
    free(list);
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

/* --device: "PATH\nTYPE\nMAJOR\nMINOR\nMODE\nUID\nGID", a node under the container's /dev. */
static void make_devices(const char *dev) {
    const char **list = values("device", NULL);
    for (size_t i = 0; list[i]; i++) {
        char path[4096], type;
        unsigned major, minor, mode, uid, gid;
        int end = 0;
        if (sscanf(list[i], "/dev/%4000[^\n]\n%c\n%u\n%u\n%o\n%u\n%u%n", path, &type, &major, &minor,
                   &mode, &uid, &gid, &end) != 7 || list[i][end] || strstr(path, ".."))
            fail(125, "bad device entry %s", list[i]);
        char *node = xasprintf("%s/%s", dev, path);
        *strrchr(node, '/') = 0;
        CHECK(mkdir_p(node, 0755), "mkdir %s: %s", node, strerror(errno));
        node[strlen(node)] = '/';
        CHECK(mknod(node, (type == 'b' ? S_IFBLK : S_IFCHR) | (mode & 07777), makedev(major, minor)),
              "mknod %s: %s", node, strerror(errno));
        CHECK(chown(node, uid, gid), "chown %s: %s", node, strerror(errno));
        free(node);
    }
    free(list);
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
        snprintf(path, sizeof path, "%s/../proc/kcore", dev);
        if (!strcmp(links[i][0], "core") && access(path, F_OK) < 0) continue;   /* as runc */
        snprintf(path, sizeof path, "%s/%s", dev, links[i][0]);
        CHECK(symlink(links[i][1], path), "symlink %s: %s", path, strerror(errno));
    }
    make_devices(dev);
}

static void setup_rootfs(const char *bundle) {
    char *merged = xasprintf("%s/merged", bundle), *path;
    /* Every mount becomes a slave: host mounts still arrive, nothing done here reaches the host. */
    do_mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
    /* Lower dirs are short names relative to the snapshots root (like overlay2's l/ links). */
    const char *root = get("root");
    if (root) CHECK(chdir(root), "chdir %s: %s", root, strerror(errno));
    mount_overlay(bundle, merged);
    int privileged = flag("privileged");
    path = xasprintf("%s/proc", merged);
    do_mount("proc", path, "proc", NOSUID_NODEV_NOEXEC, NULL);
    free(path);
    path = xasprintf("%s/sys", merged);
    do_mount("sysfs", path, "sysfs", NOSUID_NODEV_NOEXEC | (privileged ? 0 : MS_RDONLY), NULL);
    mount_cgroupfs(path, privileged);
    free(path);
    path = xasprintf("%s/dev", merged);
    make_dev(path);
    free(path);
    static const char *files[] = {"hostname", "hosts", "resolv.conf"};
    for (int i = 0; i < 3; i++) {   /* bind the files themselves: the engine edits them in place */
        char *src = xasprintf("%s/%s", bundle, files[i]);
        path = xasprintf("%s/etc/%s", merged, files[i]);
        if (access(src, F_OK) == 0) do_mount(src, path, NULL, MS_BIND, NULL);
        free(src);
        free(path);
    }
    int rootfd = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    CHECK(rootfd, "open %s: %s", merged, strerror(errno));
    extra_mounts(rootfd);
    /* --init: this very binary, as Docker mounts docker-init; no host path shows inside. By its
     * path: /proc/self/exe is a mount of the namespace this process left. */
    if (flag("init")) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        CHECK(n, "readlink /proc/self/exe: %s", strerror(errno));
        self[n] = 0;
        bind_in_root(rootfd, self, INIT_PATH, 1);
    }
    close(rootfd);
    CHECK(chdir(merged), "chdir %s: %s", merged, strerror(errno));
    CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root: %s", strerror(errno));
    /* The old root now sits on top of the new one; it is a slave, so this never reaches the host. */
    CHECK(umount2(".", MNT_DETACH), "umount old root: %s", strerror(errno));
    CHECK(chdir("/"), "chdir /: %s", strerror(errno));
    if (!privileged) mask_paths();
    if (flag("readonly")) do_mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
    free(merged);
}

static void link_up(const char *name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(fd, "socket for %s: %s", name, strerror(errno));
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr), "SIOCGIFFLAGS %s: %s", name, strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    CHECK(ioctl(fd, SIOCSIFFLAGS, &ifr), "SIOCSIFFLAGS %s: %s", name, strerror(errno));
    close(fd);
}

/* ---------------------------------------------------------------- user */

struct user { uid_t uid; gid_t gid; gid_t *groups; size_t ngroups; char *home; };

/* Split `line` at ':' into at most nf fields; returns how many. */
static int split_fields(char *line, char **f, int nf) {
    int k = 0;
    for (char *p = line; k < nf; ) {
        f[k++] = p;
        if (!(p = strchr(p, ':'))) break;
        *p++ = 0;
    }
    return k;
}

/* The fields of the line in `file` whose field 0 (or numeric field 2) matches; 0 if none. The
 * line is getline's, so no length cuts an entry short; the caller frees *line. */
static int find_entry(const char *file, const char *name, char **line, char **f, int nf) {
    FILE *fp = fopen(file, "re");
    if (!fp) return 0;
    char *end;
    long id = strtol(name, &end, 10);
    int numeric = *name && !*end, k = 0;
    size_t size = 0;
    while (getline(line, &size, fp) > 0) {
        (*line)[strcspn(*line, "\n")] = 0;
        k = split_fields(*line, f, nf);
        if (k >= 3 && (!strcmp(f[0], name) || (numeric && atol(f[2]) == id))) break;
        k = 0;
    }
    fclose(fp);
    return k;
}

static long parse_id(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 ? v : -1;
}

static void add_group(struct user *u, gid_t gid) {
    u->groups = xrealloc(u->groups, (u->ngroups + 1) * sizeof *u->groups);
    u->groups[u->ngroups++] = gid;
}

/* "uid[:gid]" or "name[:group]", resolved in the container's own /etc/passwd and /etc/group
 * (after pivot_root, as runc does). Supplementary groups come from /etc/group when no group
 * is given explicitly. */
static void lookup_user(const char *spec, struct user *u) {
    char *name = xasprintf("%s", spec && *spec ? spec : "0"), *group, *line = NULL, *f[7];
    if ((group = strchr(name, ':'))) *group++ = 0;
    *u = (struct user){.home = "/"};
    char *username = NULL;
    long uid = parse_id(name);
    if (find_entry("/etc/passwd", name, &line, f, 7) >= 6) {
        u->uid = atol(f[2]);
        u->gid = atol(f[3]);
        u->home = xasprintf("%s", f[5]);
        username = xasprintf("%s", f[0]);
    } else if (uid >= 0) u->uid = uid;
    else fail(125, "unable to find user %s: no matching entries in passwd file", name);
    if (group) {
        if (find_entry("/etc/group", group, &line, f, 4) >= 3) u->gid = atol(f[2]);
        else if (parse_id(group) >= 0) u->gid = parse_id(group);
        else fail(125, "unable to find group %s: no matching entries in group file", group);
    }
    add_group(u, u->gid);    /* primary gid included (CVE-2023-25173 fix) */
    FILE *fp = group || !username ? NULL : fopen("/etc/group", "re");
    size_t size = 0;
    while (fp && getline(&line, &size, fp) > 0) {
        line[strcspn(line, "\n")] = 0;
        if (split_fields(line, f, 4) < 4) continue;
        for (char *save, *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
            if (!strcmp(m, username) && atol(f[2]) != (long)u->gid) {
                add_group(u, atol(f[2]));
                break;
            }
    }
    if (fp) fclose(fp);
    free(line);
}

/* --group-add: more supplementary groups, names looked up in the container's /etc/group. */
static void add_groups(struct user *u) {
    const char **names = values("group_add", NULL);
    char *line = NULL, *f[4];
    for (size_t i = 0; names[i]; i++) {
        long gid = find_entry("/etc/group", names[i], &line, f, 4) >= 3 ? atol(f[2])
                                                                        : parse_id(names[i]);
        if (gid < 0) fail(125, "unable to find group %s: no matching entries in group file", names[i]);
        int known = 0;
        for (size_t k = 0; k < u->ngroups; k++) known |= u->groups[k] == (gid_t)gid;
        if (!known) add_group(u, gid);
    }
    free(line);
    free(names);
}

/* ---------------------------------------------------------------- exec the command */

static unsigned long long container_caps(void) {
    return strtoull(get("caps") ? get("caps") : "a80425fb", NULL, 16);
}

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

static const char *env_get(const char **env, const char *name) {
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
static char *find_executable(const char *name, const char **env) {
    struct stat st;
    if (strchr(name, '/')) {
        if (stat(name, &st) < 0)
            fail(errno == ENOENT || errno == ENOTDIR ? 127 : 126, "exec: \"%s\": stat %s: %s",
                 name, name, go_error(errno));
        return xasprintf("%s", name);
    }
    const char *path = env_get(env, "PATH");
    char *dirs = xasprintf("%s", path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *file = xasprintf("%s/%s", *d ? d : ".", name);
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return file;
        free(file);
    }
    fail(127, "exec: \"%s\": executable file not found in $PATH", name);
}

/* The common tail of run and exec, in the container: user, cwd, capabilities, seccomp, execve. */
static __attribute__((noreturn)) void exec_command(const char **args, const char **env, const char *user, const char *cwd) {
    if (!args[0]) fail(125, "no command specified");
    unsigned long long caps = container_caps();
    struct user u;
    lookup_user(user, &u);
    add_groups(&u);
    size_t n = 0;
    while (env[n]) n++;
    const char **envp = xrealloc(NULL, (n + 3) * sizeof *envp);
    memcpy(envp, env, n * sizeof *envp);
    if (!env_get(env, "HOME")) envp[n++] = xasprintf("HOME=%s", u.home);  /* from passwd, as Docker */
    if (flag("tty") && !env_get(env, "TERM")) envp[n++] = "TERM=xterm";  /* as Docker, for -t */
    envp[n] = NULL;
    umask(022);
    if (cwd && *cwd) {  /* created if missing, as Docker does for WorkingDir */
        if (mkdir_p(cwd, 0755) < 0 || chdir(cwd) < 0)
            fail(125, "chdir to cwd (\"%s\") set in config.json failed: %s", cwd, strerror(errno));
    }
    drop_bounding_set(caps);
    int nnp = flag("nnp");
    /* Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN, held only until the setuid/capset
     * below: load it now, as runc does (the profile allows what follows). */
    if (!nnp) load_seccomp();
    CHECK(setgroups(u.ngroups, u.groups), "setgroups: %s", strerror(errno));
    CHECK(setgid(u.gid), "setgid %u: %s", u.gid, strerror(errno));
    CHECK(setuid(u.uid), "setuid %u: %s", u.uid, strerror(errno));   /* uid != 0: caps cleared */
    if (u.uid == 0) set_caps(caps);
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities: %s",
          strerror(errno));
    if (nnp) {
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: %s", strerror(errno));
        load_seccomp();
    }
    char *file = find_executable(args[0], envp);
    cloexec_from(3);   /* nothing but stdio crosses into the command */
    sigset_t none;
    sigemptyset(&none);
    CHECK(sigprocmask(SIG_SETMASK, &none, NULL), "sigprocmask: %s", strerror(errno));  /* it survives execve */
    execve(file, (char **)args, (char **)envp);
    fail(errno == ENOENT || errno == ENOTDIR ? 127 : 126, "exec: \"%s\": %s", args[0], go_error(errno));
}

static void apply_rlimits(void) {
    const char **list = values("rlimit", NULL);
    for (size_t i = 0; list[i]; i++) {
        int res, end = 0;
        long long soft, hard;
        if (sscanf(list[i], "%d %lld %lld%n", &res, &soft, &hard, &end) != 3 || list[i][end])
            fail(125, "bad rlimit entry %s", list[i]);
        struct rlimit cur, lim;
        CHECK(getrlimit(res, &cur), "getrlimit %d: %s", res, strerror(errno));
        /* raising a hard limit needs CAP_SYS_RESOURCE, which this host lacks: clamp */
        lim.rlim_max = hard < 0 ? RLIM_INFINITY : (rlim_t)hard;
        if (cur.rlim_max != RLIM_INFINITY && lim.rlim_max > cur.rlim_max) lim.rlim_max = cur.rlim_max;
        lim.rlim_cur = soft < 0 ? RLIM_INFINITY : (rlim_t)soft;
        if (lim.rlim_cur > lim.rlim_max) lim.rlim_cur = lim.rlim_max;
        CHECK(setrlimit(res, &lim), "setrlimit %d: %s", res, strerror(errno));
    }
    free(list);
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

/* The window size "ROWS COLS" of `size`, else that of our own stdin's terminal (an exec run by
 * a terminal client), else none. */
static void set_window_size(int slave, const char *size) {
    struct winsize ws = {0};
    int end = 0;
    if (size && *size) {
        if (sscanf(size, "%hu %hu%n", &ws.ws_row, &ws.ws_col, &end) != 2 || size[end])
            fail(125, "bad console size %s (ROWS COLS)", size);
    } else if (ioctl(0, TIOCGWINSZ, &ws) < 0) return;   /* stdin is no terminal: the pty's 0x0 */
    CHECK(ioctl(slave, TIOCSWINSZ, &ws), "TIOCSWINSZ: %s", strerror(errno));
}

/* A pty from the container's own devpts (so `tty` names /dev/pts/0 inside), sized before the
 * command starts (`stty size` works at once): the master goes to the monitor over the report
 * socket, the slave becomes the controlling terminal and stdio. */
static void open_container_tty(int stdin_too) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(master, "open /dev/ptmx: %s", strerror(errno));
    CHECK(unlockpt(master), "unlockpt: %s", strerror(errno));
    char name[64];
    CHECK(ptsname_r(master, name, sizeof name) ? -1 : 0, "ptsname: %s", strerror(errno));
    send_fd(report_fd, master);
    close(master);
    CHECK(setsid(), "setsid: %s", strerror(errno));
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(slave, "open %s: %s", name, strerror(errno));
    CHECK(ioctl(slave, TIOCSCTTY, 0), "TIOCSCTTY: %s", strerror(errno));
    set_window_size(slave, get("winsize"));
    if (stdin_too) CHECK(dup2(slave, 0), "dup2 %s: %s", name, strerror(errno));
    CHECK(dup2(slave, 1), "dup2 %s: %s", name, strerror(errno));
    CHECK(dup2(slave, 2), "dup2 %s: %s", name, strerror(errno));
    close(slave);
}

/* stdin from /dev/null (no -i): opened close-on-exec, so only fd 0 reaches the command. */
static void stdin_from_null(void) {
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(null, "open /dev/null: %s", strerror(errno));
    CHECK(dup2(null, 0), "dup2 /dev/null: %s", strerror(errno));
    close(null);
}

/* Receive the report: an optional pty master (SCM_RIGHTS), then "CODE message" or EOF. */
int read_report(int sock, int *tty, char *msg, size_t size) {
    int code = 0;
    msg[0] = 0;
    for (;;) {
        char buf[4200], cbuf[CMSG_SPACE(sizeof(int))];
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

/* INIT_PATH -- COMMAND...: PID 1 of a container run with --init, exec'd after its one child
 * (the command) was forked. Like tini: reap every zombie, forward signals to the command, exit
 * with its status. The signal mask, set before the fork, survives execve. */
static int tiny_init(void) {
    char buf[64] = "";
    int fd = open("/proc/self/task/1/children", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    buf[n > 0 ? n : 0] = 0;
    pid_t child = atoi(buf);   /* 0 if unknown: the first exit ends the container */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int i = 0; forwarded[i]; i++) sigaddset(&set, forwarded[i]);
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig < 0) continue;
        if (sig != SIGCHLD) { if (child > 0) kill(child, sig); continue; }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            if (pid == child || child <= 0)
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

/* --sysctl "net.ipv4.ip_forward=1": written to /proc/sys after unshare and before the rootfs,
 * so each lands in the container's own network or IPC namespace (Python allows only those). */
static void apply_sysctls(void) {
    const char **list = values("sysctl", NULL);
    for (size_t i = 0; list[i]; i++) {
        const char *eq = strchr(list[i], '=');
        if (!eq) continue;
        char *path = xasprintf("/proc/sys/%.*s", (int)(eq - list[i]), list[i]);
        for (char *p = path + 10; *p; p++) if (*p == '.') *p = '/';
        if (write_str(path, eq + 1) < 0)
            fail(125, "sysctl %.*s: %s", (int)(eq - list[i]), list[i], strerror(errno));
        free(path);
    }
    free(list);
}

/* ---------------------------------------------------------------- the container's PID 1 */

void container_main(const char *bundle, struct io *io, int *cg) {
    for (int i = 0; forwarded[i]; i++) signal(forwarded[i], SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    join_cgroups(cg);   /* before CLONE_NEWCGROUP, so the namespace's root is this cgroup */
    const char *netns = get("netns");
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    int joinnet = netns && *netns && strcmp(netns, "host");
    int netfd = joinnet ? open(netns, O_RDONLY | O_CLOEXEC) : -1;
    if (joinnet && netfd < 0) fail(125, "open network namespace %s: %s", netns, strerror(errno));
    if (!netns || !*netns) flags |= CLONE_NEWNET;
    CHECK(unshare(flags), "unshare: %s", strerror(errno));
    if (joinnet) CHECK(setns(netfd, CLONE_NEWNET), "join %s: %s", netns, strerror(errno));
    if (netfd >= 0) close(netfd);
    if (flags & CLONE_NEWNET) link_up("lo");
    const char *host = get("hostname");
    if (host) CHECK(sethostname(host, strlen(host)), "sethostname: %s", strerror(errno));
    apply_sysctls();
    umask(0);
    setup_rootfs(bundle);
    apply_rlimits();
    int tty = flag("tty");
    if (tty) open_container_tty(1);   /* docker run -t: stdin is the terminal too, even without -i */
    else if (io->in >= 0) CHECK(dup2(io->in, 0), "dup2 stdin: %s", strerror(errno));
    else stdin_from_null();
    if (!tty) {
        CHECK(dup2(io->out, 1), "dup2 stdout: %s", strerror(errno));
        CHECK(dup2(io->err, 2), "dup2 stderr: %s", strerror(errno));
    }
    const char **args = values("args", NULL), **env = values("env", NULL);
    if (flag("init")) {
        sigset_t set;
        sigfillset(&set);
        CHECK(sigprocmask(SIG_BLOCK, &set, NULL), "sigprocmask: %s", strerror(errno));
        pid_t child = fork();
        CHECK(child, "fork: %s", strerror(errno));
        if (child > 0) {  /* stays PID 1, as root, with no more than the container's capabilities */
            unsigned long long caps = container_caps();
            size_t n = 0;
            while (args[n]) n++;
            const char **argv = xrealloc(NULL, (n + 3) * sizeof *argv);
            argv[0] = INIT_PATH;
            argv[1] = "--";
            memcpy(argv + 2, args, (n + 1) * sizeof *argv);
            stdin_from_null();
            drop_bounding_set(caps);
            load_seccomp();
            set_caps(caps);
            cloexec_from(3);   /* the report socket too: EOF once both have exec'd */
            execve(INIT_PATH, (char **)argv, (char **)env);
            fail(125, "exec %s: %s", INIT_PATH, strerror(errno));
        }
        CHECK(setpgid(0, 0), "setpgid: %s", strerror(errno));
    }
    exec_command(args, env, get("user"), get("cwd"));
}

/* ---------------------------------------------------------------- exec */

static int write_all(int fd, const char *buf, size_t len) {
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        buf += n;
        len -= n;
    }
    return 0;
}

/* exec -t: copy our stdin to the pty and the pty to our stdout until the command has exited and
 * its output is read; SIGWINCH gives the pty our terminal's new size (the kernel then signals
 * the command), as does a "ROWS COLS" line on the `resize` FIFO (the API's exec resize); other
 * signals go to the command. Returns its wait status. */
static int pump_tty(int master, pid_t child, int sfd, int resize) {
    int in_open = 1, out_open = 1, exited = 0, status = 0;
    while (!exited || out_open) {
        struct pollfd p[4] = {{out_open ? master : -1, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0},
                              {sfd, POLLIN, 0}, {resize, POLLIN, 0}};
        int ready = poll(p, 4, exited ? 100 : -1);   /* after the exit: what is left, then stop */
        if (ready == 0) break;
        if (ready < 0) continue;
        char buf[65536];
        struct winsize ws;
        if (p[3].revents && read_winsize(resize, &ws))   /* the engine's exec resize (API) */
            ioctl(master, TIOCSWINSZ, &ws);              /* a bad size is the client's */
        if (p[0].revents) {
            ssize_t n = read(master, buf, sizeof buf);
            if (n <= 0 || write_all(1, buf, n) < 0) out_open = 0;   /* EIO: no slave left */
        }
        if (p[1].revents) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0) { in_open = 0; if (write(master, "\4", 1) < 0) { /* the pty is gone */ } }
            else if (write_all(master, buf, n) < 0) in_open = 0;
        }
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGWINCH) {
                /* our stdin is no terminal: nothing to follow; a pty that is gone: ends below */
                if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ioctl(master, TIOCSWINSZ, &ws) < 0) out_open = 0;
            } else if (si.ssi_signo != SIGCHLD) kill(child, si.ssi_signo);
            else if (!exited && waitpid(child, &status, WNOHANG) == child) exited = 1;
        }
    }
    if (!exited) waitpid(child, &status, 0);
    return status;
}

/* The pid behind a pidfd, from /proc/self/fdinfo. */
static pid_t pidfd_pid(int pidfd) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd, "open %s: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *p = strstr(buf, "\nPid:");
    if (!p || atoi(p + 5) <= 0) fail(125, "%s: no live process behind pidfd %d", path, pidfd);
    return atoi(p + 5);
}

static const int NAMESPACES = CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID |
                              CLONE_NEWCGROUP | CLONE_NEWNS;

/* Join the namespaces of the process behind `pidfd`: all at once by pidfd (Linux 5.8+), else
 * through /proc/PID/ns/NAME, checked against the pidfd so a recycled pid can't be joined. */
static void join_namespaces(int pidfd) {
    if (setns(pidfd, NAMESPACES) == 0) return;
    if (errno != EINVAL) fail(125, "setns by pidfd: %s", strerror(errno));
    static const char *names[] = {"ipc", "uts", "net", "pid", "cgroup", "mnt"};
    pid_t target = pidfd_pid(pidfd);
    int ns[6];
    char path[256];
    for (int i = 0; i < 6; i++) {   /* open them all first: after setns(mnt) /proc is the container's */
        snprintf(path, sizeof path, "/proc/%d/ns/%s", target, names[i]);
        CHECK(ns[i] = open(path, O_RDONLY | O_CLOEXEC), "open %s: %s", path, strerror(errno));
    }
    CHECK(syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0), "container process %d: %s", target,
          strerror(errno));
    for (int i = 0; i < 6; i++) {
        CHECK(setns(ns[i], 0), "setns %s: %s", names[i], strerror(errno));
        close(ns[i]);
    }
}

static int exec_main(const char *bundle, int pidfd, int specfd) {
    char *path = xasprintf("%s/spec", bundle);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "open %s: %s\n", path, strerror(errno)); return 125; }
    load_pairs(fd, path);
    close(fd);
    size_t base = npairs_total();
    load_pairs(specfd, "the exec's spec");
    close(specfd);
    size_t nargs = 0, nenv = 0, given_env = 0, total = npairs_total();
    const char **args = xrealloc(NULL, (total - base + 1) * sizeof *args);
    const char **env = xrealloc(NULL, (total - base + 1) * sizeof *env);
    for (size_t i = base; i < total; i++) {   /* args and env given here replace the container's */
        if (!strcmp(pair_key(i), "args")) args[nargs++] = pair_value(i);
        if (!strcmp(pair_key(i), "env") && pair_value(i)[0]) env[nenv++] = pair_value(i);
        if (!strcmp(pair_key(i), "env")) given_env = 1;
    }
    args[nargs] = env[nenv] = NULL;
    if (!given_env) { free(env); env = values("env", NULL); }
    char err[1024];
    int *cg = open_cgroup_procs(err, sizeof err);
    if (!cg) fail(125, "%s", err);
    /* The resize FIFO lives in the bundle, which setns(mnt) hides: opened now (RDWR: no HUP). */
    int resize = get("resize") ? open(get("resize"), O_RDWR | O_NONBLOCK | O_CLOEXEC) : -1;
    join_cgroups(cg);   /* before setns(cgroup): the move must be visible from our namespace */
    join_namespaces(pidfd);
    close(pidfd);
    int rep[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep), "socketpair: %s", strerror(errno));
    sigset_t set;
    block_signals(&set);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    CHECK(sfd, "signalfd: %s", strerror(errno));
    pid_t child = fork();   /* setns(pid) applies to children only */
    CHECK(child, "fork: %s", strerror(errno));
    if (child == 0) {
        report_fd = rep[1];
        signal(SIGPIPE, SIG_DFL);
        signal(SIGXFSZ, SIG_DFL);
        if (flag("tty")) open_container_tty(1);
        else if (!flag("stdin")) stdin_from_null();
        exec_command(args, env, get("user"), get("cwd"));
    }
    close(rep[1]);
    int master = -1, status;
    char msg[4200];
    int code = read_report(rep[0], &master, msg, sizeof msg);
    if (code) fprintf(stderr, "%s\n", msg);
    if (master >= 0 && !code) {
        status = pump_tty(master, child, sfd, resize);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    for (;;) {   /* forward signals until the child exits */
        struct pollfd p = {sfd, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) fail(125, "poll: %s", strerror(errno));
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == sizeof si)
            if (si.ssi_signo != SIGCHLD) kill(child, si.ssi_signo);
        if (waitpid(child, &status, WNOHANG) == child) break;
    }
    return code ? code : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---------------------------------------------------------------- main */

static int fd_arg(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v > 2 && v < 1 << 20 ? (int)v : -1;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "--")) return tiny_init();
    if (argc == 3 && !strcmp(argv[1], "dns")) return dns_main(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "exec") && fd_arg(argv[3]) > 0 && fd_arg(argv[4]) > 0)
        return exec_main(argv[2], fd_arg(argv[3]), fd_arg(argv[4]));
    if (argc != 3 || strcmp(argv[1], "run")) {
        fprintf(stderr, "usage: dockyard-shim run BUNDLE | exec BUNDLE PIDFD SPECFD\n");
        return 2;
    }
    char *spec = xasprintf("%s/spec", argv[2]);
    int fd = open(spec, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "open %s: %s\n", spec, strerror(errno)); return 125; }
    load_pairs(fd, spec);
    close(fd);
    /* The launcher forks the monitor, relays its one ready line to the engine and exits, so the
     * monitor is never the engine's child (no zombie while the engine lives). */
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) { perror("pipe2"); return 125; }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 125; }
    if (pid == 0) {
        close(ready[0]);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) _exit(125);
        close(null);
        monitor(argv[2], ready[1]);
    }
    close(ready[1]);
    char line[256];
    ssize_t n, got = 0;
    while ((n = read(ready[0], line + got, sizeof line - 1 - got)) > 0) got += n;
    if (got > 0 && write(1, line, got) < 0) return 1;
    return got > 0 ? 0 : 125;
}
