"""Class 10: a seeded fuzz over WAV headers, artifact JSON, model configs and YAML: every case ends in a
clean VoicegenError or a success, never another exception, never a hang.

Hypothesis is not a dependency; this is a seeded loop, so a failure names its seed and case index
and reruns exactly. Each test stops at its time budget (cases not reached are simply not run).
"""

from __future__ import annotations

import json
import random
import struct
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import CONVERTER, PACKAGE_MODELS, copy_artifact, wav_bytes

from voicegen.errors import VoicegenError

SEED = 18
BUDGET_SECONDS = 5.0
WAV_FIELDS = ((4, "<I"), (16, "<I"), (20, "<H"), (22, "<H"), (24, "<I"), (28, "<I"), (32, "<H"), (34, "<H"),
              (40, "<I"))
INTERESTING = (0, 1, 2, 3, 7, 8, 16, 24, 32, 64, 255, 1000, 3999, 4000, 16000, 768000, 768001, 32767, 65535,
               2**31 - 1, 2**32 - 1)


def _run_cases(name: str, cases: int, make: Callable[[random.Random, int], Callable[[], object]]) -> int:
    """Run ``make(rng, i)()`` for up to ``cases`` cases within BUDGET_SECONDS; fail on any exception
    that is not a VoicegenError (naming the seed and case). Returns the number of cases run."""
    rng = random.Random(f"{SEED}-{name}")
    start = time.perf_counter()
    done = 0
    problems = []
    for i in range(cases):
        if time.perf_counter() - start > BUDGET_SECONDS:
            break
        case = make(rng, i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                case()
            except VoicegenError as err:
                assert "\n" not in str(err), f"{name} case {i}: multi-line error {err!s}"
            except Exception as err:  # noqa: BLE001 - this is what the fuzz looks for
                problems.append(f"{name} seed {SEED} case {i}: {type(err).__name__}: {err}"[:300])
        done += 1
    assert not problems, "\n".join(problems)
    return done


def _mutated_wav(rng: random.Random, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        if op == 0:  # a header field set to an interesting or random value
            offset, fmt = rng.choice(WAV_FIELDS)
            limit = 2**16 - 1 if fmt == "<H" else 2**32 - 1
            value = rng.choice(INTERESTING) if rng.random() < 0.7 else rng.randint(0, limit)
            if len(data) >= offset + struct.calcsize(fmt):
                struct.pack_into(fmt, data, offset, min(value, limit))
        elif op == 1 and data:  # flipped header bytes
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(min(48, len(data)))] = rng.randrange(256)
        elif op == 2 and data:  # truncated anywhere
            del data[rng.randrange(len(data)):]
        elif op == 3:  # garbage appended
            data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
        elif op == 4:  # a chunk id replaced
            at = rng.choice((0, 8, 12, 36))
            data[at:at + 4] = rng.choice((b"RIFX", b"RF64", b"LIST", b"data", b"fmt ", b"\0\0\0\0", b"JUNK"))
        else:  # an unknown chunk of random size before the data
            data[36:36] = b"junk" + struct.pack("<I", rng.choice(INTERESTING)) + bytes(rng.randint(0, 16))
    return bytes(data)


def test_fuzz_wav_headers(tmp_path) -> None:
    from voicegen.audio.io import audio_info, load_audio

    bases = [wav_bytes(seconds=0.1), wav_bytes(seconds=0.1, rate=8000)]

    def make(rng: random.Random, i: int):
        path = tmp_path / f"f{i}.wav"
        path.write_bytes(_mutated_wav(rng, rng.choice(bases)))

        def case():
            audio_info(path)
            load_audio(path, 16000)
        return case

    assert _run_cases("wav", 400, make) >= 50


def _random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice(INTERESTING + (-1, -(2**63), 10**30))
    if kind == 3:
        return rng.choice((0.5, -1.0, 1e308, 1e-308))
    if kind in (4, 5):
        return rng.choice(("", "cyclegan", "vae", "vocoder", "SF1", "../..", "/etc/passwd", "x" * 1000, "é\u0000"))
    if kind in (6, 7):
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(("kind", "speakers", "extra", "name", "vocoder", "config", "a")): _random_json(rng, depth + 1)
            for _ in range(rng.randint(0, 4))}


def _artifact_text(rng: random.Random, real: dict) -> str:
    op = rng.randrange(5)
    if op == 0:  # a real artifact.json with one field replaced
        meta = json.loads(json.dumps(real))
        meta[rng.choice(list(meta) + ["extra", "speakers"])] = _random_json(rng)
        return json.dumps(meta)
    if op == 1:  # random JSON
        return json.dumps(_random_json(rng))
    if op == 2:  # deep or wide nesting
        depth = rng.choice((10, 63, 64, 65, 1000, 100_000))
        return "[" * depth + "]" * depth if rng.random() < 0.5 else '{"a":' * depth + "1" + "}" * depth
    if op == 3:  # a cut or corrupted text
        text = json.dumps(real)
        return text[: rng.randrange(len(text))] + rng.choice(("", "\\", '"', "NaN", "1" * 5000, "\ud800"))
    return json.dumps({**real, "format_version": rng.choice((0, 1, 2, 99, "1", None, True, 1.0))})


def test_fuzz_artifact_json(tmp_path, search_dirs) -> None:
    from voicegen.artifact_meta import read_artifact_meta
    from voicegen.infer.bundles import list_bundles, read_bundle_info

    real = json.loads((CONVERTER / "artifact.json").read_text())

    def make(rng: random.Random, i: int):
        folder = search_dirs / f"b{i}"
        folder.mkdir()
        (folder / "artifact.json").write_text(_artifact_text(rng, real), encoding="utf-8", errors="surrogatepass")

        def case():
            try:
                read_artifact_meta(folder)
            finally:
                read_bundle_info(folder)
        return case

    assert _run_cases("artifact-json", 300, make) >= 50
    problems: list[str] = []
    list_bundles(on_problem=problems.append)  # all the broken ones together: warnings, no exception
    assert all(p.startswith("skipped ") and "\n" not in p for p in problems)


def test_fuzz_model_configs(tmp_path) -> None:
    from voicegen.infer.bundles import load_converter
    from voicegen.infer.vae import load_vae_bundle

    sources = {"cyclegan": (CONVERTER, "generator", load_converter),
               "vae": (PACKAGE_MODELS / "vae16k", "model", load_vae_bundle)}
    copies = {name: copy_artifact(source, tmp_path / name) for name, (source, _, _) in sources.items()}
    originals = {name: (copies[name] / "artifact.json").read_text() for name in copies}
    values = (0, -1, 1, 3, 4, 7, 63, 64, 10**4, 10**6, 10**30, 2.5, "64", None, True, [], [8], [8, 8, 8], {})

    def make(rng: random.Random, i: int):
        name = rng.choice(sorted(sources))
        _, section, load = sources[name]
        meta = json.loads(originals[name])
        fields = meta["config"][section]
        for _ in range(rng.randint(1, 2)):
            fields[rng.choice(sorted(fields))] = rng.choice(values)
        (copies[name] / "artifact.json").write_text(json.dumps(meta))
        return lambda: load(copies[name])

    assert _run_cases("model-config", 60, make) >= 10


def test_fuzz_yaml(tmp_path) -> None:
    from voicegen.config import from_dict, parse_yaml
    from voicegen.train.vocoder import VocoderTrainConfig

    tokens = ("a:", "b:", "trainer:", "max_steps:", "data:", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "&y ", "*y",
              "!!python/object:os.system ", "!!binary ", "'q'", '"\\x00"', "1e999", "9" * 50, "-", "? ", ": ", "\n",
              "  ", "<<: ", "null", "~", "yes", "0x1F", ".inf", "#c", "|", ">", "%YAML 1.1\n---\n")

    def make(rng: random.Random, i: int):
        text = "".join(rng.choice(tokens) for _ in range(rng.randint(1, 40)))

        def case():
            data = parse_yaml(text, source=f"case{i}.yaml")
            if isinstance(data, dict):
                from_dict(VocoderTrainConfig, data, source=f"case{i}.yaml")
        return case

    assert _run_cases("yaml", 2000, make) >= 200


@pytest.mark.parametrize("name", ["wav", "artifact-json", "yaml"])
def test_the_seed_gives_the_same_cases(name) -> None:
    assert random.Random(f"{SEED}-{name}").random() == random.Random(f"{SEED}-{name}").random()
    assert Path(__file__).name == "test_fuzz.py"
