#!/usr/bin/env bash
# MNIST image models on a CPU, in numbered stages.
#   bash recipes/mnist/run.sh [--stage N] [--stop-stage M] [--data-dir DIR] [--exp-dir DIR]
#                             [--train-set "K=V ..."] [--eval-set "K=V ..."]
# Stages: 1 digit classifier (scores the GANs), 2 VAE and beta-VAE, 3 DCGAN, 4 conditional GAN, 5 figures:
# `voicegen image eval` on the held-out test images (7000-7999) and sample / traversal grids.
# --data-dir is a folder laid out like ../shared/data (images/mnist/mnist_t10k_dev.npz).
# --train-set / --eval-set add `--set` items to every training / evaluation command (e.g. the
# tests' "trainer.max_steps=2").
set -euo pipefail
stage=1; stop_stage=5
data_dir=$(cd "$(dirname "$0")/../../.." && pwd)/shared/data
exp_dir=runs/mnist
train_set=""; eval_set=""
voicegen=${VOICEGEN:-voicegen}
conf=recipes/mnist/conf
while [ $# -gt 0 ]; do
  case $1 in
    --stage) stage=$2; shift 2;; --stop-stage) stop_stage=$2; shift 2;;
    --data-dir) data_dir=$2; shift 2;; --exp-dir) exp_dir=$2; shift 2;;
    --train-set) train_set=$2; shift 2;; --eval-set) eval_set=$2; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
mnist=$data_dir/images/mnist/mnist_t10k_dev.npz
[ -f "$mnist" ] || { echo "error: $mnist not found; pass --data-dir" >&2; exit 1; }
run() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
sets() { for item in $1; do printf -- '--set\n%s\n' "$item"; done; }
mapfile -t train_extra < <(sets "data.train.path=$mnist data.val.path=$mnist $train_set")
mapfile -t eval_extra < <(sets "test.path=$mnist reference.path=$mnist seen.path=$mnist classifier=$exp_dir/classifier/export $eval_set")
train() {  # train KIND NAME [extra --set items...]
  local kind=$1 name=$2; shift 2
  $voicegen image train "$kind" --config "$conf/$name.yaml" --run-dir "$exp_dir/$name" "${train_extra[@]}" "$@"
}

if run 1; then
  echo "stage 1: digit classifier"
  train classifier classifier
fi
if run 2; then
  echo "stage 2: VAE and beta-VAE"
  train vae vae
  train vae beta_vae
fi
if run 3; then
  echo "stage 3: DCGAN"
  train gan gan --set "classifier=$exp_dir/classifier/export"
fi
if run 4; then
  echo "stage 4: conditional GAN"
  train cgan cgan --set "classifier=$exp_dir/classifier/export"
fi
if run 5; then
  echo "stage 5: figures on the held-out test images"
  mkdir -p "$exp_dir/figures"
  for name in vae beta_vae; do
    $voicegen image eval vae --model "$exp_dir/$name/export" --config "$conf/eval.yaml" "${eval_extra[@]}" \
      --out "$exp_dir/figures/$name.json" --overwrite
    $voicegen image traverse --model "$exp_dir/$name/export" --out "$exp_dir/figures/${name}_traversal.png" \
      --scale 2 --overwrite
  done
  for name in gan cgan; do
    $voicegen image eval gan --model "$exp_dir/$name/export" --config "$conf/eval.yaml" "${eval_extra[@]}" \
      --out "$exp_dir/figures/$name.json" --overwrite
    $voicegen image sample --model "$exp_dir/$name/export" --out "$exp_dir/figures/${name}_samples.png" \
      --scale 2 --overwrite
  done
  $voicegen image sample --model "$exp_dir/cgan/export" --class 7 -n 16 --out "$exp_dir/figures/cgan_7.png" \
    --scale 2 --overwrite
fi
