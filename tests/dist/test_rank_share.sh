#!/usr/bin/env bash
# With a columnar --interactions file, each rank of `train --distributed` holds only its share
# of the rows (its ranges of the split's training and test rows), and trains the model bit for
# bit that the ranks train when each loads the whole table (the same rows from a TSV file).
#   test_rank_share.sh <twotower> <compare_models> <source dir> <mpirun>
# MovieLens 100k from $TWOTOWER_DATA, written as TSV files (titles converted to UTF-8).
set -euo pipefail
cli=$1 compare=$2 src=$3
MPIRUN=$4
source "$(dirname "$0")/mpirun.sh"
data=${TWOTOWER_DATA:?set TWOTOWER_DATA to the MovieLens 100k directory}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
spec=$src/samples/movielens/deep-32.json
iconv -f latin1 -t utf-8 "$data/u.item" | awk -F'|' 'BEGIN { print "movie_id\tmovie_title" } { print $1 "\t" $2 }' \
  >catalogue.tsv
awk -F'\t' 'NR == FNR { if (FNR > 1) title[$1] = $2; next }
            FNR == 1 { print "user_id\tmovie_title\ttimestamp" }
            { print $1 "\t" title[$2] "\t" $4 }' catalogue.tsv "$data/u.data" >ratings.tsv
"$cli" data convert ratings.tsv -o ratings.ttc --spec "$spec"

common=(train --spec "$spec" --epochs 3 --threads 1 --distributed --candidates catalogue.tsv)
mpi_run -np 2 "$cli" "${common[@]}" --interactions ratings.ttc --save share.tt | tee share.log
mpi_run -np 2 "$cli" "${common[@]}" --interactions ratings.tsv --save whole.tt | tee whole.log
# 100,000 rows: 80,000 train and 20,000 test, half of each per rank.
for rank in 0 1; do
  grep -q "^rank $rank held 50000 interaction rows in memory; trained on 40000, evaluated 10000$" share.log ||
    { echo "rank $rank did not hold only its share of ratings.ttc"; exit 1; }
  grep -q "^rank $rank held 100000 interaction rows in memory" whole.log ||
    { echo "rank $rank did not load the whole ratings.tsv"; exit 1; }
done
"$compare" share.tt whole.tt 0 0
