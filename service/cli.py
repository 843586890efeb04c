"""The `vigil` command line: run, check-config, info, ask, alerts tail, replay."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from config.checks import advisories
from config.errors import ConfigError, VigilError
from config.loader import DEMO_CONFIG, load_settings
from config.urls import redact_url
from service.summary import summarize

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description="Streaming video anomaly detection for factories.")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the service (default: the demo config)")
    run.add_argument("--config", type=Path, default=DEMO_CONFIG, help="YAML settings file")
    run.add_argument("--cluster", action="store_true",
                     help="shard the cameras over a Ray cluster (the config's cluster section; needs .[cluster])")
    check = sub.add_parser("check-config", help="validate a settings file and summarize it")
    check.add_argument("file", type=Path, nargs="?", default=DEMO_CONFIG)
    ask = sub.add_parser("ask", help="ask a running service about a camera's recent video")
    ask.add_argument("camera")
    ask.add_argument("question")
    ask.add_argument("--yes-no", action="store_true", help="return P(yes) instead of free text")
    ask.add_argument("--window", type=_seconds, default=None, help="only the last N seconds")
    ask.add_argument("--config", type=Path, default=DEMO_CONFIG, help="settings of the running service")
    ask.add_argument("--url", default=None, help="service URL (default: from the config's api section)")
    info = sub.add_parser("info", help="print every address of the service: console, API, metrics, Redis")
    info.add_argument("--config", type=Path, default=DEMO_CONFIG, help="settings of the service")
    alerts = sub.add_parser("alerts", help="alert stream tools")
    alerts_sub = alerts.add_subparsers(dest="alerts_command")
    tail = alerts_sub.add_parser("tail", help="follow the alert stream")
    tail.add_argument("--group", default=None, help="consume as this consumer group (with acks)")
    tail.add_argument("--json", action="store_true", help="one JSON event per line")
    tail.add_argument("--config", type=Path, default=DEMO_CONFIG, help="settings of the running service")
    tail.add_argument("--count", type=int, default=None, help="stop after this many events")
    replay = sub.add_parser("replay", help="run the rules over a recorded video faster than real time",
                            epilog="exit status: 0 the whole file was read; 1 failed; 2 invalid config; 3 the file "
                            "ended before the duration its index states (truncated or damaged): the events found "
                            "are written and the summary names the seconds missing")
    replay.add_argument("video", type=Path)
    replay.add_argument("--config", type=Path, default=DEMO_CONFIG)
    replay.add_argument("--out", type=Path, default=Path("alerts.jsonl"))
    replay.add_argument("--camera", default=None, help="camera id whose rules apply (default: the first)")
    replay.add_argument("--start", type=_iso_time, default=None,
                        help="wall time of the video's first frame, ISO-8601 (default: now); event times follow it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    try:
        return _dispatch(command, args)
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    except VigilError as exc:
        sys.stderr.write(f"vigil {command}: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:  # a bug: say where, but never print a secret a third-party message may quote
        trace = "".join(traceback.format_exception(exc))
        sys.stderr.write(redact_url(f"vigil {command}: unexpected error (a bug; please report it):\n{trace}"))
        return EXIT_FAILED


def _dispatch(command: str, args: argparse.Namespace) -> int:
    if command == "check-config":
        return _check_config(args.file)
    if command == "run":
        if getattr(args, "cluster", False):
            return _run_cluster(args.config)
        from service.app import run_service

        return run_service(load_settings(getattr(args, "config", DEMO_CONFIG)))
    if command == "ask":
        from service.commands import ask

        return ask(load_settings(args.config), args.camera, args.question, args.yes_no, args.window, args.url)
    if command == "info":
        from service.commands import info

        return info(load_settings(args.config))
    if command == "alerts":
        from service.commands import alerts_tail

        return asyncio.run(alerts_tail(load_settings(args.config), args.group, args.json, args.count))
    if command == "replay":
        from service.replay import replay

        code: int = replay(load_settings(args.config), args.video, args.out, args.camera, args.start)
        return code
    raise VigilError(f"unknown command {command!r}")


def _run_cluster(config: Path) -> int:
    settings = load_settings(config)
    try:
        from service.cluster.run import run_cluster
    except ImportError as exc:  # Ray is an optional extra
        raise VigilError(f"cluster mode needs Ray ({exc}); install it with `pip install -e '.[cluster]'`") from exc
    return run_cluster(settings)


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (`--window 1e309` or `nan` is a usage error, not a request)."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds") from exc
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} must be a positive, finite number of seconds")
    return value


def _iso_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time such as 2026-11-24T08:00:00+01:00") from exc
    return when if when.tzinfo is not None else when.astimezone()


def _check_config(path: Path) -> int:
    """Exit 0 for a config `vigil run` accepts (warnings for one that watches nothing go to stderr), else 2."""
    settings = load_settings(path)
    sys.stdout.write(summarize(settings, str(path)) + "\n")
    sys.stdout.flush()
    for advice in advisories(settings):
        sys.stderr.write(f"warning: {advice}\n")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
