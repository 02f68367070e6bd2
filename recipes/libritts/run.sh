#!/usr/bin/env bash
# LibriTTS: a multi-speaker 16 kHz vocoder and a speaker-conditioned VAE, in numbered stages.
#   bash recipes/libritts/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--train-subset train-clean-100] [--per-speaker 20] [--dev-per-speaker 2]
#        [--vae-speakers 10] [--vocoder-conf F] [--vae-conf F] [--vocoder-set "K=V ..."] [--vae-set "K=V ..."]
# Stages: 0 download train-clean-100 and dev-clean (skipped with --data-dir), 1 prepare up to
# --per-speaker clips of every training speaker and --dev-per-speaker clips of every dev-clean
# speaker (unseen speakers), resampled from 24 kHz to 16 kHz (clips are held in memory during
# training: 20 clips x 251 speakers is ~8 h of speech, ~1.8 GB), 2 statistics of the training
# speech, 3 train the vocoder on all training speakers and the VAE on the first --vae-speakers
# of them, 4 copy-synthesis of the dev-clean clips and VAE conversions of two of them into the
# first two VAE voices (for listening), 5 `voicegen eval --copy-synthesis`, a table, and the
# VAE's last validation figures (ELBO terms on held-out clips of its speakers).
# --data-dir: a folder holding LibriTTS/<subset>/<speaker>/<chapter>/*.wav.
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/libritts; manifest=""
exp_dir=runs/libritts
train_subset=train-clean-100; per_speaker=20; dev_per_speaker=2; vae_speakers=10
vocoder_conf=recipes/libritts/conf/vocoder_cpu.yaml; vocoder_set=""
vae_conf=recipes/libritts/conf/vae_cpu.yaml; vae_set=""
. "$(dirname "$0")/../utils/corpus.sh"

mapfile -t vocoder_items < <(set_items "$vocoder_set")
mapfile -t vae_items < <(set_items "$vae_set")
speakers_in() { find "$1" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort; }

download_stage LibriTTS --only dev_clean --only "${train_subset//-/_}"
if stage_on 1; then
  echo "stage 1: prepare $train_subset ($per_speaker per speaker) and dev-clean ($dev_per_speaker per speaker) at 16 kHz"
  $voicegen recipe prepare "$root/LibriTTS/$train_subset" "$data/train" --include '*.wav' --per-speaker "$per_speaker" \
    --sample-rate 16000 --overwrite
  $voicegen recipe prepare "$root/LibriTTS/dev-clean" "$data/dev" --include '*.wav' --per-speaker "$dev_per_speaker" \
    --sample-rate 16000 --overwrite
fi
if stage_on 2; then
  echo "stage 2: statistics of the training speech"
  $voicegen stats "$data/train" --out "$exp_dir/stats/train.json" --overwrite --no-progress
fi
if stage_on 3; then
  echo "stage 3: train the vocoder on every training speaker"
  $voicegen train vocoder --config "$vocoder_conf" --run-dir "$exp_dir/vocoder" \
    --set "data.train=[$data/train]" ${vocoder_items[@]+"${vocoder_items[@]}"}
  speakers=$(speakers_in "$data/train" | head -n "$vae_speakers" | while read -r s; do
    printf '"%s": %s, ' "$s" "$data/train/$s"; done)
  echo "stage 3: train the VAE on $vae_speakers speakers"
  $voicegen train vae --config "$vae_conf" --run-dir "$exp_dir/vae" \
    --set "data.speakers={${speakers%, }}" ${vae_items[@]+"${vae_items[@]}"}
fi
if stage_on 4; then
  echo "stage 4: copy-synthesis of unseen speakers; VAE conversions into training voices"
  $voicegen vocode "$data/dev" "$exp_dir/copy_synthesis" --model "$exp_dir/vocoder/export" --overwrite
  $voicegen bundle --converter "$exp_dir/vae/export" --vocoder "$exp_dir/vocoder/export" --out "$exp_dir/bundle" \
    --overwrite
  mapfile -t voices < <(speakers_in "$data/train" | head -n 2)
  mapfile -t unseen < <(speakers_in "$data/dev" | head -n 2)
  for i in 0 1; do
    $voicegen convert --src "$data/dev/${unseen[$i]}" --target "${voices[$i]}" --source "${voices[1 - i]}" \
      --model "$exp_dir/bundle" --out "$exp_dir/vae_converted/${unseen[$i]}_to_${voices[$i]}" --overwrite
  done
fi
if stage_on 5; then
  echo "stage 5: copy-synthesis scores of unseen speakers; VAE validation"
  $voicegen eval --converted "$exp_dir/copy_synthesis" --reference "$data/dev" --copy-synthesis \
    --out "$exp_dir/eval/copy_synthesis" --overwrite --no-progress
  $python recipes/utils/eval_table.py "$exp_dir/eval" --out "$exp_dir/eval/table.txt"
  $python recipes/utils/val_metrics.py "$exp_dir/vocoder" "$exp_dir/vae"
fi
