"""Compare what a cell built now with what its lock says: same, drifted (where and why), missing.

    report = compare(locked_entry, current_entry, label="cell 2 (%%dockerfile -t env:1)")
    report.status, report.step, report.reason
    # "drifted", "line 3: COPY app.py /app/", "a build-context file changed"

Steps are compared in order; the first whose cache key or layer differs is where the cell
drifted, and what differs says why: the instruction's text (the Dockerfile changed), its key
with the same text (a COPY's context files, or a RUN's build args), or only its layer (the step
is not deterministic: the same instruction and inputs made other bytes). Pure: entries are the
lock's dicts.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

STATUSES = ("same", "drifted", "missing")


@dataclass(frozen=True)
class Drift:
    """One cell's comparison, as a row of the drift table."""

    cell: str                   # its label: "cell 2 (%%dockerfile -t env:1)"
    kind: str
    status: str                 # same | drifted | missing
    locked: str | None = None   # the image id in the lock
    current: str | None = None  # the image id built or found now
    step: str = ""              # the first step that differs: "line 3: RUN date > /built"
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class Report(list):
    """A notebook's Drift rows in notebook order; `ok` when every cell is the same."""

    @property
    def ok(self) -> bool:
        return all(row.status == "same" for row in self)


def short(digest: str | None) -> str:
    """sha256:0123456789ab (12 hex digits), or "-"."""
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:19]


def compare(locked: dict | None, current: dict | None, label: str,
            moved: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> Drift:
    """The Drift of one cell; `moved` maps a base name whose tag now names another image
    than the locked one (the build used the locked one) to that image; `labels` names cells
    by their key, for a base another cell made."""
    kind = (current or locked or {}).get("kind", "")
    if locked is None:
        return Drift(label, kind, "missing", None, current.get("image"),
                     reason="not in the lock (run `dockyard notebook lock`)")
    if current is None:
        return Drift(label, kind, "missing", locked.get("image"), None,
                     reason="in the lock, but no longer in the notebook")
    row = dict(cell=label, kind=kind, locked=locked.get("image"), current=current.get("image"))
    for name, now in (moved or {}).items():
        was = next((b["image"] for b in locked.get("bases", []) if b["name"] == name), None)
        return Drift(**row, status="drifted", step=f"FROM {name}",
                     reason=f"base changed: {name} now names {short(now)}, the lock has "
                            f"{short(was)} (this build used the locked one)")
    if locked.get("image") == current.get("image"):
        return Drift(**row, status="same")
    if locked.get("kind") != kind:
        return Drift(**row, status="drifted", reason=f"the cell was a {locked.get('kind')} cell")
    step, reason = WHY[kind](locked, current, labels or {})
    return Drift(**row, status="drifted", step=step, reason=reason)


def _dockerfile(locked: dict, current: dict, labels: dict) -> tuple[str, str]:
    bases = {b["name"]: b for b in locked.get("bases", [])}
    for base in current.get("bases", []):
        was = bases.get(base["name"])
        if was is not None and was["image"] != base["image"]:
            origin = base.get("source", {}).get("cell")
            because = f" (made by {labels.get(origin, origin)}, which changed)" if origin else ""
            return (f"FROM {base['name']}", f"base changed: {base['name']} is {short(base['image'])}"
                    f", the lock has {short(was['image'])}{because}")
    old_steps, new_steps = locked.get("steps", []), current.get("steps", [])
    for old, new in zip(old_steps, new_steps):
        where = f"line {new['line']}: {new['instruction']}"
        if old["instruction"] != new["instruction"]:
            return where, f"the Dockerfile changed (the lock has `{old['instruction']}`)"
        if old["key"] != new["key"]:
            return where, _key_reason(new["instruction"], locked, current)
        if old["diff_id"] != new["diff_id"]:
            return where, ("not deterministic: the same instruction and inputs made another "
                           "layer (it writes something that changes, such as the date or a "
                           "download)")
    if len(old_steps) != len(new_steps):
        more = "added" if len(new_steps) > len(old_steps) else "removed"
        return "", f"the Dockerfile changed (steps {more})"
    return "", "the image config differs (same layers)"


def _key_reason(instruction: str, locked: dict, current: dict) -> str:
    keyword = instruction.split(None, 1)[0].upper() if instruction.strip() else ""
    if keyword in ("COPY", "ADD"):
        return "a build-context file changed"
    old_args, new_args = locked.get("build_args", {}), current.get("build_args", {})
    changed = sorted(k for k in set(old_args) | set(new_args) if old_args.get(k) != new_args.get(k))
    if changed:
        return "build args changed: " + ", ".join(
            f"{k}={new_args.get(k, '(unset)')} (locked {old_args.get(k, '(unset)')})"
            for k in changed)
    return "its inputs changed (build args, or the SOURCE_DATE_EPOCH of the build)"


def _bootstrap(locked: dict, current: dict, labels: dict) -> tuple[str, str]:
    old = (locked.get("bootstrap") or {}).get("packages") or {}
    new = (current.get("bootstrap") or {}).get("packages") or {}
    changed = [f"{name} {old.get(name, '(none)')} -> {new.get(name, '(none)')}"
               for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        return "", "packages changed: " + ", ".join(changed[:3]) + more
    return "", "the bootstrapped image differs (same package versions)"


def _pull(locked: dict, current: dict, labels: dict) -> tuple[str, str]:
    return "", (f"the registry's image changed: now {current.get('repo_digest') or '-'}, "
                f"the lock has {locked.get('repo_digest') or '-'}")


def _use(locked: dict, current: dict, labels: dict) -> tuple[str, str]:
    name = (locked.get("tags") or [locked.get("magic", "")])[0]
    return "", f"{name} now names {short(current.get('image'))}"


WHY = {"dockerfile": _dockerfile, "bootstrap": _bootstrap, "pull": _pull, "use": _use}
