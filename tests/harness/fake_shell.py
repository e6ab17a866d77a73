"""A scripted shell speaking docs/programs.md section 2 (prompt, data lines,
ok/error results, event lines at any time), for tests/harness/test_shell_driver.py.
Each command is a script of what to write; `die` ends the process mid-answer."""
import sys
import time

PROMPT = sys.argv[1] if len(sys.argv) > 1 else "ipc> "
SCRIPTS = {
    "pid": ["ok pid 1"],
    "spawn": ["event disconnected 9", "ok spawned 1 pid=42"],
    "data": ["line one", "event reaped 1 pid=42 status=0", "line two",
             "event cleanup a ran", "ok data 2"],
    "odd": ["event reaped 01 pid=2 status=0", "event frobbed 3", "ok odd"],
    "fail": ["error not-found: no object 7"],
}


def out(text):
    sys.stdout.write(text)
    sys.stdout.flush()


out(PROMPT)
for line in sys.stdin:
    cmd = line.strip()
    if cmd in SCRIPTS:
        out("".join(s + "\n" for s in SCRIPTS[cmd]))
    elif cmd == "later":                 # the answer, the prompt, then an event
        out("ok later\n" + PROMPT)
        time.sleep(0.1)
        out("event cleanup late ran\n")
        continue
    elif cmd == "die":                   # a data line, then gone without a result
        out("partial\n")
        sys.exit(3)
    elif cmd == "hang":                  # never answers
        time.sleep(60)
    elif cmd == "quit":
        out("event reaped 2 pid=43 status=0\nok bye\n")
        sys.exit(0)
    else:
        out("error usage: " + cmd + "\n")
    out(PROMPT)
out("event reaped 5 pid=44 status=0\n")  # end of input: what quit would do
