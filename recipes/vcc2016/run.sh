#!/usr/bin/env bash
# VCC 2016 SF1 <-> TM1 voice conversion on a CPU, in numbered stages.
#   bash recipes/vcc2016/run.sh [--stage N] [--stop-stage M] [--data-dir DIR] [--exp-dir DIR]
# Stages: 1 speaker statistics, 2 train the vocoder, 3 train the converter, 4 bundle and convert
# the held-out parallel sentences, 5 evaluate against the real TM1 recordings and the baselines.
# --data-dir is a local copy of the corpus laid out as ../shared/data (vcc2016/{SF1,TM1,
# dev_parallel}, librispeech/); downloading the official distribution is not scripted yet.
set -euo pipefail
stage=1; stop_stage=5
data_dir=$(cd "$(dirname "$0")/../../.." && pwd)/shared/data
exp_dir=runs/vcc2016
voicegen=${VOICEGEN:-voicegen}
vocoder_conf=recipes/vocoder16k/conf/cpu.yaml
cyclegan_conf=recipes/vcc2016/conf/cpu.yaml
while [ $# -gt 0 ]; do
  case $1 in
    --stage) stage=$2; shift 2;; --stop-stage) stop_stage=$2; shift 2;;
    --data-dir) data_dir=$2; shift 2;; --exp-dir) exp_dir=$2; shift 2;;
    --vocoder-conf) vocoder_conf=$2; shift 2;; --cyclegan-conf) cyclegan_conf=$2; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
vcc=$data_dir/vcc2016
[ -d "$vcc/SF1" ] || { echo "error: $vcc/SF1 not found; pass --data-dir" >&2; exit 1; }
run() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

if run 1; then
  echo "stage 1: speaker statistics"
  for spk in SF1 TM1; do $voicegen stats "$vcc/$spk" --out "$exp_dir/stats/$spk.json" --overwrite; done
fi
if run 2; then
  echo "stage 2: vocoder (training halves + LibriSpeech 78; never dev_parallel)"
  $voicegen train vocoder --config "$vocoder_conf" --run-dir "$exp_dir/vocoder" \
    --set "data.train=[$vcc/SF1, $vcc/TM1, $data_dir/librispeech]"
fi
if run 3; then
  echo "stage 3: CycleGAN SF1 <-> TM1 (training halves only)"
  $voicegen train cyclegan --config "$cyclegan_conf" --run-dir "$exp_dir/cyclegan" \
    --set "data.dir_a=$vcc/SF1" --set "data.dir_b=$vcc/TM1"
fi
if run 4; then
  echo "stage 4: bundle and convert the held-out sentences"
  $voicegen bundle --converter "$exp_dir/cyclegan/export" --vocoder "$exp_dir/vocoder/export" \
    --out "$exp_dir/bundle" --overwrite
  for pitch in none auto; do
    $voicegen convert --src "$vcc/dev_parallel/SF1" --target TM1 --source SF1 --model "$exp_dir/bundle" \
      --out "$exp_dir/converted_pitch_$pitch" --pitch $pitch --overwrite
  done
  python recipes/vcc2016/local/mel_stats_baseline.py "$exp_dir/bundle" SF1 TM1 \
    "$vcc/dev_parallel/SF1" "$exp_dir/baseline_mel_stats"
  $voicegen vocode "$vcc/dev_parallel/TM1" "$exp_dir/copy_synthesis_TM1" --model "$exp_dir/bundle/vocoder" --overwrite
fi
if run 5; then
  echo "stage 5: evaluation"
  ref=$vcc/dev_parallel/TM1
  for sys in converted_pitch_none converted_pitch_auto baseline_mel_stats; do
    $voicegen eval --converted "$exp_dir/$sys" --reference "$ref" --source "$vcc/dev_parallel/SF1" \
      --out "$exp_dir/eval/$sys" --overwrite --no-progress
  done
  $voicegen eval --converted "$vcc/dev_parallel/SF1" --reference "$ref" --out "$exp_dir/eval/no_conversion" \
    --overwrite --no-progress
  $voicegen eval --converted "$exp_dir/copy_synthesis_TM1" --reference "$ref" --copy-synthesis \
    --out "$exp_dir/eval/copy_synthesis" --overwrite --no-progress
  python - "$exp_dir/eval" <<'PY'
import json, sys, pathlib
root = pathlib.Path(sys.argv[1])
print(f"{'system':24s} {'MCD dB':>8s} {'F0 RMSE cents':>14s} {'spk sim':>8s}")
for d in sorted(p for p in root.iterdir() if (p / "summary.json").is_file()):
    s = json.loads((d / "summary.json").read_text())["metrics"]
    get = lambda k: s.get(k, {}).get("mean", float("nan"))
    print(f"{d.name:24s} {get('mcd_db'):8.2f} {get('f0_rmse_cents'):14.0f} {get('speaker_similarity'):8.3f}")
PY
fi
