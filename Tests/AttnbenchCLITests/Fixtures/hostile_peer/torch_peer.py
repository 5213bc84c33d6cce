"""A peer that misbehaves, standing in for scripts/peers/torch_peer.py
(ATTNBENCH_PEER_SCRIPTS points at this folder). HOSTILE_PEER_MODE chooses:

  hang-probe   the probe never answers
  grandchild   the case starts a grandchild in its group that holds the
               output pipes, then hangs
  escaped      the same, but the grandchild leaves the group (a new session)
  hang         the case hangs, alone
  fail         the case fails at once (exit status 3)
  brief        the case starts a grandchild, works for a second, then fails

Each grandchild carries HOSTILE_PEER_MARKER in its command line, so a test
can look for survivors. Only Python's standard library.
"""
import json
import os
import subprocess
import sys
import time

mode = os.environ.get("HOSTILE_PEER_MODE", "hang")
marker = os.environ.get("HOSTILE_PEER_MARKER", "hostile-peer")
command = sys.argv[3] if len(sys.argv) > 3 else ""
sleeper = [sys.executable, "-c", "import time; time.sleep(1000)", marker]

if command == "probe":
    if mode == "hang-probe":
        time.sleep(1000)
    print(json.dumps({"protocol": 1, "available": True, "library": "hostile 0"}))
    sys.exit(0)
if mode == "fail":
    print("hostile peer: failing on purpose", file=sys.stderr)
    sys.exit(3)
if mode == "brief":
    subprocess.Popen(sleeper)
    time.sleep(1)
    print("hostile peer: done pretending", file=sys.stderr)
    sys.exit(3)
if mode == "grandchild":
    subprocess.Popen(sleeper)
elif mode == "escaped":
    subprocess.Popen(sleeper, start_new_session=True)
time.sleep(1000)
