#!/usr/bin/env bash
# Records new public API in each shipping project's PublicAPI.Unshipped.txt (what the PublicApiAnalyzers'
# code fix would do), so an API change shows up in review as a diff of that file.
# Usage: eng/update-public-api.sh [src/Project ...]   (default: every project under src/ that tracks its API)
set -euo pipefail
cd "$(dirname "$0")/.."
projects=("$@")
if [ ${#projects[@]} -eq 0 ]; then
  mapfile -t projects < <(dirname $(ls src/*/PublicAPI.Unshipped.txt))
fi
for dir in "${projects[@]}"; do
  file="$dir/PublicAPI.Unshipped.txt"
  [ -s "$file" ] || echo "#nullable enable" > "$file"
  for tfm in net8.0 net10.0; do
    dotnet build "$dir" -f "$tfm" -p:TreatWarningsAsErrors=false --no-incremental 2>&1 \
      | sed -n "s/.*RS0016: Symbol '\(.*\)' is not part of the declared public API.*/\1/p" >> "$file.new" || true
  done
  if [ -s "$file.new" ]; then
    { head -n 1 "$file"; { tail -n +2 "$file"; sort -u "$file.new"; } | sort -u; } > "$file.tmp"
    mv "$file.tmp" "$file"
  fi
  rm -f "$file.new"
  echo "$file: $(($(wc -l < "$file") - 1)) entries"
done
