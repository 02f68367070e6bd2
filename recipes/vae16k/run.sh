#!/usr/bin/env bash
# A speaker-conditioned spectrogram VAE on VCC 2016 speakers (+ LibriSpeech), in numbered stages.
#   bash recipes/vae16k/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--src-spk SF1] [--trg-spk TM1] [--libri-speakers "78"] [--with-librispeech true]
#        [--vocoder DIR] [--vae-conf F] [--vae-set "K=V ..."] [--vocoder-conf F] [--vocoder-set "K=V ..."]
#        [--frame-bank true|false]
# Stages: 0 download VCC 2016 (and LibriSpeech train-clean-100 with --with-librispeech true;
# skipped with --data-dir), 1 prepare the training speech of both VCC speakers (source
# 100001-100081, target 100082-100162), of the LibriSpeech speakers (as LS<id>) and the parallel
# evaluation pairs, 2 speaker statistics, 3 train the VAE on all those speakers (and a vocoder
# when --vocoder is ''), 4 bundle the VAE with the vocoder, convert the source's evaluation
# sentences into the target voice, baselines, 5 `voicegen eval`, a table and the VAE's last
# validation figures (stages 2-5: recipes/utils/vc_stages.sh).
# --vocoder: the exported 16 kHz vocoder [default: the shipped vocoder16k_vc, which the shipped vae16k speaks through].
# --frame-bank true: the bundle re-draws each frame converted into the source or target speaker from
#   that speaker's training frames (`voicegen bundle --frame-bank`; how the shipped vae16k runs) [default: true].
# --data-dir: as for recipes/vcc2016 (official zips' layout, ../shared/data with librispeech/, or a
#   folder per speaker holding its 1000xx and 2000xx sentences).
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/vae16k; manifest=""; with_librispeech=false
exp_dir=runs/vae16k
src_spk=SF1; trg_spk=TM1; libri_speakers="78"
vocoder=voicegen/assets/models/vocoder16k_vc
vocoder_conf=recipes/vocoder16k/conf/cpu.yaml; vocoder_set=""
vae_conf=recipes/vae16k/conf/cpu.yaml; vae_set=""; frame_bank=true
. "$(dirname "$0")/../utils/corpus.sh"

src=$src_spk; trg=$trg_spk
mapfile -t vocoder_items < <(set_items "$vocoder_set")
mapfile -t converter_items < <(set_items "$vae_set")

optional=(); [ "$with_librispeech" = true ] && optional=(--with-optional)
download_stage "" ${optional[@]+"${optional[@]}"}
if stage_on 1; then
  echo "stage 1: prepare $src, $trg, LibriSpeech ${libri_speakers:-none} and the evaluation pairs"
  vcc2016_layout "$src" "$trg"
  librispeech_layout
  ids=${eval_ids:+--ids $eval_ids}
  rm -rf "$data/train"
  $voicegen recipe prepare "$train_root/$src" "$data/train/$src" --ids 100001-100081 --overwrite
  $voicegen recipe prepare "$train_root/$trg" "$data/train/$trg" --ids 100082-100162 --overwrite
  # shellcheck disable=SC2086  # $ids is empty or two words
  $voicegen recipe prepare "$eval_root/$src" "$data/dev/$src" $ids --sample-rate 16000 --overwrite
  # shellcheck disable=SC2086
  $voicegen recipe prepare "$eval_root/$trg" "$data/dev/$trg" $ids --sample-rate 16000 --overwrite
  for spk in $libri_speakers; do
    $voicegen recipe prepare "$libri_root/$spk" "$data/train/LS$spk" --overwrite
  done
fi
# Every prepared training folder is a VAE speaker, in this order: source, target, LibriSpeech.
speakers="$src: $data/train/$src, $trg: $data/train/$trg"
for spk in $libri_speakers; do speakers="$speakers, LS$spk: $data/train/LS$spk"; done
converter=vae; converter_conf=$vae_conf
converter_sets=(--set "data.speakers={$speakers}")
vocoder_train="$data/train/$src, $data/train/$trg"
preset=vc16k; parallel_dev=true
. "$(dirname "$0")/../utils/vc_stages.sh"
if stage_on 5; then
  $python recipes/utils/val_metrics.py "$exp_dir/vae"
fi
