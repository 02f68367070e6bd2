#!/usr/bin/env bash
# VCC 2018 voice conversion at 22.05 kHz in MaskCycleGAN-VC's setting (default VCC2SF3 -> VCC2TF1).
#   bash recipes/vcc2018/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--src-spk VCC2SF3] [--trg-spk VCC2TF1] [--vocoder DIR]
#        [--vocoder-conf F] [--cyclegan-conf F] [--vocoder-set "K=V ..."] [--cyclegan-set "K=V ..."]
# Stages: 0 download the training, evaluation and reference zips (skipped with --data-dir),
# 1 prepare the two speakers' 81 training utterances (the Spoke sources SF3/SF4/SM3/SM4 read other
# sentences than the targets: non-parallel), the 35 evaluation sentences of the source and the
# target's reference recordings of them, and all 12 speakers' training speech for the vocoder,
# 2 speaker statistics, 3 train the 22.05 kHz vocoder (skipped with --vocoder) and the CycleGAN,
# 4 bundle, convert the evaluation sentences, baselines, 5 `voicegen eval` and a summary table
# (stages 2-5: recipes/utils/vc_stages.sh).
# --data-dir: a local copy laid out as the zips extract: vcc2018_training/<spk>,
#   vcc2018_evaluation/<spk>, vcc2018_reference/<spk> (reference folders moved into
#   vcc2018_evaluation/ work too).
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/vcc2018; manifest=""
exp_dir=runs/vcc2018
src_spk=VCC2SF3; trg_spk=VCC2TF1
vocoder=""
vocoder_conf=recipes/ljspeech/conf/cpu.yaml; vocoder_set=""
cyclegan_conf=recipes/vcc2018/conf/cpu.yaml; cyclegan_set=""
. "$(dirname "$0")/../utils/corpus.sh"

src=$src_spk; trg=$trg_spk
mapfile -t vocoder_items < <(set_items "$vocoder_set")
mapfile -t cyclegan_items < <(set_items "$cyclegan_set")

download_stage "VCC 2018"
if stage_on 1; then
  echo "stage 1: prepare $src and $trg (training and evaluation) and the vocoder's 12 speakers"
  if [ ! -d "$root/vcc2018_training" ]; then
    echo "error: $root/vcc2018_training not found; run stage 0 or pass --data-dir" >&2; exit 1
  fi
  ref_root=$root/vcc2018_reference; [ -d "$ref_root/$trg" ] || ref_root=$root/vcc2018_evaluation
  $voicegen recipe prepare "$root/vcc2018_training/$src" "$data/train/$src" --overwrite
  $voicegen recipe prepare "$root/vcc2018_training/$trg" "$data/train/$trg" --overwrite
  # Scored files must share the contract's rate (the originals are 22.05 kHz: linked as they are).
  $voicegen recipe prepare "$root/vcc2018_evaluation/$src" "$data/dev/$src" --sample-rate 22050 --overwrite
  $voicegen recipe prepare "$ref_root/$trg" "$data/dev/$trg" --sample-rate 22050 --overwrite
  $voicegen recipe prepare "$root/vcc2018_training" "$data/vocoder" --overwrite
fi
vocoder_train=$data/vocoder
preset=hifigan22k; parallel_dev=true
. "$(dirname "$0")/../utils/vc_stages.sh"
