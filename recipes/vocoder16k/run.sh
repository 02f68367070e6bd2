#!/usr/bin/env bash
# 16 kHz vocoder (mel contract vc16k) on VCC 2016 speakers and LibriSpeech, in numbered stages.
#   bash recipes/vocoder16k/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--speakers "SF1 TM1"] [--libri-speakers "78"] [--with-librispeech true]
#        [--unseen-dir DIR] [--vocoder-conf F] [--train-set "K=V ..."]
# Stages: 0 download VCC 2016 (and LibriSpeech train-clean-100 with --with-librispeech true;
# skipped with --data-dir), 1 prepare the training sentences of --speakers and the LibriSpeech
# speakers, and the evaluation sentences, 2 statistics (duration, log-F0) of each training
# folder, 3 train the vocoder, 4 copy-synthesis of the evaluation sentences (never trained on)
# and of --unseen-dir (a speaker never trained on; default: <data-dir>/ljspeech/wavs when present,
# resampled to 16 kHz), 5 `voicegen eval --copy-synthesis` per speaker (F0 by WORLD Harvest) and a
# summary table.
# --data-dir: a local copy laid out as the official archives extract (vcc2016_training/,
#   evaluation_all/, LibriSpeech/train-clean-100/), as ../shared/data (vcc2016/<spk>,
#   vcc2016/dev_parallel/<spk>, librispeech/<speaker>), or a folder per speaker (<spk>/) holding its
#   1000xx and 2000xx sentences.
# --train-set: extra `--set` items for `voicegen train vocoder` (space-separated).
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/vocoder16k; manifest=""; with_librispeech=false
exp_dir=runs/vocoder16k
speakers="SF1 TM1"; libri_speakers="78"
vocoder_conf=recipes/vocoder16k/conf/source_filter.yaml; train_set=""; unseen_dir=""
. "$(dirname "$0")/../utils/corpus.sh"

mapfile -t train_items < <(set_items "$train_set")

optional=(); [ "$with_librispeech" = true ] && optional=(--with-optional)
download_stage "" ${optional[@]+"${optional[@]}"}
if stage_on 1; then
  echo "stage 1: prepare the training speakers ($speakers; LibriSpeech: ${libri_speakers:-none})"
  # shellcheck disable=SC2086  # one word per speaker
  vcc2016_layout $speakers
  librispeech_layout
  ids=${eval_ids:+--ids $eval_ids}
  rm -rf "$data/train"
  for spk in $speakers; do
    # VCC 2016 training sentences only (100001-100162); the 2000xx evaluation sentences stay out.
    $voicegen recipe prepare "$train_root/$spk" "$data/train/$spk" --ids 100001-100162 --overwrite
    # shellcheck disable=SC2086  # $ids is empty or two words
    $voicegen recipe prepare "$eval_root/$spk" "$data/dev/$spk" $ids --sample-rate 16000 --overwrite
  done
  for spk in $libri_speakers; do
    $voicegen recipe prepare "$libri_root/$spk" "$data/train/libri_$spk" --overwrite
  done
  if [ -z "$unseen_dir" ] && [ -n "$data_dir" ] && [ -d "$data_dir/ljspeech/wavs" ]; then
    unseen_dir=$data_dir/ljspeech/wavs
  fi
  rm -rf "$data/unseen"
  if [ -n "$unseen_dir" ]; then
    echo "stage 1: unseen speaker for scoring: $unseen_dir"
    $voicegen recipe prepare "$unseen_dir" "$data/unseen/unseen" --sample-rate 16000 --overwrite
  fi
fi
if stage_on 2; then
  echo "stage 2: statistics of the training folders"
  for folder in "$data"/train/*/; do
    name=$(basename "$folder")
    $voicegen stats "$folder" --out "$exp_dir/stats/$name.json" --overwrite --no-progress
  done
fi
if stage_on 3; then
  echo "stage 3: train the vocoder on $data/train (never the evaluation sentences)"
  folders=$(find "$data/train" -mindepth 1 -maxdepth 1 -type d | sort | paste -sd, - | sed 's/,/, /g')
  $voicegen train vocoder --config "$vocoder_conf" --run-dir "$exp_dir/vocoder" \
    --set "data.train=[$folders]" ${train_items[@]+"${train_items[@]}"}
fi
if stage_on 4; then
  echo "stage 4: copy-synthesis of the evaluation sentences"
  for spk in $speakers; do
    $voicegen vocode "$data/dev/$spk" "$exp_dir/copy_synthesis/$spk" --model "$exp_dir/vocoder/export" --overwrite
  done
  if [ -d "$data/unseen/unseen" ]; then
    $voicegen vocode "$data/unseen/unseen" "$exp_dir/copy_synthesis/unseen" --model "$exp_dir/vocoder/export" \
      --overwrite
  fi
fi
if stage_on 5; then
  echo "stage 5: copy-synthesis scores"
  for spk in $speakers; do
    $voicegen eval --converted "$exp_dir/copy_synthesis/$spk" --reference "$data/dev/$spk" --copy-synthesis \
      --f0-method harvest --out "$exp_dir/eval/copy_synthesis_$spk" --overwrite --no-progress
  done
  if [ -d "$exp_dir/copy_synthesis/unseen" ]; then
    $voicegen eval --converted "$exp_dir/copy_synthesis/unseen" --reference "$data/unseen/unseen" --copy-synthesis \
      --f0-method harvest --out "$exp_dir/eval/copy_synthesis_unseen" --overwrite --no-progress
  fi
  $python recipes/utils/eval_table.py "$exp_dir/eval" --out "$exp_dir/eval/table.txt"
fi
