"""The builder's pure parts: .dockerignore matching, context safety and digests, config
changes, RUN argv and history lines, cache keys."""
import os

import pytest

from dockyard.engine.builder.cache import BuildCache, step_key
from dockyard.engine.builder.context import Context, HashMemo
from dockyard.engine.builder.ignore import IgnoreMatcher, parse_ignore, read_ignore_file
from dockyard.engine.builder.runplan import created_by
from dockyard.engine.builder.stages import meta_arg_values, needed_stages
from dockyard.engine.dockerfile import apply_changes, expand, parse
from dockyard.engine.errors import BuildError, InvalidArgument


@pytest.mark.parametrize("patterns, path, ignored", [
    (["*.pyc"], "a.pyc", True),
    (["*.pyc"], "pkg/a.pyc", False),              # * doesn't cross directories
    (["**/*.pyc"], "pkg/sub/a.pyc", True),
    (["**/*.pyc"], "a.pyc", True),                # **/ matches no directory too
    (["data"], "data/x/y.txt", True),             # a parent match covers the children
    (["/data/"], "data/x", True),                 # cleaned: leading / and trailing / dropped
    (["data", "!data/keep.txt"], "data/keep.txt", False),
    (["data", "!data/keep.txt"], "data/other.txt", True),
    (["*", "!src"], "src/main.py", False),
    (["a?c"], "abc", True),
    (["a?c"], "a/c", False),
    (["[a-c]x"], "bx", True),
    (["[!a-c]x"], "bx", False),
    (["docs/**"], "docs/a/b/c.md", True),
    (["./build"], "build/out", True),
    ([], "anything", False),
])
def test_ignore_patterns(patterns, path, ignored):
    assert IgnoreMatcher(patterns).ignored(path) is ignored


def test_ignore_file_comments_and_dockerfile_specific(tmp_path):
    (tmp_path / ".dockerignore").write_text("# comment\n\n*.log\n  tmp  \n")
    assert read_ignore_file(tmp_path) == ["*.log", "tmp"]
    (tmp_path / "app.Dockerfile.dockerignore").write_text("secret\n")
    assert read_ignore_file(tmp_path, "app.Dockerfile") == ["secret"]
    assert parse_ignore("#x\na\n!b\n") == ["a", "!b"]


def _context(tmp_path, ignore=()):
    root = tmp_path / "ctx"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("print(1)\n")
    (root / "src" / "a.pyc").write_bytes(b"\0")
    (root / "README").write_text("hi\n")
    (tmp_path / "outside").write_text("secret\n")
    return Context(root, list(ignore), HashMemo(tmp_path / "memo.json")), root


def test_context_refuses_paths_outside(tmp_path):
    ctx, root = _context(tmp_path)
    with pytest.raises(BuildError, match="outside the build context"):
        ctx.resolve(["../outside"])
    with pytest.raises(BuildError, match="outside the build context"):
        ctx.resolve(["/etc/passwd"])
    os.symlink("../outside", root / "link")
    with pytest.raises(BuildError, match="symlink"):
        ctx.resolve(["link"])
    with pytest.raises(BuildError, match="file not found"):
        ctx.resolve(["missing"])


def test_context_ignore_and_wildcards(tmp_path):
    ctx, root = _context(tmp_path, ["**/*.pyc", "README"])
    with pytest.raises(BuildError, match="excluded by .dockerignore"):
        ctx.resolve(["README"])
    [src] = ctx.resolve(["src"])
    names = [rel for _, rel, _ in ctx.walk(src)]
    assert names == ["a.py"]
    assert [s.rel for s in ctx.resolve(["src/*.py"])] == ["src/a.py"]
    with pytest.raises(BuildError, match="no source files"):
        ctx.resolve(["*.none"])


def test_context_digest_follows_content_not_mtime(tmp_path):
    ctx, root = _context(tmp_path)
    sources = ctx.resolve(["src"])
    first = ctx.digest(sources)
    os.utime(root / "src" / "a.py", (1, 1))
    assert ctx.digest(sources) == first              # BuildKit ignores mtimes too
    (root / "src" / "a.py").write_text("print(2)\n")
    assert ctx.digest(sources) != first
    os.chmod(root / "src" / "a.py", 0o755)
    changed = ctx.digest(sources)
    assert changed != first
    ctx.memo.save()
    memo = HashMemo(tmp_path / "memo.json")
    assert str(root / "src" / "a.py") in memo.entries


def test_metadata_instructions_and_history_lines():
    stage = parse('FROM scratch\nENV A=1 B="two words"\nLABEL k=v\nEXPOSE 80 53/udp 8000-8001\n'
                  'VOLUME /data\nUSER app\nWORKDIR /srv\nWORKDIR sub\nCMD echo hi\n'
                  'ENTRYPOINT ["tini"]\nSTOPSIGNAL SIGINT\nSHELL ["/bin/bash", "-c"]\n'
                  'HEALTHCHECK --interval=5s CMD true\nONBUILD RUN make\n').stages[0]
    config, lines = {}, []
    for ins in stage.instructions:
        config, line = expand(ins, {}).apply(config, cmd_set=True)
        lines.append(line)
    assert config["Env"] == ["A=1", "B=two words"]
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}}
    assert config["WorkingDir"] == "/srv/sub"
    assert config["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert config["Entrypoint"] == ["tini"]
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000}
    assert config["OnBuild"] == ["RUN make"]
    assert lines[0] == "ENV A=1 B=two words"
    assert 'CMD ["/bin/sh" "-c" "echo hi"]' in lines
    assert "WORKDIR /srv/sub" in lines


def test_entrypoint_clears_inherited_cmd():
    ins = parse('FROM scratch\nENTRYPOINT ["x"]\n').stages[0].instructions[0]
    config, _ = ins.apply({"Cmd": ["sh"]}, cmd_set=False)
    assert config["Cmd"] is None


def test_apply_changes():
    config = apply_changes({"Cmd": ["sh"], "Env": ["A=1"]},
                               ['CMD ["echo", "hi"]', "ENV B=$A-2", "EXPOSE 80"])
    assert config["Cmd"] == ["echo", "hi"]
    assert config["Env"] == ["A=1", "B=1-2"]
    with pytest.raises(InvalidArgument, match="RUN is not a valid change"):
        apply_changes({}, ["RUN rm -rf /"])


def test_run_argv_forms_and_history():
    ins = parse("FROM scratch\nRUN echo $HOME\nRUN [\"ls\", \"-l\"]\nRUN <<EOF\necho a\nEOF\n"
                "RUN cat <<EOF > /f\nbody\nEOF\nRUN <<EOF\n#!/usr/bin/python3\nprint(1)\nEOF\n"
                ).stages[0].instructions
    assert ins[0].argv({}) == ["/bin/sh", "-c", "echo $HOME"]
    assert ins[1].argv({"Shell": ["bash", "-c"]}) == ["ls", "-l"]
    assert ins[2].argv({}) == ["/bin/sh", "-c", "echo a\n"]
    assert ins[3].argv({}) == ["/bin/sh", "-c", "cat <<EOF > /f\nbody\nEOF"]
    assert ins[4].argv({})[:2] == ["/usr/bin/python3", "-c"]

    class S:
        config = {"Env": ["B=1"]}
        args = {"A": "x", "B": "y"}
    assert created_by(["/bin/sh", "-c", "make"], S) == "RUN |1 A=x /bin/sh -c make # buildkit"


def test_stage_planning_skips_unused_stages():
    df = parse("ARG BASE=busybox\nFROM $BASE AS a\nFROM scratch AS unused\nRUN false\n"
               "FROM a AS b\nCOPY --from=0 /x /y\nFROM b\n")
    meta = meta_arg_values(df, {})
    assert meta["BASE"] == "busybox" and meta["TARGETOS"] == "linux"
    assert needed_stages(df, 3, meta) == [0, 2, 3]
    assert meta_arg_values(df, {"BASE": "other"})["BASE"] == "other"


def test_cache_keys_and_store(tmp_path):
    assert step_key("p", "RUN x") == step_key("p", "RUN x")
    assert step_key("p", "RUN x") != step_key("p", "RUN y")
    assert step_key("p", "COPY", "sha256:1") != step_key("p", "COPY", "sha256:2")
    cache = BuildCache(tmp_path)
    assert cache.get("k") is None
    cache.put("k", {"layer": None})
    assert cache.get("k") == {"layer": None}
    (cache.steps / "bad.json").write_text("{")
    assert cache.get("bad") is None                 # a torn entry is a miss, not an error
    assert cache.mount_dir("pip") == cache.mount_dir("pip") != cache.mount_dir("apt")


def test_entrypoint_cache_follows_whether_this_stage_set_cmd(tmp_path):
    # ENTRYPOINT keeps CMD only when the same stage set it; `FROM a` starts a new stage, so the
    # same parent and instruction must not hit the entry of the stage that did set CMD.
    from dockyard.engine import Engine
    engine = Engine(tmp_path)
    same = engine.images.build('FROM scratch AS a\nCMD ["x"]\nENTRYPOINT ["y"]\n', context=None)
    child = engine.images.build('FROM scratch AS a\nCMD ["x"]\nFROM a\nENTRYPOINT ["y"]\n',
                                context=None)
    assert same.config["config"]["Cmd"] == ["x"]
    assert not child.config["config"].get("Cmd")


def test_a_missing_context_dir_is_refused_before_any_step(tmp_path):
    from dockyard.engine import Engine
    with pytest.raises(InvalidArgument, match="not found"):
        Engine(tmp_path / "root").images.build("FROM scratch\nCOPY a /a\n",
                                               context=tmp_path / "gone")


def test_context_digest_sees_same_size_rewrite_with_mtime_set_back(tmp_path):
    ctx, root = _context(tmp_path)
    sources = ctx.resolve(["src"])
    first = ctx.digest(sources)
    path = root / "src" / "a.py"
    before = os.stat(path)
    path.write_text("print(7)\n")                    # same size, then the old mtime back
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ctx.digest(sources) != first              # the ctime moved: it is hashed again


def test_unchanged_context_is_known_from_its_stats_alone(tmp_path, monkeypatch):
    from dockyard.engine.builder import hashmemo
    ctx, root = _context(tmp_path)
    sources = ctx.resolve(["src", "README"])
    first = ctx.digest(sources)
    ctx.memo.save()
    (tmp_path / "memo.json").unlink()                # the per-file memo is not needed

    def no_reading(path):
        raise AssertionError(f"read {path}")
    monkeypatch.setattr(hashmemo, "_sha256_file", no_reading)
    again = Context(root, [], HashMemo(tmp_path / "memo.json"))
    assert again.digest(again.resolve(["src", "README"])) == first
    (root / "src" / "new.txt").write_text("x")
    with pytest.raises(AssertionError, match="read "):      # a new listing: files are read
        again.digest(again.resolve(["src", "README"]))
