#!/usr/bin/env bash
# VCC 2016 voice conversion between two speakers (default SF1 -> TM1), in numbered stages.
#   bash recipes/vcc2016/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--src-spk SF1] [--trg-spk TM1] [--dev-count N] [--val-pairs N] [--vocoder DIR]
#        [--vocoder-conf F] [--cyclegan-conf F] [--vocoder-set "K=V ..."] [--cyclegan-set "K=V ..."]
#        [--tune-vocoder STEPS] [--postfilter VAE] [--frame-bank true|false]
# Stages: 0 download the official distribution (skipped with --data-dir), 1 prepare the
# non-parallel training halves (source 100001-100081, target 100082-100162, as in CycleGAN-VC)
# and the parallel evaluation pairs, 2 speaker statistics, 3 train the vocoder (skipped with
# --vocoder) and the CycleGAN, 4 bundle, convert the evaluation sentences, baselines,
# 5 `voicegen eval` of every system and a summary table (stages 2-5: recipes/utils/vc_stages.sh).
# --data-dir: a local copy laid out as the official zips extract (vcc2016_training/<spk>,
#   evaluation_all/<spk>), as ../shared/data (vcc2016/<spk>, vcc2016/dev_parallel/<spk>, and
#   librispeech/, which the vocoder then also trains on), or a folder per speaker (<spk>/) holding
#   both its training (1000xx) and evaluation (2000xx) sentences; stage 1 says which it found.
# --dev-count N: score only the first N evaluation sentences [default: all].
# --val-pairs N: the first N evaluation sentences of both speakers become validation pairs (scored
#   during training: MCD, log-F0 RMSE, DNSMOS; the step with the lowest validation MCD is exported)
#   and only the others are scored in stage 5 [default: 0, no validation pairs].
# --vocoder DIR: an exported 16 kHz vocoder to use instead of training one (e.g. the shipped
#   voicegen/assets/models/vocoder16k).
# --tune-vocoder STEPS: after the CycleGAN, fine-tune the vocoder that many steps on the CycleGAN's
#   round trips of the training sentences; the bundle speaks through it (how the shipped
#   vocoder16k_vc was made: recipes/vocoder16k/README.md) [default: 0, off].
# --postfilter VAE: the bundle runs the installed VAE bundle VAE (e.g. vae16k) after the CycleGAN,
#   decoding each target as its VAE speaker of the same name (how the shipped vcc2016_sf1_tm1 runs);
#   with --tune-vocoder the round trips go through it too [default: none].
# --frame-bank true: the bundle re-draws each converted frame as the mean of its 8 nearest frames of
#   the target's training speech (`voicegen bundle --frame-bank`; how the shipped vcc2016_sf1_tm1
#   runs) [default: true].
# --manifest FILE: stage 0 takes its downloads from FILE (a mirror; the tests' local server).
# --vocoder-set / --cyclegan-set: extra `--set` items for the training commands (space-separated).
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/vcc2016; manifest=""
exp_dir=runs/vcc2016
src_spk=SF1; trg_spk=TM1; dev_count=""; val_pairs=0
vocoder=""
vocoder_conf=recipes/vocoder16k/conf/source_filter.yaml; vocoder_set=""
cyclegan_conf=recipes/vcc2016/conf/cpu.yaml; cyclegan_set=""
tune_vocoder=0; tune_vocoder_conf=""; postfilter=""; frame_bank=true
. "$(dirname "$0")/../utils/corpus.sh"

src=$src_spk; trg=$trg_spk
mapfile -t vocoder_items < <(set_items "$vocoder_set")
mapfile -t cyclegan_items < <(set_items "$cyclegan_set")
if [ "$val_pairs" -gt 0 ]; then
  cyclegan_items+=(--set "data.val_source=$exp_dir/data/val/$src_spk" --set "data.val_target=$exp_dir/data/val/$trg_spk"
                   --set data.val_count=0 --set trainer.best_metric=mcd_db)
fi

download_stage "VCC 2016"
if stage_on 1; then
  echo "stage 1: prepare $src (sentences 100001-100081), $trg (100082-100162) and the evaluation pairs"
  vcc2016_layout "$src" "$trg"
  first=${dev_count:+--first $dev_count}
  ids=${eval_ids:+--ids $eval_ids}
  $voicegen recipe prepare "$train_root/$src" "$data/train/$src" --ids 100001-100081 --overwrite
  $voicegen recipe prepare "$train_root/$trg" "$data/train/$trg" --ids 100082-100162 --overwrite
  rm -rf "$data/val"
  for spk in "$src" "$trg"; do
    if [ "$val_pairs" -gt 0 ]; then
      # shellcheck disable=SC2086  # $ids is empty or two words
      $voicegen recipe prepare "$eval_root/$spk" "$data/val/$spk" $ids --first "$val_pairs" --sample-rate 16000 \
        --overwrite
    fi
    # shellcheck disable=SC2086  # $ids and $first are empty or two words
    $voicegen recipe prepare "$eval_root/$spk" "$data/dev/$spk" $ids --skip "$val_pairs" $first --sample-rate 16000 \
      --overwrite
  done
  if [ -d "$root/librispeech" ]; then
    $voicegen recipe prepare "$root/librispeech" "$data/vocoder_extra" --overwrite
  else
    rm -rf "$data/vocoder_extra"
  fi
fi
vocoder_train="$data/train/$src, $data/train/$trg"
if [ -d "$data/vocoder_extra" ]; then vocoder_train="$vocoder_train, $data/vocoder_extra"; fi
preset=vc16k; parallel_dev=true
. "$(dirname "$0")/../utils/vc_stages.sh"
