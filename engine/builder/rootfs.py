"""What the builder reads from an image's layers without mounting them: `--chown` name lookups.

    view = MergedView([top_diff, ..., base_diff])      # from engine/image/merged.py
    uid, gid = lookup_ids(view, "app", "staff")

MergedView (the layers merged as overlayfs shows them) is re-exported here for the build
steps: COPY --from and the check for an existing destination directory read images through it.
"""
from __future__ import annotations

from ..image.merged import MergedView

__all__ = ["MergedView", "lookup_ids"]


def lookup_ids(view: MergedView | None, user: str, group: str | None) -> tuple[int, int]:
    """uid, gid for `--chown=user[:group]` (names from the image's /etc/passwd, /etc/group)."""
    from ..errors import BuildError

    def table(path: str) -> list[list[str]]:
        data = view.read(path) if view is not None else None
        return [line.split(":") for line in (data or b"").decode(errors="replace").splitlines()]

    if user.isdigit():
        uid, gid = int(user), int(user) if group is None else None
    else:
        rows = [r for r in table("/etc/passwd") if r[0] == user and len(r) > 3]
        if not rows:
            raise BuildError(f"unable to find user {user}: no matching entries in passwd file")
        uid, gid = int(rows[0][2]), int(rows[0][3])
    if group is not None:
        if group.isdigit():
            gid = int(group)
        else:
            rows = [r for r in table("/etc/group") if r[0] == group and len(r) > 2]
            if not rows:
                raise BuildError(f"unable to find group {group}: no matching entries in "
                                 "group file")
            gid = int(rows[0][2])
    return uid, gid
