"""The package's import graph flows one way: nn -> losses -> models -> formats -> (train | infer) -> cli.

audio/ and image/ are front ends that train/ and infer/ combine with models; models never
import them. This test parses every module (no import side effects) and checks the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "voicegen"

# For each subpackage: the voicegen subpackages it must NOT import.
FORBIDDEN = {
    "nn": {"losses", "models", "formats", "audio", "image", "train", "infer", "eval", "cli"},
    "losses": {"models", "formats", "audio", "image", "train", "infer", "eval", "cli"},
    "models": {"formats", "audio", "image", "train", "infer", "eval", "cli"},
    "audio": {"models", "formats", "train", "infer", "eval", "cli", "image"},
    "image": {"models", "formats", "train", "infer", "eval", "cli", "audio"},
    "formats": {"train", "infer", "eval", "cli"},
    "train": {"infer", "cli"},
    "infer": {"train", "cli"},
    "eval": {"train", "cli"},
}


def _voicegen_imports(path: Path) -> set[str]:
    """Second-level voicegen names imported by a file, e.g. {'audio', 'nn'}."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "voicegen":
                names = [f"voicegen.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}: use absolute imports (voicegen.x), not relative ones")
        for name in names:
            parts = name.split(".")
            if parts[0] == "voicegen" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_imports_flow_one_way() -> None:
    problems = []
    for sub, forbidden in FORBIDDEN.items():
        for path in sorted((PACKAGE / sub).rglob("*.py")):
            bad = _voicegen_imports(path) & forbidden
            if bad:
                problems.append(f"{path.relative_to(PACKAGE.parent)} imports {sorted(bad)}")
    assert not problems, "\n".join(problems)


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
