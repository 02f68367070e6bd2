"""``voicegen serve``: the local web app (:mod:`voicegen.web.app`). Only click is imported here."""

from __future__ import annotations

import click

from voicegen.cli_common import device_option, runtime_option


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 127.0.0.1 keeps the app on this machine (0.0.0.0 opens it to the network).")
@click.option("--port", type=click.IntRange(0, 65535), default=7860, show_default=True,
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--max-duration", type=click.FloatRange(min=0.1), default=300.0, show_default=True,
              help="Longest upload accepted, in seconds.")
@click.option("--max-mb", type=click.FloatRange(min=0.1), default=64.0, show_default=True,
              help="Largest request accepted, in MB.")
@device_option("the models")
@runtime_option()
def serve(host: str, port: int, max_duration: float, max_mb: float, device: str, runtime: str) -> None:
    """Run the web app: convert, vocode and score recordings in a browser.

    Open the printed address: upload or record speech, pick a model from `voicegen models`, the
    speakers and the pitch mode, convert, play and download the result, and see the source and
    converted spectrograms side by side; tabs vocode a file and score a conversion against a
    reference. Requests run one at a time in arrival order; uploads and results live in a
    temporary folder that is removed when the server stops (Ctrl-C).

    \b
    Examples:
      voicegen serve                      # placeholder: runs until Ctrl-C; open http://127.0.0.1:7860
      voicegen serve --port 8080 --max-duration 60  # placeholder: runs until Ctrl-C
    """
    import socket

    from werkzeug.serving import make_server

    from voicegen.web.app import WebSettings, create_app

    try:  # werkzeug would print two lines and exit: say it in one, before anything is loaded
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, port))
    except OSError as err:
        raise click.ClickException(f"cannot listen on {host}:{port} ({err.strerror or err}); pick another "
                                   "--port or --host") from None
    app = create_app(WebSettings(max_duration=max_duration, max_bytes=int(max_mb * 2**20), device=device,
                                 runtime=runtime))
    try:
        server = make_server(host, port, app, threaded=True)
        click.echo(f"voicegen serve: http://{host}:{server.server_port} (Ctrl-C to stop)", err=True)
        server.serve_forever()  # returns on Ctrl-C or SIGTERM
        click.echo("voicegen serve: stopped; its temporary folder is removed", err=True)
    finally:
        app.close()
