"""The ``cmr-vendor-sim`` console script (also ``python -m cmr_desktop.testing.simulator``).

It prints one line with the root URL, one line per vendor (``ID  BASE_URL  token=TOKEN
(NAME)``) and "Press Ctrl-C to stop.", then serves until Ctrl-C or SIGTERM
(:class:`~cmr_desktop.testing.simulator.SimulatorProcess` reads those lines).
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import click

from cmr_desktop.testing.simulator import schema
from cmr_desktop.testing.simulator.inprocess import VendorSimulator
from cmr_desktop.testing.simulator.server import is_loopback
from cmr_desktop.testing.simulator.spec import RETRY_AFTER_SECONDS, Knobs, default_vendors


def _rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter("a share between 0 and 1")
    return value


@click.command(name="cmr-vendor-sim", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0: any."
)
@click.option("--allow-remote", is_flag=True, help="Allow a --host that is not a loopback address.")
@click.option(
    "--vendors", "n_vendors", default=5, show_default=True, type=click.IntRange(1, 10_000)
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for every vendor.")
@click.option("--latency-ms", default=0.0, type=click.FloatRange(min=0), show_default=True)
@click.option("--jitter-ms", default=0.0, type=click.FloatRange(min=0), show_default=True)
@click.option("--error-rate", default=0.0, callback=_rate, show_default=True, type=float)
@click.option("--timeout-rate", default=0.0, callback=_rate, show_default=True, type=float)
@click.option("--hang-seconds", default=30.0, type=click.FloatRange(min=0), show_default=True)
@click.option("--rate-limit", default=0, type=click.IntRange(min=0), show_default=True)
@click.option("--garbage-rate", default=0.0, callback=_rate, show_default=True, type=float)
@click.option("--tamper-rate", default=0.0, callback=_rate, show_default=True, type=float)
@click.option(
    "--error-status",
    default="0",
    type=click.Choice(["0", "500", "503"]),
    callback=lambda ctx, param, value: int(value),
    show_default=True,
    help="Injected errors: 0 for half 503, half 500.",
)
@click.option(
    "--retry-after-seconds",
    default=RETRY_AFTER_SECONDS,
    type=click.IntRange(min=0),
    show_default=True,
    help="The wait Retry-After asks for on injected 429 and 503.",
)
@click.option("--retry-after-date", is_flag=True, help="Send Retry-After as an HTTP-date.")
@click.option(
    "--trickle-ms",
    default=0.0,
    type=click.FloatRange(min=0),
    show_default=True,
    help="Pause before each byte of an answer body.",
)
@click.option(
    "--huge-body-bytes",
    default=0,
    type=click.IntRange(min=0),
    show_default=True,
    help="Pad every 200 answer to this many bytes.",
)
@click.option("--lax-write", is_flag=True, help="Keep a looser value than a write sent.")
@click.option("--hold-after-apply", is_flag=True, help="Apply a write, never answer it.")
@click.option("--drop-after-apply", is_flag=True, help="Apply a write, then close the connection.")
@click.option("--future-vocabulary", is_flag=True, help="Send ids of a later vocabulary.")
def _command(
    host: str,
    port: int,
    allow_remote: bool,
    n_vendors: int,
    seed: int,
    **knob_values: Any,
) -> None:
    """Serve simulated Open Preference API v1 vendors until Ctrl-C or SIGTERM.

    Each vendor is served at http://HOST:PORT/vendors/VENDOR/v1 with its own bearer token;
    the admin API is at http://HOST:PORT/admin.
    """
    if not allow_remote and not is_loopback(host):
        raise click.UsageError(
            f"--host {host} is not a loopback address; add --allow-remote if you mean it"
        )
    sim = VendorSimulator(
        default_vendors(n_vendors, seed),
        seed=seed,
        knobs=Knobs(**knob_values),
        host=host,
        port=port,
    )
    try:
        root = sim.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        click.echo(f"Open Preference API v1 simulator at {root} (admin API: {root}/admin)")
        for vid in sim.vendor_ids:
            spec = sim.spec(vid)
            click.echo(f"{vid}  {sim.base_url(vid)}  token={spec.token}  ({spec.name})")
        click.echo("Press Ctrl-C to stop.")
        sys.stdout.flush()
        schema.warm()  # after the lines a SimulatorProcess waits for, before the first write
        while not stop.wait(0.25):
            pass
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("Stopped.", err=True)


def main(argv: list[str] | None = None) -> int:
    """The ``cmr-vendor-sim`` console script.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        0 after a clean stop (Ctrl-C or SIGTERM), 1 if the server could not start, 2 for a
        usage error.
    """
    try:
        _command.main(args=argv, prog_name="cmr-vendor-sim", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.exceptions.Abort:
        return 0
    return 0
