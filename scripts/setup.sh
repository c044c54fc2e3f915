#!/usr/bin/env bash
# Sets up a fresh Debian machine: system packages (libtorch for the engine), then npm ci (builds the addon).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
PKGS="libtorch-dev libopenblas0-pthread cmake g++ make"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
npm ci
