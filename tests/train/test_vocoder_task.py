"""Vocoder training: config resolution, the GAN task's phases and warm-up, a real run, fine-tuning."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
from safetensors import safe_open

from voicegen.audio.features import get_preset
from voicegen.config import from_dict, load_config
from voicegen.errors import ConfigError
from voicegen.formats.vocoder import save_vocoder
from voicegen.models.vocoder import build_generator
from voicegen.train.vocoder import (
    DEFAULT_LOSS_WEIGHTS,
    VocoderTrainConfig,
    build_models,
    init_generator_from,
    train_vocoder,
)
from voicegen.train.vocoder_task import VocoderTask, log_spectral_distance

# hop 8 * 8 * 4 = 256 = vc16k's hop; 32 -> 16 -> 8 -> 4 channels.
TINY_HIFIGAN = {"upsample_initial_channel": 32, "upsample_rates": [8, 8, 4], "upsample_kernel_sizes": [16, 16, 8],
                "resblock_kind": 2, "resblock_kernel_sizes": [3], "resblock_dilations": [[1, 2]]}
TINY_ISTFT = {"channels": 32, "intermediate_channels": 64, "n_blocks": 2}
TINY_DISC = {"periods": [2, 3], "mpd_channels": [8, 16], "msd_scales": 0, "mrd_resolutions": [[256, 64, 256]],
             "mrd_channels": 8, "mrd_layers": 2}
ADVERSARIAL_NAMES = ("disc/adv_d", "gen/adv_g", "gen/fm")


def tiny_config(kind: str = "istft", train: list[str] | None = None, **sections) -> VocoderTrainConfig:
    data = {"generator_kind": kind, "generator": TINY_HIFIGAN if kind == "hifigan" else TINY_ISTFT,
            "discriminator": TINY_DISC, "adversarial_start": 3,
            "data": {"train": train or [], "val_count": 1, "segment_samples": 4096, "repeats": 2,
                     "val_seconds": 1.0},
            "trainer": {"max_steps": 6, "batch_size": 2, "device": "cpu", "log_every": 1, "val_every": 6,
                        "checkpoint_every": 0, "progress": False, "tensorboard": False,
                        "optimizers": {"gen": {"lr": 1e-3}, "disc": {"lr": 1e-3}}}}
    for key, value in sections.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and key in data else value
    return from_dict(VocoderTrainConfig, data, source="test")


def test_config_fills_the_mel_contract_and_default_weights() -> None:
    config = tiny_config("istft", trainer={"max_steps": 6, "batch_size": 2, "loss_weights": {"mel": 10}})
    vc16k = get_preset("vc16k")
    assert {k: config.generator[k] for k in ("n_mels", "n_fft", "hop_length", "win_length", "window")} == {
        "n_mels": 80, "n_fft": vc16k.n_fft, "hop_length": 256, "win_length": 1024, "window": "hann"}
    assert config.trainer.loss_weights == {**DEFAULT_LOSS_WEIGHTS, "mel": 10.0}
    assert not config.stft_loss
    assert tiny_config("hifigan").generator["n_mels"] == 80
    assert "n_fft" not in tiny_config("hifigan").generator


@pytest.mark.parametrize(("change", "message"), [
    ({"generator": {**TINY_ISTFT, "n_mels": 64}},
     "generator.n_mels is 64 but the mel contract (features) has n_mels 80; remove generator.n_mels or change features"),
    ({"generator": {**TINY_ISTFT, "hop_lenght": 256}}, "unknown key 'hop_lenght' (did you mean 'hop_length'?)"),
    ({"trainer": {"val_batch_size": 2}}, "trainer.val_batch_size must be 1 for a vocoder"),
    ({"data": {"val_count": 0}}, "trainer.val_every is 6 but data.val_count is 0"),
    ({"data": {"segment_samples": 4000}}, "data.segment_samples must be a multiple of the hop length 256"),
    ({"features": "vc22k"}, "unknown feature preset 'vc22k'; choose one of: vc16k, hifigan22k"),
    ({"data": {"val_dnsmos_framings": 0}},
     "data.val_dnsmos_framings must be an integer >= 1, got 0"),
    ({"stft_resolutions": [[256, 64]]}, "stft_resolutions: resolution 0 must be (n_fft, hop_length, win_length), "
                                        "got [256, 64]"),
    ({"stft_resolutions": []}, "stft_resolutions: resolutions must not be empty"),
    ({"stft_resolutions": [[512, 128, 512], [256, 0, 256]]},
     "stft_resolutions: resolution 1 needs hop_length > 0 and 0 < win_length <= n_fft, got [256, 0, 256]"),
    ({"stft_resolutions": [[8192, 512, 8192]]},
     "stft_resolutions: resolution 0 has n_fft 8192 > data.segment_samples 4096; use a shorter window or longer "
     "segments"),
    ({"mel_resolutions": [[256, 64, 256]]}, "mel_resolutions: mel resolution 0 must be (n_fft, hop_length, "
                                            "win_length, n_mels), got [256, 64, 256]"),
    ({"mel_resolutions": []}, "mel_resolutions: mel resolutions must not be empty"),
    ({"mel_resolutions": [[256, 64, 512, 40]]},
     "mel_resolutions: mel resolution 0 [256, 64, 512, 40]: features.win_length (512) must be <= n_fft (256)"),
    ({"mel_resolutions": [[512, 128, 512, 80], [32, 8, 32, 40]]},
     "mel_resolutions: mel resolution 1 [32, 8, 32, 40]: 40 bands leave some without an FFT bin at n_fft 32; "
     "use fewer bands or a longer FFT"),
    ({"mel_resolutions": [[8192, 2048, 8192, 80]]},
     "mel_resolutions: resolution 0 has n_fft 8192 > data.segment_samples 4096; use a shorter window or longer "
     "segments"),
])
def test_config_errors_are_one_line(change: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        tiny_config("istft", **change)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_hifigan_whose_upsampling_misses_the_hop_is_refused() -> None:
    config = tiny_config("hifigan", generator={**TINY_HIFIGAN, "upsample_rates": [8, 8, 2]})
    with pytest.raises(ConfigError, match=r"^generator upsample_rates \(8, 8, 2\) multiply to 128 but the mel "
                                          r"contract's hop_length is 256; change upsample_rates$"):
        build_models(config)


def make_task(kind: str = "istft", adversarial_start: int = 2, stft: bool = False) -> VocoderTask:
    config = tiny_config(kind)
    generator, discriminator = build_models(config)
    return VocoderTask(generator, discriminator, config.feature_config, adversarial_start=adversarial_start,
                       stft_loss=stft)


def test_task_phases_switch_after_warmup_and_share_one_generator_pass() -> None:
    task = make_task(adversarial_start=2, stft=True)
    calls = []
    task.generator.register_forward_hook(lambda *args: calls.append(1))
    wav = 0.1 * torch.randn(2, 4096, generator=torch.Generator().manual_seed(0))
    for step in (1, 2, 3):
        disc = task.losses("disc", wav, step)
        gen = task.losses("gen", wav, step)
        if step <= 2:
            assert disc == {} and sorted(gen) == ["mel", "stft"]
        else:
            assert sorted(disc) == ["adv_d"] and sorted(gen) == ["adv_g", "fm", "mel", "stft"]
        assert all(v.dim() == 0 and math.isfinite(v.item()) for v in {**disc, **gen}.values())
    assert len(calls) == 3  # one generator forward per step, cached between the phases
    assert task.loss_names() == {"disc": ["adv_d"],
                                 "gen": ["mel", "adv_g", "fm", "stft", "mel_multi", "harmonic_phase"]}


def test_log_spectral_distance_in_db() -> None:
    wav = 0.3 * torch.randn(1, 4000, generator=torch.Generator().manual_seed(1))
    assert float(log_spectral_distance(wav, wav, 512, 128)) == 0.0
    # Twice the amplitude is 4x the power everywhere: 10 log10(4) = 6.02 dB.
    assert float(log_spectral_distance(2 * wav, wav, 512, 128)) == pytest.approx(10 * math.log10(4), abs=1e-3)


@pytest.mark.parametrize("kind", ["istft", "hifigan"])
def test_training_run_warms_up_validates_and_exports(tmp_path, sf1_clip, tm1_clip, kind) -> None:
    config = tiny_config(kind, [str(sf1_clip), str(tm1_clip)])
    run = tmp_path / "run"
    export = train_vocoder(config, run, resume=False)

    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if "gen/mel" in r]
    assert [r["step"] for r in train_rows] == [1, 2, 3, 4, 5, 6]
    for row in train_rows:
        present = [name in row for name in ADVERSARIAL_NAMES]
        assert present == [row["step"] > 3] * 3, row  # warm-up: steps 1-3 without the discriminator
    val = [r for r in rows if "val/mel_l1" in r]
    assert len(val) == 1 and val[0]["step"] == 6 and 0 < val[0]["val/lsd"] < 200
    samples = run / "samples" / "step_00000006"
    assert (samples / "val_generated_0.wav").is_file() and (samples / "val_mel_0.png").is_file()

    assert load_config(VocoderTrainConfig, run / "config.yaml") == config
    meta = json.loads((export / "artifact.json").read_text())
    assert export == run / "export" and meta["kind"] == "vocoder" and meta["dtype"] == "float16"
    assert meta["config"]["generator_kind"] == kind and meta["mel"] == get_preset("vc16k").to_dict()
    with safe_open(str(export / "weights.safetensors"), framework="pt") as handle:
        keys = list(handle.keys())
        assert handle.get_tensor(keys[0]).dtype == torch.float16
    assert keys and all(key.startswith("generator.") for key in keys)
    assert not any(".parametrizations." in key for key in keys)  # weight norm folded away


def test_init_from_an_export_copies_the_generator(tmp_path) -> None:
    config = tiny_config("hifigan")
    source, _ = build_models(config)
    with torch.no_grad():  # make it differ from a fresh init with the same seed
        for p in source.parameters():
            p.add_(0.01)
    path = save_vocoder(source, "hifigan", config.generator, config.feature_config, tmp_path / "v", dtype=None)
    target, _ = build_models(config)
    mel = torch.randn(1, 80, 12, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = target(mel)
        init_generator_from(target, config, path)
        after, expected = target(mel), source(mel)
    assert (before - expected).abs().max() > 1e-3
    torch.testing.assert_close(after, expected, atol=1e-5, rtol=1e-4)


def test_init_from_refuses_other_generators_and_mel_contracts(tmp_path) -> None:
    config = tiny_config("hifigan")
    generator, _ = build_models(config)
    path = save_vocoder(generator, "hifigan", config.generator, config.feature_config, tmp_path / "v")
    wider = tiny_config("hifigan", generator={**TINY_HIFIGAN, "upsample_initial_channel": 64})
    with pytest.raises(ConfigError, match="generator differs from the config in upsample_initial_channel; "):
        init_generator_from(build_models(wider)[0], wider, path)
    other_rate = tiny_config("hifigan", features="hifigan22k")
    with pytest.raises(ConfigError, match="mel contract differs from features 'hifigan22k' in sample_rate; "):
        init_generator_from(build_models(other_rate)[0], other_rate, path)
    with pytest.raises(ConfigError, match="is a 'hifigan' vocoder but generator_kind is 'istft'"):
        init_generator_from(build_generator("istft", tiny_config("istft").generator), tiny_config("istft"), path)


def test_stft_weight_enables_the_stft_loss() -> None:
    config = tiny_config("istft", trainer={"loss_weights": {"stft": 2.5}})
    assert config.stft_loss and config.trainer.loss_weights["stft"] == 2.5
    assert tiny_config("istft", trainer={"loss_weights": {"gen/stft": 1}}).stft_loss
    assert not tiny_config("istft", trainer={"loss_weights": {"stft": 0}}).stft_loss


def test_stft_resolutions_reach_the_loss() -> None:
    from voicegen.losses import DEFAULT_RESOLUTIONS

    assert tiny_config("istft").stft_resolutions == [list(r) for r in DEFAULT_RESOLUTIONS]
    short = [[128, 32, 128], [256, 64, 256], [512, 128, 512]]
    config = tiny_config("istft", stft_resolutions=short, trainer={"loss_weights": {"stft": 1}})
    generator, discriminator = build_models(config)
    task = VocoderTask(generator, discriminator, config.feature_config, stft_loss=True,
                       stft_resolutions=config.stft_resolutions)
    assert task.stft.resolutions == [tuple(r) for r in short]
    assert VocoderTask(generator, discriminator, config.feature_config, stft_loss=True).stft.resolutions == list(
        DEFAULT_RESOLUTIONS)
    # The loss itself moves with the windows: a 50 ms click train is scored differently at 8-32 ms than at 32-128 ms.
    wav = torch.zeros(1, 8192)
    wav[0, ::800] = 1.0
    wav_hat = torch.roll(wav, 40, dims=1)
    default = VocoderTask(generator, discriminator, config.feature_config, stft_loss=True).stft
    assert abs(float(task.stft(wav_hat, wav)) - float(default(wav_hat, wav))) > 0.1


def test_mel_multi_weight_adds_the_multi_resolution_mel_loss() -> None:
    from dataclasses import replace

    from voicegen.audio.features import compute_mel
    from voicegen.train.vocoder_task import DEFAULT_MEL_RESOLUTIONS

    assert not tiny_config("istft").mel_multi_loss
    assert tiny_config("istft").mel_resolutions == [list(r) for r in DEFAULT_MEL_RESOLUTIONS]
    resolutions = [[64, 16, 64, 10], [512, 128, 512, 80]]
    config = tiny_config("istft", mel_resolutions=resolutions, trainer={"loss_weights": {"mel_multi": 3}})
    assert config.mel_multi_loss and config.trainer.loss_weights["mel_multi"] == 3.0
    generator, discriminator = build_models(config)
    task = VocoderTask(generator, discriminator, config.feature_config, mel_multi_loss=config.mel_multi_loss,
                       mel_resolutions=config.mel_resolutions, adversarial_start=10)
    assert "mel_multi" in task.loss_names()["gen"]
    torch.manual_seed(0)
    wav = 0.3 * torch.randn(2, 4096)
    out = task.losses("gen", wav, step=1)
    assert set(out) == {"mel", "mel_multi"}
    # The reference: the numpy log-mel of each variant of the contract, mean |difference| averaged over variants.
    target, wav_hat = task._generate(wav, step=2)  # the step's cached pass, which the losses then score
    got = task.losses("gen", wav, step=2)["mel_multi"].detach()
    ref = 0.0
    for n_fft, hop, win, bands in resolutions:
        variant = replace(config.feature_config, n_fft=n_fft, hop_length=hop, win_length=win, n_mels=bands)
        diffs = [abs(compute_mel(wav_hat[i].detach().numpy(), variant) - compute_mel(target[i].numpy(), variant)).mean()
                 for i in range(2)]
        ref += sum(diffs) / 2 / len(resolutions)
    assert float(got) == pytest.approx(ref, rel=1e-4)
    assert float(got) > 0.05
    # Without the weight the task returns no such loss.
    plain = VocoderTask(generator, discriminator, config.feature_config, adversarial_start=10)
    assert "mel_multi" not in plain.losses("gen", wav, step=1)


def test_validation_dnsmos_is_the_mean_over_the_configured_framings() -> None:
    from voicegen.eval.naturalness import dnsmos_available, dnsmos_scores
    from voicegen.train.vocoder_task import _naturalness

    assert tiny_config("istft").data.val_dnsmos_framings == 4
    if not dnsmos_available():
        pytest.skip("speechmos/onnxruntime not installed (pip install 'voicegen[eval]')")
    t = torch.arange(16000 * 2) / 16000
    wav = (0.3 * torch.sin(2 * math.pi * 150 * t) * (1 + torch.sin(2 * math.pi * 3 * t))).unsqueeze(0)
    got = _naturalness(wav, 16000, 3)["dnsmos_ovrl"]
    assert got == pytest.approx(dnsmos_scores(wav[0].numpy(), 16000, 3)["dnsmos_ovrl"], abs=1e-9)
    assert got != pytest.approx(_naturalness(wav, 16000, 1)["dnsmos_ovrl"], abs=1e-6)


def test_smooth_mel_blurs_a_share_of_examples_in_time() -> None:
    from voicegen.train.vocoder_task import smooth_mel

    torch.manual_seed(0)
    mel = torch.randn(64, 8, 40)
    assert torch.equal(smooth_mel(mel, 0.0), mel)
    out = smooth_mel(mel, 0.5)
    changed = (out - mel).abs().amax(dim=(1, 2)) > 0
    assert 16 <= int(changed.sum()) <= 48  # about half of the 64 examples
    roughness = lambda x: (x[..., 1:] - x[..., :-1]).abs().mean(dim=(1, 2))  # noqa: E731
    assert torch.all(roughness(out[changed]) < roughness(mel[changed]))
    # a constant mel is a fixed point of the blur (edges repeated), whatever the strength
    flat = torch.full((4, 8, 40), -3.0)
    assert torch.allclose(smooth_mel(flat, 1.0), flat)


def test_mel_smoothing_outside_0_1_is_a_config_error() -> None:
    from voicegen.errors import ConfigError
    from voicegen.train.vocoder import VocoderDataConfig

    with pytest.raises(ConfigError, match=r"^data.mel_smoothing must be in \[0, 1\], got 1.5$"):
        VocoderDataConfig(train=["x"], mel_smoothing=1.5)


def test_input_mels_replace_the_computed_mel_where_used() -> None:
    task = make_task("source_filter")
    seen = []
    task.generator.register_forward_hook(lambda module, args, out: seen.append(args[0][:, :80].clone()))
    wav = 0.1 * torch.randn(2, 4096, generator=torch.Generator().manual_seed(0))
    f0 = torch.stack([torch.full((2, 16), math.log(150.0)), torch.ones(2, 16)], dim=1)
    given = torch.full((2, 80, 16), -3.0)
    task.losses("gen", {"wav": wav, "f0": f0, "mel": given, "use_mel": torch.tensor([1.0, 0.0])}, 1)
    computed = task.mel(wav)
    assert torch.equal(seen[0][0], given[0])
    assert torch.allclose(seen[0][1], computed[1])


def test_harmonic_phase_weight_adds_the_relative_phase_loss_of_the_batch_f0() -> None:
    from voicegen.losses.phase import harmonic_phase_loss

    config = tiny_config("source_filter", trainer={"loss_weights": {"harmonic_phase": 10}})
    assert config.harmonic_phase_loss and not tiny_config("source_filter").harmonic_phase_loss
    generator, discriminator = build_models(config)
    task = VocoderTask(generator, discriminator, config.feature_config, adversarial_start=10,
                       harmonic_phase_loss=config.harmonic_phase_loss)
    wav = 0.1 * torch.randn(2, 4096, generator=torch.Generator().manual_seed(0))
    f0 = torch.stack([torch.full((2, 16), math.log(150.0)), torch.ones(2, 16)], dim=1)
    assert set(task.losses("gen", {"wav": wav, "f0": f0}, 1)) == {"mel", "harmonic_phase"}
    target, wav_hat = task._generate({"wav": wav, "f0": f0}, 2)  # the step's cached pass, which the losses score
    got = task.losses("gen", {"wav": wav, "f0": f0}, 2)
    contract = config.feature_config
    expected = harmonic_phase_loss(wav_hat, target, f0[:, 0], f0[:, 1], n_fft=contract.n_fft,
                                   hop_length=contract.hop_length, pad=contract.pad,
                                   sample_rate=contract.sample_rate, window=torch.hann_window(contract.win_length))
    assert float(got["harmonic_phase"]) == pytest.approx(float(expected), rel=1e-5) and float(expected) > 0.05
    with pytest.raises(ConfigError, match=r"^trainer.loss_weights.harmonic_phase needs a source_filter generator "
                                          r"\(it reads the F0 rows\), not 'istft'; set its weight to 0$"):
        tiny_config("istft", trainer={"loss_weights": {"harmonic_phase": 1}})
    with pytest.raises(ValueError, match="the harmonic_phase loss needs a pitch-conditioned generator"):
        VocoderTask(*build_models(tiny_config("istft")), config.feature_config, harmonic_phase_loss=True)


def test_a_mixed_phase_run_trains_on_the_phase_loss_and_exports_a_vocoder_that_loads(tmp_path, sf1_clip,
                                                                                   tm1_clip) -> None:
    from voicegen.infer.vocode import load_vocoder

    config = tiny_config("source_filter", [str(sf1_clip), str(tm1_clip)],
                         generator={**TINY_ISTFT, "phase_terms": 4}, trainer={"loss_weights": {"harmonic_phase": 5}})
    export = train_vocoder(config, tmp_path / "run", resume=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    phase = [r["gen/harmonic_phase"] for r in rows if "gen/harmonic_phase" in r]
    assert len(phase) == 6 and all(0.0 < v < 2.0 for v in phase)  # logged every step, a value in (0, 2)
    meta = json.loads((export / "artifact.json").read_text())
    assert meta["config"]["generator"]["phase_terms"] == 4
    vocoder = load_vocoder(export)
    assert vocoder.generator.config.phase_terms == 4
    with safe_open(str(export / "weights.safetensors"), framework="pt") as handle:
        assert {"generator.phase_proj.weight", "generator.phase_proj.bias"} <= set(handle.keys())
        assert float(handle.get_tensor("generator.phase_proj.bias").abs().max()) > 0  # it starts at 0: it trained


def test_init_from_grows_the_added_phase_layer_from_zero(tmp_path) -> None:
    plain = tiny_config("source_filter")
    source, _ = build_models(plain)
    path = save_vocoder(source, "source_filter", plain.generator, plain.feature_config, tmp_path / "v",
                        f0=plain.f0_config, dtype=None)
    mixed = tiny_config("source_filter", generator={**TINY_ISTFT, "phase_terms": 6})
    target, _ = build_models(mixed)
    init_generator_from(target, mixed, path)
    x = torch.cat([torch.randn(1, 80, 12, generator=torch.Generator().manual_seed(2)) - 5,
                   torch.full((1, 1, 12), 5.0), torch.ones(1, 1, 12), torch.zeros(1, 1, 12)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x), atol=1e-5, rtol=1e-4)
    # Only growing from none: an artifact with other phase terms is refused as any other difference.
    grown = save_vocoder(target, "source_filter", mixed.generator, mixed.feature_config, tmp_path / "w",
                         f0=mixed.f0_config, dtype=None)
    other = tiny_config("source_filter", generator={**TINY_ISTFT, "phase_terms": 4})
    with pytest.raises(ConfigError, match="generator differs from the config in phase_terms; "):
        init_generator_from(build_models(other)[0], other, grown)
    with pytest.raises(ConfigError, match="generator differs from the config in phase_terms; "):
        init_generator_from(build_models(plain)[0], plain, grown)


def test_input_mel_share_and_generator_kind_are_checked() -> None:
    from voicegen.train.vocoder import VocoderDataConfig

    with pytest.raises(ConfigError, match=r"^data.input_mel_share must be in \[0, 1\], got -0.1$"):
        VocoderDataConfig(train=["x"], input_mel_share=-0.1)
    with pytest.raises(ConfigError, match="^data.input_mels needs a source_filter generator .* not 'istft'$"):
        tiny_config("istft", data={"input_mels": {"a": ["b"]}})
    assert tiny_config("source_filter", data={"input_mels": {"a": ["b"]}}).data.input_mel_share == 0.5


def test_budget_steps_splits_the_minutes_between_spectral_and_adversarial_steps(monkeypatch) -> None:
    import voicegen.train.vocoder as vocoder_module

    # 100 spectral steps or 20 adversarial ones fit the budget (5x dearer, as the stub says)
    def steps_that_fit(task, dataset, trainer_config, minutes):
        return 20 if task.adversarial_start == 0 else 100

    monkeypatch.setattr(vocoder_module, "calibrate_max_steps", steps_that_fit)
    config = tiny_config("istft")
    generator, discriminator = build_models(config)

    def task(start: int) -> VocoderTask:
        return VocoderTask(generator, discriminator, config.feature_config, adversarial_start=start)

    # 40 spectral steps use 40 % of the budget; the other 60 % holds 12 adversarial steps
    assert vocoder_module.budget_steps(task(40), None, config.trainer, 1.0) == 52
    assert vocoder_module.budget_steps(task(0), None, config.trainer, 1.0) == 20
    assert vocoder_module.budget_steps(task(500), None, config.trainer, 1.0) == 100  # never adversarial


def test_minutes_sizes_a_fresh_run_and_a_rerun_changes_nothing(tmp_path) -> None:
    from click.testing import CliRunner

    from voicegen.cli import cli
    from voicegen.infer.bundles import find_bundle
    from voicegen.yamlio import load_yaml

    args = ["train", "vocoder", "--config", "recipes/vocoder16k/conf/tiny.yaml", "--set", "data.train=[samples/audio]",
            "--run-dir", str(tmp_path / "run"), "--minutes", "0.1", "--init-from", "vocoder16k"]
    result = CliRunner().invoke(cli, args)
    # the installed name resolves to the shipped vocoder, whose size is not the tiny config's
    assert result.exit_code == 1 and result.output == (
        f"Error: {find_bundle('vocoder16k')}: generator differs from the config in channels, intermediate_channels, "
        "n_blocks; copy the artifact's generator settings into the config\n")
    args = args[:-2]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    steps = load_yaml(tmp_path / "run" / "config.yaml")["trainer"]["max_steps"]
    assert steps >= 1 and f"--minutes 0.1: {steps} steps from the measured step rates" in result.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "already finished" in again.output


def test_an_interrupted_minutes_run_resumes_to_its_measured_step(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    import voicegen.train.vocoder as vocoder_module
    from voicegen.checkpoint import latest_checkpoint, read_state_metadata
    from voicegen.cli import cli
    from voicegen.yamlio import load_yaml

    monkeypatch.setattr(vocoder_module, "budget_steps", lambda task, dataset, trainer_config, minutes: 6)
    run = tmp_path / "run"
    args = ["train", "vocoder", "--config", "recipes/vocoder16k/conf/tiny.yaml", "--set", "data.train=[samples/audio]",
            "--set", "trainer.max_steps=12", "--set", "trainer.checkpoint_every=2", "--set", "trainer.keep_last=10",
            "--run-dir", str(run), "--minutes", "0.5"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0 and "--minutes 0.5: 6 steps from the measured step rates" in first.output, first.output
    for path in (run / "checkpoints").glob("step_00000006*"):  # as if stopped after step 4
        path.unlink()
    shutil.rmtree(run / "export")
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "--minutes 0.5: 6 steps, as measured when this run started" in again.output
    assert int(read_state_metadata(latest_checkpoint(run))["step"]) == 6  # not the config's 12
    assert load_yaml(run / "config.yaml")["trainer"]["max_steps"] == 6
