"""Development sessions for the AutoCron monorepo.

Run them through ``python3 dev.py -s NAME`` on a fresh clone (it brings nox and
uv), or with ``nox -s NAME`` where nox is already installed. Every session makes
its own virtual environment under ``.nox/``; nothing touches the system Python.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent
# Lowest layer first: an editable install of one package finds those below it.
PACKAGES = [
    "autocron-core",
    "autocron-store",
    "autocron-os",
    "autocron-notify",
    "autocron-celery",
    "autocron-dash",
    "autocron-cli",
    "autocron",
]
# What each package may see in the isolated test run: itself and what is below it.
BELOW = {
    "autocron-core": [],
    "autocron-store": ["autocron-core"],
    "autocron-os": ["autocron-core"],
    "autocron-notify": ["autocron-core"],
    "autocron-celery": ["autocron-core"],
    "autocron-dash": ["autocron-core", "autocron-store"],
    "autocron-cli": ["autocron-core", "autocron-store", "autocron-os", "autocron-notify", "autocron-dash"],
}
EXTRAS = {"autocron-store": "[postgres,mysql,redis]", "autocron-dash": "[web]"}
TEST_DEPS = [
    "pytest>=8",
    "pytest-timeout>=2.3",
    "hypothesis>=6.100",
    "cronsim>=2.6",  # the independent cron oracle (DESIGN section 3)
    "croniter>=3,<5",  # oracle for the seed's cron dialect; 5+ reads equal ranges (12-12) as *
    "aiosmtpd>=1.4",
    "trustme>=1.1",
    "httpx2>=2.16",  # Starlette's TestClient drives the web dashboard (its httpx 0.x use is deprecated)
    "playwright>=1.45",  # web dashboard browser tests on the system's Chromium (never `playwright install`)
    "holidays>=0.50",  # exclude="holidays:GB" is tested for real (an optional dependency of core)
    "redis>=5",  # autocron-celery's tests: Redis is the result backend
]
LINT_DEPS = ["ruff==0.17.6", "import-linter==2.17"]
TYPE_DEPS = ["mypy==2.4.1", "types-PyYAML", "pytest", "hypothesis"]
BENCH_DEPS = [
    "apscheduler>=3.11,<4",
    "schedule>=1.2",
    "playwright>=1.45",  # bench_web.py's live-update figure, in the system's Chromium
    "httpx2>=2.16",  # bench_web.py times pages through Starlette's TestClient
    "redis>=5",  # bench_celery's result backend
]
#: bench_cluster.py's peer, APScheduler 4's pre-release, in a venv of its own (benchmarks/_aps4_cluster.py);
#: 4.0.0a6 imports sniffio without declaring it.
BENCH_APS4_DEPS = ["apscheduler[sqlalchemy]==4.0.0a6", "psycopg[binary]>=3.1", "sniffio>=1.3"]

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_venv = "yes"


def _editable(packages: list[str]) -> list[str]:
    args: list[str] = []
    for name in packages:
        args += ["-e", f"{ROOT / 'packages' / name}{EXTRAS.get(name, '')}"]
    return args


def _install_all(session: nox.Session, *extra: str) -> None:
    session.install(*_editable(PACKAGES), *extra)


@nox.session
def tests(session: nox.Session) -> None:
    """Every package's tests and tests-integration/, then each package alone."""
    _install_all(session, *TEST_DEPS)
    paths = [f"packages/{p}/tests" for p in PACKAGES] + ["tests-integration"]
    session.run("pytest", *paths, *session.posargs)
    if not session.posargs:
        for package in BELOW:
            session.notify(f"tests_alone(package='{package}')")


@nox.session
@nox.parametrize("package", list(BELOW))
def tests_alone(session: nox.Session, package: str) -> None:
    """One package's tests with only that package and those below it installed.

    This proves that nothing imports upward and that autocron-core works alone.
    """
    session.install(*_editable([*BELOW[package], package]), *TEST_DEPS)
    session.run("pytest", f"packages/{package}/tests", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the import-linter layering contracts."""
    _install_all(session, *LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's src/."""
    _install_all(session, *TYPE_DEPS)
    session.run("mypy", *[f"packages/{p}/src" for p in PACKAGES])


@nox.session
def build(session: nox.Session) -> None:
    """Build a wheel and sdist of every package, install the seven wheels into a
    fresh environment outside the source tree and run them from there."""
    session.install("build>=1.2")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for name in PACKAGES:
        session.run("python", "-m", "build", "--sdist", "--wheel", "--outdir", str(dist), f"packages/{name}")
    wheels = sorted(str(p) for p in dist.glob("*.whl"))
    if len(wheels) != len(PACKAGES):
        session.error(f"expected {len(PACKAGES)} wheels in {dist}, found {len(wheels)}")
    with tempfile.TemporaryDirectory() as outside:
        env_dir = Path(outside) / "venv"
        session.run("uv", "venv", "--quiet", "--python", sys.executable, str(env_dir), external=True)
        python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        session.run("uv", "pip", "install", "--quiet", "--python", str(python), *wheels, external=True)
        home = Path(outside) / "home"
        env = {"AUTOCRON_HOME": str(home)}
        bindir = python.parent
        session.run(str(bindir / "autocron"), "--version", env=env, external=True)
        imports = (
            "; ".join(f"import {p.replace('-', '_')}" for p in PACKAGES)
            + "; import autocron; print('imported', autocron.__version__, 'from', autocron.__file__)"
        )
        session.run(str(python), "-c", imports, env=env, external=True)
        session.run(str(python), "-m", "autocron", "--version", env=env, external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Run benchmarks/ side by side with APScheduler (and schedule where it applies)."""
    _install_all(session, *BENCH_DEPS)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        env = {"AUTOCRON_HOME": home, **_aps4_env(session)}
        session.run("python", "benchmarks/run_all.py", "--json-dir", str(out), *session.posargs, env=env)


def _aps4_env(session: nox.Session) -> dict[str, str]:
    """A second venv with APScheduler 4 for bench_cluster.py's peer; without it the peer is skipped."""
    env_dir = Path(session.virtualenv.location).with_name("bench-aps4")
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    try:
        if not python.exists():
            session.run("uv", "venv", "--quiet", "--python", sys.executable, str(env_dir), external=True)
        session.run(
            "uv", "pip", "install", "--quiet", "--prerelease", "allow", "--python", str(python),
            *BENCH_APS4_DEPS, external=True,
        )  # fmt: skip
    except nox.command.CommandFailed:
        session.warn("APScheduler 4 could not be installed: bench_cluster.py runs without its peer")
        return {}
    return {"AUTOCRON_BENCH_APS4_PYTHON": str(python)}


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: the scheduler running examples/autocron.yaml on the default SQLite store.

    It stops by itself after 30 seconds (pass ``-- --duration N`` to change that)
    or on Ctrl-C. State goes to a temporary AUTOCRON_HOME that is removed afterwards.
    """
    _install_all(session)
    duration = session.posargs or ["--duration", "30"]
    with tempfile.TemporaryDirectory(prefix="autocron-demo-") as home:
        env = {"AUTOCRON_HOME": home}
        session.log(f"AUTOCRON_HOME={home} (removed when the demo ends)")
        session.run("autocron", "start", "--config", "examples/autocron.yaml", *duration, env=env)
        session.run("autocron", "history", "--limit", "15", env=env)
