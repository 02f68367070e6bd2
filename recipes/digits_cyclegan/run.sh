#!/usr/bin/env bash
# Unpaired image CycleGAN, MNIST <-> UCI optical digits, on a CPU, in numbered stages.
#   bash recipes/digits_cyclegan/run.sh [--stage N] [--stop-stage M] [--data-dir DIR] [--exp-dir DIR]
#                                       [--classifier DIR] [--train-set "K=V ..."] [--eval-set "K=V ..."]
# Stages: 1 MNIST digit classifier (skipped with --classifier, e.g. the shipped
# voicegen/assets/models/image/mnist_classifier), 2 CycleGAN, 3 figures: `voicegen image eval cyclegan`
# on held-out digits of both sets and a grid of translations.
# --data-dir is a folder laid out like ../shared/data (images/mnist, images/uci_digits).
set -euo pipefail
stage=1; stop_stage=3
data_dir=$(cd "$(dirname "$0")/../../.." && pwd)/shared/data
exp_dir=runs/digits_cyclegan
classifier=""; train_set=""; eval_set=""
voicegen=${VOICEGEN:-voicegen}
python=${PYTHON:-python}
conf=recipes/digits_cyclegan/conf
while [ $# -gt 0 ]; do  # --some-option VALUE sets the variable some_option
  name=${1#--}; name=${name//-/_}
  case $name in
    stage|stop_stage|data_dir|exp_dir|classifier|train_set|eval_set) printf -v "$name" '%s' "$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
mnist=$data_dir/images/mnist/mnist_t10k_dev.npz
uci=$data_dir/images/uci_digits/uci_digits_8x8.npz
for f in "$mnist" "$uci"; do [ -f "$f" ] || { echo "error: $f not found; pass --data-dir" >&2; exit 1; }; done
run() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
sets() { for item in $1; do printf -- '--set\n%s\n' "$item"; done; }
classifier=${classifier:-$exp_dir/classifier/export}

if run 1 && [ "$classifier" = "$exp_dir/classifier/export" ]; then
  echo "stage 1: MNIST digit classifier"
  mapfile -t extra < <(sets "data.train.path=$mnist data.val.path=$mnist $train_set")
  $voicegen image train classifier --config recipes/mnist/conf/classifier.yaml --run-dir "$exp_dir/classifier" \
    "${extra[@]}"
fi
if run 2; then
  echo "stage 2: CycleGAN mnist <-> uci"
  mapfile -t extra < <(sets "data.a.path=$mnist data.val_a.path=$mnist data.b.path=$uci data.val_b.path=$uci \
classifier=$classifier $train_set")
  $voicegen image train cyclegan --config "$conf/cpu.yaml" --run-dir "$exp_dir/cyclegan" "${extra[@]}"
fi
if run 3; then
  echo "stage 3: figures on held-out digits"
  mkdir -p "$exp_dir/figures"
  mapfile -t extra < <(sets "test.path=$mnist test_b.path=$uci classifier=$classifier $eval_set")
  $voicegen image eval cyclegan --model "$exp_dir/cyclegan/export" --config "$conf/eval.yaml" "${extra[@]}" \
    --out "$exp_dir/figures/cyclegan.json" --overwrite
  $python recipes/digits_cyclegan/local/translation_grid.py "$exp_dir/cyclegan/export" "$mnist" "$uci" \
    "$exp_dir/figures/translations.png" --columns 12
fi
