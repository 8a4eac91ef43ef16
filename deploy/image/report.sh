#!/usr/bin/env bash
# What `make image` prints after a build: the image's size and its largest layers.
# Usage: report.sh ENGINE IMAGE BUILD_SECONDS
set -euo pipefail
engine=$1 image=$2 seconds=$3
bytes=$("$engine" image inspect --format '{{.Size}}' "$image")
echo "image $image: $((bytes / 1000000)) MB, built in ${seconds} s"
echo "largest layers ($engine history $image):"
# Sizes come as go-units strings ("3.52 GB", "12.5 MB", "0 B") from both podman and docker.
"$engine" history --no-trunc --format '{{.Size}}|{{.CreatedBy}}' "$image" \
  | awk -F'|' '{ split($1, s, " "); f = 1;
                 if (s[2] == "kB") f = 1e3; else if (s[2] == "MB") f = 1e6; else if (s[2] == "GB") f = 1e9;
                 printf "%.0f|%s\n", s[1] * f, substr($2, 1, 110) }' \
  | sort -t'|' -k1,1 -rn | head -5 \
  | awk -F'|' '{ printf "  %7.1f MB  %s\n", $1 / 1e6, $2 }'
