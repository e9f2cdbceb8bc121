#!/bin/sh
# Renders kustomizations that use authelia-secrets into plain manifests, for Flux: its
# kustomize-controller runs no plugins, so CI renders and Flux applies the result.
#
#   sh render.sh OUT_DIR KUSTOMIZATION_DIR...
#
# writes OUT_DIR/<dir, with / as _>.yaml for each directory. Needs authelia-secrets and kubectl
# on PATH and AUTHELIA_SECRETS_SEED from the CI's secret store. The output holds the Secret, so
# it is encrypted with sops for the age recipients in SOPS_AGE_RECIPIENTS (Flux decrypts it with
# spec.decryption.provider: sops); every document's data and stringData are encrypted, which
# Flux decrypts alike. RENDER_UNENCRYPTED=1 writes plain text instead, for a look at the output
# on your own machine: never commit that.
set -eu

if [ "$#" -lt 2 ]; then
  echo "usage: render.sh OUT_DIR KUSTOMIZATION_DIR..." >&2
  exit 2
fi
out=$1
shift
if [ -z "${AUTHELIA_SECRETS_SEED:-}" ]; then
  echo "render.sh: AUTHELIA_SECRETS_SEED is not set: every render would make new values" >&2
  exit 1
fi
if [ -z "${SOPS_AGE_RECIPIENTS:-}" ] && [ "${RENDER_UNENCRYPTED:-}" != 1 ]; then
  echo "render.sh: set SOPS_AGE_RECIPIENTS (or RENDER_UNENCRYPTED=1 for a local look)" >&2
  exit 1
fi

plugins=$(mktemp -d)
trap 'rm -rf "$plugins"' EXIT
authelia-secrets install-plugin --dir "$plugins" 2>/dev/null

mkdir -p "$out"
for dir in "$@"; do
  file="$out/$(printf '%s' "$dir" | tr / _).yaml"
  KUSTOMIZE_PLUGIN_HOME="$plugins" kubectl kustomize --enable-alpha-plugins "$dir" >"$file.tmp"
  if [ -n "${SOPS_AGE_RECIPIENTS:-}" ]; then
    sops --encrypt --age "$SOPS_AGE_RECIPIENTS" --encrypted-regex '^(data|stringData)$' \
      --input-type yaml --output-type yaml "$file.tmp" >"$file"
    rm "$file.tmp"
  else
    mv "$file.tmp" "$file"
  fi
  echo "rendered $dir to $file" >&2
done
