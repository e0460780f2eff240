"""Reading rule packs: the built-in ones shipped in ``audit_engine/rules`` (the repo's
``rules/`` folder) and user packs (``--pack FILE_OR_DIR``); selecting rules with
``--only``/``--skip``; resolving parameters; compiling, with every problem reported at
its file:line:column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from pydantic import ValidationError

from .. import _yaml
from .._resources import rules_dir
from ..errors import Diagnostic, Location, PackError, UsageError, did_you_mean
from .compile import compile_packs
from .program import CompileProblems, Problem, Program
from .schema import Pack


@dataclass
class LoadedPack:
    pack: Pack
    file: str
    document: object = field(repr=False, default=None)
    builtin: bool = False
    skipped: tuple[str, ...] = ()  # ids of the pack's rules that --only/--skip left out

    @property
    def all_rules(self) -> list:
        """Every rule of the pack file, selected or not (the selected ones are ``pack.rules``)."""
        if not self.skipped:
            return list(self.pack.rules)
        known = {r.id for r in self.pack.rules}
        return list(self.pack.rules) + [_Skipped(i) for i in self.skipped if i not in known]

    def position(self, path: tuple) -> Location:
        if self.document is None and self.file and Path(self.file).is_file():
            try:  # pickled without it (_rulecache.py): read again, the file has the same bytes
                self.document = _yaml.read_settings(self.file, PackError)
            except PackError:
                pass
        if self.document is None:
            return Location(self.file, 1, 1)
        return self.document.position(tuple(path))  # type: ignore[attr-defined]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "document": None}  # positions: read again on demand


def builtin_pack_files() -> list[Path]:
    return sorted(p for p in rules_dir().iterdir() if p.name.endswith(".yaml"))


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in diags:
        if (d.location, d.message) not in seen:
            seen.add((d.location, d.message))
            out.append(d)
    return out


def read_pack(path: str | Path, builtin: bool = False) -> LoadedPack:
    """Read and schema-check one pack file."""
    file = str(path)
    doc = _yaml.read_settings(file, PackError)
    if doc is None:
        raise PackError(f"the pack file {file} is empty", file=file)
    try:
        pack = Pack.model_validate(doc.data)
    except ValidationError as exc:
        raise PackError(_yaml.pydantic_problems(exc, doc)) from None
    return LoadedPack(pack, file, doc, builtin)


def pack_files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            if not found:
                raise UsageError(f"pack folder {p} holds no .yaml files")
            out.extend(found)
        elif p.exists():  # a file; anything but a regular file is refused when it is read
            out.append(p)
        else:
            raise UsageError(f"pack {p} does not exist")
    return out


def load_packs(extra: Iterable[str | Path] = (), builtin: bool = True) -> list[LoadedPack]:
    """The built-in packs (unless ``builtin`` is false) followed by user packs."""
    loaded = [read_pack(p, builtin=True) for p in builtin_pack_files()] if builtin else []
    loaded += [read_pack(p) for p in pack_files(extra)]
    seen: dict[str, LoadedPack] = {}
    for lp in loaded:
        if lp.pack.pack in seen:
            raise PackError(Diagnostic(lp.position(("pack",)), f"pack '{lp.pack.pack}' is already defined by "
                                       f"{seen[lp.pack.pack].file}"))
        seen[lp.pack.pack] = lp
    return loaded


def select(packs: list[LoadedPack], only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[LoadedPack]:
    """Keep the rules named by ``only`` (pack ids or rule ids; all when empty), minus
    ``skip``. Derivations are always kept. Unknown names are a usage error."""
    only, skip = list(only), list(skip)
    pack_ids = {lp.pack.pack for lp in packs}
    rule_ids = {r.id for lp in packs for r in lp.pack.rules}
    for name in only + skip:
        if name not in pack_ids and name.upper() not in rule_ids:
            raise UsageError(f"no pack or rule named '{name}'", did_you_mean(name, sorted(pack_ids | rule_ids)))

    def chosen(pack_id: str, rule_id: str) -> bool:
        keep = not only or pack_id in only or rule_id in {o.upper() for o in only}
        return keep and pack_id not in skip and rule_id not in {s.upper() for s in skip}

    out = []
    for lp in packs:
        rules = [r for r in lp.pack.rules if chosen(lp.pack.pack, r.id)]
        skipped = tuple(r.id for r in lp.pack.rules if not chosen(lp.pack.pack, r.id))
        out.append(LoadedPack(lp.pack.model_copy(update={"rules": rules}), lp.file, lp.document, lp.builtin,
                              lp.skipped + skipped))
    return out


@dataclass(frozen=True)
class _Skipped:
    """A rule left out by --only/--skip: only its id is needed (waivers may still name it)."""

    id: str


def declared_parameters(packs: Iterable[LoadedPack]) -> dict[str, tuple[LoadedPack, object]]:
    out: dict[str, tuple[LoadedPack, object]] = {}
    for lp in packs:
        for name, p in lp.pack.parameters.items():
            out.setdefault(name, (lp, p))
    return out


def resolve_params(packs: list[LoadedPack], overrides: Mapping[str, object]) -> dict[str, int]:
    """Defaults of every declared parameter, with ``overrides`` applied and checked."""
    declared = declared_parameters(packs)
    params = {name: p.default for name, (_, p) in declared.items()}  # type: ignore[attr-defined]
    for name, raw in overrides.items():
        if name not in declared:
            raise UsageError(f"unknown parameter '{name}'", did_you_mean(name, declared))
        try:
            value = int(str(raw).strip(), 10) if not isinstance(raw, int) or isinstance(raw, bool) else raw
        except ValueError:
            raise UsageError(f"parameter '{name}' takes a whole number, got '{raw}'") from None
        minimum = declared[name][1].minimum  # type: ignore[attr-defined]
        if isinstance(value, bool) or value < minimum:
            raise UsageError(f"parameter '{name}' must be at least {minimum}, got {raw}")
        params[name] = value
    return params


def build_program(packs: list[LoadedPack], params: Mapping[str, int]) -> Program:
    """Compile, mapping every problem to file:line:column in its pack."""
    try:
        return compile_packs([lp.pack for lp in packs], dict(params), frozenset(lp.pack.pack for lp in packs if lp.builtin))
    except CompileProblems as exc:
        raise pack_error(packs, exc.problems) from None


def pack_error(packs: list[LoadedPack], problems: list[Problem]) -> PackError:
    """Problems (from the compiler or the engine) at file:line:column in their packs."""
    by_id = {lp.pack.pack: lp for lp in packs}
    diags = []
    for p in problems:
        lp = by_id.get(p.pack)
        loc = lp.position(p.path) if lp else Location("<packs>", 1, 1)
        diags.append(Diagnostic(loc, p.message))
    return PackError(_dedupe(diags))
