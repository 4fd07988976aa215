# Paper §3.3/§4.1 search for classification (ImageNet linear / semi-sup):
# 7 bins of 1 GFLOPs from 1 to 8 G at 224 px, 100 candidates each, tap z,
# on ImageNet *train* images (labels unused; the data the downstream model
# is trained on, never the evaluation split). A seeded random subset:
# 10 x 32 images calibrate BN, 32 x 32 = 1024 others are scored on. Cost per
# candidate: 42 batches forward (+ the teacher once per batch and group of
# candidates_per_pass); set score_batches=None for the whole split.
#   python tools/search.py \
#     configs/search/search-cls_dynresnet_in1k.py SUPERNET.pth
_base_ = '../_base_/search_runtime.py'  # the supernet: the checkpoint's

search_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageNet',
        data_root='data/imagenet',
        split='train',
        pipeline=search_pipeline))

train_cfg = dict(
    type='mmdata.SearchLoop',
    budgets=None,  # paper bins: [1G, 2G), ..., [7G, 8G) at 224 px
    input_size=224,
    num_candidates=100,
    tap='cls',
    similarity='relation',
    calib_batches=10,
    score_batches=32,
    candidates_per_pass=8)
