#!/bin/bash
# score_ckpt.sh RUN STEP OUT DATA LJ16: export the EMA weights of RUN at STEP (STEP "shipped": the shipped vocoder16k)
# to OUT/model, copy-synthesis of every evaluation file (DATA/vcc2016/dev_parallel/SF1, TM1 and LJ16, the 16 LJ Speech
# clips at 16 kHz), scored with 4 DNSMOS framings; prints the row valsplit.py makes. One thread.
set -e
RUN=$1; N=$2; X=$3; DATA=$4; LJ=$5
export OMP_NUM_THREADS=1
mkdir -p "$X/model"
if [ "$N" = shipped ]; then cp voicegen/assets/models/vocoder16k/* "$X/model/"
else voicegen export vocoder --run-dir "$RUN" --step "$N" --out "$X/model" --overwrite > "$X/export.log" 2>&1; fi
for s in SF1 TM1 LJ; do
  if [ $s = LJ ]; then R=$LJ; else R=$DATA/vcc2016/dev_parallel/$s; fi
  voicegen vocode "$R" "$X/$s" --model "$X/model" --runtime torch --overwrite > /dev/null 2>&1
  voicegen eval --converted "$X/$s" --reference "$R" --copy-synthesis --f0-method harvest --no-speaker-similarity \
    --dnsmos-framings 4 --out "$X/$s.eval" --overwrite > "$X/$s.log" 2>&1
done
python "$(dirname "$0")/valsplit.py" "$X"
