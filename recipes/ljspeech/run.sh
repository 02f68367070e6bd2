#!/usr/bin/env bash
# A 22.05 kHz vocoder (mel contract hifigan22k) on LJ Speech, in numbered stages.
#   bash recipes/ljspeech/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--dev-glob 'LJ050-*'] [--dev-count 100] [--vocoder-conf F] [--train-set "K=V ..."]
# Stages: 0 download LJSpeech-1.1 (skipped with --data-dir), 1 prepare: clips matching --dev-glob
# are held out (the first --dev-count of them are scored), all others train, 2 statistics of the
# training clips, 3 train the vocoder (conf/cpu.yaml; conf/hifigan_v1.yaml is the paper's V1 for
# a GPU), 4 copy-synthesis of the scored clips, 5 `voicegen eval --copy-synthesis` and a table.
# --data-dir: a folder holding LJSpeech-1.1/wavs/ (or ljspeech/wavs/ as in ../shared/data; its 16
#   clips need e.g. --dev-glob 'LJ001-001*' --dev-count 3, and suit smoke tests only).
# --train-set: extra `--set` items for `voicegen train vocoder` (space-separated).
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/ljspeech; manifest=""
exp_dir=runs/ljspeech
dev_glob='LJ050-*'; dev_count=100
vocoder_conf=recipes/ljspeech/conf/cpu.yaml; train_set=""
. "$(dirname "$0")/../utils/corpus.sh"

mapfile -t train_items < <(set_items "$train_set")

download_stage "LJ Speech"
if stage_on 1; then
  echo "stage 1: prepare (held out: $dev_glob, $dev_count scored)"
  first_path wavs "$root/LJSpeech-1.1/wavs" "$root/ljspeech/wavs"
  [ -n "$wavs" ] || { echo "error: no LJSpeech-1.1/wavs under $root; run stage 0 or pass --data-dir" >&2; exit 1; }
  $voicegen recipe prepare "$wavs" "$data/train" --exclude "$dev_glob" --overwrite
  $voicegen recipe prepare "$wavs" "$data/dev" --include "$dev_glob" --first "$dev_count" \
    --sample-rate 22050 --overwrite
fi
if stage_on 2; then
  echo "stage 2: statistics of the training clips"
  $voicegen stats "$data/train" --preset hifigan22k --out "$exp_dir/stats/train.json" --overwrite --no-progress
fi
if stage_on 3; then
  echo "stage 3: train the vocoder ($vocoder_conf)"
  $voicegen train vocoder --config "$vocoder_conf" --run-dir "$exp_dir/vocoder" \
    --set "data.train=[$data/train]" ${train_items[@]+"${train_items[@]}"}
fi
if stage_on 4; then
  echo "stage 4: copy-synthesis of the held-out clips"
  $voicegen vocode "$data/dev" "$exp_dir/copy_synthesis" --model "$exp_dir/vocoder/export" --overwrite
fi
if stage_on 5; then
  echo "stage 5: copy-synthesis scores"
  $voicegen eval --converted "$exp_dir/copy_synthesis" --reference "$data/dev" --copy-synthesis \
    --out "$exp_dir/eval/copy_synthesis" --overwrite --no-progress
  $python recipes/utils/eval_table.py "$exp_dir/eval" --out "$exp_dir/eval/table.txt"
fi
