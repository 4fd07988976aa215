# The tiny search by predicted latency on this repository's CPU (1 thread,
# batch 1, 32 px; docs/latency/tiny-32px-cpu1.json), with at most 0.5 M
# params in every bin. Measure a table for your device with
#   python tools/analysis/measure_latency.py \
#     configs/tiny/supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py \
#     --input-size 32 --out work_dirs/lut.json --validate 20
# and pass it with --cfg-options train_cfg.latency_table=work_dirs/lut.json
# together with budgets re-picked from that table's range: the fixed ms
# budgets below fit this repository's CPU, and on a faster or slower device
# a bin can hold no arch ("budget 1.2-1.5ms holds no arch"), e.g.
#   train_cfg.budgets="[(0.5,0.7),(0.7,0.9),(0.9,1.1)]"
#   python tools/search.py \
#     configs/tiny/search-latency_dynresnet-tiny_fashion-mnist.py \
#     work_dirs/tiny/iter_468.pth
_base_ = './search-cls_dynresnet-tiny_fashion-mnist.py'

train_cfg = dict(
    metric='latency',
    latency_table='docs/latency/tiny-32px-cpu1.json',
    latency_setting=dict(device='cpu', batch_size=1),  # refuse other tables
    budgets=[(1.2, 1.5), (1.5, 1.8), (1.8, 2.1)],  # milliseconds
    constraints=dict(params=0.5e6))
