"""`voicegen serve`'s app through Flask's test client: convert, vocode and score real clips, one-line
errors for bad uploads, queued concurrent requests, and a temporary folder that goes away."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("flask", reason="flask not installed (a voicegen dependency: pip install -e .)")

from voicegen.infer.bundles import find_bundle as find  # noqa: E402
from voicegen.web.app import WebSettings, create_app  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "audio"
SF1, TM1 = SAMPLES / "SF1_200001.wav", SAMPLES / "TM1_200001.wav"


@pytest.fixture(scope="module")
def app():
    app = create_app(WebSettings(max_duration=20.0, max_bytes=4 << 20, device="cpu"))
    yield app
    app.close()


def upload(path: Path, name: str | None = None) -> tuple[io.BytesIO, str]:
    return io.BytesIO(path.read_bytes()), name or path.name


def convert(client, audio, **fields):
    data = {"audio": audio, "model": "vcc2016_sf1_tm1", "source": "SF1", "target": "TM1", "pitch": "auto", **fields}
    return client.post("/api/convert", data=data, content_type="multipart/form-data")


def fetch_wav(client, url: str) -> np.ndarray:
    response = client.get(url)
    assert response.status_code == 200
    wav, rate = sf.read(io.BytesIO(response.data), dtype="float32")
    assert rate == 16000
    return wav


def test_page_and_models(app) -> None:
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200 and b'id="convert"' in page.data and b"/api/convert" in page.data
    models = client.get("/api/models").get_json()
    bank = {"SF1": 8971, "TM1": 8237}  # every 2nd frame of their VCC 2016 training halves
    assert {"name": "vcc2016_sf1_tm1", "kind": "cyclegan", "speakers": ["SF1", "TM1"], "postfilter": "vae16k",
            "frame_bank": bank, "description": "cyclegan + frame bank + vae16k post-filter + formants SF1 +0.75"} \
        in models["converters"]
    assert {"name": "vae16k", "kind": "vae", "speakers": ["SF1", "TM1", "LS78"], "postfilter": None,
            "frame_bank": bank, "description": "vae + frame bank + formants SF1 +0.75, TM1 -1"} in models["converters"]
    assert {"name": "vocoder16k"} in models["vocoders"]


def test_convert_returns_audio_of_the_input_length_and_a_plot(app) -> None:
    client = app.test_client()
    response = convert(client, upload(SF1))
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["runtime"] == "onnx" and data["pitch"].startswith("F0 transformed SF1 -> TM1")
    source = sf.read(str(SF1), dtype="float32")[0]
    converted = fetch_wav(client, data["audio"])
    assert converted.shape == source.shape and np.abs(converted - source).mean() > 0.01
    assert client.get(data["plot"]).data[:8] == b"\x89PNG\r\n\x1a\n"
    download = client.get(data["audio"] + "?download=1")
    assert "attachment" in download.headers["Content-Disposition"]
    none = convert(client, upload(TM1), source="TM1", target="SF1", pitch="none").get_json()
    assert none["pitch"] == "source F0 kept (--pitch none)"
    assert data["postprocessing"] == ["frame bank: 8237 frames of TM1, each frame 0.7 x the mean of its 8 nearest",
                                      "post-filter: vae16k (decodes as TM1)"]


def test_convert_without_frame_bank_and_post_filter(app, tmp_path) -> None:
    """postfilter=off is `voicegen convert --no-postfilter`: the same audio, bit for bit, and nothing listed."""
    from voicegen.infer.convert import Converter

    client = app.test_client()
    plain = convert(client, upload(SF1), postfilter="off").get_json()
    assert plain["postprocessing"] == []
    served = fetch_wav(client, plain["audio"])
    with_extras = fetch_wav(client, convert(client, upload(SF1), postfilter="on").get_json()["audio"])
    assert np.abs(served - with_extras).mean() > 1e-3
    Converter(find("vcc2016_sf1_tm1"), "cpu", postfilter=False).convert_file(SF1, tmp_path / "cli.wav", "SF1", "TM1")
    assert np.array_equal(served, sf.read(str(tmp_path / "cli.wav"), dtype="float32")[0])
    refused = convert(client, upload(SF1), postfilter="maybe")
    assert refused.status_code == 400 and refused.get_json() == {"error": "postfilter must be on or off, got 'maybe'"}


def test_frame_bank_mix_sets_the_share_for_one_request(app) -> None:
    """frame_bank_mix is `voicegen convert --frame-bank-mix`: 0 leaves the bank out, an empty field is the model's."""
    client = app.test_client()
    bank_line = "frame bank: 8237 frames of TM1, each frame {} x the mean of its 8 nearest"
    full = convert(client, upload(SF1), frame_bank_mix="1").get_json()
    assert full["postprocessing"] == [bank_line.format(1), "post-filter: vae16k (decodes as TM1)"]
    off = convert(client, upload(SF1), frame_bank_mix="0").get_json()
    assert off["postprocessing"] == ["post-filter: vae16k (decodes as TM1)"]
    assert np.abs(fetch_wav(client, full["audio"]) - fetch_wav(client, off["audio"])).mean() > 1e-3
    again = convert(client, upload(SF1), frame_bank_mix="").get_json()  # the cached converter back at 0.7
    assert again["postprocessing"][0] == bank_line.format(0.7)
    for value in ("1.5", "lots"):
        refused = convert(client, upload(SF1), frame_bank_mix=value)
        assert refused.status_code == 400 and refused.get_json() == {
            "error": f"frame_bank_mix must be a number from 0 to 1 (empty: the model's own), got {value!r}"}
    refused = convert(client, upload(SF1), frame_bank_mix="0.5", postfilter="off")
    assert refused.status_code == 400 and "has no frame bank for --frame-bank-mix to set" in refused.get_json()["error"]


def test_formant_fields_move_the_envelope_in_convert_and_vocode(app) -> None:
    client = app.test_client()
    plain = fetch_wav(client, convert(client, upload(SF1)).get_json()["audio"])
    moved = convert(client, upload(SF1), formant="-2").get_json()
    assert moved["postprocessing"][-1] == "formants: moved -2 semitones (x0.891 in frequency)"
    assert np.abs(fetch_wav(client, moved["audio"]) - plain).mean() > 1e-3
    # an empty field (the page's default) is the model's setting for the target: the shipped bundle's +0.75 for SF1
    own = convert(client, upload(TM1), source="TM1", target="SF1").get_json()
    assert own["postprocessing"][-1] == ("formants: moved +0.75 semitones (x1.044 in frequency), the model's setting "
                                         "for SF1 (--formant 0 leaves it out)")
    told = convert(client, upload(TM1), source="TM1", target="SF1", formant="0.75").get_json()
    assert told["postprocessing"][-1] == "formants: moved +0.75 semitones (x1.044 in frequency)"
    assert np.array_equal(fetch_wav(client, own["audio"]), fetch_wav(client, told["audio"]))
    unshifted = convert(client, upload(TM1), source="TM1", target="SF1", formant="0").get_json()
    assert not unshifted["postprocessing"][-1].startswith("formants")
    data = {"audio": upload(SF1), "model": "vocoder16k", "pitch": "0", "formant": "3"}
    vocoded = client.post("/api/vocode", data=data, content_type="multipart/form-data")
    assert vocoded.status_code == 200, vocoded.get_json()
    data = {"audio": upload(SF1), "model": "vocoder16k", "pitch": "0", "formant": "30"}
    refused = client.post("/api/vocode", data=data, content_type="multipart/form-data")
    assert refused.status_code == 400 and refused.get_json() == {
        "error": "--formant must be a number of semitones within +-12, got 30.0"}


def test_bad_uploads_get_one_line_errors(app, tmp_path) -> None:
    client = app.test_client()
    corrupt = tmp_path / "broken.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt nonsense")
    cases = [
        (convert(client, upload(corrupt)), 400, "broken.wav: "),
        (convert(client, (io.BytesIO(b"hello"), "notes.txt")), 400,
         "notes.txt: not an audio file name (.wav, .flac, .ogg, .mp3, .aiff, .aif, .m4a, .webm); upload a recording"),
        (convert(client, upload(SF1), target="XX"), 400, "speaker 'XX' is not in this converter"),
        (convert(client, upload(SF1), model=""), 400, "missing model; choose one in the page"),
        (client.post("/api/convert", data={"model": "vcc2016_sf1_tm1"}, content_type="multipart/form-data"), 400,
         "no input file; upload or record audio first"),
        (convert(client, (io.BytesIO(b"\0" * (5 << 20)), "big.wav")), 413,
         "upload larger than 4 MB; send a shorter clip"),
    ]
    for response, status, message in cases:
        assert response.status_code == status
        error = response.get_json()["error"]
        assert error.startswith(message) and "\n" not in error, error
    long = tmp_path / "long.wav"
    sf.write(str(long), np.zeros(16000 * 25, dtype=np.float32), 16000)
    error = convert(client, upload(long)).get_json()["error"]
    assert error == ("long.wav: 25.0 s is longer than this server's limit of 20 s (--max-duration); "
                     "upload a shorter clip")
    assert client.get("/files/../../etc/passwd").status_code == 404


def test_concurrent_requests_are_queued_not_lost(app) -> None:
    results = []

    def one() -> None:
        results.append(convert(app.test_client(), upload(SF1)).status_code)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200, 200, 200]


def test_vocode_and_eval_tabs(app) -> None:
    client = app.test_client()
    response = client.post("/api/vocode", data={"audio": upload(SF1), "model": "vocoder16k", "pitch": "2"},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert fetch_wav(client, response.get_json()["audio"]).shape == sf.read(str(SF1))[0].shape
    bad = client.post("/api/vocode", data={"audio": upload(SF1), "model": "vocoder16k", "pitch": "up"},
                      content_type="multipart/form-data")
    assert bad.get_json()["error"] == "pitch must be a number of semitones, got 'up'"
    scored = client.post("/api/eval", data={"converted": upload(SF1), "reference": upload(TM1)},
                         content_type="multipart/form-data")
    assert scored.status_code == 200, scored.get_json()
    metrics = scored.get_json()["metrics"]
    assert 5 < metrics["mcd_db"] < 15 and metrics["f0_rmse_cents"] > 300  # a woman against a man


def test_the_temporary_folder_is_removed_on_close() -> None:
    app = create_app(WebSettings(keep_jobs=1))
    client = app.test_client()
    root = app.workspace.root
    assert convert(client, upload(SF1)).status_code == 200
    assert convert(client, upload(SF1)).status_code == 200
    assert len(list(root.iterdir())) == 1  # the oldest job went when the second came
    app.close()
    assert not root.exists()


def test_serve_command_stops_cleanly_on_sigterm_and_refuses_a_busy_port(tmp_path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request

    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the server's temporary folder goes here
    process = subprocess.Popen([sys.executable, "-m", "voicegen", "serve", "--port", "0"], env=env,
                               stderr=subprocess.PIPE, text=True)
    first = process.stderr.readline()
    assert first.startswith("voicegen serve: http://127.0.0.1:") and first.rstrip().endswith("(Ctrl-C to stop)")
    assert len(list(tmp_path.glob("voicegen-serve-*"))) == 1
    with urllib.request.urlopen(first.split()[2] + "/api/models") as answer:  # serving
        assert answer.status == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert process.stderr.read().splitlines()[-1] == "voicegen serve: stopped; its temporary folder is removed"
    assert not list(tmp_path.glob("voicegen-serve-*"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "voicegen", "serve", "--port", str(port)], env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == f"Error: cannot listen on 127.0.0.1:{port} (Address already in use); pick another --port or --host\n"
