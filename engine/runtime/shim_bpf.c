/* Programs the engine compiled (engine/runtime/seccomp.py, devices.py), installed as they are.
 *
 *   seccomp       hex of a classic BPF program (struct sock_filter[]), for seccomp(2)
 *   cg_devices    "CGROUP-DIR\nHEX": an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program to attach there
 *
 * Nothing is decided here: a program that doesn't load refuses the container.
 */
#include "shim.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

void load_seccomp(void) {
    const char *hex = get("seccomp");
    if (!hex || !*hex) return;
    unsigned char *code;
    ssize_t len = unhex(hex, &code);
    if (len <= 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
        fail(125, "seccomp: a program of %zu hex digits is not 1 to %d instructions", strlen(hex), BPF_MAXINSNS);
    struct sock_fprog prog = {len / sizeof(struct sock_filter), (struct sock_filter *)code};
    CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog), "seccomp set mode filter (%u instructions): %s",
          prog.len, strerror(errno));
    free(code);
}

int attach_device_program(const char *spec, char *err, size_t errlen) {
    char *dir = xasprintf("%s", spec), *hex = strchr(dir, '\n');
    unsigned char *code = NULL;
    ssize_t len = hex ? (*hex++ = 0, unhex(hex, &code)) : -1;
    if (len <= 0 || len % sizeof(struct bpf_insn)) {
        snprintf(err, errlen, "bad cg_devices entry for %s", dir);
        free(dir);
        return -1;
    }
    static char log[4096];
    union bpf_attr load = {0};
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = (uintptr_t)code;
    load.insn_cnt = len / sizeof(struct bpf_insn);
    load.license = (uintptr_t)"Apache";
    int prog = syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load), cg = -1, r = -1;
    if (prog < 0) {   /* again with the verifier's log, for the message */
        int saved = errno;
        load.log_buf = (uintptr_t)log;
        load.log_size = sizeof log;
        load.log_level = 1;
        int again = syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
        if (again >= 0) close(again);
        log[strcspn(log, "\n")] = 0;
        snprintf(err, errlen, "load device cgroup program: %s %s", strerror(saved), log);
    } else if ((cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
    } else {
        union bpf_attr attach = {0};
        attach.target_fd = cg;
        attach.attach_bpf_fd = prog;
        attach.attach_type = BPF_CGROUP_DEVICE;
        attach.attach_flags = BPF_F_ALLOW_MULTI;
        if ((r = syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach)) < 0)
            snprintf(err, errlen, "attach device cgroup program to %s: %s", dir, strerror(errno));
    }
    if (prog >= 0) close(prog);   /* the attachment holds the program from here on */
    if (cg >= 0) close(cg);
    free(code);
    free(dir);
    return r < 0 ? -1 : 0;
}
