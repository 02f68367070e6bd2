# Stages 0-1 plumbing shared by every recipes/<name>/run.sh; sourced after the script sets its option
# defaults (not run on its own). It
#   * sets voicegen (${VOICEGEN:-voicegen}) and python (${PYTHON:-python}), the commands the stages run;
#   * parses the options (parse_options.sh: --name VALUE for each variable set so far; stage_on, set_items);
#   * sets data=$exp_dir/data (what stage 1 prepares) and root=${data_dir:-$download_dir} (the corpus:
#     the local copy --data-dir names, else what stage 0 downloaded);
# and defines
#   download_stage [WHAT [ARGS...]]  stage 0: `voicegen recipe download <this recipe> --out $download_dir`
#                                    (--manifest $manifest when set, then ARGS); skipped with --data-dir;
#   first_path VAR PATH...           VAR = the first PATH that exists, else "";
#   vcc2016_layout SPK...            train_root / eval_root of VCC 2016 under $root, and eval_ids (the
#                                    `recipe prepare --ids` of the evaluation sentences, "" when their
#                                    folder holds nothing else), for one of three layouts, which it
#                                    names: as the official zips extract (vcc2016_training/<spk>,
#                                    evaluation_all/<spk>), as ../shared/data (vcc2016/<spk>,
#                                    vcc2016/dev_parallel/<spk>), or a folder per speaker holding both
#                                    halves (<spk>/, or vcc2016/<spk>/ without dev_parallel/: the
#                                    official ids decide, 1000xx training and 2000xx evaluation);
#                                    an error naming the layouts when none is there;
#   librispeech_layout               libri_root = LibriSpeech's speaker folders under $root, as extracted
#                                    (LibriSpeech/train-clean-100/) or as ../shared/data (librispeech/);
#                                    an error when $libri_speakers names speakers and there is none.
voicegen=${VOICEGEN:-voicegen}
python=${PYTHON:-python}
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"

recipe=$(basename "$(cd "$(dirname "$0")" && pwd)")
data=$exp_dir/data
root=${data_dir:-${download_dir:-}}

download_stage() {
  stage_on 0 || return 0
  if [ -n "$data_dir" ]; then
    echo "stage 0: skipped (--data-dir $data_dir is a local copy)"
    return 0
  fi
  local what=""
  if [ $# -gt 0 ]; then what=$1; shift; fi
  echo "stage 0: download ${what:+$what }into $download_dir"
  $voicegen recipe download "$recipe" --out "$download_dir" ${manifest:+--manifest "$manifest"} "$@" --no-progress
}

first_path() {
  local var=$1 candidate
  shift
  printf -v "$var" '%s' ""
  for candidate in "$@"; do
    if [ -e "$candidate" ]; then printf -v "$var" '%s' "$candidate"; return 0; fi
  done
}

VCC2016_EVAL_IDS=200001-299999  # the evaluation sentences' official ids (2000xx; training: 1000xx)

vcc2016_layout() {
  local spk per_speaker=""
  eval_ids=""
  if [ -d "$root/vcc2016_training" ]; then
    train_root=$root/vcc2016_training; eval_root=$root/evaluation_all
    echo "layout: the official zips (vcc2016_training/, evaluation_all/) in $root"
    return 0
  fi
  if [ -d "$root/vcc2016/dev_parallel" ]; then
    train_root=$root/vcc2016; eval_root=$root/vcc2016/dev_parallel
    echo "layout: vcc2016/<speaker> and vcc2016/dev_parallel/<speaker> in $root"
    return 0
  fi
  for per_speaker in "$root/vcc2016" "$root"; do
    for spk in "$@"; do [ -d "$per_speaker/$spk" ] || continue 2; done
    [ $# -gt 0 ] || continue
    train_root=$per_speaker; eval_root=$per_speaker; eval_ids=$VCC2016_EVAL_IDS
    echo "layout: a folder per speaker in $per_speaker ($*), training (1000xx) and evaluation (2000xx) sentences by id"
    return 0
  done
  echo "error: no VCC 2016 corpus for speakers $* in $root; expected vcc2016_training/<spk> + evaluation_all/<spk>" \
       "(the official zips), vcc2016/<spk> + vcc2016/dev_parallel/<spk>, or one folder per speaker (<spk>/ holding" \
       "its 1000xx and 2000xx sentences); run stage 0 or pass --data-dir" >&2
  exit 1
}

librispeech_layout() {
  first_path libri_root "$root/LibriSpeech/train-clean-100" "$root/librispeech"
  if [ -z "$libri_root" ] && [ -n "$libri_speakers" ]; then
    echo "error: no LibriSpeech under $root; pass --libri-speakers '' or download it" >&2; exit 1
  fi
}
