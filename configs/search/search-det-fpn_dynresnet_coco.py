# Paper §3.3 search for FPN detectors (COCO Mask R-CNN FPN, Table 3):
# tap C2-C5 on COCO val2017 images (annotations unused), 7 bins of 1 GFLOPs
# from 1 to 8 G (FLOPs counted at 224 px as in the paper), 100 candidates.
# Images are resized to a fixed 224 x 224 so that they batch up.
#   python tools/search.py configs/search/search-det-fpn_dynresnet_coco.py SUPERNET.pth
_base_ = [
    '../_base_/models/supernet-mocov2_dynresnet.py',
    '../_base_/schedules/sgd_coslr_200e_lr0.12.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(norm_cfg=dict(type='BN')),
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))

search_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=(224, 224), keep_ratio=False),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape')),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='mmdet.CocoDataset',
        data_root='data/coco/',
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=search_pipeline))

train_cfg = dict(
    _delete_=True,
    type='mmdata.SearchLoop',
    budgets=None,
    input_size=224,
    num_candidates=100,
    tap='det_fpn',
    similarity='relation',
    calib_batches=10,
    score_batches=4)
custom_hooks = []  # no TeacherEMA while searching
param_scheduler = []
