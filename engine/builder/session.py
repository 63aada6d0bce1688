"""One build session: stage states, each step (cache lookup, then RUN/COPY/metadata), events.

A stage's state is plain values: the container config, the layers (bottom first), the history,
the ARGs in scope and the cache key that names everything so far. A step maps a state and an
instruction to the next state; build.build() drives it and writes the final image.
"""
from __future__ import annotations

import copy
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace

from ..dockerfile.imageconfig import env_dict
from ..dockerfile.instructions import Cmd
from ..errors import BuildError, DockyardError, ImageNotFound, InvalidArgument, NotFound
from .cache import step_key
from .rootfs import MergedView, lookup_ids
from .stages import stage_index

COMMENT = "buildkit.dockerfile.v0"


@dataclass
class State:
    """Where a stage stands after some steps."""
    config: dict
    layers: list
    history: list
    key: str
    args: dict = field(default_factory=dict)        # ARGs in scope (name -> value)
    author: str = ""
    cmd_set: bool = False
    stage: str = ""

    def view(self) -> MergedView:
        return MergedView([layer.snapshot for layer in reversed(self.layers)])

    def env(self) -> dict[str, str]:
        """What expansion sees: the ARGs in scope, then ENV (ENV wins)."""
        return {**self.args, **env_dict(self.config)}


def _rfc3339(seconds: float) -> str:
    from ..image.model import rfc3339
    return rfc3339(seconds)


class Session:
    def __init__(self, engine, dockerfile, context, cache, *, buildargs, nocache, on_event,
                 epoch, cell, secrets, pins=None):
        self.engine, self.store, self.dockerfile = engine, engine.store, dockerfile
        self.context, self.cache = context, cache
        self.buildargs, self.nocache, self.on_event = buildargs, nocache, on_event
        self.epoch, self.cell, self.secrets = epoch, cell, secrets
        self.pins = dict(pins or {})          # FROM name -> the image id to use instead
        self.meta: dict[str, str] = {}
        self.total = 0
        self.step = 0
        self.states: dict[int, State] = {}
        self.temps: list[str] = []

    # -- events and bookkeeping ------------------------------------------------------------

    def emit(self, event: dict) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def cleanup(self) -> None:
        for path in self.temps:
            shutil.rmtree(path, ignore_errors=True)

    def temp_dir(self) -> str:
        base = self.cache.root / "tmp"
        base.mkdir(parents=True, exist_ok=True)
        path = tempfile.mkdtemp(prefix="step-", dir=base)
        self.temps.append(path)
        return path

    def created(self) -> str:
        return _rfc3339(self.epoch if self.epoch is not None else time.time())

    def history(self, created_by: str, empty: bool) -> dict:
        entry = {"created": self.created(), "created_by": created_by,
                 "comment": COMMENT + (f" cell={self.cell}" if self.cell else "")}
        if empty:
            entry["empty_layer"] = True
        return entry

    # -- stages ----------------------------------------------------------------------------

    def stage_state(self, index: int, trail: tuple = ()) -> State:
        """The final state of stage `index`, building it (and what it needs) on first use."""
        if index in self.states:
            return self.states[index]
        if index in trail:
            raise BuildError(f"circular dependency between build stages at stage {index}")
        stage = self.dockerfile.stages[index]
        trail = trail + (index,)
        state = self._from(stage, trail)
        triggers = state.config.get("OnBuild") or []
        if triggers:
            state.config["OnBuild"] = None        # triggers run once, in the child build
            state = self._onbuild(stage, state, triggers, trail)
        for ins in stage.instructions:
            state = self.build_step(stage, state, ins, trail)
        self.states[index] = state
        return state

    def _from(self, stage, trail) -> State:
        from ..dockerfile import expand
        from_ins = expand(stage.from_instruction, self.meta, escape=self.dockerfile.escape)
        base = from_ins.base
        name = stage.name or str(stage.index)
        number = self._start(stage, f"FROM {base}" + (f" AS {stage.name}" if stage.name else ""),
                    stage.from_line)
        started = time.monotonic()
        other = stage_index(self.dockerfile, base)
        found = None
        if base.lower() == "scratch":
            state = State({}, [], [], "scratch", stage=name)
        elif other is not None and other < stage.index:
            parent = self.stage_state(other, trail)
            state = replace(parent, config=copy.deepcopy(parent.config), layers=list(parent.layers),
                            history=list(parent.history), args={}, cmd_set=False, stage=name)
        else:
            image = self._base_image(base)
            state = State(copy.deepcopy(image.config.get("config") or {}), list(image.layers),
                          list(image.config.get("history") or []), "image:" + image.id,
                          author=image.config.get("author", ""), stage=name)
            found = {"name": base, "image": image.id, "repo_digests": list(image.repo_digests),
                     "pinned": base in self.pins}
        # Nothing was built: the base comes as it is (BuildKit reports such a FROM as CACHED).
        self._done(number, None, 0, started, cached=True, key=state.key,
                   base=found)
        return state

    def _base_image(self, base: str):
        """The image `FROM base` starts from: the pinned one when the caller pinned it; one
        that isn't here is pulled, as Docker does."""
        pinned = self.pins.get(base)
        try:
            return self.store.get(pinned or base)
        except (ImageNotFound, NotFound, InvalidArgument) as exc:
            if pinned:
                raise BuildError(f"FROM {base}: the pinned base {pinned} is not in this data "
                                 "root", f"FROM {base}") from None
            return self._pull_base(base, exc)

    def _pull_base(self, base: str, missing: Exception):
        """FROM an image that isn't here: pull it, as Docker does; one line if that fails too."""
        hint = ("without a registry, make a base with `dockyard image bootstrap "
                "busybox|debian|python` or import one")
        if isinstance(missing, InvalidArgument):
            raise BuildError(f"FROM {base}: {missing}", f"FROM {base}") from None
        self.emit({"type": "output", "step": self.step, "stream": "stdout",
                   "line": f"pulling {base}\n"})
        try:
            return self.engine.images.pull(base)
        except DockyardError as exc:
            raise BuildError(f"FROM {base}: {missing}; pulling it: {exc} ({hint})",
                             f"FROM {base}") from None

    def _onbuild(self, stage, state, triggers, trail) -> State:
        from ..dockerfile import parse
        for text in triggers:
            parsed = parse("FROM scratch\n" + text)
            for ins in parsed.stages[0].instructions:
                self.total += 1
                state = self.build_step(stage, state, ins, trail)
        return state

    # -- steps -----------------------------------------------------------------------------

    def _start(self, stage, text: str, line: int) -> int:
        """Announce a step; its number is returned, since a COPY --from may build a whole
        stage (more steps) before this step is done."""
        self.step += 1
        self.emit({"type": "step-start", "step": self.step, "total": self.total,
                   "stage": stage.name or str(stage.index), "instruction": text, "line": line})
        return self.step

    def _done(self, number, layer, size, started, cached, key=None, base=None) -> None:
        """step-done, with the step's cache key and the diff_id of the layer it made (what a
        notebook lock records); a FROM of an image also names the image it resolved to."""
        event = {"type": "step-done", "step": number,
                 "digest": layer.digest if layer is not None else None,
                 "diff_id": layer.diff_id if layer is not None else None, "key": key,
                 "size": size, "seconds": time.monotonic() - started, "cached": cached}
        if base is not None:
            event["base"] = base
        self.emit(event)

    def build_step(self, stage, state: State, ins, trail) -> State:
        """Apply one instruction: from the cache when its key is known, else for real."""
        from ..dockerfile import expand
        number = self._start(stage, ins.original, ins.start_line)
        started = time.monotonic()
        if ins.step == "arg":
            state = self._arg(state, ins)
            self._done(number, None, 0, started, cached=True,      # ARG builds nothing either
                       key=state.key)
            return state
        expanded = expand(ins, state.env(), escape=self.dockerfile.escape)
        action, inputs = self._plan(state, expanded, trail)
        # SOURCE_DATE_EPOCH decides the layer's mtimes and the history's dates, so a step built
        # with one is another result than the same step built without.
        epoch = "" if self.epoch is None else f"\0SOURCE_DATE_EPOCH={self.epoch}"
        key = step_key(state.key, expanded.cache_key(state), inputs + epoch)
        hit = None if self.nocache else self._cached(key)
        if hit is not None:
            self.emit({"type": "cache-hit", "step": number})
            new = self._apply(state, hit, key, ins)
            layer = new.layers[-1] if hit.get("layer") else None
            self._done(number, layer, layer.size if layer else 0, started, cached=True, key=key)
            return new
        try:
            if action is None:
                config, created_by = expanded.apply(state.config, cmd_set=state.cmd_set)
                record = {"layer": None, "config": config,
                          "history": self.history(created_by, True),
                          "author": expanded.author(state.author)}
            else:
                layer, created_by = action()
                record = {"layer": layer.chain_id, "config": state.config,
                          "history": self.history(created_by, False), "author": state.author}
        except BuildError as exc:
            if not exc.instruction:
                exc.instruction = ins.original
            raise
        self.cache.put(key, record)
        new = self._apply(state, record, key, ins)
        layer = new.layers[-1] if record["layer"] else None
        self._done(number, layer, layer.size if layer else 0, started, cached=False, key=key)
        return new

    def _plan(self, state: State, ins, trail):
        """(action, inputs digest) of the step that runs an expanded instruction; action is
        None for a config step, which changes only the image config."""
        if ins.step == "config":
            return None, ""
        if ins.step == "run":
            from .runplan import plan_run
            return plan_run(self, state, ins, trail)
        if ins.step == "copy":
            return self._plan_copy(state, ins, trail)
        raise BuildError(f"{ins.cmd.upper()} is not supported here", ins.original)

    def _cached(self, key: str) -> dict | None:
        record = self.cache.get(key)
        if record is None:
            return None
        if record.get("layer"):
            try:
                record["_layer"] = self.store.layer(record["layer"])
            except NotFound:
                return None                # pruned since: build the step again
        return record

    def _apply(self, state: State, record: dict, key: str, ins) -> State:
        layers = list(state.layers)
        if record.get("layer"):
            layers.append(record.get("_layer") or self.store.layer(record["layer"]))
        return replace(state, config=copy.deepcopy(record["config"]), layers=layers,
                       history=state.history + [record["history"]], key=key,
                       author=record.get("author", state.author),
                       cmd_set=state.cmd_set or isinstance(ins, Cmd))

    def _arg(self, state: State, ins) -> State:
        from ..dockerfile.shell import process_word
        args = dict(state.args)
        for name, default in ins.pairs:
            name = process_word(name, state.env(), escape=self.dockerfile.escape)
            if name in self.buildargs:
                value = self.buildargs[name]
            elif default is not None:
                value = process_word(default, {**state.env(), **args},
                                     escape=self.dockerfile.escape)
            else:
                value = self.meta.get(name)
            if value is not None:
                args[name] = value
        # The values are part of later RUN keys (Run.cache_parts); ARG itself adds no history
        # entry, as BuildKit.
        return replace(state, args=args)

    # -- COPY / ADD --------------------------------------------------------------------------

    def source_of(self, ref: str, trail) -> tuple[MergedView, str]:
        """The merged view and cache identity of a `--from` stage or image."""
        index = stage_index(self.dockerfile, ref)
        if index is not None:
            state = self.stage_state(index, trail)
            return state.view(), state.key
        try:
            image = self.store.get(ref)
        except (NotFound, InvalidArgument) as exc:
            raise BuildError(f"--from={ref}: no such stage or image ({exc})") from None
        return MergedView([layer.snapshot for layer in reversed(image.layers)]), image.id

    def _plan_copy(self, state: State, ins, trail):
        from .copy import fill_tree, plan_copy
        source_view, source_key = (self.source_of(ins.from_, trail) if ins.from_
                                   else (None, ""))
        base_view = state.view()
        plan = plan_copy(ins, workdir=state.config.get("WorkingDir") or "/",
                         context=self.context, source_view=source_view,
                         source_key=source_key, base_view=base_view, temp_dir=self.temp_dir)
        chown = ins.chown

        def action():
            ids = None
            if chown:
                user, _, group = chown.partition(":")
                ids = lookup_ids(base_view, user, group or None)
            # The tree is filled where its snapshot will live, so the layer costs one copy.
            with self.store.layer_tree() as tree:
                newest = fill_tree(plan, str(tree), ids=ids, base_view=base_view,
                                   dir_time=time.time())
                # Sorted entries always; mtimes clamped to SOURCE_DATE_EPOCH when given, else
                # to the newest source, so directories this step made don't carry build time.
                epoch = self.epoch if self.epoch is not None else int(newest)
                layer = self.store.add_layer_from_dir(tree, state.layers[-1] if state.layers
                                                      else None, epoch=epoch)
            words = [*ins.raw_flags, *ins.source_words, ins.dest]
            return layer, f"{ins.cmd.upper()} {' '.join(words)} # buildkit"
        return action, plan.digest

    # -- the image ---------------------------------------------------------------------------

    def finish(self, state: State, tags: list[str], labels: dict):
        from ..image.model import host_architecture
        config = copy.deepcopy(state.config)
        if labels:
            config["Labels"] = {**(config.get("Labels") or {}), **labels}
        created = (state.history[-1].get("created") if state.history else None) or \
            _rfc3339(self.epoch or 0)
        image_config = {"architecture": host_architecture(), "os": "linux", "created": created,
                        "config": config}
        if state.author:
            image_config["author"] = state.author
        return self.store.create_image(image_config, list(state.layers), tags=tags,
                                       history=state.history)

