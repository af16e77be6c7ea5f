"""The ``biorepro`` command: ``synth``, ``status``, ``gc``, ``fsck``, ``recheck``,
``archive``, ``reproduce`` and ``doctor``.

The commands read the same configuration files as ``snakemake`` (the default
``config/config.yaml`` plus ``--configfile`` overrides, later ones winning).
Exit status: 0 fine, 1 damage or a difference found, 2 bad configuration or input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from biorepro import config as cfg
from biorepro.errors import Refusal
from biorepro.store.invocation import Invocation, parse_overrides

DEFAULT_CONFIG = "config/config.yaml"


def _config(args) -> dict:
    """The configuration of ``args``: the default file, ``--configfile`` files, then
    ``--config`` overrides, as snakemake merges them."""
    return cfg.load([DEFAULT_CONFIG, *args.configfile], args.overrides)


def _plan(args):
    from biorepro.plan import build_plan

    return build_plan(_config(args))


def cmd_synth(args) -> int:
    """Generate the synthetic dataset(s) the configuration names (a no-op when there)."""
    from biorepro.synth.dataset import MARKER, dataset_path, ensure_dataset

    wanted = {dataset_path(ds["root"], ds["synthetic"]): ds
              for conf in cfg.experiments(_config(args)).values()
              for _, ds in cfg.dataset_sections(conf) if ds["kind"] == "synthetic"}
    if not wanted:
        print("biorepro synth: the configuration names no synthetic dataset (dataset.kind)")
    for path, ds in wanted.items():
        generated = (path / MARKER).is_file()
        ensure_dataset(ds["root"], ds["synthetic"], log=print)
        print(f"synthetic dataset {'already in' if generated else 'generated into'} {path}/")
    return 0


def cmd_status(args) -> int:
    """Explain which planned entries would run and why; exit 1 if any is damaged."""
    from biorepro.status import explain, format_explanations
    from biorepro.store import roots

    plan = _plan(args)
    root = roots.find_config(plan.store, roots.config_identity(
        os.getcwd(), args.configfile, args.overrides))
    last = {(stage, what): key for stage, key, what in root.entries} if root else {}
    print(format_explanations(plan, explain(plan, last), root.ran if root else ()))
    damaged = plan.damaged()
    for check in damaged:
        print(f"DAMAGED {check.path}: {'; '.join(check.problems)}")
    if damaged:
        print(f"{len(damaged)} damaged entries: run "
              f"`{Invocation.current().biorepro('fsck', '--repair')}`, then the "
              "workflow (they are rebuilt)")
    return 1 if damaged else 0


def cmd_gc(args) -> int:
    """List (or with --yes remove) store entries that no live root reaches."""
    from biorepro.gc import collect, find_garbage, honoured_roots

    plan = _plan(args)
    found = honoured_roots(plan.store, parse_age(args.older_than))
    keep = [] if args.only_config else found.live
    if args.only_config:
        print("--only-config: keeping only what this configuration plans; the store's "
              f"{len(found.live)} live roots are not honoured")
    for root in keep:
        print(f"keeping {root.describe()}")
    for root, why in found.dead:
        print(f"not keeping {root.describe()}: {why}")
    garbage = find_garbage(plan, keep=keep)
    total = sum(g.size for g in garbage)
    for g in garbage:
        print(f"{'remove' if args.yes else 'would remove'} {g.path} ({g.size / 1e6:.1f} MB): "
              f"{g.reason}")
    if not args.yes:
        again = Invocation.current().biorepro("gc", *gc_flags(args), "--yes")
        print(f"{len(garbage)} entries, {total / 1e6:.1f} MB; dry run: nothing removed "
              f"(to remove them: `{again}`)")
    else:
        from biorepro.store.roots import forget

        forget(plan.store, [root for root, _ in found.dead])
        print(f"removed {len(garbage)} entries, {collect(garbage) / 1e6:.1f} MB freed")
    return 0


def gc_flags(args) -> list[str]:
    """The flags of ``biorepro gc`` that choose what it keeps, as given."""
    return ((["--only-config"] if args.only_config else [])
            + (["--older-than", args.older_than] if args.older_than else []))


def parse_age(text: str | None) -> float | None:
    """``--older-than 90d`` (``s``, ``m``, ``h``, ``d`` or ``w``) as the time (seconds
    since the epoch) before which roots expire; None without the option."""
    if not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    try:
        amount, unit = float(text[:-1]), units[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise ValueError(f"--older-than {text!r}: a number and a unit, one of s, m, h, d, w "
                         "(e.g. 90d)") from None
    return time.time() - amount * unit


def cmd_fsck(args) -> int:
    """Check entries file by file; exit 1 if any is damaged (--repair quarantines them)."""
    from biorepro.store.fsck import fsck, store_entries

    if args.all:  # the store is all it needs of the configuration
        store = _config(args).get(
            "store", cfg.schema()["properties"]["store"]["default"])
        entries = store_entries(store)
    else:
        plan = _plan(args)
        store, entries = plan.store, [e.path for e in plan.entries() if e.published]
    report = fsck(entries, repair=args.repair, threads=args.threads)
    print(f"{report.checked} entries of {store} checked"
          f"{' (the whole store)' if args.all else ' (those the configuration reaches)'}: "
          f"{len(report.damaged)} damaged" + (
              f", {len(report.quarantined)} moved to {store}/.quarantine/ (the next run "
              "rebuilds them)" if report.quarantined else
              "; run with --repair to quarantine them" if report.damaged else ""))
    return 1 if report.damaged else 0


def cmd_recheck(args) -> int:
    """Rebuild sampled entries and compare bit for bit; exit 1 on any difference."""
    from biorepro.recheck import recheck, write_records
    from biorepro.store.stages import NAMES

    unknown = sorted(set(args.stage) - set(NAMES))
    if unknown:
        raise ValueError(f"--stage {', '.join(unknown)}: unknown; stages: {', '.join(NAMES)}")
    plan = _plan(args)
    records = recheck(plan, stages=args.stage or None, sample=args.sample,
                      scratch=args.scratch)
    if not records:
        print("nothing to recheck: no entry of these stages is in the store (run the "
              "workflow first)")
        return 0
    for name, exp in plan.experiments.items():
        keys = {(e.stage, e.key) for e in exp.entries()} | (
            {("compare", plan.compare.key)} if plan.compare else set())
        mine = [r for r in records if (r["stage"], r["key"]) in keys]
        if mine:
            out = f"{exp.config['results']}/{name}"
            write_records(mine, out)
            print(f"recheck of '{name}': {out}/recheck.json")
    different = [r for r in records if r["status"] != "identical"]
    print(f"{len(records)} entries rebuilt: {len(records) - len(different)} identical, "
          f"{len(different)} different or not recheckable")
    for r in different:
        print(f"{r['status'].upper()} {r['entry']} (rebuilt copy: {r['rebuilt']})\n    "
              + "\n    ".join(r["differences"]))
    return 1 if different else 0


def cmd_archive(args) -> int:
    """Archive the workflow, library, configuration and results for a rerun."""
    from biorepro.archive import archive

    if args.config:
        raise cfg.ConfigError("archive: --config overrides would not be in the archive: put "
                              "them in a file and pass it with --configfile")
    manifest = archive(_plan(args), args.configfile, args.output)
    size = os.path.getsize(args.output)
    print(f"archived {', '.join(manifest['experiments'])}: {len(manifest['entries'])} store "
          f"entries listed, results views and sources in {args.output} ({size / 1e6:.2f} MB); "
          f"rerun with `biorepro reproduce {args.output}`")
    return 0


def cmd_reproduce(args) -> int:
    """Rerun an archive and compare every entry; exit 1 unless all are bit-identical."""
    from biorepro.reproduce import WorkflowFailed, reproduce

    try:
        report = reproduce(args.archive, data_root=args.data_root, workdir=args.workdir,
                           cores=args.cores)
    except WorkflowFailed as err:
        print(f"biorepro reproduce: {err}", file=sys.stderr)
        return 1
    return 0 if report["all_identical"] else 1


def cmd_doctor(args) -> int:
    """Print what each framework sees; exit 1 when a listed GPU is unusable by one."""
    from biorepro.doctor import report

    lines, healthy = report()
    print("\n".join(lines))
    return 0 if healthy else 1


def main(argv=None) -> int:
    """The ``biorepro`` command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="biorepro", description="Reproducible biometric PAD experiments: the store, "
        "its checks and archives, the demo data and this machine's GPUs (the workflow "
        "itself runs with snakemake).",
        epilog="Every command but reproduce and doctor reads the configuration as snakemake "
               "does: config/config.yaml, then --configfile files, then --config overrides.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, text in (
        ("synth", cmd_synth, "generate the configured synthetic dataset (before snakemake); "
                             "`biorepro synth --out DIR ...` generates one anywhere"),
        ("status", cmd_status, "explain which store entries would run, and why"),
        ("gc", cmd_gc, "remove store entries that no configuration run on the store and no "
                       "results view still uses (its roots)"),
        ("fsck", cmd_fsck, "verify store entries file by file (exit 1 if any is damaged)"),
        ("recheck", cmd_recheck, "rebuild sampled entries of every stage and compare them "
                                 "bit for bit (exit 1 on a difference)"),
        ("archive", cmd_archive, "pack the workflow, library, config files, results views "
                                 "and the digests of every entry into one .tar.gz that "
                                 "`biorepro reproduce` reruns"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--configfile", nargs="*", default=[],
                       help="config override files (as snakemake --configfile)")
        p.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                       help="config overrides (as snakemake --config)")
        p.set_defaults(func=func)
    gc = sub.choices["gc"]
    gc.add_argument("--yes", action="store_true", help="really remove (default: dry run)")
    gc.add_argument("--older-than", metavar="AGE",
                    help="also drop roots recorded more than AGE ago (e.g. 90d, 12h), as "
                         "well as those whose working directory or view is gone")
    gc.add_argument("--only-config", action="store_true",
                    help="keep only what this configuration plans, ignoring every other "
                         "configuration and results view recorded in the store")
    fsck = sub.choices["fsck"]
    fsck.add_argument("--all", action="store_true",
                      help="check every entry of the store, not only those the "
                           "configuration reaches")
    fsck.add_argument("--repair", action="store_true",
                      help="move damaged entries to <store>/.quarantine/ (the next run "
                           "rebuilds them)")
    fsck.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                      help="files hashed in parallel (default: the number of CPUs)")
    rc = sub.choices["recheck"]
    rc.add_argument("--stage", action="extend", nargs="+", default=[],
                    help="stages to recheck (default: every stage)")
    rc.add_argument("--sample", type=int, default=1,
                    help="entries rebuilt per stage (default 1)")
    rc.add_argument("--scratch", default=".biorepro/recheck",
                    help="scratch store for the rebuilt entries")
    sub.choices["archive"].add_argument("-o", "--output", required=True,
                                        help="the archive to write (NAME.tar.gz; its "
                                             "members go under NAME/)")
    rp = sub.add_parser("reproduce", help="unpack an archive, rerun its workflow with its "
                                          "library on a fresh store and compare every entry "
                                          "with the archived digests (exit 1 on a difference)")
    rp.add_argument("archive", help="a .tar.gz written by `biorepro archive`")
    rp.add_argument("--data-root", metavar="DIR", action="append",
                    help="your copy of the dataset (replaces config key dataset.root); with "
                         "several datasets, ARCHIVED=DIR once for each archived path; may be "
                         "left out for the built-in synthetic dataset, regenerated then")
    rp.add_argument("--workdir", metavar="DIR",
                    help="new or empty folder to unpack and run in (default: a new "
                         "NAME-reproduced folder next to the archive)")
    rp.add_argument("--cores", default="all",
                    help="snakemake --cores for the rerun (default: all)")
    rp.set_defaults(func=cmd_reproduce)
    sub.add_parser("doctor", help="what each framework (TensorFlow, JAX) sees of this "
                                  "machine's GPUs, and the fix when it cannot use one "
                                  "(exit 1)").set_defaults(func=cmd_doctor)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["synth"] and any(a.startswith("--out") for a in argv):
        from biorepro.synth.generate import main as synth_main

        return synth_main(argv[1:]) or 0
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "configfile"):
            args.overrides = parse_overrides(args.config)
            Invocation(os.getcwd(), tuple(args.configfile), tuple(args.config)).export()
        return args.func(args)
    except (Refusal, ValueError, OSError) as err:
        print(f"biorepro {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
