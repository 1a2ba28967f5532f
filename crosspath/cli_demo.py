"""`crosspath demo` and `crosspath dashboard`: the entry points a newcomer expects after `pip install .`.

The sample organisation ships inside the package as `crosspath/samples`: in the repository that is a
symbolic link to `data/samples` (the one copy), and `[tool.setuptools.package-data]` copies the files it
points at into the wheel, so an installed `crosspath demo` scans it from any folder. Registered on the main
group by crosspath/cli.py (`register(main)`)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from crosspath.pipeline import DEFAULT_OUT, history_snapshots, latest_snapshot
from crosspath.sample_history import write_week_earlier

HERE = Path(__file__).resolve().parent
DASHBOARD_SCRIPT = HERE / "dashboard_app.py"
# The repository's .streamlit/config.toml is read only when Streamlit starts in the clone, so the
# dashboard command passes the same settings as flags (tests/test_entry_points.py keeps them equal).
STREAMLIT_SETTINGS = {
    "server.address": "127.0.0.1",
    "server.headless": "true",
    "server.maxUploadSize": "300",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "viewer",
}


def sample_folder() -> Path:
    """The sample organisation: packaged (`crosspath/samples`, a link to data/samples in the clone), or
    the clone's data/samples where the link is a plain file (a checkout without symbolic links)."""
    for folder in (HERE / "samples", HERE.parent / "data" / "samples"):
        if (folder / "manifest.json").is_file():
            return folder.resolve()
    raise click.ClickException(f"the sample organisation is missing from {HERE / 'samples'}: reinstall crosspath")


def _out_option(help_text: str):
    return click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
                        show_default=True, help=help_text)


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to here when under here."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _program() -> str:
    """How to type this command again: `crosspath` when that is what PATH finds, else the path it was
    run by (`.venv/bin/crosspath` in the clone)."""
    invoked = Path(sys.argv[0])
    found = shutil.which("crosspath")
    if invoked.name != "crosspath" or (found and Path(found).resolve() == invoked.resolve()):
        return "crosspath"
    return _shown(invoked)


def register(main: click.Group) -> None:
    scan_command = main.commands["scan"]

    @main.command("demo")
    @_out_option("Where the snapshot, the reports and the dashboard's copy of the exceptions are written.")
    @click.pass_context
    def demo_command(ctx: click.Context, out_dir: Path) -> None:
        """Scan the sample organisation shipped with Crosspath (a fictional company across AWS, Entra ID,
        GCP, Kubernetes and databases) with its exceptions and identities files, as `make demo` does.

        The exceptions file is copied into --out first (kept if already there), so the dashboard edits
        that copy, never the packaged sample. On a first run the sample as it was a week earlier (before
        one account was created) is saved first, so Drift and the trend chart have a change to show."""
        sample = sample_folder()
        out_dir.mkdir(parents=True, exist_ok=True)
        exceptions = out_dir / "exceptions.yaml"
        if exceptions.exists():
            click.echo(f"Using the exceptions already in {_shown(exceptions)} (delete it for the sample's).",
                       err=True)
        else:
            shutil.copyfile(sample / "exceptions.yaml", exceptions)
        if not history_snapshots(out_dir):  # a first run: give Drift and the trend a week
            write_week_earlier(sample, out_dir, sample / "identities.yaml", exceptions)
        try:
            ctx.invoke(scan_command, directory=sample, out_dir=out_dir, exceptions=exceptions,
                       identities=sample / "identities.yaml")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        if code == 0:
            flag = "" if out_dir == DEFAULT_OUT else f" --out {_shown(out_dir)}"
            click.echo(f"Sample organisation: {sample}\n"
                       f"Open {_shown(out_dir / 'report.html')} in a browser, or explore it in the dashboard: "
                       f"{_program()} dashboard{flag}   (then open http://127.0.0.1:8501)")
        sys.exit(code)

    @main.command("dashboard")
    @_out_option("The scan folder whose snapshots the dashboard shows (`crosspath scan --out`).")
    @click.option("--exceptions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="Exceptions YAML the dashboard shows and edits. Default: the one the scan used.")
    @click.option("--policy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="Policy YAML. Default: the one the scan used.")
    @click.option("--port", type=int, default=8501, show_default=True)
    def dashboard_command(out_dir: Path, exceptions: Path | None, policy: Path | None, port: int) -> None:
        """Start the dashboard (Streamlit, on 127.0.0.1 only) on the snapshots in --out; `crosspath demo`
        writes the sample organisation's there. docs/dashboard.md says how to expose it behind sign-in."""
        if not latest_snapshot(out_dir).is_file():
            raise click.ClickException(f"no snapshot in {_shown(out_dir)}: run `crosspath demo` (the sample "
                                       "organisation) or `crosspath scan DIR --out "
                                       f"{_shown(out_dir)}` first")
        args = ["--snapshots", str(out_dir.resolve())]
        for name, value in (("--exceptions", exceptions), ("--policy", policy)):
            if value is not None:
                args += [name, str(value.resolve())]
        flags = [f"--{key}={value}" for key, value in {**STREAMLIT_SETTINGS, "server.port": str(port)}.items()]
        command = [sys.executable, "-m", "streamlit", "run", str(DASHBOARD_SCRIPT), *flags, "--", *args]
        sys.stdout.flush()
        os.execv(sys.executable, command)
