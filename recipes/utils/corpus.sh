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
#   vcc2016_layout                   train_root / eval_root of VCC 2016 under $root, as the official zips
#                                    extract (vcc2016_training/, evaluation_all/) or as ../shared/data
#                                    (vcc2016/, vcc2016/dev_parallel/); an error when neither is there;
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

vcc2016_layout() {
  if [ -d "$root/vcc2016_training" ]; then train_root=$root/vcc2016_training; eval_root=$root/evaluation_all
  elif [ -d "$root/vcc2016" ]; then train_root=$root/vcc2016; eval_root=$root/vcc2016/dev_parallel
  else echo "error: no VCC 2016 corpus in $root (vcc2016_training/ or vcc2016/); run stage 0 or pass --data-dir" >&2
       exit 1
  fi
}

librispeech_layout() {
  first_path libri_root "$root/LibriSpeech/train-clean-100" "$root/librispeech"
  if [ -z "$libri_root" ] && [ -n "$libri_speakers" ]; then
    echo "error: no LibriSpeech under $root; pass --libri-speakers '' or download it" >&2; exit 1
  fi
}
