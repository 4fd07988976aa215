#!/usr/bin/env bash
# The selection study of docs/selection.md: successive halving on 1,000
# labeled scenes against the scenes study's carried ground truths.
#
#   bash experiments/selection_scenes.sh seg 0   # FCN, search seed 0
#   bash experiments/selection_scenes.sh det 0   # Faster R-CNN FPN
#   bash experiments/selection_scenes.sh seg 1   # FCN, fresh candidates
#   bash experiments/selection_scenes.sh report  # the tables
#   bash experiments/selection_scenes.sh carry   # copy rows to docs/
#
# Resumable (re-run the same command): the searches and the label rows are
# kept in work_dirs/selection/; `carry` copies the label rows, the
# selections and the searches' candidates.json to docs/selection/, and a
# work dir that lacks them starts from those copies. The settings are the
# ones fixed in docs/selection.md before the runs; nothing here is tuned.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
W=${SELECTION_WORK:-work_dirs/selection}
CARRIED=docs/studies/scenes/scenes-study
CARRIED_CKPT=checkpoints/supernet-mocov2_dynresnet-tiny_1xb64-1500it_fashion-scenes.pth
ROWS=docs/selection  # this study's carried rows
CKPT=$W/supernet_iter_1500.pth
BINS=(9-13.5MFLOPs@96px 13.5-18MFLOPs@96px)
declare -A TAP=([seg]=seg [det]=det-fpn)
declare -A METRIC=([seg]=seg-miou [det]=det-map)
RANKERS=(score params flops naswot rankme-C5pool)

prepare() {
    mkdir -p "$W"
    [ -e "$CKPT" ] || cp "$CARRIED_CKPT" "$CKPT"
    [ -d "$ROWS" ] && cp -rn "$ROWS"/. "$W"/
    $PY tools/misc/prepare_fashion_mnist.py --out data/fashion-mnist
    $PY tools/misc/prepare_fashion_scenes.py data/fashion-scenes
}

# the label-free search of task $1's tap with search seed $2 (10 per bin)
search() {
    local out=$W/search-$1-s$2
    [ -f "$out/search/candidates.json" ] && return
    $PY tools/search.py \
        configs/small/search-${TAP[$1]}_dynresnet-tiny_fashion-scenes.py \
        "$CKPT" --work-dir "$out" --cfg-options train_cfg.num_candidates=10 \
        train_cfg.seed="$2" "train_cfg.rankers=['rankme-C5pool']"
}

# select_subnet.py for task $1, seed set $2, ranker $3, shortlist $4
select_one() {
    $PY tools/select_subnet.py "$W/search-$1-s$2" "$CKPT" --metric "${METRIC[$1]}" \
        --labeled-data "configs/labeled/fashion-scenes-1k-labels_$1.py" \
        --bins "${BINS[@]}" --seed 10 --full-run 2400 --min-run 200 \
        --shortlist "$4" --ranker "$3" \
        --work-dir "$W/$1-s$2/$3-k$4" --rows-dir "$W/$1-s$2/rows"
}

study() {
    prepare
    search "$1" "$2"
    select_one "$1" "$2" score 10  # B3: every candidate's first rung
    for k in 4 8; do  # B1, B2
        for r in "${RANKERS[@]}"; do select_one "$1" "$2" "$r" "$k"; done
    done
}

# ground truth of task $1 on seed set $2
truth() {
    case "$1-$2" in
        seg-0) echo "$CARRIED/label-seg-miou.csv" ;;
        det-0) echo "$CARRIED/label-det-map.csv" ;;
        seg-1) echo "$CARRIED/label-seg-miou-seed1.csv" ;;
    esac
}

report() {
    for set in seg-0 det-0 seg-1; do
        local task=${set%-*} seed=${set#*-} sel=()
        [ -f "$W/search-$task-s$seed/search/candidates.json" ] || continue
        for k in 4 8 10; do
            for r in "${RANKERS[@]}"; do
                local d=$W/$task-s$seed/$r-k$k
                [ -f "$d/selection.json" ] && sel+=("$d=select $r k$k")
            done
        done
        echo "## $task, search seed $seed"
        $PY tools/analysis/selection_regret.py "$W/search-$task-s$seed" \
            --truth $(truth "$task" "$seed") --bins "${BINS[@]}" \
            --rankers "${RANKERS[@]}" random ${sel:+--selection "${sel[@]}"} \
            --judge "select score k4" "select score k8" "select score k10" \
            --rows-dir "$W/$task-s$seed/rows" --out "$W/regret-$task-s$seed.json"
    done
}

# the rows, selections and candidates of $W, copied to $ROWS
carry() {
    (cd "$W" && find . \( -path './*/rows/*.csv*' -o -name selection.json \
        -o -path './search-*/search/candidates.json' \) -print0 |
        xargs -0 -I{} cp --parents {} "$OLDPWD/$ROWS"/)
    cp "$W"/regret-*.json "$ROWS"/ 2>/dev/null || true
}

case "$1" in
    report) report ;;
    carry) mkdir -p "$ROWS" && carry ;;
    seg | det) study "$1" "${2:-0}" ;;
    *) echo "usage: $0 seg|det [SEARCH_SEED] | report | carry" >&2; exit 2 ;;
esac
