"""VAE training: losses and capacity, collapse warning, pooled stats, the tiny recipe end to end."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from voicegen.audio.features import get_preset
from voicegen.audio.stats import SpeakerStats, compute_stats
from voicegen.audio.vae_datasets import pool_stats
from voicegen.checkpoint import load_artifact
from voicegen.config import load_config
from voicegen.errors import ConfigError
from voicegen.models.vae import build_vae
from voicegen.train.vae import VAETrainConfig, train_vae
from voicegen.train.vae_task import COLLAPSE_NATS, PosteriorCollapseWarning, VAETask, check_collapse

REPO = Path(__file__).resolve().parents[2]
TINY_YAML = REPO / "recipes" / "vae16k" / "conf" / "tiny.yaml"
VC16K = get_preset("vc16k")


def make_task(**kwargs) -> VAETask:
    torch.manual_seed(0)
    model = build_vae({"channels": [8, 16], "latent_channels": 4, "n_residual": 0, "n_speakers": 2,
                       "speaker_dim": 8})
    return VAETask(model, **kwargs)


def batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {"mel": torch.randn(2, 80, 16, generator=g), "speaker": torch.tensor([0, 1])}


def test_losses_and_capacity_annealing() -> None:
    task = make_task()
    assert task.optimizer_groups() == {"vae": ["vae"]}
    losses = task.losses("vae", batch(), 1)
    assert sorted(losses) == ["kl", "kl_nats", "rec"]
    # kl is nats per mel bin; kl_nats the same KL per latent frame (16 frames -> 4 latent frames)
    torch.testing.assert_close(losses["kl"] * 80 * 16 / 4, losses["kl_nats"])
    assert task.capacity(500) == 0.0
    annealed = make_task(capacity_max=20.0, capacity_steps=1000)
    assert [annealed.capacity(s) for s in (0, 250, 1000, 5000)] == [0.0, 5.0, 20.0, 20.0]
    torch.manual_seed(2)  # the same posterior draw for both
    plain = task.losses("vae", batch(), 250)
    torch.manual_seed(2)
    capped = annealed.losses("vae", batch(), 250)
    # |KL - C| with C = 5 nats per latent frame, in nats per mel bin
    expected = (capped["kl_nats"] - 5.0).abs() * 4 / (80 * 16)
    torch.testing.assert_close(capped["kl"], expected)
    torch.testing.assert_close(capped["rec"], plain["rec"])


def test_collapse_warning_fires_on_a_collapsed_posterior(tmp_path: Path) -> None:
    messages = []

    class Logger:
        def info(self, message: str) -> None:
            messages.append(message)

        def figure(self, *args) -> None:
            raise AssertionError("no figure without feature_config")

    with pytest.warns(PosteriorCollapseWarning, match="3 of 4 latent dims have KL < 0.01 nats"):
        assert check_collapse(torch.tensor([0.0, 0.001, 0.005, 2.0]), Logger(), 7)
    assert messages and messages[0].startswith("step 7: posterior collapse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not check_collapse(torch.tensor([0.0, 0.001, 1.0, 2.0]))  # exactly half: no warning
    # A task whose encoder outputs mean 0, logvar 0 (= the prior) collapses every dim, warned once per step.
    task = make_task()
    with torch.no_grad():
        task.model.to_moments.weight.zero_()
        task.model.to_moments.bias.zero_()
    messages.clear()
    with pytest.warns(PosteriorCollapseWarning) as record, torch.no_grad():  # the Trainer validates under no_grad
        metrics = task.validate(batch(), 10, Logger())
        task.validate(batch(), 10, Logger())
    assert len([w for w in record if w.category is PosteriorCollapseWarning]) == 1 and len(messages) == 1
    assert metrics["active_dims"] == 0 and all(metrics[f"kl_dim/{i}"] < COLLAPSE_NATS for i in range(4))


def test_pool_stats_equals_stats_over_all_files(samples_dir: Path) -> None:
    files_a = [samples_dir / "SF1_200001.wav", samples_dir / "SF1_100001.wav"]
    files_b = [samples_dir / "TM1_200001.wav"]
    pooled = pool_stats([compute_stats(files_a, VC16K, progress=False), compute_stats(files_b, VC16K, progress=False)])
    direct = compute_stats(files_a + files_b, VC16K, progress=False)
    np.testing.assert_allclose(pooled.mel_mean, direct.mel_mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pooled.mel_std, direct.mel_std, rtol=1e-6, atol=1e-9)
    assert math.isclose(pooled.log_f0_mean, direct.log_f0_mean, rel_tol=1e-9)
    assert math.isclose(pooled.log_f0_std, direct.log_f0_std, rel_tol=1e-6)
    assert (pooled.num_files, pooled.num_frames) == (3, direct.num_frames)


@pytest.mark.parametrize(("override", "message"), [
    ("model.n_speakers=3", "model.n_speakers is 3 but data.speakers names 2"),
    ("model.n_mels=64", "model.n_mels is 64 but the mel contract (features) has 80"),
    ("trainer.loss_weights={kl: 2.0}", "trainer.loss_weights.kl is 2.0 but beta / capacity_gamma gives 1.0"),
    ("trainer.val_batch_size=2", "trainer.val_batch_size must be 1"),
])
def test_config_errors_are_one_line(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(VAETrainConfig, TINY_YAML, [override])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_tiny_recipe_trains_and_exports_both_speakers(samples_dir: Path, tmp_path: Path) -> None:
    for speaker, names in (("SF1", ("SF1_200001.wav", "SF1_100001.wav")), ("TM1", ("TM1_200001.wav", "TM1_100082.wav"))):
        (tmp_path / speaker).mkdir()
        for name in names:
            shutil.copy(samples_dir / name, tmp_path / speaker / name)
    config = load_config(VAETrainConfig, TINY_YAML, [
        f"data.speakers={{SF1: {tmp_path / 'SF1'}, TM1: {tmp_path / 'TM1'}}}", "trainer.device=cpu", "beta=0.5"])
    assert config.trainer.loss_weights == {"rec": 1.0, "kl": 0.5, "kl_nats": 0.0}
    run_dir = tmp_path / "run"
    export = train_vae(config, run_dir, resume=False)
    assert export == run_dir / "export"
    artifact = load_artifact(export)
    assert artifact.kind == "vae" and artifact.speakers == ["SF1", "TM1"]
    assert sorted(artifact.stats) == ["SF1", "TM1"] and artifact.stats["SF1"]["num_files"] == 1  # one held out
    assert artifact.mel == VC16K.to_dict() and artifact.config["model"]["n_speakers"] == 2
    normalization = SpeakerStats.from_dict(artifact.extra["normalization"])
    assert normalization.num_files == 2
    model = build_vae(artifact.config["model"]).eval()
    model.load_state_dict(artifact.weights["vae"])
    assert model(torch.zeros(1, 1, 80, 9), torch.tensor([1])).mel_hat.shape == (1, 1, 80, 9)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(r["vae/rec"]) for r in records if "vae/rec" in r)
    last = records[-1]
    assert math.isfinite(last["val/rec"]) and "val/kl_dim/3" in last and "val/active_dims" in last
    assert (run_dir / "samples" / "step_00000004" / "val_mel_0.png").is_file()
    # `voicegen export vae` rebuilds the same artifact from the last checkpoint.
    from voicegen.train.export import export_run

    again = load_artifact(export_run("vae", run_dir, out=tmp_path / "again"))
    assert again.speakers == artifact.speakers and again.extra == artifact.extra
    for name, tensor in artifact.weights["vae"].items():
        assert torch.equal(again.weights["vae"][name], tensor), name


def _two_speakers(samples_dir: Path, root: Path) -> dict[str, list[Path]]:
    files = {"SF1": ["SF1_200001.wav", "SF1_100001.wav"], "TM1": ["TM1_200001.wav", "TM1_100082.wav"]}
    out = {}
    for speaker, names in files.items():
        (root / speaker).mkdir(parents=True)
        for name in names:
            shutil.copy(samples_dir / name, root / speaker / name)
        out[speaker] = [root / speaker / name for name in names]
    return out


def test_denoising_dataset_crops_the_input_mel_at_the_target_frames(samples_dir: Path, tmp_path: Path) -> None:
    from voicegen.audio.mel_datasets import load_mels
    from voicegen.audio.vae_datasets import MultiSpeakerMelDataset
    from voicegen.errors import AudioError

    files = _two_speakers(samples_dir, tmp_path)
    stats = pool_stats([compute_stats(f, VC16K, progress=False) for f in files.values()])
    made = [[mel + 0.5] for mel in load_mels(files["SF1"], VC16K)]  # a "converter" that adds 0.5 to every log-mel
    always = MultiSpeakerMelDataset(files, VC16K, stats, segment_frames=32, input_mels={"SF1": made}, input_mel_share=1.0)
    never = MultiSpeakerMelDataset(files, VC16K, stats, segment_frames=32, input_mels={"SF1": made}, input_mel_share=0.0)
    plain = MultiSpeakerMelDataset(files, VC16K, stats, segment_frames=32)
    shift = torch.from_numpy((0.5 / stats.mel_std).astype(np.float32))[:, None]
    seen = set()
    for seed in range(12):
        item = always[(0, seed)]
        seen.add(int(item["speaker"]))
        if int(item["speaker"]) == 0:  # SF1: the made mel, normalised alike, at the same frames
            torch.testing.assert_close(item["input"] - item["mel"], shift.expand(-1, 32), rtol=0, atol=1e-5)
        else:  # TM1 has no made mels: its input is the crop itself
            assert torch.equal(item["input"], item["mel"])
        assert torch.equal(never[(0, seed)]["input"], never[(0, seed)]["mel"])
        assert "input" not in plain[(0, seed)]
    assert seen == {0, 1}
    short = [[mel[:, :-3] for mel in group] for group in made]
    with pytest.raises(AudioError, match=r"SF1_200001.wav: its input mel is shaped \(80, \d+\), the recording's "
                                         r"log-mel \(80, \d+\); re-make it from this recording"):
        MultiSpeakerMelDataset(files, VC16K, stats, input_mels={"SF1": short})


def test_denoising_loss_encodes_the_input_and_reconstructs_the_mel() -> None:
    task = make_task()
    plain = batch()
    torch.manual_seed(3)
    reference = task.losses("vae", plain, 1)
    torch.manual_seed(3)
    same = task.losses("vae", {**plain, "input": plain["mel"].clone()}, 1)
    torch.testing.assert_close(same["rec"], reference["rec"])
    task.model.eval()  # posterior means: compare the decoded mels directly
    noisy = plain["mel"] + 1.0
    losses = task.losses("vae", {**plain, "input": noisy}, 1)
    out = task.model(noisy.unsqueeze(1), plain["speaker"])
    torch.testing.assert_close(losses["rec"], (out.mel_hat - plain["mel"].unsqueeze(1)).abs().mean())


def test_vae_fine_tunes_from_an_export_on_input_mels(samples_dir: Path, tmp_path: Path) -> None:
    from voicegen.audio.mel_datasets import load_mels
    from voicegen.train.vae import init_vae_from

    files = _two_speakers(samples_dir, tmp_path / "data")
    speakers = f"data.speakers={{SF1: {tmp_path / 'data' / 'SF1'}, TM1: {tmp_path / 'data' / 'TM1'}}}"
    base = train_vae(load_config(VAETrainConfig, TINY_YAML, [speakers, "trainer.device=cpu"]), tmp_path / "base",
                     resume=False)
    made = tmp_path / "made" / "SF1"
    made.mkdir(parents=True)
    for path, mel in zip(files["SF1"], load_mels(files["SF1"], VC16K)):
        np.save(made / (path.stem + ".npy"), mel - 0.25)
    config = load_config(VAETrainConfig, TINY_YAML, [
        speakers, "trainer.device=cpu", f"data.input_mels={{{tmp_path / 'data' / 'SF1'}: [{made}]}}",
        "data.input_mel_share=0.5", "data.val_count=0", "trainer.val_every=0"])
    export = train_vae(config, tmp_path / "tuned", resume=False, init_from=base)
    before, after = load_artifact(base), load_artifact(export)
    # The fine-tune keeps the normalisation its weights were trained with, though it held out no files.
    assert after.extra["normalization"] == before.extra["normalization"]
    assert after.stats["SF1"]["num_files"] == 2 and before.stats["SF1"]["num_files"] == 1
    assert any(not torch.equal(after.weights["vae"][k], v) for k, v in before.weights["vae"].items())
    swapped = load_config(VAETrainConfig, TINY_YAML, [
        f"data.speakers={{TM1: {tmp_path / 'data' / 'TM1'}, SF1: {tmp_path / 'data' / 'SF1'}}}"])
    with pytest.raises(ConfigError, match=r"speakers SF1, TM1 but data.speakers names TM1, SF1; name the same "
                                          r"speakers in the same order"):
        init_vae_from(build_vae(swapped.model), swapped, base)
    with pytest.raises(ConfigError, match=r"data.input_mel_share must be in \[0, 1\], got 1.5"):
        load_config(VAETrainConfig, TINY_YAML, [speakers, "data.input_mel_share=1.5"])


def test_minutes_sizes_a_run_and_an_interrupted_one_resumes_to_the_same_step(samples_dir: Path, tmp_path: Path,
                                                                              monkeypatch) -> None:
    from click.testing import CliRunner

    import voicegen.train.vae as vae_module
    from voicegen.checkpoint import latest_checkpoint, read_state_metadata
    from voicegen.cli import cli
    from voicegen.yamlio import load_yaml

    monkeypatch.setattr(vae_module, "calibrate_max_steps", lambda task, dataset, trainer_config, minutes: 6)
    for speaker, names in (("SF1", ("SF1_200001.wav", "SF1_100001.wav")), ("TM1", ("TM1_200001.wav", "TM1_100082.wav"))):
        (tmp_path / speaker).mkdir()
        for name in names:
            shutil.copy(samples_dir / name, tmp_path / speaker / name)
    run = tmp_path / "run"
    args = ["train", "vae", "--config", str(TINY_YAML), "--set",
            f"data.speakers={{SF1: {tmp_path / 'SF1'}, TM1: {tmp_path / 'TM1'}}}", "--set", "capacity_max=2",
            "--set", "capacity_fraction=0.5", "--set", "trainer.max_steps=40", "--set", "trainer.keep_last=10",
            "--run-dir", str(run), "--minutes", "1", "--device", "cpu"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "--minutes 1: 6 steps from the measured step rate" in first.output
    saved = load_yaml(run / "config.yaml")
    assert saved["trainer"]["max_steps"] == 6 and saved["capacity_steps"] == 3  # the ramp keeps its half
    # interrupted after step 4: the same command ends at the measured 6 steps, not the config's 40
    for path in (run / "checkpoints").glob("step_00000006*"):
        path.unlink()
    shutil.rmtree(run / "export")
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "--minutes 1: 6 steps, as measured when this run started" in again.output
    assert int(read_state_metadata(latest_checkpoint(run))["step"]) == 6
    saved = load_yaml(run / "config.yaml")
    assert saved["trainer"]["max_steps"] == 6 and saved["capacity_steps"] == 3
    third = CliRunner().invoke(cli, args)
    assert third.exit_code == 0 and "already finished (step 6, trainer.max_steps 6)" in third.output
    assert "To train on: without --minutes, --set trainer.max_steps=N (more than 6)" in third.output


def test_capacity_fraction_is_a_share_of_max_steps() -> None:
    config = load_config(VAETrainConfig, TINY_YAML, ["capacity_fraction=0.25", "trainer.max_steps=40"])
    assert config.capacity_steps == 10
    with pytest.raises(ConfigError, match=r"^capacity_fraction must be in \[0, 1\], got 1.5$"):
        load_config(VAETrainConfig, TINY_YAML, ["capacity_fraction=1.5"])
