#!/usr/bin/env bash
# CMU ARCTIC voice conversion at 16 kHz between two speakers (default bdl -> slt), in numbered stages.
#   bash recipes/cmu_arctic/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--src-spk bdl] [--trg-spk slt] [--dev-count 50] [--vocoder DIR]
#        [--vocoder-conf F] [--cyclegan-conf F] [--vocoder-set "K=V ..."] [--cyclegan-set "K=V ..."]
# Stages: 0 download both speakers' archives (skipped with --data-dir), 1 prepare the training
# speech, non-parallel: the source takes arctic_a0001-a0296, the target arctic_a0297-a0593; the
# first --dev-count sentences of the "b" set (arctic_b0001...) of both speakers are the parallel
# evaluation pairs, 2 speaker statistics, 3 train the vocoder (skipped with --vocoder) and the
# CycleGAN, 4 bundle, convert the evaluation sentences, baselines, 5 `voicegen eval` and a
# summary table (stages 2-5: recipes/utils/vc_stages.sh).
# --data-dir: a folder holding the extracted archives (cmu_us_<spk>_arctic/wav/*.wav).
# Other speakers: clb and rms are in the manifest (voicegen recipe download cmu_arctic --only clb).
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/cmu_arctic; manifest=""
exp_dir=runs/cmu_arctic
src_spk=bdl; trg_spk=slt; dev_count=50
vocoder=""
vocoder_conf=recipes/vocoder16k/conf/cpu.yaml; vocoder_set=""
cyclegan_conf=recipes/cmu_arctic/conf/cpu.yaml; cyclegan_set=""
. "$(dirname "$0")/../utils/corpus.sh"

src=$src_spk; trg=$trg_spk
mapfile -t vocoder_items < <(set_items "$vocoder_set")
mapfile -t cyclegan_items < <(set_items "$cyclegan_set")

download_stage "$src and $trg" --only "$src" --only "$trg"
if stage_on 1; then
  echo "stage 1: prepare $src (arctic_a0001-a0296), $trg (arctic_a0297-a0593), $dev_count evaluation pairs"
  wav() { echo "$root/cmu_us_$1_arctic/wav"; }
  $voicegen recipe prepare "$(wav "$src")" "$data/train/$src" --include 'arctic_a*' --ids 1-296 --overwrite
  $voicegen recipe prepare "$(wav "$trg")" "$data/train/$trg" --include 'arctic_a*' --ids 297-593 --overwrite
  for spk in "$src" "$trg"; do
    $voicegen recipe prepare "$(wav "$spk")" "$data/dev/$spk" --include 'arctic_b*' --first "$dev_count" \
      --sample-rate 16000 --overwrite
  done
fi
vocoder_train="$data/train/$src, $data/train/$trg"
preset=vc16k; parallel_dev=true
. "$(dirname "$0")/../utils/vc_stages.sh"
