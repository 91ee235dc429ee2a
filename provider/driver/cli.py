"""``bcs-deploy``: the offline stand-in for the Pulumi CLI, and the PR plan command.

    bcs-deploy preview|up|refresh|destroy --stack NAME [--cwd DIR] [--yes] [--json] [--suppress-outputs]
    bcs-deploy plan --stack NAME --base REV [--cwd DIR] [--format markdown|mermaid [--job NAME]]
    bcs-deploy config set KEY VALUE [--secret] --stack NAME [--cwd DIR]

Exit codes: 0 success; 1 a step, the program or the configuration failed (one clear message on
stderr, never a traceback); 2 for ``plan`` when something would be replaced or released; 4 the
stack is locked by another run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

EXIT_FAILED = 1
EXIT_DESTRUCTIVE = 2
EXIT_LOCKED = 4
#: what the [provider] extra installs (import names)
PROVIDER_MODULES = frozenset({"pulumi", "grpc", "yaml", "google"})


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("bcs-gitops")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bcs-deploy", description="Deploy a Pulumi stack without the Pulumi CLI."
    )
    parser.add_argument("--version", action="version", version=f"bcs-deploy {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    stack_help = "the stack: stacks/Pulumi.<NAME>.yaml (required)"
    cwd_help = "the project folder holding Pulumi.yaml (default: .)"
    for name in ("preview", "up", "refresh", "destroy"):
        p = sub.add_parser(name, help=f"{name} the stack, as `pulumi {name}` does")
        p.add_argument("--stack", "-s", required=True, help=stack_help)
        p.add_argument("--cwd", default=".", help=cwd_help)
        p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation (default: ask)")
        p.add_argument("--json", action="store_true", help="print the steps as JSON (default: text)")
        p.add_argument("--suppress-outputs", action="store_true",
                       help="do not print the stack outputs (default: print them)")  # fmt: skip
        p.add_argument("--config", "-c", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value for this run only, not written to the stack file "
                       "(repeatable; default: none)")  # fmt: skip
    plan = sub.add_parser("plan", help="Markdown plan of the stack's spec changes since a git revision")
    plan.add_argument("--stack", "-s", required=True, help=stack_help)
    plan.add_argument("--base", required=True, help="git revision to compare with (required)")
    plan.add_argument("--cwd", default=".", help=cwd_help)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON (default: Markdown)")
    plan.add_argument("--format", choices=("markdown", "mermaid"), default="markdown",
                      help="markdown: the PR comment; mermaid: each changed job's DAG diagram alone "
                      "(default: markdown)")  # fmt: skip
    plan.add_argument("--job", help="with --format mermaid: this job's diagram, changed or not (default: all "
                      "changed jobs)")  # fmt: skip
    config = sub.add_parser("config", help="set a stack config value (secrets encrypted)")
    config.add_argument("action", choices=["set"], help="what to do (only set)")
    config.add_argument("key", help="the config key, e.g. bcs:endpoint")
    config.add_argument("value", help="the value")
    config.add_argument("--secret", action="store_true", help="encrypt the value (default: plaintext)")
    config.add_argument("--stack", "-s", required=True, help=stack_help)
    config.add_argument("--cwd", default=".", help=cwd_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the one place errors become messages
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in PROVIDER_MODULES:
            # `pip install bcs-gitops` alone brings bcsd, not the provider
            print(f"error: bcs-deploy needs the provider extra (no module {exc.name!r}): "
                  "pip install 'bcs-gitops[provider]'", file=sys.stderr)  # fmt: skip
            return EXIT_FAILED
        from provider.driver.locks import StateLocked

        if os.environ.get("BCS_DEBUG"):
            traceback.print_exc()
        print(f"error: {error_message(exc)}", file=sys.stderr)
        return EXIT_LOCKED if isinstance(exc, StateLocked) else EXIT_FAILED


def error_message(exc: BaseException) -> str:
    """``exc``'s message; never empty: an exception without one (a bare ``assert``, say) is named
    by its type, with where to look, so no run ends in a bare ``error:``."""
    text = str(exc).strip()
    if text:
        return text
    return (f"{type(exc).__name__} (no message; this is a bcs-deploy bug: "
            "run again with BCS_DEBUG=1 for the traceback and report it)")


def _dispatch(args: argparse.Namespace) -> int:
    cwd = Path(args.cwd).resolve()
    if args.command == "plan":
        from provider.gitops.review import run_plan

        return run_plan(cwd, args.stack, args.base, as_json=args.json, fmt=args.format, job=args.job)
    if args.command == "config":
        from provider.driver.project import load_project, qualify, set_stack_config

        project = load_project(cwd)
        set_stack_config(project, args.stack, qualify(args.key, project.name), args.value, args.secret)
        return 0
    return _deploy(args, cwd)


def _deploy(args: argparse.Namespace, cwd: Path) -> int:
    from provider.driver import deploy
    from provider.driver.render import outputs_text, preview_text, result_summary

    out = sys.stderr if args.json else sys.stdout

    def echo(line: str) -> None:
        print(line, file=out, flush=True)

    command = args.command
    overrides = dict(item.split("=", 1) for item in args.config if "=" in item)
    mutating = command in ("up", "refresh", "destroy")
    if mutating and not args.yes:
        planned = deploy.run(command, args.stack, cwd, preview=True, echo=echo, overrides=overrides)
        echo(preview_text(planned.steps))
        if planned.error:
            return _finish(args, planned, echo)
        if not sys.stdin.isatty():
            echo("error: not a terminal; pass --yes to perform this " + command)
            return EXIT_FAILED
        if input(f"Do you want to perform this {command}? [y/N] ").strip().lower() not in ("y", "yes"):
            echo("cancelled")
            return EXIT_FAILED
    preview = command == "preview"
    if not preview:
        echo(f"{'Updating' if command == 'up' else command.capitalize() + 'ing'} stack '{args.stack}':")
    outcome = deploy.run(command, args.stack, cwd, preview=preview, echo=echo, overrides=overrides)
    if preview:
        echo(preview_text(outcome.steps))
    else:
        echo(result_summary(outcome.steps))
    text = outputs_text(outcome.outputs)
    if text and not outcome.error and not args.suppress_outputs:
        echo(text)
    return _finish(args, outcome, echo)


def _finish(args: argparse.Namespace, outcome: object, echo: object) -> int:
    from provider.driver.deploy import Outcome

    assert isinstance(outcome, Outcome)
    if args.json:
        print(json.dumps(outcome.to_json(), indent=1, default=str))
    if outcome.error:
        message = outcome.error.strip() or "the run failed without a message (BCS_DEBUG=1 shows more)"
        print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
