#!/usr/bin/env bash
# Unpaired image CycleGAN, MNIST <-> UCI optical digits, on a CPU, in numbered stages.
#   bash recipes/digits_cyclegan/run.sh [--stage N] [--stop-stage M] [--data-dir DIR | --download-dir DIR]
#        [--exp-dir DIR] [--classifier DIR] [--train-set "K=V ..."] [--eval-set "K=V ..."]
# Stages: 0 download MNIST's test set (the official t10k IDX files) and the UCI optical digits zip
# (skipped with --data-dir), 1 prepare data/mnist_t10k_dev.npz (MNIST test images 0-7999) and
# data/uci_digits_8x8.npz (optdigits.tes: the 1797 digits scikit-learn ships), 2 the MNIST digit
# classifier that scores translations (skipped with --classifier, e.g. the shipped
# voicegen/assets/models/image/mnist_classifier), 3 train the CycleGAN, 4 a grid of translated
# held-out digits, 5 `voicegen image eval cyclegan` on held-out digits of both sets.
# --data-dir: a folder holding what stage 0 downloads (t10k-*-ubyte.gz, optdigits.tes), or laid out
#   like ../shared/data (images/mnist/mnist_t10k_dev.npz, images/uci_digits/uci_digits_8x8.npz).
# --manifest FILE: stage 0 takes its downloads from FILE (a mirror; the tests' local server).
# --train-set / --eval-set: extra `--set` items for the training / evaluation commands.
set -euo pipefail
stage=0; stop_stage=5
data_dir=""; download_dir=downloads/digits_cyclegan; manifest=""
exp_dir=runs/digits_cyclegan
classifier=""; train_set=""; eval_set=""
. "$(dirname "$0")/../utils/corpus.sh"

conf=recipes/digits_cyclegan/conf
mnist=$data/mnist_t10k_dev.npz
uci=$data/uci_digits_8x8.npz
own_classifier=$exp_dir/classifier/export
classifier=${classifier:-$own_classifier}
need_data() {
  for f in "$mnist" "$uci"; do [ -f "$f" ] || { echo "error: $f not found; run stage 1 first" >&2; exit 1; }; done
}

download_stage "MNIST's test set and the UCI optical digits"
if stage_on 1; then
  echo "stage 1: prepare MNIST test images 0-7999 and the UCI test digits (optdigits.tes)"
  first_path mnist_source "$root/images/mnist/mnist_t10k_dev.npz" "$root"
  first_path uci_source "$root/images/uci_digits/uci_digits_8x8.npz" "$root"
  $voicegen recipe prepare-images mnist "${mnist_source:-$root}" "$mnist" --first 8000 --overwrite
  $voicegen recipe prepare-images optdigits "${uci_source:-$root}" "$uci" --overwrite
fi
if stage_on 2 && [ "$classifier" = "$own_classifier" ]; then
  echo "stage 2: MNIST digit classifier"
  need_data
  mapfile -t extra < <(set_items "data.train.path=$mnist data.val.path=$mnist $train_set")
  $voicegen image train classifier --config recipes/mnist/conf/classifier.yaml --run-dir "$exp_dir/classifier" \
    "${extra[@]}"
fi
if stage_on 3; then
  echo "stage 3: CycleGAN mnist <-> uci"
  need_data
  mapfile -t extra < <(set_items "data.a.path=$mnist data.val_a.path=$mnist data.b.path=$uci data.val_b.path=$uci \
classifier=$classifier $train_set")
  $voicegen image train cyclegan --config "$conf/cpu.yaml" --run-dir "$exp_dir/cyclegan" "${extra[@]}"
fi
if stage_on 4; then
  echo "stage 4: a grid of translated held-out digits"
  need_data
  mkdir -p "$exp_dir/figures"
  $python recipes/digits_cyclegan/local/translation_grid.py "$exp_dir/cyclegan/export" "$mnist" "$uci" \
    "$exp_dir/figures/translations.png" --columns 12
fi
if stage_on 5; then
  echo "stage 5: evaluate on held-out digits"
  need_data
  mkdir -p "$exp_dir/figures"
  mapfile -t extra < <(set_items "test.path=$mnist test_b.path=$uci classifier=$classifier $eval_set")
  $voicegen image eval cyclegan --model "$exp_dir/cyclegan/export" --config "$conf/eval.yaml" "${extra[@]}" \
    --out "$exp_dir/figures/cyclegan.json" --overwrite
fi
