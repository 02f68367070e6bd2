# Stages 2-5 of the two-speaker voice-conversion recipes (vcc2016, vcc2018, cmu_arctic, vae16k, template).
# Sourced by their run.sh after stage 1 has laid out, under $data:
#   train/$src, train/$trg     the (non-parallel) training speech of both speakers
#   dev/$src, dev/$trg         held-out speech; with parallel_dev=true the same sentences with the
#                              same file names, so conversions are scored against the real target
# and set: stage_on (parse_options.sh), exp_dir, src, trg, preset (mel contract of the confs),
# vocoder (an exported vocoder, or "" to train one on $vocoder_train: "dir1, dir2"), vocoder_conf,
# the array vocoder_items (extra --set items), parallel_dev, voicegen, python, optionally the array
# converter_flags (extra `voicegen train` options such as --init-from, --minutes), optionally
# tune_vocoder (steps; 0 or unset = off) and tune_vocoder_conf, optionally postfilter (an installed
# VAE bundle's name, e.g. vae16k, that the bundle runs after the CycleGAN: `voicegen bundle
# --postfilter`; the round trips for tune_vocoder then go through it too), optionally frame_bank=true
# (the bundle re-draws each frame converted into $src or $trg from that speaker's training frames:
# `voicegen bundle --frame-bank`, every N-th frame for at most 16384 per speaker: every 2nd of VCC 2016's
# training halves; template, vcc2016 and vae16k default to it), and the converter:
#   converter=cyclegan (default): cyclegan_conf and the array cyclegan_items; the data come from
#     train/$src and train/$trg;
#   converter=vae: converter_conf and the arrays converter_sets (the data.speakers item) and
#     converter_items.
# Stages: 2 speaker statistics, 3 train the vocoder (unless $vocoder) and the converter, then with
# tune_vocoder > 0 fine-tune that vocoder for that many steps on the converter's own outputs for
# the training speech (round trips; a VAE's reconstructions), which the bundle then speaks through
# (recipes/vocoder16k/README.md, "Fine-tuned on the converters' outputs"), 4 bundle,
# convert the held-out source speech (pitch auto and none), the baselines (mel statistics through
# the vocoder; WORLD with no training at all) and the vocoder's copy-synthesis, 5 `voicegen eval`
# of every system and a summary table (MCD, F0 RMSE, gross pitch error, speaker similarity, DNSMOS).
converter=${converter:-cyclegan}
if [ "$converter" = cyclegan ]; then
  converter_conf=$cyclegan_conf
  converter_sets=(--set "data.dir_a=$data/train/$src" --set "data.dir_b=$data/train/$trg"
                  --set "speaker_a=$src" --set "speaker_b=$trg")
  converter_items=(${cyclegan_items[@]+"${cyclegan_items[@]}"})
fi
voc_dir=${vocoder:-$exp_dir/vocoder/export}  # renders real mels: copy-synthesis
tune_vocoder=${tune_vocoder:-0}
postfilter=${postfilter:-}
if [ -n "$postfilter" ] && [ "$converter" != cyclegan ]; then
  echo "$0: --postfilter applies to a CycleGAN converter (this recipe trains a $converter)" >&2; exit 2
fi
frame_bank=${frame_bank:-false}
case $frame_bank in
  true) bank_flags=(--frame-bank "$src=$data/train/$src" --frame-bank "$trg=$data/train/$trg" --frame-bank-stride auto) ;;
  false) bank_flags=() ;;
  *) echo "$0: --frame-bank takes true or false, got '$frame_bank'" >&2; exit 2 ;;
esac
[[ $tune_vocoder =~ ^[0-9]+$ ]] || { echo "$0: --tune-vocoder takes a number of steps, got '$tune_vocoder'" >&2; exit 2; }
bundle_voc=$voc_dir  # what the bundle speaks through
[ "$tune_vocoder" -gt 0 ] && bundle_voc=$exp_dir/vocoder_tuned/export
if stage_on 2; then
  echo "stage 2: speaker statistics (log-mel per bin, log-F0) of the training speech"
  for spk in "$src" "$trg"; do
    $voicegen stats "$data/train/$spk" --preset "$preset" --out "$exp_dir/stats/$spk.json" --overwrite --no-progress
  done
fi
if stage_on 3; then
  if [ -n "$vocoder" ]; then
    echo "stage 3: vocoder: using $vocoder"
  else
    echo "stage 3: train the vocoder on $vocoder_train (never the held-out speech)"
    $voicegen train vocoder --config "$vocoder_conf" --run-dir "$exp_dir/vocoder" \
      --set "data.train=[$vocoder_train]" ${vocoder_items[@]+"${vocoder_items[@]}"}
  fi
  echo "stage 3: train the $converter converter ($src -> $trg)"
  $voicegen train "$converter" --config "$converter_conf" --run-dir "$exp_dir/$converter" \
    "${converter_sets[@]}" ${converter_items[@]+"${converter_items[@]}"} ${converter_flags[@]+"${converter_flags[@]}"}
  if [ "$tune_vocoder" -gt 0 ]; then
    echo "stage 3: fine-tune the vocoder $tune_vocoder steps on the converter's outputs for the training speech"
    how=(); [ "$converter" = vae ] && how=(--reconstruct)
    for spk in "$src" "$trg"; do
      $python recipes/utils/converter_mels.py --model "$exp_dir/$converter/export" --speaker "$spk" \
        ${how[@]+"${how[@]}"} ${postfilter:+--postfilter "$postfilter"} --src "$data/train/$spk" \
        --out "$exp_dir/converter_mels/$spk" --overwrite
    done
    # the config of the vocoder being tuned: the given one is a pitch-true vocoder16k unless said otherwise
    conf=${tune_vocoder_conf:-$([ -n "$vocoder" ] && echo recipes/vocoder16k/conf/source_filter.yaml || echo "$vocoder_conf")}
    $voicegen train vocoder --config "$conf" --run-dir "$exp_dir/vocoder_tuned" --init-from "$voc_dir" \
      --set "data.train=[$data/train/$src, $data/train/$trg]" --set data.val_count=0 --set trainer.val_every=0 \
      --set "data.input_mels={$data/train/$src: [$exp_dir/converter_mels/$src], $data/train/$trg: [$exp_dir/converter_mels/$trg]}" \
      --set data.input_mel_share=1.0 --set "trainer.max_steps=$tune_vocoder" --set trainer.optimizers.gen.lr=0.0002
  fi
fi
if stage_on 4; then
  echo "stage 4: bundle, convert the held-out $src speech, baselines"
  $voicegen bundle --converter "$exp_dir/$converter/export" --vocoder "$bundle_voc" --out "$exp_dir/bundle" --overwrite \
    ${postfilter:+--postfilter "$postfilter"} ${bank_flags[@]+"${bank_flags[@]}"} \
    --onnx  # + ONNX graphs: the conversions below run without torch
  for pitch in none auto; do
    $voicegen convert --src "$data/dev/$src" --target "$trg" --source "$src" --model "$exp_dir/bundle" \
      --out "$exp_dir/converted_pitch_$pitch" --pitch $pitch --overwrite
  done
  $python recipes/utils/mel_stats_baseline.py "$exp_dir/bundle" "$src" "$trg" "$data/dev/$src" \
    "$exp_dir/baseline_mel_stats"
  $python recipes/utils/world_baseline.py "$data/train/$src" "$data/train/$trg" "$data/dev/$src" \
    "$exp_dir/baseline_world"
  $voicegen vocode "$data/dev/$trg" "$exp_dir/copy_synthesis" --model "$voc_dir" --overwrite
fi
if stage_on 5; then
  ref=$data/dev/$trg
  rm -rf "$exp_dir/eval"
  if [ "$parallel_dev" = true ]; then
    echo "stage 5: evaluation against the real $trg recordings of the same sentences"
    for sys in converted_pitch_none converted_pitch_auto baseline_mel_stats baseline_world; do
      $voicegen eval --converted "$exp_dir/$sys" --reference "$ref" --source "$data/dev/$src" \
        --out "$exp_dir/eval/$sys" --overwrite --no-progress
    done
    $voicegen eval --converted "$data/dev/$src" --reference "$ref" --out "$exp_dir/eval/no_conversion" \
      --overwrite --no-progress
  else
    echo "stage 5: no parallel $src/$trg sentences: scoring the vocoder only (listen to $exp_dir/converted_pitch_*)"
  fi
  $voicegen eval --converted "$exp_dir/copy_synthesis" --reference "$ref" --copy-synthesis \
    --out "$exp_dir/eval/copy_synthesis" --overwrite --no-progress
  $python recipes/utils/eval_table.py "$exp_dir/eval" --out "$exp_dir/eval/table.txt"
fi
