"""Command line: thin wiring from arguments to the workflow functions (defaults live there).

    python -m grader validate PATH...
    python -m grader grade --bank BANK --out DIR [--roster CSV] [--cluster tcp://HOST:8786] SUBMISSION...
    python -m grader grades --bank BANK --out DIR [--lms canvas|moodle]
    python -m grader review --bank BANK --out DIR [--import CSV]
    python -m grader doctor
    python -m grader serve [--idle-minutes N | --stop | --status]
    python -m grader export --format moodle-xml|gift|canvas-qti BANK -o OUT
    python -m grader schema [--write PATH]

Exit status: 0 success; 1 invalid banks, a submission that could not get a row, a review sheet with
a wrong row (nothing imported), or (doctor) an essential isolation layer missing; 2 bad arguments, a bad bank given to ``grade``, ``release`` or
``nbgrader-export``, or a sandbox without its essential layers (unless ``--unsafe-sandbox``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import BankError, UserError

EXAMPLES = """examples:
  python -m grader validate quizzes/
  python -m grader grade --bank quizzes/day48-lora-qlora.yaml --out out/ submissions/
  python -m grader grade --bank quizzes/lora-assignment.yaml --roster class.csv --out graded/ submitted/
  python -m grader grade --bank quizzes/lora-assignment.yaml --out graded/ --cluster tcp://scheduler:8786 submitted/
  python -m grader grades --bank quizzes/lora-assignment.yaml --out graded/ --lms canvas
  python -m grader review --bank quizzes/lora-qlora-flashcards-practice.yaml --out graded/ --import graded/review.csv
  python -m grader doctor
  python -m grader serve &        # optional: later `grade` runs start grading at once
  python -m grader export --format moodle-xml quizzes/day48-lora-qlora.yaml -o lms/
  python -m grader schema --write quizzes/bank.schema.json
"""


def build_parser() -> argparse.ArgumentParser:
    from .exports.export import FORMATS
    from .submissions.collect import LAYOUTS

    parser = argparse.ArgumentParser(prog="python -m grader", description="Quiz banks: validate, grade, schema.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("validate", help="check bank files (schema, keys; runs snippets and references in the sandbox)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="bank files or folders of them")
    p.add_argument("--no-run", action="store_true", help="do not run code_output snippets or code references")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")

    p = sub.add_parser("grade", help="grade answer files and notebooks; writes grades.csv and feedback")
    p.add_argument("--bank", required=True, help="the bank file to grade against")
    p.add_argument("--out", required=True, help="folder for grades.csv and feedback/")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help=".json/.yaml answer files, .ipynb notebooks, or folders of them")
    p.add_argument("--roster", metavar="CSV", help="the class: a CSV with columns id, name, email (name and email "
                   "optional); files are matched to it and those matching no one or two people are not graded")
    p.add_argument("--layout", choices=list(LAYOUTS), default="auto",
                   help="how files say whose they are (default: detected; see docs/autograding.md)")
    p.add_argument("--pattern", metavar="REGEX", help="a regular expression with a (?P<student>...) group, matched "
                   "against each file's path below the SUBMISSION folder (like nbgrader's zip_collect file_regex)")
    p.add_argument("--hide-key", action="store_true",
                   help="never show keys or explanations in feedback, whatever the bank's show_key says")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--jobs", "-j", type=int, default=None, help="submissions graded at once (default: the CPU cores; "
                   "with --cluster, submissions in flight, default twice the workers' threads)")
    p.add_argument("--resume", action="store_true",
                   help="skip files whose content the gradebook already holds for their student")
    p.add_argument("--unsafe-sandbox", action="store_true",
                   help="run code questions even where `doctor` reports an essential isolation layer missing "
                        "(recorded in DIR/grades.meta.json)")
    p.add_argument("--cluster", "--dask-scheduler", metavar="ADDRESS", dest="cluster",
                   help="grade on the workers of this Dask scheduler (tcp://HOST:8786); this machine still writes "
                        "the gradebook, grades.csv and feedback. Needs `pip install 'peft-course[cluster]'` here and "
                        "on every worker (docs/autograding.md, \"Grading on a cluster\")")
    p.add_argument("--no-server", action="store_true",
                   help="start this run's own sandbox zygote even when a warm server (`serve`) is running")

    p = sub.add_parser("serve", help="keep a warm sandbox server so that `grade` runs on this machine start grading at "
                       "once (no torch import per run); runs until idle, Ctrl-C or --stop")
    p.add_argument("--idle-minutes", type=float, default=30.0,
                   help="stop after this many minutes without a run using it (default 30)")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--stop", action="store_true", help="stop the running server and wait until it is gone")
    action.add_argument("--status", action="store_true", help="say whether a server runs, and which grader it runs")

    p = sub.add_parser("grades", help="rewrite grades.csv and attempts.csv from the gradebook; write an LMS grade file")
    p.add_argument("--bank", required=True, help="the bank file the folder was graded against")
    p.add_argument("--out", required=True, help="the grading folder (holds gradebook.sqlite)")
    p.add_argument("--roster", metavar="CSV", help="store (or update) the class's names and e-mails first")
    p.add_argument("--lms", choices=["canvas", "moodle"], help="also write DIR/grades-<lms>.csv for the LMS's grade import")

    p = sub.add_parser("review", help="write DIR/review.csv (every free response, for your review) or import your "
                       "points and comments from it")
    p.add_argument("--bank", required=True, help="the bank file the folder was graded against")
    p.add_argument("--out", required=True, help="the grading folder (holds gradebook.sqlite)")
    p.add_argument("--import", dest="sheet", metavar="CSV",
                   help="import this edited review sheet: every row is checked first, and nothing changes when one is "
                        "wrong (exit 1); then the scores, grades.csv, attempts.csv, LMS files and feedback are rewritten")

    p = sub.add_parser("doctor", help="show which isolation layers the sandbox gets on this machine")

    p = sub.add_parser("release", help="write the student notebook and a student bank (no keys, references or hidden probes)")
    p.add_argument("bank", metavar="BANK", help="the instructor's bank file")
    p.add_argument("-o", "--out", required=True, help="folder for the student copies")

    p = sub.add_parser("nbgrader-export", help="write an nbgrader source notebook of the bank")
    p.add_argument("bank", metavar="BANK", help="the instructor's bank file")
    p.add_argument("-o", "--out", required=True, metavar="COURSE_DIR", help="the nbgrader course folder")

    p = sub.add_parser("export", help="write the bank for an LMS (Moodle XML, GIFT, Canvas QTI) and a report of what it loses")
    p.add_argument("bank", metavar="BANK", help="the instructor's bank file (student copies have no keys to export)")
    p.add_argument("--format", "-f", required=True, choices=list(FORMATS))
    p.add_argument("-o", "--out", required=True, metavar="OUT",
                   help="the file to write, or a folder (the file is then named after the bank id)")

    p = sub.add_parser("schema", help="print or write the JSON Schema of a bank, for editors (see quizzes/README.md)")
    p.add_argument("--write", "--out", dest="write", metavar="PATH",
                   help="write the schema to this file (folders created) instead of standard output")
    return parser


def _validate(args: argparse.Namespace) -> int:
    from .validation import validate_paths

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UserError(f"no such file or folder: {', '.join(missing)}")
    report = validate_paths(paths=args.paths, run_snippets=not args.no_run)
    if not report.files:
        raise UserError(f"no .yaml bank files under {', '.join(args.paths)}")
    for issue in report.issues:
        print(issue, file=sys.stderr)
    if report.sandbox_missing:
        print("note: author code ran in a sandbox without " + ", ".join(report.sandbox_missing)
              + " (see `python -m grader doctor`)", file=sys.stderr)
    if not args.quiet:
        failed = {i.path for i in report.issues}
        for path, count in report.question_counts.items():
            if path not in failed:
                print(f"ok  {path} ({count} questions)")
    bad = len({i.path for i in report.issues})
    print(f"{len(report.files) - bad} of {len(report.files)} bank(s) valid"
          + (f", {len(report.issues)} problem(s)" if report.issues else ""), file=sys.stderr if bad else sys.stdout)
    return 0 if report.ok else 1


def _grade(args: argparse.Namespace) -> int:
    from .grading import grade_submissions
    from .loader import load_bank
    from .submissions import expand_submissions

    bank = load_bank(args.bank)
    missing = [s for s in args.submissions + ([args.roster] if args.roster else []) if not Path(s).exists()]
    if missing:
        raise UserError(f"no such file or folder: {', '.join(missing)}")
    if not expand_submissions(args.submissions):
        raise UserError("no submissions found (.json, .yaml, .yml or .ipynb)")
    run = grade_submissions(bank=bank, submissions=args.submissions, out_dir=args.out,
                            reveal_key=not args.hide_key, progress=not args.no_progress,
                            jobs=args.jobs, resume=args.resume, bank_path=args.bank,
                            unsafe_sandbox=args.unsafe_sandbox, roster=args.roster, layout=args.layout,
                            pattern=args.pattern, cluster=args.cluster, use_server=not args.no_server)
    unreadable = sum(1 for graded in run.graded if graded.result is None)
    students = len({graded.student for graded in run.graded})
    print(f"graded {len(run.graded)} submission(s) of {students} student(s), {unreadable} unreadable"
          + (f", {run.skipped} already graded (--resume)" if run.skipped else ""))
    collection = run.collection
    if collection is not None:
        for line in collection.summary_lines():
            print(line, file=sys.stderr)
    sandbox = run.sandbox or {}
    if sandbox.get("server"):
        print(f"sandboxes ran in the warm sandbox server ({sandbox['server']})", file=sys.stderr)
    if sandbox.get("server_note"):
        print(f"note: {sandbox['server_note']}", file=sys.stderr)
    sheet = run.out_dir / "review.csv" if any(q.type == "free_response" for q in bank.questions) else None
    print(f"wrote {run.out_dir / 'grades.csv'}, {run.out_dir / 'attempts.csv'}, {run.out_dir / 'feedback'}/"
          + (f", {sheet}" if sheet is not None and sheet.is_file() else "") + f" and {run.out_dir / 'collection.md'}")
    return 1 if run.failures or run.unassigned else 0


def _grades(args: argparse.Namespace) -> int:
    from .class_grades import write_lms, write_views
    from .gradebook import Gradebook
    from .loader import load_bank
    from .outlock import FolderLock

    bank = load_bank(args.bank)
    out = Path(args.out)
    if not (out / "gradebook.sqlite").is_file():
        raise UserError(f"{out} has no gradebook.sqlite: grade into it first (python -m grader grade --out {out} ...)")
    with FolderLock(out, purpose="writing grades"):
        gradebook = Gradebook(out / "gradebook.sqlite")
        try:
            if args.roster:
                from .submissions.collect import load_roster

                gradebook.set_roster((e.id, e.name, e.email) for e in load_roster(args.roster).entries)
            written = write_views(gradebook, bank, out)
            if args.lms:
                written.append(write_lms(gradebook, bank, args.lms, out / f"grades-{args.lms}.csv"))
        finally:
            gradebook.close()
    for path in written:
        print(f"wrote {path}")
    return 0


def _review(args: argparse.Namespace) -> int:
    from .loader import load_bank
    from .review import ReviewSheetError, export_review, import_review

    bank = load_bank(args.bank)
    if args.sheet is None:
        print(f"wrote {export_review(bank=bank, out_dir=args.out)}")
        return 0
    try:
        report = import_review(bank=bank, out_dir=args.out, sheet=args.sheet)
    except ReviewSheetError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("nothing was imported: correct these rows (or export the sheet again) and import it again", file=sys.stderr)
        return 1
    print(report.summary())
    for path in report.written:
        print(f"wrote {path}")
    return 0


def _release(args: argparse.Namespace) -> int:
    from .loader import load_bank
    from .release import release, withheld_student_bank

    bank = load_bank(args.bank)
    for path in release(bank=bank, out_dir=args.out):
        print(f"wrote {path}")
    why = withheld_student_bank(bank)
    if why:
        print(why)
    return 0


def _nbgrader_export(args: argparse.Namespace) -> int:
    from .loader import load_bank
    from .nbgrader_export import export

    bank = load_bank(args.bank)
    print(f"wrote {export(bank=bank, course_dir=args.out)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from .exports.export import export_bank, report_path
    from .loader import load_bank

    report = export_bank(load_bank(args.bank), args.format, args.out)
    print(report.markdown())
    print(f"wrote {report.path} ({report.questions} questions)")
    count = len(report.losses)
    print(f"wrote {report_path(report.path)} ({count} {'loss' if count == 1 else 'losses'})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .fingerprint import fingerprint
    from .sandbox.server import Server, running, stop

    if args.stop:
        record = stop()
        print(f"stopped the sandbox server ({record.describe()})" if record else "no sandbox server is running")
        return 0
    if args.status:
        record = running()
        if record is None:
            print("no sandbox server is running")
            return 1
        same = record.fingerprint == fingerprint()
        print(f"a sandbox server is running ({record.describe()}; grader source {record.fingerprint.get('code')}, "
              + ("the same as this one)" if same else f"not this one's {fingerprint()['code']}: restart it)"))
        return 0 if same else 1
    if args.idle_minutes <= 0:
        raise UserError("--idle-minutes must be more than 0")
    Server(idle_s=args.idle_minutes * 60).run(announce=lambda line: print(line, flush=True))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import diagnose

    report = diagnose()
    print(report.to_text())
    return 1 if report.missing_essential else 0


def _schema(args: argparse.Namespace) -> int:
    from .schema import bank_json_schema_text, write_bank_schema

    if args.write:
        print(f"wrote {write_bank_schema(args.write)}")
    else:
        sys.stdout.write(bank_json_schema_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"validate": _validate, "grade": _grade, "grades": _grades, "schema": _schema, "release": _release,
                "nbgrader-export": _nbgrader_export, "doctor": _doctor, "export": _export, "review": _review,
                "serve": _serve}
    try:
        return handlers[args.command](args)
    except BankError as exc:  # already says file:line: field: message, one problem per line
        print(exc, file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
