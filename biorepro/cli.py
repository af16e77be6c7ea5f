"""The ``biorepro`` command: ``synth``, ``status`` and ``gc``.

``status`` and ``gc`` read the same configuration files as ``snakemake`` (the default
``config/config.yaml`` plus ``--configfile`` overrides, later ones winning).
"""

from __future__ import annotations

import argparse
import sys

from biorepro import config as cfg

DEFAULT_CONFIG = "config/config.yaml"


def _plan(args):
    from biorepro.plan import build_plan

    return build_plan(cfg.load([DEFAULT_CONFIG, *args.configfile]))


def cmd_status(args) -> int:
    from biorepro.status import explain, format_explanations

    plan = _plan(args)
    print(format_explanations(plan, explain(plan)))
    return 0


def cmd_gc(args) -> int:
    from biorepro.gc import collect, find_garbage

    plan = _plan(args)
    garbage = find_garbage(plan)
    total = sum(g.size for g in garbage)
    for g in garbage:
        print(f"{'remove' if args.yes else 'would remove'} {g.path} ({g.size / 1e6:.1f} MB): "
              f"{g.reason}")
    if not args.yes:
        print(f"{len(garbage)} entries, {total / 1e6:.1f} MB; dry run: nothing removed "
              "(run with --yes to remove)")
    else:
        print(f"removed {len(garbage)} entries, {collect(garbage) / 1e6:.1f} MB freed")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="biorepro", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("synth", help="generate a synthetic dataset", add_help=False)
    for name, func, text in (
        ("status", cmd_status, "explain which store entries would run, and why"),
        ("gc", cmd_gc, "remove store entries the configuration no longer reaches"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--configfile", nargs="*", default=[],
                       help="config override files (as snakemake --configfile)")
        p.set_defaults(func=func)
    sub.choices["gc"].add_argument("--yes", action="store_true",
                                   help="really remove (default: dry run)")
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "synth":
        from biorepro.synth import main as synth_main

        return synth_main(argv[1:]) or 0
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (cfg.ConfigError, ValueError, OSError) as err:
        print(f"biorepro {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
