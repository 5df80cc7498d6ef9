"""`pip install ARGS` with one line of progress (rich) instead of pip's output.

Used by the top-level Makefile to set up .venv: on a terminal it shows which
package pip is at and the elapsed time; elsewhere it is silent. pip's whole
output is printed only if it fails.
Usage: python scripts/pip_progress.py ARGS...   (the arguments of `pip install`)
"""
import re
import subprocess
import sys

STEP = re.compile(r"^\s*(Collecting|Downloading|Building|Installing collected packages|Successfully)\s*:?\s*(\S*)")


def main(args) -> int:
    command = [sys.executable, "-m", "pip", "install", "--progress-bar", "off", *args]
    if not sys.stderr.isatty():
        result = subprocess.run(command + ["-q"], capture_output=True, text=True)
        if result.returncode:
            sys.stderr.write(result.stdout + result.stderr)
        return result.returncode
    from rich.console import Console

    lines = []
    with Console(stderr=True).status("pip: starting") as status:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            lines.append(line)
            match = STEP.match(line)
            if match:
                status.update(f"pip: {match[1].lower()} {match[2]}".strip())
        code = process.wait()
    if code:
        sys.stderr.write("".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
