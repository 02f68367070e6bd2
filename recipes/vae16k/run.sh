#!/usr/bin/env bash
# A speaker-conditioned spectrogram VAE on VCC 2016 speakers (+ LibriSpeech), in numbered stages.
#   bash recipes/vae16k/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--src-spk SF1] [--trg-spk TM1] [--libri-speakers "78"] [--with-librispeech true]
#        [--vocoder DIR] [--vae-conf F] [--vae-set "K=V ..."] [--vocoder-conf F] [--vocoder-set "K=V ..."]
# Stages: 0 download VCC 2016 (and LibriSpeech train-clean-100 with --with-librispeech true;
# skipped with --data-dir), 1 prepare the training speech of both VCC speakers (source
# 100001-100081, target 100082-100162), of the LibriSpeech speakers (as LS<id>) and the parallel
# evaluation pairs, 2 speaker statistics, 3 train the VAE on all those speakers (and a vocoder
# when --vocoder is ''), 4 bundle the VAE with the vocoder, convert the source's evaluation
# sentences into the target voice, baselines, 5 `voicegen eval`, a table and the VAE's last
# validation figures (stages 2-5: recipes/utils/vc_stages.sh).
# --vocoder: the exported 16 kHz vocoder [default: the shipped one, trained on the same data].
# --data-dir: as for recipes/vcc2016 (official zips' layout, or ../shared/data with librispeech/).
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/vae16k; manifest=""; with_librispeech=false
exp_dir=runs/vae16k
src_spk=SF1; trg_spk=TM1; libri_speakers="78"
vocoder=voicegen/assets/models/vocoder16k
vocoder_conf=recipes/vocoder16k/conf/cpu.yaml; vocoder_set=""
vae_conf=recipes/vae16k/conf/cpu.yaml; vae_set=""
voicegen=${VOICEGEN:-voicegen}
python=${PYTHON:-python}
. "$(dirname "$0")/../utils/parse_options.sh"

src=$src_spk; trg=$trg_spk
data=$exp_dir/data
mapfile -t vocoder_items < <(set_items "$vocoder_set")
mapfile -t converter_items < <(set_items "$vae_set")

corpus() {
  root=${data_dir:-$download_dir}
  if [ -d "$root/vcc2016_training" ]; then train_root=$root/vcc2016_training; eval_root=$root/evaluation_all
  elif [ -d "$root/vcc2016" ]; then train_root=$root/vcc2016; eval_root=$root/vcc2016/dev_parallel
  else echo "error: no VCC 2016 corpus in $root (vcc2016_training/ or vcc2016/); run stage 0 or pass --data-dir" >&2
       exit 1
  fi
  libri_root=""
  for candidate in "$root/LibriSpeech/train-clean-100" "$root/librispeech"; do
    if [ -d "$candidate" ]; then libri_root=$candidate; break; fi
  done
}

if stage_on 0; then
  if [ -n "$data_dir" ]; then
    echo "stage 0: skipped (--data-dir $data_dir is a local copy)"
  else
    echo "stage 0: download into $download_dir"
    optional=""; [ "$with_librispeech" = true ] && optional=--with-optional
    $voicegen recipe download vae16k --out "$download_dir" ${manifest:+--manifest "$manifest"} $optional --no-progress
  fi
fi
if stage_on 1; then
  echo "stage 1: prepare $src, $trg, LibriSpeech ${libri_speakers:-none} and the evaluation pairs"
  corpus
  rm -rf "$data/train"
  $voicegen recipe prepare "$train_root/$src" "$data/train/$src" --ids 100001-100081 --overwrite
  $voicegen recipe prepare "$train_root/$trg" "$data/train/$trg" --ids 100082-100162 --overwrite
  $voicegen recipe prepare "$eval_root/$src" "$data/dev/$src" --sample-rate 16000 --overwrite
  $voicegen recipe prepare "$eval_root/$trg" "$data/dev/$trg" --sample-rate 16000 --overwrite
  for spk in $libri_speakers; do
    if [ -z "$libri_root" ]; then
      echo "error: no LibriSpeech under $root; pass --libri-speakers '' or download it" >&2; exit 1
    fi
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
