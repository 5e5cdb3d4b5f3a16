"""What a plain clone sees: the suites that read external test vectors,
run with TERN_SHARED pointing at a directory that does not exist and the
Debian packages' copies turned off (TERN_PACKAGE_VECTORS=0), must each
pass and say what they skipped on one "SKIPPED: <suite>: <what>" line
(pytest: "SKIPPED [1] <file>: <suite>: <what>").

usage: check_skipped.py BUILD_DIR SOURCE_DIR TERN_BIN"""
import os
import subprocess
import sys

build, source, tern_bin = sys.argv[1:4]
env = dict(os.environ, TERN_SHARED=os.path.join(build, "no-shared-here"),
           TERN_PACKAGE_VECTORS="0", TERN_BIN=tern_bin)
python = sys.executable
failures = []


def run(name, argv, want, ok_codes=(0,)):
    r = subprocess.run(argv, cwd=source, env=env, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    lines = [line for line in out.splitlines() if line.startswith("SKIPPED") and want in line]
    if r.returncode not in ok_codes:
        failures.append("%s: exit %d\n%s" % (name, r.returncode, out[-3000:]))
    elif len(lines) != 1:
        failures.append("%s: %d lines with SKIPPED and %r, want 1\n%s"
                        % (name, len(lines), want, out[-3000:]))
    else:
        print("%s: exit 0, %s" % (name, lines[0]))


for suite in ("test_toml", "test_mime", "test_smtp_address", "test_arc", "test_jmap_email_render",
              "test_html_sanitize"):
    run(suite, [os.path.join(build, suite)], suite + ":")
for mod in ("test_smtp_dialogs", "test_mime_cpython"):
    run(mod, [python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
              os.path.join(source, "tests", "integration", mod + ".py")], mod + ":",
        ok_codes=(0, 5))  # 5: pytest collected nothing (the module skipped)
if failures:
    print("\n\n".join(failures))
    sys.exit(1)
