"""Mutation score of the money and verification code: mutmut on each target, its tests only.

    .venv/bin/python bench/mutation.py [--target NAME ...] [--budget MINUTES] [--children N]
                                       [--with-sip] [--baseline] [--workdir DIR]
                                       [--retest EARLIER_WORKDIR] [--list]

For each target a snapshot of the work tree (product code, tests and testbed; no .git,
no .venv) is copied to a folder of its own with a generated mutmut configuration
(setup.cfg), so the work tree is never mutated and work in progress beside it is not
disturbed. mutmut (pinned in requirements-dev.txt) runs there: it first runs the
target's test files once, recording which tests reach each function, then runs only
those tests (pytest -x, both database backends, the usual fixtures) against each
mutant, in processes forked from the one that ran the tests. Printed per target:
mutants, killed, survived, score (killed / tested), the time taken and where each
survivor is (file:line, function, the line before and after the mutation).

With `--retest` and the --workdir of an earlier run, only the mutants that run tested
and did not kill are tested again (when the mutated files are unchanged since): the
quick way to see what new tests kill. Targets run one after the other within `--budget`
minutes; a target still running when the budget runs out is stopped and reported with
what it had tested so far ("not tested" counts the rest). The verification call's SIP tests need
the lab and take about a minute per mutant, so they run only with `--with-sip`; without
it the verification target runs the lab-free tests of test_verification.py and the
unit tests beside it.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).with_name("mutmut")
# Everything the tests import or read; copied into the snapshot and on mutmut's path.
SOURCE_PATHS = (
    "bot",
    "dialer",
    "domain",
    "exchange",
    "nlu",
    "storage",
    "wallet",
    "testbed",
    "deploy",
)
SOURCE_FILES = ("settings.py", "main.py")
# Unit tests written for the survivors of this bench; `--baseline` leaves them out.
ADDED_TESTS = "tests/test_mutation_"
SKIP_COPY = (".git", ".venv", "data", "mutants", "__pycache__", ".mypy_cache", ".ruff_cache")

# mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code).
KILLED_CODES = {1, 3, 36, 24, -24, 152, 255}  # a failing test, an error, a timeout
SURVIVED_CODES = {0}
NO_TESTS_CODES = {5, 33}


@dataclass
class Target:
    mutate: list[str]
    tests: list[str]
    pytest_args: list[str] = field(default_factory=list)
    sip_tests: list[str] = field(default_factory=list)


TARGETS = {
    "ledger": Target(
        ["storage/ledger_store.py"],
        [
            "tests/test_ledger.py",
            "tests/test_storage_invariants.py",
            "tests/test_mutation_ledger.py",
        ],
    ),
    "billing": Target(
        ["wallet/billing.py"], ["tests/test_wallet_billing.py", "tests/test_mutation_billing.py"]
    ),
    "fraud": Target(
        ["wallet/fraud.py"],
        [
            "tests/test_wallet_fraud.py",
            "tests/test_wallet_billing.py",
            "tests/test_mutation_fraud.py",
        ],
    ),
    "rates+tariffs": Target(
        ["wallet/rates.py", "wallet/tariffs.py"],
        ["tests/test_wallet_billing.py", "tests/test_mutation_tariffs.py"],
    ),
    "verification": Target(
        ["bot/features/verification/verify.py"],
        ["tests/test_verification.py", "tests/test_mutation_verification.py"],
        pytest_args=["-m", "not sip"],
        sip_tests=["tests/test_verification.py"],
    ),
}


@dataclass
class Outcome:
    name: str
    seconds: float = 0.0
    counts: Counter = field(default_factory=Counter)
    survivors: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def tested(self) -> int:
        return self.counts["killed"] + self.counts["survived"] + self.counts["no tests"]

    @property
    def score(self) -> float | None:
        return self.counts["killed"] / self.tested if self.tested else None


# --- the snapshot and mutmut's configuration --------------------------------------------


def snapshot(workdir: Path) -> None:
    """Copy the work tree as it is now (tracked or not) without caches and databases."""
    ignore = shutil.ignore_patterns(*SKIP_COPY, "*.pyc", "*.db")
    for name in (*SOURCE_PATHS, "tests"):
        shutil.copytree(ROOT / name, workdir / name, ignore=ignore)
    for name in (*SOURCE_FILES, "pyproject.toml"):
        shutil.copy2(ROOT / name, workdir / name)


def write_config(workdir: Path, target: Target, with_sip: bool, baseline: bool) -> list[str]:
    """Write setup.cfg for mutmut; the test selection it runs (existing files only)."""
    tests = [t for t in target.tests if (workdir / t).is_file()]
    if baseline:
        tests = [t for t in tests if not t.startswith(ADDED_TESTS)]
    args = [] if with_sip and target.sip_tests else list(target.pytest_args)
    selection = tests + args

    def lines(values: list[str] | tuple[str, ...]) -> str:
        return "".join(f"\n    {v}" for v in values)

    (workdir / "setup.cfg").write_text(
        "[mutmut]\n"
        f"source_paths ={lines([*SOURCE_PATHS, *SOURCE_FILES])}\n"
        f"only_mutate ={lines(target.mutate)}\n"
        f"pytest_add_cli_args_test_selection ={lines(selection)}\n"
        "use_git_change_detection = false\n",
        "utf-8",
    )
    return selection


def run_mutmut(
    workdir: Path, children: int, deadline: float, log: Path, names: list[str] | None = None
) -> str:
    """Run mutmut in `workdir` (on the mutants `names` only, when given) until it ends or
    `deadline`; a note when it did not finish."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = ["nice", "-n", "10", str(MUTMUT), "run", "--max-children", str(children)]
    command += names or []
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )  # fmt: skip
        try:
            code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            return "stopped at the time budget: partial results"
    if code != 0:
        tail = log.read_text("utf-8", "replace")[-1500:].replace("\r", "\n")
        return f"mutmut exited with {code}; end of {log}:\n{tail}"
    return ""


# --- reading the results -----------------------------------------------------------------


def exit_codes(workdir: Path, path: str) -> dict[str, int | None]:
    """mutmut's verdict (exit code) per mutant of one mutated file, from its .meta file."""
    meta = workdir / "mutants" / (path + ".meta")
    if not meta.is_file():
        return {}
    return json.loads(meta.read_text("utf-8"))["exit_code_by_key"]


def read_results(
    workdir: Path, target: Target, earlier: dict[str, dict] | None = None
) -> tuple[Counter, list[tuple[str, str, int]]]:
    """Counts per verdict, and the (file, mutant name, exit code) of every mutant not killed;
    a mutant not tested this time keeps its verdict from `earlier` (path -> name -> code)."""
    counts: Counter = Counter()
    alive = []
    for path in target.mutate:
        codes = exit_codes(workdir, path)
        before = (earlier or {}).get(path, {})
        for name, code in codes.items():
            code = before.get(name) if code is None else code
            counts["mutants"] += 1
            if code is None:
                counts["not tested"] += 1
            elif code in KILLED_CODES:
                counts["killed"] += 1
            elif code in SURVIVED_CODES:
                counts["survived"] += 1
                alive.append((path, name, code))
            elif code in NO_TESTS_CODES:
                counts["no tests"] += 1
                alive.append((path, name, code))
            else:
                counts["other"] += 1
                alive.append((path, name, code))
    return counts, alive


def _functions(tree: ast.AST) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions by mutmut's mangled name: x_name, or xǁClassǁname for a method."""
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}

    def walk(node: ast.AST, classes: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                walk(child, [*classes, child.name])
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                key = "xǁ" + "ǁ".join([*classes, child.name]) if classes else "x_" + child.name
                found.setdefault(key, child)

    walk(tree, [])
    return found


def _lines(source: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The function's lines from its `def` (its name blanked: mutants differ there)."""
    lines = source[node.lineno - 1 : node.end_lineno]
    return [lines[0].replace(node.name, "", 1), *lines[1:]]


def locate(workdir: Path, path: str, name: str) -> str:
    """Where mutant `name` of `path` changes the original source, as one readable line."""
    module = path[:-3].replace("/", ".")
    local = name.removeprefix(module + ".")
    mangled = local.rpartition("__mutmut_")[0]
    original = (workdir / path).read_text("utf-8").splitlines()
    mutated = (workdir / "mutants" / path).read_text("utf-8").splitlines()
    where = mangled[2:] if mangled.startswith("x_") else mangled[2:].replace("ǁ", ".")
    try:
        functions = _functions(ast.parse("\n".join(original)))
        mutants = {
            n.name: n
            for n in ast.walk(ast.parse("\n".join(mutated)))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        base = mutants[f"{mangled}__mutmut_orig"]
        changed = mutants[local]
    except (SyntaxError, KeyError):
        return f"{path}  {where}  ({name})"
    before, after = _lines(mutated, base), _lines(mutated, changed)
    offset, old, new = 0, "", ""
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after).get_opcodes():
        if tag != "equal":
            offset, old, new = i1, " ".join(before[i1:i2]), " ".join(after[j1:j2])
            break
    line = functions[mangled].lineno + offset if mangled in functions else 0
    return f"{path}:{line}  {where}:  {' '.join(old.split())}  ->  {' '.join(new.split()) or '∅'}"


# --- the run -----------------------------------------------------------------------------


def run_target(name: str, target: Target, args: argparse.Namespace, deadline: float) -> Outcome:
    outcome = Outcome(name)
    base = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="et-mutation-"))
    workdir = base / name.replace("+", "-")
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    started = time.monotonic()
    try:
        snapshot(workdir)
        selection = write_config(workdir, target, args.with_sip, args.baseline)
        print(f"[{name}] mutating {' '.join(target.mutate)}; tests: {' '.join(selection)}")
        sys.stdout.flush()
        earlier, names = _earlier(args.retest, workdir, target)
        if earlier:
            print(f"[{name}] retesting the {len(names)} mutants not killed in {args.retest}")
        log = workdir / "mutmut.log"
        outcome.note = run_mutmut(workdir, args.children, deadline, log, names)
        outcome.counts, alive = read_results(workdir, target, earlier)
        for path, mutant, code in sorted(alive, key=lambda a: (a[0], _number(a[1]))):
            label = {0: "survived"}.get(code, "no tests" if code in NO_TESTS_CODES else code)
            outcome.survivors.append(f"{label}: {locate(workdir, path, mutant)}")
    finally:
        outcome.seconds = time.monotonic() - started
        if not args.workdir:
            shutil.rmtree(base, ignore_errors=True)
    return outcome


def _earlier(retest: str | None, workdir: Path, target: Target) -> tuple[dict, list[str]]:
    """With --retest: the verdicts of the earlier run of this target and the mutants it
    tested and did not kill (those it never reached stay untested); nothing when there
    is none or the mutated files changed since (then the mutants' numbering may differ,
    so everything is tested again)."""
    if not retest:
        return {}, []
    previous = Path(retest) / workdir.name
    for path in target.mutate:
        old = previous / path
        if not old.is_file() or old.read_bytes() != (workdir / path).read_bytes():
            print(f"[{workdir.name}] {path} changed since {retest} (or was not run): all again")
            return {}, []
    earlier = {path: exit_codes(previous, path) for path in target.mutate}
    names = [
        name
        for codes in earlier.values()
        for name, code in codes.items()
        if code is not None and code not in KILLED_CODES
    ]
    return earlier, names


def _number(mutant: str) -> tuple[str, int]:
    head, _, number = mutant.rpartition("__mutmut_")
    return head, int(number) if number.isdigit() else 0


def report(outcome: Outcome) -> None:
    c = outcome.counts
    score = "n/a" if outcome.score is None else f"{100 * outcome.score:.1f} %"
    print(
        f"[{outcome.name}] mutants {c['mutants']}, killed {c['killed']}, "
        f"survived {c['survived']}, no tests {c['no tests']}, not tested {c['not tested']}"
        f"{', other ' + str(c['other']) if c['other'] else ''}: score {score} "
        f"in {outcome.seconds / 60:.1f} min"
    )
    if outcome.note:
        print(f"[{outcome.name}] {outcome.note}")
    for line in outcome.survivors:
        print(f"    {line}")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="repeatable")
    parser.add_argument("--budget", type=float, default=120.0, help="minutes for all targets")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--with-sip", action="store_true", help="also the SIP lab's tests")
    parser.add_argument("--workdir", help="keep the snapshots and mutmut's logs here")
    parser.add_argument(
        "--retest",
        metavar="DIR",
        help="a --workdir of an earlier run: test again only the mutants it did not kill",
    )
    parser.add_argument(
        "--baseline", action="store_true", help=f"without the {ADDED_TESTS}*.py files"
    )
    parser.add_argument("--list", action="store_true", help="print the targets and exit")
    args = parser.parse_args()
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name}: {' '.join(target.mutate)} <- {' '.join(target.tests)}")
        return 0
    if not MUTMUT.is_file():
        print(f"{MUTMUT} not found: pip install -r requirements-dev.txt", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.budget * 60
    outcomes = []
    for name in args.target or list(TARGETS):
        if time.monotonic() >= deadline:
            print(f"[{name}] not run: the time budget is spent")
            continue
        outcomes.append(run_target(name, TARGETS[name], args, deadline))
        report(outcomes[-1])
    print("\ntarget          mutants  killed  survived  no-tests  untested  score   minutes")
    for o in outcomes:
        c = o.counts
        score = "n/a" if o.score is None else f"{100 * o.score:.1f}%"
        print(
            f"{o.name:<15} {c['mutants']:>7} {c['killed']:>7} {c['survived']:>9} "
            f"{c['no tests']:>9} {c['not tested']:>9}  {score:>6} {o.seconds / 60:>8.1f}"
        )
    return 0 if all(not o.note for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
