"""The package's import graph flows one way: nn -> losses -> models -> formats -> (train | infer -> eval) -> cli.

audio/ and image/ are front ends that train/ and infer/ combine with models; models never
import them. recipe/ prepares data (front ends and config only). These tests parse every module
(no import side effects) and check the rules, imports inside functions included (a lazy import
is still a dependency); imports under ``if TYPE_CHECKING:`` are annotations only and do not count.

eval and infer: eval may import infer, infer never imports eval. eval scores what the pipelines
produce (``voicegen eval image`` loads the image models, samples and translates through
infer.image), so it sits downstream of infer; inference must run without the metrics and their
heavy, optional dependencies (WORLD, DNSMOS, speaker encoders). What both need (the digit classifier,
loading an image artifact) lives below them: voicegen.models.classifier, voicegen.formats.image,
voicegen.artifact_guard.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "voicegen"

# For each part of the package: the voicegen parts it must NOT import. A part is a subpackage
# (``audio``), ``cli`` (every ``voicegen/cli*.py``) or ``core`` (the other top-level modules:
# config, checkpoint, errors, fileutil, ...).
FORBIDDEN = {
    "core": {"nn", "losses", "models", "formats", "audio", "image", "recipe", "train", "infer", "eval", "cli", "web"},
    "nn": {"losses", "models", "formats", "audio", "image", "recipe", "train", "infer", "eval", "cli", "web"},
    "losses": {"models", "formats", "audio", "image", "recipe", "train", "infer", "eval", "cli", "web"},
    "models": {"formats", "audio", "image", "recipe", "train", "infer", "eval", "cli", "web"},
    "audio": {"models", "formats", "image", "recipe", "train", "infer", "eval", "cli", "web"},
    "image": {"models", "formats", "audio", "recipe", "train", "infer", "eval", "cli", "web"},
    "formats": {"recipe", "train", "infer", "eval", "cli", "web"},
    "recipe": {"nn", "losses", "models", "formats", "train", "infer", "eval", "cli", "web"},
    "train": {"infer", "recipe", "cli", "web"},
    "infer": {"train", "eval", "recipe", "cli", "web"},
    "eval": {"train", "recipe", "cli", "web"},
    "cli": {"nn", "losses", "models"},  # commands call train/infer/eval, never model code
    "web": {"nn", "losses", "models", "train", "recipe", "cli"},  # the web app: infer and eval, like the commands
}
# What a cli module may import at its top level (everything else inside the commands, so that
# `voicegen --help` and argument errors answer without importing torch).
CLI_TOP_LEVEL = {"errors", "__version__"}  # and the other cli modules
# ... and the typed per-file options, which import only the standard library and errors (the click
# options are checked against them; voicegen/infer/options.py must stay that light), and the
# stop-request holder the SIGTERM handlers call (voicegen/interrupts.py, standard library only).
CLI_TOP_LEVEL_MODULES = ("infer.options", "interrupts")


def _part(name: str) -> str:
    """The part of the package a module belongs to, from its dotted name below voicegen
    (``audio.io``, ``cli_train``, ``checkpoint``)."""
    first = name.split(".")[0]
    if (PACKAGE / first).is_dir():
        return first
    if first.startswith("cli") or first == "__main__":
        return "cli"
    return "__version__" if first == "__version__" else "core"


def _path_part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return _part(rel.parts[0] if len(rel.parts) > 1 else rel.stem)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def _imports(path: Path, *, top_level_only: bool = False) -> Iterator[str]:
    """The voicegen modules a file imports (dotted, without the ``voicegen.`` prefix; a ``from``
    import names module.name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_nodes(tree)
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from voicegen.infer import onnx_runtime` imports the submodule: keep the names
            # (a caller that wants modules drops a trailing name that is not one)
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}: use absolute imports (voicegen.x), not relative ones")
        for name in names:
            if name.startswith("voicegen."):
                yield name.removeprefix("voicegen.")


def _graph() -> dict[str, set[str]]:
    """part -> the other parts its modules import."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _path_part(path)
        targets = {_part(name) for name in _imports(path)} - {source, "__version__"}
        graph.setdefault(source, set()).update(targets)
    return graph


def test_every_part_is_covered() -> None:
    """Each subpackage and the cli modules have a rule (a new subpackage must be given one)."""
    parts = {_path_part(path) for path in PACKAGE.rglob("*.py")} - {"assets"}
    assert parts <= set(FORBIDDEN), sorted(parts - set(FORBIDDEN))
    assert "cli" in parts and "recipe" in parts and "core" in parts


def test_imports_flow_one_way() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _path_part(path)
        bad = {_part(name) for name in _imports(path)} & FORBIDDEN.get(part, set())
        if bad:
            problems.append(f"{path.relative_to(PACKAGE.parent)} ({part}) imports {sorted(bad)}")
    assert not problems, "\n".join(problems)


def test_cli_modules_import_the_library_inside_commands() -> None:
    problems = []
    for path in sorted(PACKAGE.glob("cli*.py")):
        bad = {name for name in _imports(path, top_level_only=True) if _part(name) != "cli"
               and name.split(".")[0] not in CLI_TOP_LEVEL and not name.startswith(CLI_TOP_LEVEL_MODULES)}
        if bad:
            problems.append(f"{path.name} imports {sorted(bad)} at module level")
    assert not problems, "\n".join(problems)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycle_between_parts() -> None:
    """No two parts of the package import each other, directly or through others."""
    cycles = _cycles(_graph())
    assert not cycles, f"import cycles between parts of voicegen: {cycles}"


def test_no_import_cycle_between_modules() -> None:
    """Nor two modules (e.g. infer.vocode -> infer.onnx_runtime, never back), lazy imports included."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            parts = imported.split(".")
            while parts and ".".join(parts) not in modules:  # `from voicegen.x import name` -> x
                parts.pop()
            if parts:
                targets.add(".".join(parts))
        graph[name] = targets - {name}
    cycles = _cycles(graph)
    assert not cycles, f"import cycles between modules of voicegen: {cycles}"


def test_no_pickle_anywhere() -> None:
    """Artifacts and checkpoints load without pickle: no pickle, torch.load or torch.save."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name in {"pickle", "dill", "cloudpickle"} for a in node.names):
                offenders.append(f"{path.name}: import pickle")
            if isinstance(node, ast.Attribute) and node.attr in {"load", "save"}:
                if isinstance(node.value, ast.Name) and node.value.id == "torch":
                    offenders.append(f"{path.name}: torch.{node.attr}")
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                if isinstance(node.value, ast.Constant) and node.value.value is True:
                    offenders.append(f"{path.name}: allow_pickle=True")
    assert not offenders, offenders


def test_cli_module_is_import_light() -> None:
    """`voicegen --help` must not import torch: the CLI imports heavy modules inside commands."""
    import subprocess
    import sys

    code = "import sys, voicegen.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_typed_options_stay_light_enough_for_the_cli_top_level() -> None:
    for module in CLI_TOP_LEVEL_MODULES:
        path = PACKAGE / (module.replace(".", "/") + ".py")
        assert {name.split(".")[0] for name in _imports(path)} <= {"errors"}, f"{path} may import only voicegen.errors"
