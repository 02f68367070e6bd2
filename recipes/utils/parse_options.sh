# Sourced by every recipes/<name>/run.sh after it sets its defaults (not run on its own).
# Each `--some-name VALUE` (or `--some-name=VALUE`) sets the variable some_name the script already
# defines; an option naming no such variable is an error (exit 2). `--help` prints the script's
# header comments. Also defines stage_on N (is stage N inside --stage..--stop-stage?) and
# set_items "K=V K=V" (prints `--set` and each item on its own line, for mapfile).
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0;;
    --*=*) opt=${1%%=*}; value=${1#*=}; shift;;
    --*) [ $# -ge 2 ] || { echo "$0: option $1 needs a value (see --help)" >&2; exit 2; }
         opt=$1; value=$2; shift 2;;
    *) echo "$0: unexpected argument '$1'; options are --name VALUE (see --help)" >&2; exit 2;;
  esac
  var=${opt#--}; var=${var//-/_}
  if ! [[ $var =~ ^[a-z][a-z0-9_]*$ ]] || ! declare -p "$var" > /dev/null 2>&1; then
    echo "$0: unknown option $opt (see --help)" >&2; exit 2
  fi
  printf -v "$var" '%s' "$value"
done
unset opt value var
for number in "$stage" "$stop_stage"; do
  [[ $number =~ ^[0-9]+$ ]] || { echo "$0: --stage and --stop-stage take stage numbers, got '$number'" >&2; exit 2; }
done
stage_on() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
set_items() { local item; for item in $1; do printf -- '--set\n%s\n' "$item"; done; }
