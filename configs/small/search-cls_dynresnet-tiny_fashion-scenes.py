# Label-free search of a tiny supernet trained on the Fashion-MNIST scenes
# (configs/small/supernet-*), on the train scenes' images (labels unused):
# 3 FLOPs bins at 96 px x 10 candidates, classification tap (z). The
# det-c4 / det-fpn / seg configs inherit this one and change only the tap,
# so that the four searches score the same candidates (docs/studies/scenes.md,
# "Scenes"). The supernet and its teacher come from the checkpoint.
#   python tools/search.py \
#     configs/small/search-cls_dynresnet-tiny_fashion-scenes.py \
#     work_dirs/scenes/train/iter_1500.pth
_base_ = '../_base_/search_runtime.py'

data_root = 'data/fashion-scenes'
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train/images',  # the train scenes (no labels read)
        with_label=False,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs')]))

train_cfg = dict(
    type='mmdata.SearchLoop',
    # the tiny bins of configs/tiny at 96 px (FLOPs x 9)
    budgets=[(9.0e6, 13.5e6), (13.5e6, 18.0e6), (18.0e6, 27.0e6)],
    metric='flops',
    input_size=96,
    num_candidates=10,
    tap='cls',
    similarity='relation',
    proxies=['naswot', 'synflow'],  # label-free baselines, for ranking studies
    calib_batches=4,
    score_batches=16,  # 1,024 scenes, as the paper-scale configs
    seed=0)
