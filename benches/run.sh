#!/usr/bin/env bash
# Times whole processes for BENCHMARKS.md and prints every figure as a ratio measured in one run.
#
#   benches/run.sh            # all figures (about 10 minutes on 2 cores)
#   RUNS=3 benches/run.sh     # fewer runs per command, for a quick look
#
# What it measures (the targets are in BENCHMARKS.md):
#   throughput  the release binary vs. the floor (parse + emit of the same list with the same YAML
#               library, nothing else: the `core` bench binary with AUTHELIA_BENCH_PIPE=floor),
#               at 1k, 5k and 20k items;
#   scaling     the binary at 20k items vs. 1k items;
#   memory      peak RSS (GNU time) at 20k items vs. the input size;
#   startup     the quickstart (no key generation) wall time;
#   kpt share   the binary alone on the ResourceList kpt sends vs. `kpt fn eval` of 1k items;
#   keygen      a derived RSA-2048 (and 4096) key vs. `openssl genrsa` on the same machine.
# Raw hyperfine JSON and the inputs stay in target/bench/; the summary is target/bench/figures.md.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-10}"
OUT=target/bench
mkdir -p "$OUT"

need_apt() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "bench: installing $2" >&2
        apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
    }
}
need_apt hyperfine hyperfine
need_apt openssl openssl
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
command -v kpt >/dev/null || { echo "bench: kpt is not on PATH" >&2; exit 1; }

echo "bench: building the release binary and the bench binary (floor)" >&2
cargo build --release --locked -q
BIN="$PWD/target/release/authelia-secrets"
FLOOR=$(cargo bench --bench core --no-run --locked --message-format=json 2>/dev/null |
    python3 -c 'import sys, json
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "core":
        print(m["executable"])' | tail -1)
[ -x "$FLOOR" ] || { echo "bench: no bench binary found" >&2; exit 1; }

export AUTHELIA_SECRETS_SEED=benchmark-seed-0123456789abcdef-0123
GEN=benches/gen_resource_list.py
for n in 1000 5000 20000; do
    [ -s "$OUT/list-$n.yaml" ] || python3 "$GEN" --items "$n" --out "$OUT/list-$n.yaml"
done
python3 "$GEN" --quickstart examples/quickstart --out "$OUT/quickstart.yaml"
python3 "$GEN" --keygen rsa2048 --out "$OUT/rsa2048.yaml"
python3 "$GEN" --keygen rsa4096 --out "$OUT/rsa4096.yaml"

# The binary must succeed on every input before it is timed.
for f in "$OUT"/list-*.yaml "$OUT"/quickstart.yaml "$OUT"/rsa2048.yaml; do
    "$BIN" <"$f" >/dev/null
done

echo "bench: throughput and scaling" >&2
args=()
for n in 1000 5000 20000; do
    runs=$RUNS
    [ "$n" = 20000 ] && runs=$(( RUNS < 5 ? RUNS : 5 ))
    hyperfine -N --style none --warmup 1 --runs "$runs" \
        -n "core $n" "sh -c '$BIN < $OUT/list-$n.yaml > /dev/null'" \
        -n "floor $n" "sh -c 'AUTHELIA_BENCH_PIPE=floor $FLOOR < $OUT/list-$n.yaml > /dev/null'" \
        --export-json "$OUT/throughput-$n.json" >/dev/null
done

echo "bench: memory" >&2
for i in 1 2 3; do
    /usr/bin/time -f "%M" -o "$OUT/rss-core-$i.txt" "$BIN" <"$OUT/list-20000.yaml" >/dev/null
    AUTHELIA_BENCH_PIPE=floor /usr/bin/time -f "%M" -o "$OUT/rss-floor-$i.txt" "$FLOOR" <"$OUT/list-20000.yaml" >/dev/null
done

echo "bench: startup" >&2
# 100 runs in one shell per sample: a single run (~2 ms) is below what hyperfine can separate
# from the shell's own start-up; here the shell starts once per 100 runs.
hyperfine -N --style none --warmup 1 --runs "$RUNS" \
    -n "quickstart x100" "sh -c 'i=0; while [ \$i -lt 100 ]; do $BIN < $OUT/quickstart.yaml > /dev/null; i=\$((i+1)); done'" \
    --export-json "$OUT/startup.json" >/dev/null

echo "bench: kpt fn eval share" >&2
pkg="$OUT/kpt-1000"
rm -rf "$pkg" && python3 "$GEN" --items 1000 --package "$pkg" --fn-config "$OUT/fn-config.yaml"
# Capture the ResourceList kpt hands the function, to time the function alone on it.
cat >"$OUT/tee-fn" <<EOF
#!/bin/sh
tee "$PWD/$OUT/kpt-input.yaml" | "$BIN"
EOF
chmod +x "$OUT/tee-fn"
kpt fn eval "$pkg" --exec "$PWD/$OUT/tee-fn" --fn-config "$OUT/fn-config.yaml" -o stdout >/dev/null
hyperfine --style none --warmup 1 --runs "$RUNS" \
    -n "kpt fn eval (authelia-secrets)" "kpt fn eval $pkg --exec $BIN --fn-config $OUT/fn-config.yaml -o stdout > /dev/null" \
    -n "kpt fn eval (cat)" "kpt fn eval $pkg --exec cat --fn-config $OUT/fn-config.yaml -o stdout > /dev/null" \
    -n "authelia-secrets alone" "$BIN < $OUT/kpt-input.yaml > /dev/null" \
    --export-json "$OUT/kpt.json" >/dev/null

echo "bench: key generation" >&2
hyperfine --style none --warmup 2 --runs $(( RUNS * 3 )) \
    -n "derived RSA-2048" "$BIN < $OUT/rsa2048.yaml > /dev/null" \
    -n "openssl genrsa 2048" "openssl genrsa 2048 > /dev/null 2>&1" \
    --export-json "$OUT/rsa2048.json" >/dev/null
hyperfine --style none --warmup 1 --runs "$RUNS" \
    -n "derived RSA-4096" "$BIN < $OUT/rsa4096.yaml > /dev/null" \
    -n "openssl genrsa 4096" "openssl genrsa 4096 > /dev/null 2>&1" \
    --export-json "$OUT/rsa4096.json" >/dev/null

python3 - "$OUT" <<'EOF' | tee "$OUT/figures.md"
import json, os, platform, subprocess, sys
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name)) as f:
        return {r["command"]: r for r in json.load(f)["results"]}
def ms(r, key="mean"):
    return r[key] * 1000
def rss(kind):
    return max(int(open(os.path.join(out, f"rss-{kind}-{i}.txt")).read().split()[-1]) for i in (1, 2, 3))

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Machine: {os.cpu_count()} cores, {cpu}; {platform.system()} {platform.release()}")
print()
print("| figure | measured | target | met |")
print("|---|---|---|---|")
t = {n: load(f"throughput-{n}.json") for n in (1000, 5000, 20000)}
for n in (1000, 5000, 20000):
    core, floor = t[n][f"core {n}"], t[n][f"floor {n}"]
    ratio = core["mean"] / floor["mean"]
    target = "≤ 1.3×" if n == 5000 else "(reported)"
    met = ("yes" if ratio <= 1.3 else "NO") if n == 5000 else ""
    print(f"| throughput, {n} items: binary {ms(core):.0f} ms vs floor {ms(floor):.0f} ms | {ratio:.2f}× | {target} | {met} |")
scale = t[20000]["core 20000"]["mean"] / t[1000]["core 1000"]["mean"]
fscale = t[20000]["floor 20000"]["mean"] / t[1000]["floor 1000"]["mean"]
print(f"| scaling, 20k vs 1k items (floor: {fscale:.1f}×) | {scale:.1f}× | ≤ 22× | {'yes' if scale <= 22 else 'NO'} |")
size = os.path.getsize(os.path.join(out, "list-20000.yaml"))
peak = rss("core") * 1024
limit = 6 * size + 16 * 2**20
print(f"| peak RSS, 20k items ({size / 2**20:.1f} MiB in; floor {rss('floor') / 1024:.0f} MiB) | {peak / 2**20:.0f} MiB = {peak / size:.1f}× input | ≤ 6× input + 16 MiB = {limit / 2**20:.0f} MiB | {'yes' if peak <= limit else 'NO'} |")
s = ms(load("startup.json")["quickstart x100"], "median") / 100
print(f"| startup, quickstart without key generation (median of 100-run batches) | {s:.2f} ms | ≤ 5 ms | {'yes' if s <= 5 else 'NO'} |")
k = load("kpt.json")
total, alone, cat = k["kpt fn eval (authelia-secrets)"], k["authelia-secrets alone"], k["kpt fn eval (cat)"]
share = alone["mean"] / total["mean"]
print(f"| share of `kpt fn eval`, 1k items: {ms(alone):.0f} ms of {ms(total):.0f} ms (with `cat`: {ms(cat):.0f} ms) | {share * 100:.1f} % | ≤ 10 % | {'yes' if share <= 0.10 else 'NO'} |")
for bits, runs_key in ((2048, "rsa2048.json"), (4096, "rsa4096.json")):
    r = load(runs_key)
    ours, ossl = r[f"derived RSA-{bits}"], r[f"openssl genrsa {bits}"]
    ratio = ours["median"] / ossl["median"]
    target = "≤ 1.0×" if bits == 2048 else "(reported)"
    met = ("yes" if ratio <= 1.0 else "NO") if bits == 2048 else ""
    print(f"| RSA-{bits} median: derived {ms(ours, 'median'):.0f} ms vs openssl {ms(ossl, 'median'):.0f} ms | {ratio:.2f}× | {target} | {met} |")
EOF
