#!/usr/bin/env bash
# Screenshots of the built site with headless Chromium, MathJax served locally (no internet).
#   tools/docs/screenshot.sh MATHJAX_DIR OUT_DIR [page ...]
# MATHJAX_DIR: an unpacked MathJax 3 package (its es5/ folder inside), e.g. from `npm pack mathjax@3`.
set -euo pipefail
mathjax=$(cd "$1" && pwd); out=$(mkdir -p "$2" && cd "$2" && pwd); shift 2
pages=("${@:-index.html api/reduction/index.html strategies/index.html}")
cd "$(dirname "$0")/../.."
site=$(mktemp -d)
port=${PORT:-8765}
WEIGHTWISE_MATHJAX_URL="http://127.0.0.1:$port/_mathjax/es5/tex-mml-chtml.js" \
  NO_MKDOCS_2_WARNING=1 "${MKDOCS:-mkdocs}" build --strict --quiet --site-dir "$site"
ln -s "$mathjax" "$site/_mathjax"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site" >/dev/null 2>&1 &
server=$!
trap 'kill $server; rm -rf "$site"' EXIT
sleep 1
for page in ${pages[@]}; do
  name=$(echo "$page" | sed 's#/index.html##; s#\.html##; s#/#-#g')
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,${HEIGHT:-2400} \
    --virtual-time-budget=8000 --screenshot="$out/$name.png" "http://127.0.0.1:$port/$page" 2>/dev/null
  echo "$out/$name.png"
done
