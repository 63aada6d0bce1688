"""Write syscalls.json (name -> number for x86_64 and aarch64) from the kernel's UAPI headers.

    python engine/runtime/data/gen_syscalls.py      # needs gcc and linux-libc-dev

x86_64 numbers come from asm/unistd_64.h; aarch64 uses the generic table (asm-generic/unistd.h)
with the __ARCH_WANT_* switches arch/arm64/include/uapi/asm/unistd.h sets.
"""
import json
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ARM64_WANTS = ("RENAMEAT", "NEW_STAT", "SET_GET_RLIMIT", "SYS_CLONE3", "MEMFD_SECRET")


def _macros(source: str, *defines: str) -> dict[str, str]:
    out = subprocess.run(["gcc", "-E", "-dM", *defines, "-"], input=source, text=True,
                         capture_output=True, check=True).stdout
    return dict(m.groups() for m in re.finditer(r"#define (__NR\w+) (.+)", out))


def _resolve(macros: dict[str, str]) -> dict[str, int]:
    table = {}
    for name in macros:
        value, seen = macros[name], 0
        while value in macros and seen < 10:
            value, seen = macros[value], seen + 1
        if name.startswith("__NR_") and re.fullmatch(r"\d+", value.strip()):
            table[name[5:]] = int(value)
    table.pop("syscalls", None)           # __NR_syscalls: the count, not a call
    return dict(sorted(table.items(), key=lambda kv: kv[1]))


def main() -> None:
    x86 = _resolve(_macros("#include <asm/unistd_64.h>\n"))
    arm = _resolve(_macros("#include <asm-generic/unistd.h>\n", "-D__BITS_PER_LONG=64",
                           *(f"-D__ARCH_WANT_{w}" for w in ARM64_WANTS)))
    with open(os.path.join(HERE, "syscalls.json"), "w") as f:
        json.dump({"x86_64": x86, "aarch64": arm}, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
