#!/usr/bin/env bash
# Screenshots of the real app under a virtual X server with a window manager (what a user
# sees: window frames, real fonts, focus), into docs/images/x-*.png. Needs Xvfb, openbox,
# xdotool and ImageMagick (apt-get install xvfb openbox xdotool imagemagick libxcb-cursor0
# libxcb-icccm4 libxcb-keysyms1). docs/screenshots.py makes the offscreen ones.
# Run from the repository: bash docs/xshots.sh   (waits are fixed pauses: a docs script)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=docs/images
DISP=${XSHOTS_DISPLAY:-:97}
TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
Xvfb "$DISP" -screen 0 1600x1000x24 >/dev/null 2>&1 & pids+=($!)
sleep 1
DISPLAY=$DISP openbox >/dev/null 2>&1 & pids+=($!)
export DISPLAY=$DISP HOME=$TMP/home
shot() { sleep "${2:-2}"; import -window root "$OUT/$1"; echo "$OUT/$1"; }

# A generated mailbox (mailgen: realistic bulk-mail headers), dated up to today.
MBOX="$TMP/All mail Including Spam and Trash.mbox"
.venv/bin/python - "$MBOX" <<'PY'
import datetime as dt
import sys
from pathlib import Path

from cmr_desktop.testing.mailgen import messages, write_mbox

now = dt.datetime.now(dt.UTC)
write_mbox(Path(sys.argv[1]), messages(seed=12, n=700, start=now - dt.timedelta(days=89), days=88))
PY

# First run on an empty home: the welcome (with "Find my brands in my mailbox").
.venv/bin/cmr-desktop --home "$TMP/empty" >/dev/null 2>&1 & app=$!; pids+=($app)
win=$(xdotool search --sync --name "CMR Desktop" | head -1)
shot x-first-run.png
# Find my brands (Ctrl+Shift+F): type the mbox's path (Tab: from the mbox choice to its
# field), Enter scans; on the found table (busiest sender first, its row current) Space
# checks the top row, End F2 opens its Allow e-mail list, Home Down Down Down picks "at
# most monthly" (it writes far more: flagged), then the next two rows are checked as
# suggested; Alt+S adds them, Esc closes the dialog.
xdotool windowactivate --sync "$win" key ctrl+shift+f
dlg=$(xdotool search --sync --name "Find my brands" | head -1)
sleep 1
xdotool windowactivate --sync "$dlg" key Tab
xdotool type --delay 5 "$MBOX"
xdotool key Return
sleep 6
xdotool key space End F2
sleep 0.5
xdotool key Home Down Down Down Return
sleep 0.5
xdotool key Home Down space Down space
shot x-discover-found.png 1
xdotool key alt+s
sleep 3
xdotool key Escape
shot x-measured.png 2
kill "$app"; wait "$app" 2>/dev/null || true

# The demo: at first start, after a sync, small, My Terms, removing a brand.
.venv/bin/cmr-desktop --demo >/dev/null 2>&1 & app=$!; pids+=($app)
win=$(xdotool search --sync --name "demo" | head -1)
shot x-demo-start.png 10
xdotool windowactivate --sync "$win" key ctrl+r
shot x-demo-after-sync.png 20
xdotool windowsize --sync "$win" 900 600
import -window root -crop 1000x700+0+0 "$OUT/x-small-900x600.png"; sleep 2
import -window root -crop 1000x700+0+0 "$OUT/x-small-900x600.png"; echo "$OUT/x-small-900x600.png"
xdotool windowsize --sync "$win" 1440 860
xdotool windowactivate --sync "$win" key ctrl+t
shot x-my-terms.png 3
xdotool key Escape
xdotool windowactivate --sync "$win" key ctrl+2 Down Down Delete
shot x-remove-brand.png 2
xdotool key Escape
kill "$app"; wait "$app" 2>/dev/null || true
