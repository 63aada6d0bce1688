"""COPY and ADD: files from the context, another stage or image, heredocs, and (ADD) URLs.

    COPY --from=build --chown=app:app /out/app /usr/local/bin/
    ADD --checksum=sha256:... https://example.com/a.tar.gz /src/
    COPY <<EOF /etc/motd
    hello
    EOF

Docker expands variables in the sources, the destination, the flags marked ``expand`` and
the bodies of heredocs whose delimiter is unquoted. The builder's COPY/ADD step
(builder ``copy.py``) reads ``sources``, ``dest``, ``heredoc_files`` and the flags.
"""
from __future__ import annotations

from ...errors import DockerfileError
from .. import arguments
from ..flags import BOOL, STRING, STRINGS, Flag
from ..heredoc import parse_heredoc
from .base import Instruction


class _Files(Instruction):
    """What COPY and ADD share."""

    syntax = staticmethod(arguments.maybe_json_to_list)
    step = "copy"
    heredocs_allowed = True
    chown = Flag(STRING, expand=True)
    chmod = Flag(STRING, expand=True)
    link = Flag(BOOL)
    excludes = Flag(STRINGS, "exclude", expand=True)
    from_ = ""               # COPY --from; ADD reads the context (or URLs) only
    parents = False          # COPY --parents
    source_words: list[str]  # every source as written (heredoc openers included), in order
    dest: str
    heredocs: list           # the heredoc sources' bodies (parser.Heredoc)

    def read(self, args):
        name = self.cmd.upper()
        if len(args) < 2:
            raise DockerfileError(f"{name} requires at least two arguments, but only one was "
                                  "provided. Destination could not be determined")
        if parse_heredoc(args[-1]) is not None:
            raise DockerfileError(f"{name} cannot accept a heredoc as a destination")
        self.source_words, self.dest = args[:-1], args[-1]
        self.heredocs = list(self.node.heredocs)

    @property
    def sources(self) -> list[str]:
        """Source paths (or URLs), without heredoc sources."""
        return [a for a in self.source_words if parse_heredoc(a) is None]

    @property
    def heredoc_files(self) -> list[tuple[str, str, bool]]:
        """(name, content, expand) of each heredoc source, tabs chomped for <<-."""
        by_name = {h.name: h for h in self.heredocs}
        out = []
        for word in self.source_words:
            opener = parse_heredoc(word)
            if opener is not None:
                doc = by_name.get(opener.name, opener)
                out.append((doc.name, doc.text, doc.expand))
        return out

    def expand(self, ex):
        words = [w if parse_heredoc(w) else ex.word(w) for w in self.source_words]
        return self.replace(source_words=words, dest=ex.word(self.dest),
                            flags=self.expanded_flags(ex),
                            heredocs=[ex.heredoc(h) for h in self.heredocs])

    def cache_parts(self, state):
        # A relative destination lands under WORKDIR.
        return super().cache_parts(state) + [state.config.get("WorkingDir") or "/"]

    def references(self):
        return [self.from_] if self.from_ else []


class Copy(_Files):
    """``COPY [--from=stage|image] [--chown] [--chmod] [--link] [--parents] [--exclude] src... dest``."""

    cmd = "copy"
    from_ = Flag(STRING, expand=True)
    parents = Flag(BOOL)


class Add(_Files):
    """``ADD [--chown] [--chmod] [--link] [--checksum] [--keep-git-dir] [--unpack] [--exclude]
    src... dest``: COPY that also unpacks local archives and downloads URLs."""

    cmd = "add"
    checksum = Flag(STRING, expand=True)
    keep_git_dir = Flag(BOOL)
    unpack = Flag(BOOL, default=None)     # None: Docker's default (unpack local archives)
