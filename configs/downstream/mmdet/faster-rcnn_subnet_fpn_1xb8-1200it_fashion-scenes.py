# Faster R-CNN FPN on the Fashion-MNIST scenes (96 px,
# tools/misc/prepare_fashion_scenes.py): the detection ground truth of the
# scenes ranking study (docs/studies/scenes.md), for a DATA subnet. It is the
# shipped Mask R-CNN FPN protocol without its mask branch, lightened for
# 96 px scenes on a CPU, the same for every subnet: images kept at 96 px
# (not 1333x800), anchors of 16-256 px (scale 4) for 16-48 px items, an FPN
# and RPN of 64 channels, Faster R-CNN's two-fc box head (256 wide) instead
# of the 4-conv head (its convs on every RoI took 90% of a CPU iteration),
# fewer proposals, 1200 iterations of 8
# scenes (2.4 epochs of the 4,000 train scenes), bbox mAP on the val split.
# tools/export_subnet.py --task scenes-fasterrcnn-fpn writes a config that
# inherits this one and sets the subnet's arch, channel counts and weights.
_base_ = './mask-rcnn_subnet_fpn_syncbn_1x_coco.py'

data_root = 'data/fashion-scenes/'
classes = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
           'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
width = 64  # FPN and head channels
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(
        mean=[72.9, 72.9, 72.9], std=[90.0, 90.0, 90.0], bgr_to_rgb=False),
    neck=dict(out_channels=width),
    rpn_head=dict(
        in_channels=width,
        feat_channels=width,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            norm_cfg=None,
            in_channels=width,
            fc_out_channels=256,
            num_classes=len(classes)),
        mask_roi_extractor=None,
        mask_head=None),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=200), rcnn=dict(max_per_img=50)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(96, 96), keep_ratio=True),  # the scene size
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(96, 96), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/images/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/images/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False)
test_evaluator = val_evaluator

# 1200 iterations of 8 scenes, SGD lr 0.08 with a 100-iteration warm-up,
# steps at 800 and 1100. On the space's largest arch (not a candidate of the
# study) lr 0.02 (mmdet's for batch 16) gave bbox mAP 0.303 and lr 0.08
# 0.378 (2026-12-02); the reliability gate ran at 0.02 (docs/studies/scenes.md)
max_iters = 1200
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[800, 1100],
        gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.08))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
