"""`digitgen`: generate a grid of handwritten digits with the bundled model, offline."""

import io
import os
import signal
import sys
from pathlib import Path

import click
import numpy as np

from digitgen import __version__
from digitgen.atomic import write_atomically
from digitgen.backends import BACKENDS, ModelError
from digitgen.cli_support import CONTEXT_SETTINGS, CommandError, run_command
from digitgen.generator import random_seed
from digitgen.images import MAX_N, MAX_SCALE, grid_layout, npy_bytes, png_bytes
from digitgen.validation import check_number

FORMATS = ["png", "npy"]
MODEL_ERROR = 1

EXAMPLES = """Examples:

\b
  digitgen --seed 42 --n 16                 # digits.png, 16 digits in a 4x4 grid
  digitgen --digit 7 --n 16                 # sixteen 7s
  digitgen --number 2026 --seed 4           # one number, written in one hand
  digitgen dataset --n 60000 --out synth.npz   # a labeled dataset, mnist.npz layout
  digitgen --seed 7 --n 64 --scale 4 --out big.png
  digitgen --seed 42 --n 100 --format npy --out digits.npy
  digitgen --seed 42 --out - > digits.png   # PNG bytes on stdout
  digitgen --backend tflite --threads 2     # int8 model (pip install 'digitgen-mnist[tflite]')
  digitgen info                             # the model, its manifest, the versions
  digitgen bench                            # images/s on this device
"""


def model_options(function=None, *, threads_default="one per core"):
    """--model, --backend, --threads: shared by generation, info, bench and serve."""
    if function is None:
        return lambda function: model_options(function, threads_default=threads_default)
    function = click.option("--threads", type=click.IntRange(min=1), default=None,
                            help=f"Inference threads (default: {threads_default}); not for numpy, whose "
                                 "BLAS sets its own (OPENBLAS_NUM_THREADS).")(function)
    function = click.option("--backend", type=click.Choice(sorted(BACKENDS)), default=None,
                            help="onnx (float), tflite (int8) or numpy (float, numpy alone: for machines "
                                 "without onnxruntime). Default: from --model's suffix, else onnx, or "
                                 "numpy where onnxruntime is not installed.")(function)
    function = click.option("--model", type=click.Path(exists=True, path_type=Path), default=None,
                            help="An exported .onnx, .tflite or numpy graph (.json) file, or a folder with "
                                 "manifest.json. "
                                 "Default: the bundled model.")(function)
    return function


def load_generator(model, backend, threads, group_options=None, default_threads=None):
    """default_threads: the threads when none are asked, for backends that take them."""
    from digitgen.generator import DigitGenerator, backend_for

    group_options = group_options or {}
    model = model or group_options.get("model")
    backend = backend or group_options.get("backend")
    threads = threads or group_options.get("threads")
    if threads is None and (backend or backend_for(model)) != "numpy":
        threads = default_threads
    try:
        return DigitGenerator(model=model, backend=backend, threads=threads)
    except ModelError as error:
        raise ModelFailure(str(error)) from None


class ModelFailure(CommandError):
    exit_code = MODEL_ERROR


class WriteFailure(CommandError):
    exit_code = 1  # not a usage error: the device or file system failed


class ServeFailure(CommandError):
    exit_code = 1  # the address is taken or not ours to use


@click.group(invoke_without_command=True, epilog=EXAMPLES,
             context_settings=CONTEXT_SETTINGS)
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Noise seed: the same seed gives the same digits everywhere. Default: random (printed).")
@click.option("--n", "n", type=click.IntRange(1, MAX_N), default=16, show_default=True,
              help=f"How many digits (1 to {MAX_N}).")
@click.option("--digit", type=click.IntRange(0, 9), default=None,
              help="Which digit to draw (0-9). Default: a mix drawn from the seed.")
@click.option("--number", type=str, default=None,
              help="Write this number (digits 0-9, e.g. 2026) in one hand: one PNG, one noise vector for all its digits.")
@click.option("--out", type=str, default=None,
              help="Output file (.png or .npy), or - for stdout. Default: digits.png (digits.npy with --format npy).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="png: one grid image; npy: the uint8 (N, 28, 28) array. Default: --out's suffix, else png.")
@click.option("--cols", type=click.IntRange(min=1), default=None, help="Digits per grid row (default: a square).")
@click.option("--scale", type=click.IntRange(1, MAX_SCALE), default=1, show_default=True,
              help="Enlarge the grid K times (nearest neighbour).")
@click.option("--force", is_flag=True, help="Replace --out if it exists (without --out, digits.png is "
                                               "never replaced: the next free name is taken).")
@model_options
@click.version_option(__version__, prog_name="digitgen")
@click.pass_context
def cli(ctx, seed, n, digit, number, out, fmt, cols, scale, force, model, backend, threads):
    """Generate handwritten digits with a class-conditional DCGAN, on this CPU, offline."""
    if ctx.invoked_subcommand is not None:  # `digitgen --backend tflite bench` means the same as
        refuse_given(ctx, MAIN_ONLY, f"is an option of digitgen itself, not of {ctx.invoked_subcommand}: "
                                     f"give it after {ctx.invoked_subcommand} if that takes it")
        ctx.obj = {"model": model, "backend": backend, "threads": threads}  # `digitgen bench --backend tflite`
        return
    default_name, kept = out is None, None
    out, fmt = output_and_format(out, fmt)
    if number is not None:
        refuse_given(ctx, ("n", "cols"), "does not apply to --number: the number sets how many digits and their row")
        check_number_option(number, digit, fmt)
        cols = n = len(number)
    if fmt == "npy":
        refuse_given(ctx, ("cols", "scale"), "does not apply to an .npy array: it is for PNG grids")
    if out == "-":
        refuse_given(ctx, ("force",), "does not apply to --out -")
        if sys.stdout.isatty():
            raise CommandError("--out - writes binary data: redirect it to a file or a pipe")
    else:
        check_writable(Path(out))
        if Path(out).is_file() and not force:
            if not default_name:
                raise CommandError(f"{out} exists: add --force to replace it")
            kept, out = out, str(next_free_name(Path(out)))
    if fmt == "png":
        grid_layout(n, cols, scale)  # a grid over the pixel limit is refused before any work
    seed = random_seed() if seed is None else seed
    generator = load_generator(model, backend, threads)
    try:
        digits = generator.number(number, seed) if number is not None else generator.generate(n, seed, digit)
    except ModelError as error:  # a model that loaded but misbehaves (NaN output)
        raise ModelFailure(str(error)) from None
    data = png_bytes(digits, cols=cols, scale=scale) if fmt == "png" else npy_bytes(digits)
    try:
        if out == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            write_atomically(Path(out), data)
    except BrokenPipeError:
        raise
    except OSError as error:  # a full disk, /proc, a read-only mount: the old file is left as it was
        raise WriteFailure(f"cannot write {out}: {error.strerror or error}") from None
    if out != "-":
        which = f"the number {number}" if number is not None else (
            plural(n, "digit") if digit is None else f"{n} x digit {digit}")
        note = f"; {kept} exists and was kept" if kept else ""
        click.echo(f"{out}  ({which}, seed {seed}, {generator.backend}{note})")


# The main command's own options: given before a subcommand, they would be ignored.
MAIN_ONLY = ("seed", "n", "digit", "number", "out", "fmt", "cols", "scale", "force")


def refuse_given(ctx, names, reason):
    """A usage error for the first of these options given on the command line (not defaulted)."""
    from click.core import ParameterSource

    for parameter in ctx.command.params:
        if parameter.name in names and ctx.get_parameter_source(parameter.name) == ParameterSource.COMMANDLINE:
            raise CommandError(f"{parameter.opts[0]} {reason}")


def next_free_name(path):
    """digits.png -> digits-2.png, digits-3.png, ...: the first that does not exist."""
    for index in range(2, 100_000):
        candidate = path.with_name(f"{path.stem}-{index}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise CommandError(f"{path} and its numbered copies exist: give --out or --force")


def plural(count, noun):
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def check_number_option(number, digit, fmt):
    if digit is not None:
        raise CommandError("--number and --digit do not go together: the number says its digits")
    try:
        check_number(number)
    except ValueError as error:
        raise CommandError(f"--number: {error}") from None
    if fmt != "png":
        raise CommandError("--number writes one PNG: use a .png --out")


def output_and_format(out, fmt):
    """The output path and format: the format follows the suffix unless --format says otherwise,
    and a suffix that contradicts --format is an error rather than a misnamed file."""
    if out == "":
        raise CommandError("--out is empty: give a file name, or - for stdout")
    if out is None:
        fmt = fmt or "png"
        return f"digits.{fmt}", fmt
    if out == "-":
        return out, fmt or "png"
    suffix = Path(out).suffix.lower().lstrip(".")
    if fmt is None:
        if suffix not in FORMATS:
            raise CommandError(f"--out {out}: name a .png or .npy file, or give --format")
        return out, suffix
    if suffix in FORMATS and suffix != fmt:
        raise CommandError(f"--out {out} is a .{suffix} name but --format is {fmt}")
    return out, fmt


def check_writable(path):
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CommandError(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise CommandError(f"cannot write {path}: it is a folder")
    if not os.access(folder, os.W_OK):
        raise CommandError(f"cannot write {path}: folder {folder} is not writable")


@cli.command(short_help="Write a labeled synthetic dataset (mnist.npz layout).")
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="How many labeled digits.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The .npz file to write (the Keras mnist.npz layout).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed of the noise and of the digits' order. Default: random (printed).")
@click.option("--digit", "digits", type=click.IntRange(0, 9), multiple=True,
              help="Only this digit; repeat for several (balanced among them). Default: 0-9, balanced.")
@click.option("--test-n", type=click.IntRange(min=0), default=None,
              help="Digits in the test split (x_test, y_test), drawn from noise of their own. "
                   "Default: N/6, MNIST's 10,000 per 60,000; 0 for none.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@model_options
@click.pass_obj
def dataset(group_options, n, out, seed, digits, test_n, force, model, backend, threads):
    """Write a labeled synthetic dataset in the Keras mnist.npz layout: x_train uint8 (N, 28, 28),
    y_train uint8 (N,), x_test and y_test; loadable by numpy.load, python -m train --data and
    python -m train.evaluate --data. Written in chunks (memory does not grow with N) into a
    temporary file renamed when complete (Ctrl-C or a full disk leaves nothing)."""
    from digitgen.dataset import write_dataset

    if out.suffix.lower() != ".npz":
        raise CommandError(f"--out {out}: a dataset is an .npz file")
    check_writable(out)
    if out.exists() and not force:
        raise CommandError(f"{out} exists: add --force to replace it")
    seed = random_seed() if seed is None else seed
    generator = load_generator(model, backend, threads, group_options)
    if not generator.conditional:
        raise ModelFailure(f"{generator.model_path} is unconditional: it cannot label its digits")
    test_n = n // 6 if test_n is None else test_n
    show = sys.stderr.isatty()
    with click.progressbar(length=n + test_n, label="generating", file=sys.stderr if show else io.StringIO()) as bar:
        try:
            labels = write_dataset(generator, out, n, seed, digits, force, progress=bar.update, test_n=test_n)
        except ModelError as error:
            raise ModelFailure(str(error)) from None
        except OSError as error:
            raise WriteFailure(f"cannot write {out}: {error.strerror or error}") from None
    counts = ", ".join(f"{d}: {c}" for d, c in enumerate(np.bincount(labels, minlength=10)) if c)
    click.echo(f"{out}  ({n} labeled digits and {test_n} for testing, seed {seed}, {generator.backend}; "
               f"training split {counts})")


@cli.command(short_help="Show the model, its manifest and the versions in use.")
@model_options
@click.pass_obj
def info(group_options, model, backend, threads):
    """Show the model, its input contract, its manifest (files, sizes, sha256), the versions in use,
    and its model card's key figures."""
    import numpy as np

    from digitgen.model_files import MODEL_CARD_FILE, read_model_card

    generator = load_generator(model, backend, threads, group_options)
    manifest = generator.manifest or {}
    click.echo(f"digitgen {__version__}")
    click.echo(f"model     {generator.model_path}")
    click.echo(f"backend   {generator.backend} ({generator.engine.version}), numpy {np.__version__}")
    for role, spec in generator.engine.contract.items():
        click.echo(f"input     {role:6s} {spec['name']} {spec.get('shape')}  {spec['dtype']}"
                   + ("  N(0, 1)" if role == "noise" else f"  0-{spec.get('classes', 10) - 1}"))
    click.echo(f"output    {generator.engine.output_name} {generator.engine.output_shape}  float32 in [-1, 1]")
    click.echo(f"graph     {generator.engine.graph}")
    if not manifest:
        click.echo("manifest  none (shapes checked instead)")
        return
    click.echo(f"manifest  created {manifest.get('created')}, sha256 verified")
    for name, entry in manifest["models"].items():
        click.echo(f"  {name:7s} {entry['name']}  {entry['size']:,} bytes  sha256 {entry['sha256'][:16]}…")
        if "data" in entry:
            data = entry["data"]
            click.echo(f"  {'':7s} {data['name']}  {data['size']:,} bytes  sha256 {data['sha256'][:16]}…  (its weights)")
    tools = ", ".join(f"{k} {v}" for k, v in manifest.get("tools", {}).items() if v)
    click.echo(f"  made with {tools}")
    card = read_model_card(generator.model_path.parent)
    if card:
        click.echo(f"model card {generator.model_path.parent / MODEL_CARD_FILE}")
        for key, value in card.items():
            click.echo(f"  {key.replace('_', ' '):26s} {value}")


@cli.command()
@model_options
@click.option("--seconds", type=click.FloatRange(min=0.1), default=1.0, show_default=True,
              help="Time spent on each batch size.")
@click.pass_obj
def bench(group_options, model, backend, threads, seconds):
    """Measure latency and throughput of generate() on this device."""
    import time

    generator = load_generator(model, backend, threads, group_options)
    generator.generate(16, 0)  # warm-up
    click.echo(f"{generator.backend}, threads {threads or (group_options or {}).get('threads') or 'auto'}")
    for batch in (1, 16, 256):
        calls, start = 0, time.perf_counter()
        while calls == 0 or time.perf_counter() - start < seconds:
            generator.generate(batch, calls)
            calls += 1
        elapsed = time.perf_counter() - start
        click.echo(f"  batch {batch:4d}: {elapsed / calls * 1000:8.2f} ms a call, "
                   f"{calls * batch / elapsed:9.1f} images/s")


@cli.command(short_help="Serve digits over HTTP, with a page for people.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; mind who can reach it).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Inference threads serving requests at once. Default: one per core.")
@click.option("--queue", "queue_depth", type=click.IntRange(min=0), default=64, show_default=True,
              help="Requests that may wait for a worker; beyond them: 503 with Retry-After.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds a request may take before it is answered 504.")
@click.option("--max-connections", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Open connections; a new one beyond them closes an idle one (or is closed).")
@click.option("--client-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds a client may take to send a request's headers, or to read on when its "
                   "answer waits on it; then its connection is closed. Idle ones close after 5 s.")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request.")
@model_options(threads_default="1 a request: the workers share the cores")
@click.pass_obj
def serve(group_options, host, port, workers, queue_depth, timeout, max_connections, client_timeout, access_log,
          model, backend, threads):
    """Serve digits over HTTP (needs pip install 'digitgen-mnist[serve]'): /digits, /number/2026,
    /labeled, /info, /health, and a page for people at /. SIGTERM or Ctrl-C finishes the requests
    in flight, then exits 0."""
    try:
        import uvicorn

        from digitgen.serve import create_app
        from digitgen.serve_protocol import (GuardedH11Protocol, bind_listener, guarded_protocol,
                                             install_accept_error_log, raise_open_file_limit)
    except ImportError:
        raise CommandError("digitgen serve needs its extra: pip install 'digitgen-mnist[serve]'") from None
    # one inference thread per request by default: the workers already use the cores side by side
    generator = load_generator(model, backend, threads, group_options, default_threads=1)
    app = create_app(generator, workers=workers, queue_depth=queue_depth, timeout=timeout,
                     install_accept_error_log=install_accept_error_log)
    try:  # bound here, so a port in use is one line, not uvicorn's log and exit 3
        listener = bind_listener(host, port)
    except OSError as error:
        raise ServeFailure(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    open_files = raise_open_file_limit()
    if open_files is not None and open_files < max_connections + 64:
        raise ServeFailure(f"--max-connections {max_connections} needs more open files than the limit of "
                           f"{open_files} (ulimit -n): lower it or raise the limit")
    click.echo(f"digitgen serve: http://{host}:{listener.getsockname()[1]} (SIGTERM or Ctrl-C to stop)")
    # uvicorn drains the requests in flight on SIGTERM or Ctrl-C (a client that does not read
    # its answer is dropped after shutdown_timeout), then raises the signal again against the
    # handlers it found: a stop asked for is a clean exit, 0, without waiting for the worker
    # threads of requests cancelled (past the graceful shutdown's time).
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: _exit_now(0))
    config = uvicorn.Config(
        app, access_log=access_log, log_level="info",
        http=guarded_protocol(header_timeout=client_timeout, write_timeout=client_timeout,
                              max_connections=max_connections),
        timeout_keep_alive=5, timeout_graceful_shutdown=timeout + GuardedH11Protocol.shutdown_timeout + 1,
    )
    uvicorn.Server(config).run(sockets=[listener])


def _exit_now(code):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main():
    run_command(cli, expected_errors=(ValueError,), prog_name="digitgen", own_interrupts=True)
