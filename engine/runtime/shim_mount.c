/* The container's overlay root and its /sys/fs/cgroup.
 *
 * Layers reach the kernel as `lowerdir+` parameters of the new mount API (Linux 6.8+), one
 * short string each, so neither mount(2)'s one page of options nor any array bounds the count.
 * overlayfs stacks at most OVL_MAX_STACK lower dirs; an image with more layers than fit beside
 * the container's init layer gets nested overlays: its layers in read-only overlays of up to
 * OVL_MAX_STACK each (detached mounts, never in a mount table), those as the container's lower
 * dirs. Older kernels get mount(2) with the whole list, refused by count when it can't fit.
 */
#include "shim.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define OVL_MAX_STACK 500                 /* fs/overlayfs/params.h */
#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int kernel_at_least(int major, int minor) {
    struct utsname u;
    int ma = 0, mi = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2) return 0;
    return ma > major || (ma == major && mi >= minor);
}

/* The kernel's own words on a failed fsconfig (the fs context's log), after `what`. */
static void fs_fail(int fs, const char *what) {
    int saved = errno;
    char log[512] = "";
    ssize_t n = read(fs, log, sizeof log - 1);
    log[n > 0 ? n : 0] = 0;
    log[strcspn(log, "\n")] = 0;
    fail(125, "%s: %s%s%s", what, strerror(saved), *log ? ": " : "", *log ? log + 2 : "");
}

static void set_string(int fs, const char *key, const char *value) {
    if (fsconfig(fs, FSCONFIG_SET_STRING, key, value, 0) < 0) {
        char *what = xasprintf("overlay %s=%s", key, value);
        fs_fail(fs, what);
    }
}

/* A detached overlay mount of `lower` (topmost first), with an upper dir when `upper` is set. */
static int overlay(const char **lower, size_t n, const char *upper, const char *work) {
    int fs = fsopen("overlay", FSOPEN_CLOEXEC);
    CHECK(fs, "fsopen overlay: %s", strerror(errno));
    set_string(fs, "source", "overlay");
    for (size_t i = 0; i < n; i++) set_string(fs, "lowerdir+", lower[i]);
    if (upper) {
        set_string(fs, "upperdir", upper);
        set_string(fs, "workdir", work);
    }
    /* A plain upper-dir diff is only right with these off (see docs/ARCHITECTURE.md). */
    set_string(fs, "index", "off");
    set_string(fs, "redirect_dir", "off");
    set_string(fs, "metacopy", "off");
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        char *what = xasprintf("mount overlay of %zu lower dirs", n);
        fs_fail(fs, what);
    }
    int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
    CHECK(mnt, "fsmount overlay: %s", strerror(errno));
    close(fs);
    return mnt;
}

/* Linux before 6.8: one mount(2) whose options must fit a page. */
static void legacy_mount(const char *bundle, const char *merged, const char **layers, size_t n) {
    size_t len = strlen(bundle) * 3 + 128;
    for (size_t i = 0; i < n; i++) len += strlen(layers[i]) + 1;
    char *opts = xrealloc(NULL, len), *o = opts;
    o += sprintf(o, "lowerdir=%s/init", bundle);
    for (size_t i = 0; i < n; i++) o += sprintf(o, ":%s", layers[i]);
    o += sprintf(o, ",upperdir=%s/upper,workdir=%s/work,index=off,redirect_dir=off,metacopy=off",
                 bundle, bundle);
    long page = sysconf(_SC_PAGESIZE);
    if (n + 1 > OVL_MAX_STACK)
        fail(125, "image has %zu layers: overlayfs stacks at most %d with the container's init layer",
             n, OVL_MAX_STACK - 1);
    if ((long)(o - opts) >= page)
        fail(125, "image has %zu layers: their overlay options take %zu bytes, over the %ld that "
             "mount(2) takes (Linux 6.8+ has no such limit)", n, (size_t)(o - opts), page);
    CHECK(mount("overlay", merged, "overlay", 0, opts), "mount overlay on %s: %s", merged,
          strerror(errno));
    free(opts);
}

void mount_overlay(const char *bundle, const char *merged) {
    size_t n;
    const char **layers = values("lower", &n);
    if (!kernel_at_least(6, 8)) { legacy_mount(bundle, merged, layers, n); free(layers); return; }
    int dir = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);   /* short paths: fsconfig takes 255 bytes */
    CHECK(dir, "open %s: %s", bundle, strerror(errno));
    size_t room = OVL_MAX_STACK - 1, nested = n > room ? (n + OVL_MAX_STACK - 1) / OVL_MAX_STACK : 0;
    if (nested > room)
        fail(125, "image has %zu layers: at most %zu fit in nested overlays", n, room * OVL_MAX_STACK);
    size_t ntop = 1 + (nested ? nested : n);
    const char **top = xrealloc(NULL, ntop * sizeof *top);
    int *inner = xrealloc(NULL, (nested + 1) * sizeof *inner);
    top[0] = xasprintf("/proc/self/fd/%d/init", dir);
    for (size_t c = 0, first = 0; c < nested; c++) {   /* even shares: a lower-only overlay needs 2 */
        size_t count = n / nested + (c < n % nested);
        inner[c] = overlay(layers + first, count, NULL, NULL);
        first += count;
        top[1 + c] = xasprintf("/proc/self/fd/%d", inner[c]);
    }
    for (size_t i = 0; !nested && i < n; i++) top[1 + i] = layers[i];
    char *upper = xasprintf("/proc/self/fd/%d/upper", dir), *work = xasprintf("/proc/self/fd/%d/work", dir);
    int mnt = overlay(top, ntop, upper, work);
    CHECK(move_mount(mnt, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH), "move_mount overlay to %s: %s",
          merged, strerror(errno));
    close(mnt);
    for (size_t c = 0; c < nested; c++) close(inner[c]);   /* the overlay holds its lower dirs */
    close(dir);
    free(layers); free(top); free(inner); free(upper); free(work);
}

/* Mount at `path`, then make that mount (only it, never the shared superblock) read-only. */
static void mount_ro(const char *src, const char *path, const char *type, const char *data, int ro) {
    CHECK(mount(src, path, type, NOSUID_NODEV_NOEXEC, data), "mount %s on %s: %s", type, path,
          strerror(errno));
    if (ro) CHECK(mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | NOSUID_NODEV_NOEXEC, NULL),
                  "remount %s read-only: %s", path, strerror(errno));
}

/* /sys/fs/cgroup as Docker mounts it with a private cgroup namespace: the container's own
 * cgroups (joined before CLONE_NEWCGROUP, so they are this namespace's roots), read-only unless
 * privileged. Pairs "cgmount" = "TYPE\nOPTIONS\nNAME": NAME "" puts TYPE on /sys/fs/cgroup itself
 * (cgroup v2); otherwise a tmpfs goes there with one NAME/ per v1 hierarchy. */
void mount_cgroupfs(const char *sys, int privileged) {
    size_t n;
    const char **list = values("cgmount", &n);
    char *base = xasprintf("%s/fs/cgroup", sys);
    int tmpfs = 0;
    for (size_t i = 0; i < n; i++) {
        char *entry = xasprintf("%s", list[i]), *opts = strchr(entry, '\n'), *name;
        if (!opts || !(name = strchr(opts + 1, '\n'))) fail(125, "bad cgmount entry %s", list[i]);
        *opts++ = 0;
        *name++ = 0;
        if (!*name) { mount_ro("cgroup", base, entry, *opts ? opts : NULL, !privileged); free(entry); continue; }
        if (!tmpfs++) mount_ro("tmpfs", base, "tmpfs", "mode=755", 0);
        char *dir = xasprintf("%s/%s", base, name);
        CHECK(mkdir(dir, 0555), "mkdir %s: %s", dir, strerror(errno));
        mount_ro("cgroup", dir, entry, opts, !privileged);
        free(dir);
        free(entry);
    }
    if (tmpfs && !privileged)
        CHECK(mount(NULL, base, NULL, MS_REMOUNT | MS_RDONLY | NOSUID_NODEV_NOEXEC, "mode=755"),
              "remount %s read-only: %s", base, strerror(errno));
    free(base);
    free(list);
}
