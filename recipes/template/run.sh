#!/usr/bin/env bash
# Template: CycleGAN voice conversion between two folders of your own speech, in numbered stages.
#   bash recipes/template/run.sh --src-dir DIR --trg-dir DIR [--src-name A] [--trg-name B]
#        [--stage N] [--stop-stage M] [--exp-dir DIR] [--dev-count 5]
#        [--parallel-src DIR --parallel-trg DIR] [--vocoder DIR] [--cyclegan-conf F] [--cyclegan-set "K=V ..."]
#        [--init-from BUNDLE] [--minutes N] [--tune-vocoder STEPS] [--postfilter VAE]
#        [--frame-bank true|false]
# --vocoder DIR: the exported 16 kHz vocoder the bundle speaks through [default: the shipped
# vocoder16k_vc, tuned on converters' outputs: it renders converted mels better than vocoder16k]; ''
# trains one on both folders.
# Stages: 0 check the folders (nothing to download), 1 prepare: hold out --dev-count clips of
# each speaker (a stable hash of the file names) and keep the rest for training, 2 speaker
# statistics, 3 train the CycleGAN (and a vocoder on both folders when --vocoder is ''),
# 4 bundle, convert the held-out source clips, baselines, 5 `voicegen eval`: the vocoder's
# copy-synthesis of the held-out target clips, and the conversions when --parallel-src and
# --parallel-trg hold the same sentences read by both speakers (same file names), which are
# then the held-out sets instead (stages 2-5: recipes/utils/vc_stages.sh).
# --init-from BUNDLE (e.g. vcc2016_sf1_tm1) starts the converter from a shipped one and --minutes N
# sizes its training to N minutes of this machine (use conf/finetune.yaml): a new pair in half an hour.
# --tune-vocoder STEPS (e.g. 2000, ~10 min on 2 cores) then fine-tunes the vocoder on the trained
# converter's outputs for your training clips, and the bundle speaks through that one (stage 3).
# --postfilter VAE: the bundle runs the installed VAE bundle VAE (e.g. vae16k) after the CycleGAN,
# decoding each target as its VAE speaker of the same name (only where the VAE knows your target).
# --frame-bank true (the default): the bundle re-draws each converted frame as 0.7 x the mean of its 8
# nearest frames of the target's training clips + 0.3 x itself (`voicegen bundle --frame-bank`, at most
# 16384 frames per speaker: every N-th frame of longer folders); false leaves it out.
# Audio: any format soundfile reads, any rate (resampled on loading), mono or stereo; a few
# minutes per speaker at least (VCC 2016 gives ~5 min each). Copy this folder to start your own
# recipe; see README.md for a walk-through.
set -euo pipefail
stage=0; stop_stage=5
src_dir=""; trg_dir=""; src_name=""; trg_name=""
exp_dir=runs/template
dev_count=5; parallel_src=""; parallel_trg=""
vocoder=voicegen/assets/models/vocoder16k_vc
vocoder_conf=recipes/vocoder16k/conf/cpu.yaml; vocoder_set=""
cyclegan_conf=recipes/template/conf/cpu.yaml; cyclegan_set=""; init_from=""; minutes=""
tune_vocoder=0; tune_vocoder_conf=""; postfilter=""; frame_bank=true
. "$(dirname "$0")/../utils/corpus.sh"

[ -n "$src_dir" ] && [ -n "$trg_dir" ] || { echo "$0: pass --src-dir and --trg-dir (see --help)" >&2; exit 2; }
src=${src_name:-$(basename "$src_dir")}; trg=${trg_name:-$(basename "$trg_dir")}
[ "$src" != "$trg" ] || { echo "$0: both speakers are called '$src'; pass --src-name and --trg-name" >&2; exit 2; }
mapfile -t vocoder_items < <(set_items "$vocoder_set")
mapfile -t cyclegan_items < <(set_items "$cyclegan_set")
converter_flags=()
[ -n "$init_from" ] && converter_flags+=(--init-from "$init_from")
[ -n "$minutes" ] && converter_flags+=(--minutes "$minutes")
parallel_dev=false; [ -n "$parallel_src" ] && [ -n "$parallel_trg" ] && parallel_dev=true
# The mel contract of the converter config, and its sample rate: files are resampled to it once here.
preset=$($python -c "import sys; from voicegen.config import load_yaml
print(load_yaml(sys.argv[1]).get('features', 'vc16k'))" "$cyclegan_conf")
case $preset in vc16k) rate=16000;; hifigan22k) rate=22050;; *) echo "$0: unknown features $preset" >&2; exit 2;; esac

if stage_on 0; then
  echo "stage 0: your data: nothing to download; checking the folders"
  for dir in "$src_dir" "$trg_dir" $parallel_src $parallel_trg; do
    [ -d "$dir" ] || { echo "error: $dir is not a folder" >&2; exit 1; }
  done
fi
if stage_on 1; then
  if [ "$parallel_dev" = true ]; then
    echo "stage 1: prepare: training = $src_dir and $trg_dir; held out = the parallel folders"
    $voicegen recipe prepare "$src_dir" "$data/train/$src" --sample-rate "$rate" --overwrite
    $voicegen recipe prepare "$trg_dir" "$data/train/$trg" --sample-rate "$rate" --overwrite
    $voicegen recipe prepare "$parallel_src" "$data/dev/$src" --sample-rate "$rate" --overwrite
    $voicegen recipe prepare "$parallel_trg" "$data/dev/$trg" --sample-rate "$rate" --overwrite
  else
    echo "stage 1: prepare: hold out $dev_count clips per speaker"
    $voicegen recipe prepare "$src_dir" "$data/train/$src" --hold-out "$dev_count" --hold-out-dir "$data/dev/$src" \
      --sample-rate "$rate" --overwrite
    $voicegen recipe prepare "$trg_dir" "$data/train/$trg" --hold-out "$dev_count" --hold-out-dir "$data/dev/$trg" \
      --sample-rate "$rate" --overwrite
  fi
fi
vocoder_train="$data/train/$src, $data/train/$trg"
. "$(dirname "$0")/../utils/vc_stages.sh"
