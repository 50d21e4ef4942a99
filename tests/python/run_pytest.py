"""Runs pytest files of tests/python for ctest (tests/CMakeLists.txt registers one test per file).

Usage: python3 tests/python/run_pytest.py FILE.py [pytest arguments...]
Exit codes: pytest's (0 pass, 1 a failure, ...), and 77 (ctest's SKIP_RETURN_CODE) when pytest is missing
or when every test of the file skipped, with the reasons printed: a test that needs what this machine lacks
(Jupyter, scikit-learn, MNIST) shows as skipped in ctest, not as passed.
"""

import sys

try:
    import pytest
except ImportError:
    print("SKIP: no pytest for this python3 (Debian: python3-pytest; scripts/setup.sh installs it)")
    sys.exit(77)


class Outcomes:
    """Counts what the tests did."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def pytest_runtest_logreport(self, report):
        if report.skipped:
            self.skipped += 1
        elif report.failed:
            self.failed += 1
        elif report.when == "call":
            self.passed += 1


outcomes = Outcomes()
code = pytest.main(["-q", "-rs", "-p", "no:cacheprovider", *sys.argv[1:]], plugins=[outcomes])
if code == 0 and outcomes.skipped and not outcomes.passed and not outcomes.failed:
    sys.exit(77)
sys.exit(code)
