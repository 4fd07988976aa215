#!/usr/bin/env bash
# The tiny-supernet classification case of docs/selection.md: successive
# halving with kNN on 5,000 labeled Fashion-MNIST images against the
# width-neutral probe (linear-fixed, mean of 3 probe seeds).
#
#   bash experiments/selection_tiny.sh 0       # search seed 0
#   bash experiments/selection_tiny.sh 1       # fresh candidates
#   bash experiments/selection_tiny.sh report  # the tables
#   bash experiments/selection_tiny.sh carry   # copy rows to docs/
#
# Resumable (re-run the same command). The supernet (5 epochs, 2,340
# iterations) is trained once and carried, weights only, in checkpoints/;
# a work dir without it starts from that copy, and from the rows carried in
# docs/selection/tiny/. The settings are the ones fixed in
# docs/selection.md before the runs; nothing here is tuned.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
W=${SELECTION_WORK:-work_dirs/selection-tiny}
ITERS=2340
TRAIN=configs/tiny/supernet-mocov2_dynresnet-tiny_1xb128-5e_fashion-mnist.py
SEARCH=configs/tiny/search-cls_dynresnet-tiny_fashion-mnist.py
CARRIED=checkpoints/supernet-mocov2_dynresnet-tiny_1xb128-5e_fashion-mnist.pth
ROWS=docs/selection/tiny  # this study's carried rows
CKPT=$W/supernet_5e.pth
RANKERS=(score params flops naswot rankme-C5pool)

prepare() {
    mkdir -p "$W"
    [ -d "$ROWS" ] && cp -rn "$ROWS"/. "$W"/
    $PY tools/misc/prepare_fashion_mnist.py --out data/fashion-mnist
    [ -e "$CKPT" ] && return
    if [ -e "$CARRIED" ]; then cp "$CARRIED" "$CKPT"; return; fi
    local resume=()
    [ -e "$W/train/last_checkpoint" ] && resume=(--resume)
    [ -e "$W/train/iter_$ITERS.pth" ] || $PY tools/train.py "$TRAIN" \
        --work-dir "$W/train" "${resume[@]}"
    # weights and meta (the model config), no optimizer state
    $PY -c "import sys, torch; c = torch.load(sys.argv[1], map_location='cpu',
        weights_only=False); torch.save(dict(meta=c['meta'],
        state_dict=c['state_dict']), sys.argv[2])" \
        "$W/train/iter_$ITERS.pth" "$CKPT"
}

# search seed $1's candidates and their ground truth (ranking_benchmark)
truth() {
    $PY tools/analysis/ranking_benchmark.py "$TRAIN" "$SEARCH" \
        --checkpoint "$CKPT" --work-dir "$W/ranking-s$1" --candidates 15 \
        --proxies naswot --label-metrics linear-fixed --label-seeds 3 \
        --search-options train_cfg.seed="$1" \
        "train_cfg.rankers=['rankme-C5pool']"
}

# select_subnet.py on seed set $1, ranker $2, shortlist $3
select_one() {
    $PY tools/select_subnet.py "$W/ranking-s$1" "$CKPT" --metric knn \
        --config "$TRAIN" \
        --labeled-data configs/labeled/fashion-mnist-5k-labels_cls.py \
        --seed 10 --full-run 10000 --min-run 500 --shortlist "$3" \
        --ranker "$2" --work-dir "$W/s$1/$2-k$3" --rows-dir "$W/s$1/rows"
}

study() {
    prepare
    truth "$1"
    select_one "$1" score 15  # B3: every candidate's first rung
    for k in 4 8; do  # B1, B2
        for r in "${RANKERS[@]}"; do select_one "$1" "$r" "$k"; done
    done
}

report() {
    for seed in 0 1; do
        local sel=()
        [ -f "$W/ranking-s$seed/label-linear-fixed.csv" ] || continue
        for k in 4 8 15; do
            for r in "${RANKERS[@]}"; do
                local d=$W/s$seed/$r-k$k
                [ -f "$d/selection.json" ] && sel+=("$d=select $r k$k")
            done
        done
        echo "## tiny, search seed $seed"
        $PY tools/analysis/selection_regret.py "$W/ranking-s$seed" \
            --truth "$W/ranking-s$seed/label-linear-fixed.csv" \
            --rankers "${RANKERS[@]}" random ${sel:+--selection "${sel[@]}"} \
            --judge "select score k4" "select score k8" "select score k15" \
            --rows-dir "$W/s$seed/rows" --out "$W/regret-s$seed.json"
    done
}

# the rows, selections, candidates and ground truths of $W, copied to $ROWS
carry() {
    (cd "$W" && find . \( -path './s*/rows/*.csv*' -o -name selection.json \
        -o -path './ranking-s*/search/candidates.json' \
        -o -path './ranking-s*/label-*.csv*' -o -name 'regret-*.json' \
        -o -path './ranking-s*/*.txt' -o -path './ranking-s*/summary.md' \) \
        -print0 | xargs -0 -I{} cp --parents {} "$OLDPWD/$ROWS"/)
    mkdir -p "$(dirname "$CARRIED")"
    [ -e "$CARRIED" ] || cp "$CKPT" "$CARRIED"
}

case "$1" in
    report) report ;;
    carry) mkdir -p "$ROWS" && carry ;;
    0 | 1) study "$1" ;;
    *) echo "usage: $0 0|1 | report | carry" >&2; exit 2 ;;
esac
