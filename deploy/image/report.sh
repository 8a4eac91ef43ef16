#!/usr/bin/env bash
# What `make image` prints after a build: the image's size and its largest layers.
# Usage: report.sh ENGINE IMAGE BUILD_SECONDS
set -euo pipefail
engine=$1 image=$2 seconds=$3
bytes=$("$engine" image inspect --format '{{.Size}}' "$image")
echo "image $image: $((bytes / 1000000)) MB, built in ${seconds} s"
echo "largest layers ($engine history $image):"
"$engine" history --human=false --format '{{.Size}}\t{{.CreatedBy}}' "$image" \
  | sort -rn | head -5 \
  | awk -F'\t' '{ printf "  %6d MB  %s\n", $1 / 1000000, substr($2, 1, 100) }'
