"""harness.py - runs the test_* functions of one integration test file and
prints one TAP line per test ("ok - name" / "not ok - name").

Each test function takes no argument or one (a fresh temporary directory that
is removed afterwards when the test passed). The environment variable BARGE
names the binary under test.
"""
import importlib.util
import inspect
import os
import shutil
import sys
import tempfile
import time
import traceback


def main():
    path = sys.argv[1]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location("t", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    only = os.environ.get("TEST_ONLY")
    tests = [(n, f) for n, f in vars(mod).items()
             if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    failed = 0
    for n, f in tests:
        if only and only not in n:
            continue
        d = tempfile.mkdtemp(prefix="barge-it-")
        t0 = time.time()
        try:
            if len(inspect.signature(f).parameters) == 1:
                f(d)
            else:
                f()
        except Exception:
            failed += 1
            print("not ok - %s (%.1fs)" % (n, time.time() - t0))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            print("# files kept in " + d)
            sys.stdout.flush()
            continue
        print("ok - %s (%.1fs)" % (n, time.time() - t0))
        sys.stdout.flush()
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
