#!/usr/bin/env bash
# MNIST image models on a CPU: digit classifier, VAE / beta-VAE, DCGAN, conditional GAN, in numbered stages.
#   bash recipes/mnist/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--models "vae beta_vae gan cgan"] [--train-set "K=V ..."] [--eval-set "K=V ..."]
# Stages: 0 download MNIST's test set, the official t10k IDX files (skipped with --data-dir),
# 1 prepare its first 8000 images as data/mnist_t10k_dev.npz (by position: 0-6499 train, 6500-6999
# validate, 7000-7999 are the held-out test set), 2 the digit classifier that scores the generative
# models, 3 train --models, 4 sample grids of the GANs and latent traversals of the VAEs,
# 5 `voicegen image eval` of every model on the held-out test images.
# --data-dir: a folder holding t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, or laid out
#   like ../shared/data (images/mnist/mnist_t10k_dev.npz: the same 8000 images).
# --manifest FILE: stage 0 takes its downloads from FILE (a mirror; the tests' local server).
# --models: which of vae, beta_vae, gan, cgan stages 3-5 train, draw and score.
# --train-set / --eval-set: extra `--set` items for every training / evaluation command (e.g. the
#   tests' "trainer.max_steps=2").
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/mnist; manifest=""
exp_dir=runs/mnist
models="vae beta_vae gan cgan"
train_set=""; eval_set=""
. "$(dirname "$0")/../utils/corpus.sh"

conf=recipes/mnist/conf
mnist=$data/mnist_t10k_dev.npz
classifier=$exp_dir/classifier/export
for name in $models; do
  case $name in vae|beta_vae|gan|cgan) ;; *) echo "$0: unknown model '$name' in --models (vae beta_vae gan cgan)" >&2
                                             exit 2;; esac
done
mapfile -t train_items < <(set_items "data.train.path=$mnist data.val.path=$mnist $train_set")
mapfile -t eval_items < <(set_items "test.path=$mnist reference.path=$mnist seen.path=$mnist \
classifier=$classifier $eval_set")
train() {  # train KIND NAME [extra --set items...]
  local kind=$1 name=$2; shift 2
  $voicegen image train "$kind" --config "$conf/$name.yaml" --run-dir "$exp_dir/$name" "${train_items[@]}" "$@"
}
need_data() { [ -f "$mnist" ] || { echo "error: $mnist not found; run stage 1 first" >&2; exit 1; }; }

download_stage "MNIST's test set"
if stage_on 1; then
  echo "stage 1: prepare MNIST test images 0-7999 as $mnist"
  first_path mnist_source "$root/images/mnist/mnist_t10k_dev.npz" "$root"
  $voicegen recipe prepare-images mnist "${mnist_source:-$root}" "$mnist" --first 8000 --overwrite
fi
if stage_on 2; then
  echo "stage 2: digit classifier"
  need_data
  train classifier classifier
fi
if stage_on 3; then
  need_data
  for name in $models; do
    echo "stage 3: train $name"
    case $name in
      vae|beta_vae) train vae "$name";;
      *) train "$name" "$name" --set "classifier=$classifier";;
    esac
  done
fi
if stage_on 4; then
  echo "stage 4: sample grids and latent traversals into $exp_dir/figures"
  mkdir -p "$exp_dir/figures"
  for name in $models; do
    case $name in
      vae|beta_vae) $voicegen image traverse --model "$exp_dir/$name/export" \
                      --out "$exp_dir/figures/${name}_traversal.png" --scale 2 --overwrite;;
      *) $voicegen image sample --model "$exp_dir/$name/export" --out "$exp_dir/figures/${name}_samples.png" \
           --scale 2 --overwrite;;
    esac
  done
  if [[ " $models " == *" cgan "* ]]; then
    $voicegen image sample --model "$exp_dir/cgan/export" --class 7 -n 16 --out "$exp_dir/figures/cgan_7.png" \
      --scale 2 --overwrite
  fi
fi
if stage_on 5; then
  echo "stage 5: evaluate $models on the held-out test images"
  need_data
  mkdir -p "$exp_dir/figures"
  for name in $models; do
    case $name in vae|beta_vae) kind=vae;; *) kind=gan;; esac
    $voicegen image eval "$kind" --model "$exp_dir/$name/export" --config "$conf/eval.yaml" "${eval_items[@]}" \
      --out "$exp_dir/figures/$name.json" --overwrite
  done
fi
