"""CycleGAN training: the task's phases and losses, masked mel datasets, the bundle and convert_mel, a real run."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from chunking import crossfade_spans
from torch import nn

from voicegen.audio.features import get_preset
from voicegen.audio.mel_datasets import MelClips, UnpairedMelDataset, frame_mask
from voicegen.audio.stats import SpeakerStats, denormalize, normalize
from voicegen.checkpoint import load_artifact
from voicegen.config import from_dict
from voicegen.errors import ArtifactError, ConfigError
from voicegen.infer.cyclegan import CycleGANBundle, load_cyclegan_bundle
from voicegen.models.cyclegan import build_discriminator, build_generator, build_resnet_generator, generator_config
from voicegen.train.config import TrainerConfig
from voicegen.train.cyclegan import DEFAULT_LOSS_WEIGHTS, CycleGANTrainConfig, export_cyclegan, train_cyclegan
from voicegen.train.cyclegan_task import CycleGANTask

TINY_G = {"base_channels": 8, "down_channels": 8, "bottleneck_channels": 16, "residual_channels": 16,
          "n_residual": 1, "up_channels": [8, 8]}
TINY_D = {"base_channels": 8, "max_channels": 16, "n_layers": 2}
VC16K = get_preset("vc16k")


def make_task(identity_steps: int = 2, two_step: bool = True, seed: int = 0) -> CycleGANTask:
    torch.manual_seed(seed)
    generators = [build_generator(TINY_G) for _ in range(2)]
    discriminators = [build_discriminator(TINY_D) for _ in range(4 if two_step else 2)]
    if not two_step:
        discriminators += [None, None]
    return CycleGANTask(*generators, *discriminators, identity_steps=identity_steps)


def fixed_batch(frames: int = 16) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    mask_a = torch.stack([frame_mask(80, frames, 6, g) for _ in range(2)])
    mask_b = torch.stack([frame_mask(80, frames, 6, g) for _ in range(2)])
    return {"a": torch.randn(2, 80, frames, generator=g), "b": torch.randn(2, 80, frames, generator=g) + 0.5,
            "mask_a": mask_a, "mask_b": mask_b}


def test_phases_identity_window_and_one_generator_pass_per_step() -> None:
    task = make_task(identity_steps=2)
    assert task.optimizer_groups() == {"gen": ["G_ab", "G_ba"], "disc": ["D_a", "D_b", "D_a2", "D_b2"]}
    calls = []
    for name in ("G_ab", "G_ba"):
        task.modules()[name].register_forward_hook(lambda *args, n=name: calls.append(n))
    batch = fixed_batch()
    for step in (1, 2, 3):
        calls.clear()
        gen = task.losses("gen", batch, step)
        disc = task.losses("disc", batch, step)
        expected = ["adv2_g", "adv_g", "cycle"] + (["identity"] if step <= 2 else [])
        assert sorted(gen) == expected and sorted(disc) == ["adv2_d", "adv_d"]
        assert all(v.dim() == 0 and math.isfinite(v.item()) for v in {**gen, **disc}.values())
        # fake + cycle per direction (+ identity): the disc phase reuses them, detached.
        assert len(calls) == (6 if step <= 2 else 4)
        assert not any(p.grad is not None for p in task.G_ab.parameters())
    assert task.loss_names() == {"gen": ["adv_g", "adv2_g", "cycle", "identity"], "disc": ["adv_d", "adv2_d"]}


def test_without_two_step_there_are_four_modules_and_no_adv2_losses() -> None:
    task = make_task(identity_steps=0, two_step=False)
    assert sorted(task.modules()) == ["D_a", "D_b", "G_ab", "G_ba"]
    assert sorted(task.losses("gen", fixed_batch(), 1)) == ["adv_g", "cycle"]
    assert sorted(task.losses("disc", fixed_batch(), 1)) == ["adv_d"]


def weighted_gen_loss(task: CycleGANTask, batch: dict, step: int) -> torch.Tensor:
    losses = task.losses("gen", batch, step)
    return sum(DEFAULT_LOSS_WEIGHTS[name] * value for name, value in losses.items())


def test_one_adam_step_lowers_the_generator_loss_on_a_fixed_batch() -> None:
    task = make_task(identity_steps=10)
    batch = fixed_batch()
    params = [p for name in ("G_ab", "G_ba") for p in task.modules()[name].parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))
    before = weighted_gen_loss(task, batch, 1)
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = weighted_gen_loss(task, batch, 2)
    assert after < before - 1e-3


def test_the_same_step_trains_image_generators() -> None:
    torch.manual_seed(0)
    generators = [build_resnet_generator({"base_channels": 4, "n_residual": 1}) for _ in range(2)]
    discriminators = [build_discriminator({"in_channels": 3, "base_channels": 4, "n_layers": 2}) for _ in range(2)]
    task = CycleGANTask(*generators, *discriminators, identity_steps=1)
    images = (torch.rand(1, 3, 24, 24) * 2 - 1, torch.rand(1, 3, 24, 24) * 2 - 1)
    assert sorted(task.losses("gen", images, 1)) == ["adv_g", "cycle", "identity"]
    assert sorted(task.losses("disc", images, 1)) == ["adv_d"]


def test_frame_mask_zeroes_one_contiguous_run() -> None:
    lengths = set()
    for seed in range(40):
        mask = frame_mask(80, 64, 25, torch.Generator().manual_seed(seed))
        assert mask.shape == (80, 64)
        assert torch.equal(mask, mask[:1].expand(80, 64))  # whole frames
        zeros = torch.nonzero(mask[0] == 0).flatten().tolist()
        if zeros:
            assert zeros == list(range(zeros[0], zeros[-1] + 1))
        lengths.add(len(zeros))
    assert max(lengths) <= 25 and len(lengths) > 10
    assert torch.equal(frame_mask(80, 64, 0, torch.Generator().manual_seed(0)), torch.ones(80, 64))


@pytest.fixture(scope="module")
def speaker_dirs(tmp_path_factory, samples_dir: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("speakers")
    dir_a, dir_b = root / "SF1", root / "TM1"
    dir_a.mkdir()
    dir_b.mkdir()
    for name in ("SF1_200001.wav", "SF1_100001.wav"):
        shutil.copy(samples_dir / name, dir_a / name)
    for name in ("TM1_200001.wav", "TM1_100082.wav"):
        shutil.copy(samples_dir / name, dir_b / name)
    return dir_a, dir_b


def test_unpaired_dataset_items_follow_the_seed(speaker_dirs: tuple[Path, Path]) -> None:
    dir_a, dir_b = speaker_dirs
    dataset = UnpairedMelDataset(dir_a, dir_b, VC16K, segment_frames=32, mask_max_frames=10, repeats=3)
    assert len(dataset) == 6
    item = dataset[(0, 7)]
    assert {k: tuple(v.shape) for k, v in item.items()} == {k: (80, 32) for k in ("a", "b", "mask_a", "mask_b")}
    again = dataset[(5, 7)]  # the index only counts items; the seed decides everything
    assert all(torch.equal(item[k], again[k]) for k in item)
    assert not torch.equal(dataset[(0, 8)]["a"], item["a"])
    # Normalised with each speaker's own stats: pooled over all frames, mean 0 and std 1 per band.
    pooled = np.concatenate(dataset.speaker_b.mels, axis=1)
    assert np.abs(pooled.mean(axis=1)).max() < 1e-3
    assert np.abs(pooled.std(axis=1) - 1).max() < 1e-2
    assert dataset.stats_a.num_files == 2 and dataset.stats_a.mel_mean.shape == (80,)
    # Given stats are used as they are (here B's stats for A: A's mels are no longer centred).
    shifted = UnpairedMelDataset(dir_a, dir_b, VC16K, segment_frames=32, stats_a=dataset.stats_b,
                                 stats_b=dataset.stats_b)
    assert np.abs(np.concatenate(shifted.speaker_a.mels, axis=1).mean(axis=1)).max() > 0.1
    clips = MelClips(dataset.speaker_a.files, VC16K, dataset.stats_a, max_frames=100)
    assert len(clips) == 2 and clips[1]["index"] == 1
    np.testing.assert_array_equal(clips[1]["a"].numpy(), dataset.speaker_a.mels[1][:, :100])


def tiny_bundle(seed: int = 0) -> tuple[CycleGANBundle, SpeakerStats, SpeakerStats]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    stats = [SpeakerStats(mel_mean=rng.normal(-5, 1, 80), mel_std=rng.uniform(0.5, 2, 80), log_f0_mean=None,
                          log_f0_std=None, num_files=1, total_seconds=1.0, num_frames=10, num_voiced_frames=0,
                          features=VC16K) for _ in range(2)]
    generators = {("A", "B"): build_generator(TINY_G).eval(), ("B", "A"): build_generator(TINY_G).eval()}
    bundle = CycleGANBundle(generators, ("A", "B"), {"A": stats[0], "B": stats[1]}, VC16K,
                            generator_config(TINY_G), torch.device("cpu"))
    return bundle, stats[0], stats[1]


def test_export_then_load_gives_the_same_conversions(tmp_path: Path) -> None:
    bundle, stats_a, stats_b = tiny_bundle()
    g_ab, g_ba = bundle.generators[("A", "B")], bundle.generators[("B", "A")]
    mel = np.random.default_rng(1).normal(-5, 2, (80, 50)).astype(np.float32)
    with torch.no_grad():
        expected = denormalize(g_ab(torch.from_numpy(normalize(mel, stats_a))[None])[0].numpy(), stats_b)
    np.testing.assert_allclose(bundle.convert_mel(mel, "A", "B"), expected, rtol=1e-5, atol=1e-4)

    exact = export_cyclegan(g_ab, g_ba, TINY_G, VC16K, {"SF1": stats_a, "TM1": stats_b}, tmp_path / "f32", dtype=None)
    loaded = load_cyclegan_bundle(exact)
    assert loaded.speakers == ("SF1", "TM1") and loaded.feature_config == VC16K
    np.testing.assert_allclose(loaded.stats["TM1"].mel_std, stats_b.mel_std)
    np.testing.assert_allclose(loaded.convert_mel(mel, "SF1", "TM1"), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(loaded.convert_mel(mel, "TM1", "SF1"), bundle.convert_mel(mel, "B", "A"),
                               rtol=1e-5, atol=1e-4)
    # The default float16 export converts to within float16 rounding of the float32 weights.
    half = load_cyclegan_bundle(export_cyclegan(g_ab, g_ba, TINY_G, VC16K, {"SF1": stats_a, "TM1": stats_b},
                                                tmp_path / "f16"))
    assert np.abs(half.convert_mel(mel, "SF1", "TM1") - expected).mean() < 0.01
    with pytest.raises(ConfigError, match=r"speaker 'XX' is not in this converter \(speakers: SF1, TM1\)"):
        loaded.convert_mel(mel, "SF1", "XX")
    with pytest.raises(ValueError, match=r"expected a log-mel \(80, frames\), got shape \(50, 80\)"):
        loaded.convert_mel(mel.T, "SF1", "TM1")
    meta = json.loads((exact / "artifact.json").read_text())
    meta["speakers"] = ["SF1", "SF1"]
    (exact / "artifact.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="'speakers' must name two different speakers"):
        load_cyclegan_bundle(exact)


def test_chunks_cover_the_input_and_crossfade_seamlessly() -> None:
    assert crossfade_spans(100, 128, 32) == [(0, 100)]
    assert crossfade_spans(300, 128, 32) == [(0, 128), (96, 214), (182, 300)]
    bundle, _, _ = tiny_bundle()
    # A local stand-in generator (receptive field +-2 frames): chunked must equal whole away from seams.
    torch.manual_seed(0)
    local = nn.Conv1d(80, 80, 5, padding=2)
    calls = []
    bundle.generators[("A", "B")] = lambda x: calls.append(x[0].clone()) or local(x)
    mel = np.random.default_rng(2).normal(-5, 2, (80, 300)).astype(np.float32)
    bundle.convert_mel(mel, "A", "B", chunk_frames=128, overlap_frames=32)
    normalised = torch.from_numpy(normalize(mel, bundle.stats["A"]))
    assert len(calls) == 3
    for got, (start, stop) in zip(calls, crossfade_spans(300, 128, 32)):
        assert torch.equal(got, normalised[:, start:stop])
    bundle.generators[("A", "B")] = local
    whole = bundle.convert_mel(mel, "A", "B", chunk_frames=400)
    chunked = bundle.convert_mel(mel, "A", "B", chunk_frames=128, overlap_frames=32)
    near_edges = np.zeros(300, dtype=bool)
    for start, stop in crossfade_spans(300, 128, 32):
        near_edges[max(start - 3, 0):start + 3] = True
        near_edges[max(stop - 3, 0):stop + 3] = True
    np.testing.assert_allclose(chunked[:, ~near_edges], whole[:, ~near_edges], rtol=1e-5, atol=1e-4)
    # At the chunk edges the zero padding differs, but the crossfade keeps the error small.
    assert np.abs(chunked - whole).max() < 0.1 * np.abs(whole).mean()


def tiny_config(dir_a: Path, dir_b: Path, **sections) -> CycleGANTrainConfig:
    data = {"generator": TINY_G, "discriminator": TINY_D, "identity_steps": 3,
            "data": {"dir_a": str(dir_a), "dir_b": str(dir_b), "val_count": 1, "segment_frames": 16,
                     "mask_max_frames": 6},
            "trainer": {"max_steps": 6, "batch_size": 2, "device": "cpu", "log_every": 1, "val_every": 6,
                        "checkpoint_every": 0, "progress": False, "tensorboard": False}}
    data.update(sections)
    return from_dict(CycleGANTrainConfig, data, source="test")


@pytest.mark.parametrize(("change", "message"), [
    ({"generator": {**TINY_G, "n_mels": 64}}, "generator.n_mels is 64 but the mel contract (features) has n_mels 80"),
    ({"discriminator": {"preset": "image"}}, "discriminator.in_channels must be 1 for mels, got 3"),
    ({"speaker_a": "X", "speaker_b": "X"}, "speaker_a and speaker_b are both 'X'"),
    ({"data": {"segment_frames": 4}}, "data.segment_frames must be >= 8, got 4"),
    ({"trainer": {"max_steps": 2, "batch_size": 1, "val_batch_size": 2}}, "trainer.val_batch_size must be 1"),
    ({"data": {"dir_a": "a", "dir_b": "b", "val_dnsmos_framings": -1}},
     "data.val_dnsmos_framings must be an integer >= 1, got -1"),
])
def test_config_errors_are_one_line(change: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        tiny_config(Path("a"), Path("b"), **change)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_config_defaults() -> None:
    config = tiny_config(Path("a"), Path("b"), two_step=False, data={"segment_frames": 16})
    assert config.trainer.loss_weights == {"adv_g": 1.0, "cycle": 10.0, "identity": 5.0, "adv_d": 1.0}
    gen, disc = config.trainer.optimizers["gen"], config.trainer.optimizers["disc"]
    assert (gen.lr, disc.lr, gen.betas, gen.scheduler) == (2e-4, 1e-4, (0.5, 0.999), "linear_decay")
    assert config.generator["n_mels"] == 80
    assert config.data.mask_max_frames == 6  # 25 of 64 frames, scaled to the 16-frame crops
    assert config.data.val_dnsmos_framings == 4


def test_short_training_run_exports_a_bundle(speaker_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    dir_a, dir_b = speaker_dirs
    vocoded = []

    def vocoder_fn(mel: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        assert rows is None  # a mel-only vocoder: no F0 settings given to train_cyclegan
        vocoded.append(mel.shape)
        return np.zeros(mel.shape[1] * VC16K.hop_length, dtype=np.float32)

    run_dir = tmp_path / "run"
    export = train_cyclegan(tiny_config(dir_a, dir_b), run_dir, resume=False, vocoder_fn=vocoder_fn)
    assert export == run_dir / "export"
    meta = json.loads((export / "artifact.json").read_text())
    assert meta["kind"] == "cyclegan" and meta["speakers"] == ["SF1", "TM1"] and meta["dtype"] == "float16"
    assert sorted(meta["stats"]) == ["SF1", "TM1"] and meta["stats"]["SF1"]["num_files"] == 1  # one held out
    assert meta["mel"] == VC16K.to_dict() and meta["config"]["generator"]["base_channels"] == 8
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert "gen/identity" in records[2] and "gen/identity" not in records[3]  # identity_steps = 3
    assert math.isfinite(records[-1]["val/cycle_l1"])
    assert (run_dir / "samples" / "step_00000006" / "val_mel_0.png").is_file()
    assert (run_dir / "samples" / "step_00000006" / "val_converted_0.wav").is_file() and vocoded[0][0] == 80
    bundle = load_cyclegan_bundle(export)
    mel = np.full((80, 20), -4.0, dtype=np.float32)
    assert bundle.convert_mel(mel, "TM1", "SF1").shape == (80, 20)


def test_resume_continues_exactly(speaker_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    """Items, masks and steps depend only on seeds and the checkpoint: 4 steps == 2 steps + resume."""
    dir_a, dir_b = speaker_dirs
    trainer = {"max_steps": 4, "batch_size": 2, "device": "cpu", "log_every": 1, "checkpoint_every": 2,
               "progress": False, "tensorboard": False}
    config = tiny_config(dir_a, dir_b, trainer=trainer, data={"dir_a": str(dir_a), "dir_b": str(dir_b),
                                                              "val_count": 0, "segment_frames": 16, "repeats": 2})
    straight = load_cyclegan_bundle(train_cyclegan(config, tmp_path / "run", resume=False))
    (tmp_path / "run" / "checkpoints" / "step_00000004.safetensors").unlink()
    resumed = load_cyclegan_bundle(train_cyclegan(config, tmp_path / "run", resume=True))
    for key, generator in straight.generators.items():
        for (name, tensor), other in zip(generator.state_dict().items(), resumed.generators[key].state_dict().values()):
            assert torch.equal(tensor, other), name


def test_parallel_validation_pairs_are_scored_and_pick_the_exported_step(speaker_dirs, tmp_path, monkeypatch) -> None:
    import voicegen.eval.scoring
    from voicegen.audio.f0 import F0Config

    framings = []
    monkeypatch.setattr(voicegen.eval.scoring, "dnsmos_available", lambda: True)
    monkeypatch.setattr(voicegen.eval.scoring, "dnsmos_scores",
                        lambda wav, rate, k=1: framings.append(k) or {"dnsmos_ovrl": 3.0 + 0.1 * len(framings)})

    dir_a, dir_b = speaker_dirs
    val_src, val_trg = tmp_path / "val" / "SF1", tmp_path / "val" / "TM1"
    val_src.mkdir(parents=True)
    val_trg.mkdir(parents=True)
    shutil.copy(dir_a / "SF1_200001.wav", val_src / "200001.wav")
    shutil.copy(dir_b / "TM1_200001.wav", val_trg / "200001.wav")
    calls = []

    def vocoder_fn(mel: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        assert rows is not None and rows.shape == (2, mel.shape[1])  # F0 rows moved towards TM1
        calls.append(mel.shape[1])
        t = np.arange(mel.shape[1] * VC16K.hop_length) / VC16K.sample_rate
        return (0.1 * np.sin(2 * np.pi * 120 * t) * (1 + 0.1 * mel.mean())).astype(np.float32)

    config = tiny_config(dir_a, dir_b, data={"dir_a": str(dir_a), "dir_b": str(dir_b), "val_count": 0,
                                             "segment_frames": 16, "mask_max_frames": 6, "val_dnsmos_framings": 2,
                                             "val_source": str(val_src), "val_target": str(val_trg)},
                         trainer={"max_steps": 6, "batch_size": 2, "device": "cpu", "log_every": 3, "val_every": 3,
                                  "checkpoint_every": 0, "progress": False, "tensorboard": False,
                                  "ema_decay": 0.9, "ema_modules": ["G_ab", "G_ba"], "best_metric": "mcd_db"})
    train_cyclegan(config, tmp_path / "run", resume=False, vocoder_fn=vocoder_fn, vocoder_f0=F0Config())
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    scored = [r for r in rows if "val/mcd_db" in r]
    assert [r["step"] for r in scored] == [3, 6] and all(r["val/mcd_db"] > 0 for r in scored)
    assert all("val/f0_rmse_cents" in r and "val/gpe" in r for r in scored)
    assert framings == [2, 2] and [r["val/dnsmos_ovrl"] for r in scored] == pytest.approx([3.1, 3.2])
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["value"] == min(r["val/mcd_db"] for r in scored) and best["metric"] == "mcd_db"
    assert len(calls) == 2  # one validation pair, two validations


def test_schedules_given_as_fractions_follow_max_steps(tmp_path) -> None:
    from voicegen.train.config import OptimizerConfig
    from voicegen.train.optim import lr_factor

    config = tiny_config(Path("a"), Path("b"), identity_fraction=0.05,
                         trainer={"max_steps": 800, "batch_size": 1, "device": "cpu", "val_every": 0,
                                  "optimizers": {"gen": {"scheduler": "linear_decay", "decay_start_fraction": 0.5}}})
    assert config.identity_steps == 40
    factor = lr_factor(config.trainer.optimizers["gen"], 800)
    assert (factor(399), factor(400), factor(600), factor(800)) == (1.0, 1.0, 0.5, 0.0)
    with pytest.raises(ConfigError, match="give decay_start or decay_start_fraction, not both"):
        TrainerConfig(max_steps=10, batch_size=1, optimizers={
            "gen": OptimizerConfig(scheduler="linear_decay", decay_start=5, decay_start_fraction=0.5)})


def test_init_from_an_exported_converter_starts_both_generators(speaker_dirs, tmp_path) -> None:
    from voicegen.train.cyclegan import build_models, init_generators_from

    dir_a, dir_b = speaker_dirs
    config = tiny_config(dir_a, dir_b, trainer={"max_steps": 2, "batch_size": 2, "device": "cpu", "val_every": 0,
                                                "checkpoint_every": 0, "progress": False, "tensorboard": False})
    export = train_cyclegan(config, tmp_path / "base", resume=False)
    fresh = build_models(dataclasses.replace(config, trainer=dataclasses.replace(config.trainer, seed=99)))
    init_generators_from(fresh, config, export)
    exported = load_artifact(export)
    for name in ("G_ab", "G_ba"):
        for key, tensor in fresh[name].state_dict().items():
            torch.testing.assert_close(tensor, exported.weights[name][key])
    wider = tiny_config(dir_a, dir_b, generator={**TINY_G, "base_channels": 16})
    with pytest.raises(ConfigError, match="its generators differ from the config in base_channels"):
        init_generators_from(build_models(wider), wider, export)


def test_an_interrupted_minutes_run_resumes_to_its_measured_step_and_schedule(speaker_dirs, tmp_path,
                                                                               monkeypatch) -> None:
    import voicegen.train.cyclegan as cyclegan_module
    from voicegen.checkpoint import latest_checkpoint, read_state_metadata
    from voicegen.yamlio import load_yaml

    monkeypatch.setattr(cyclegan_module, "calibrate_max_steps", lambda task, dataset, trainer_config, minutes: 6)
    dir_a, dir_b = speaker_dirs
    run = tmp_path / "run"

    def config() -> CycleGANTrainConfig:  # the config file's 12 steps, identity loss for half of them
        return tiny_config(dir_a, dir_b, identity_fraction=0.5, trainer={
            "max_steps": 12, "batch_size": 2, "device": "cpu", "val_every": 0, "checkpoint_every": 2, "keep_last": 10,
            "progress": False, "tensorboard": False})

    assert config().identity_steps == 6
    train_cyclegan(config(), run, resume="auto", minutes=0.5)
    saved = load_yaml(run / "config.yaml")
    assert (saved["trainer"]["max_steps"], saved["identity_steps"]) == (6, 3)
    for path in (run / "checkpoints").glob("step_00000006*"):  # as if stopped after step 4
        path.unlink()
    shutil.rmtree(run / "export")
    train_cyclegan(config(), run, resume="auto", minutes=0.5)
    assert int(read_state_metadata(latest_checkpoint(run))["step"]) == 6
    saved = load_yaml(run / "config.yaml")
    assert (saved["trainer"]["max_steps"], saved["identity_steps"]) == (6, 3)
