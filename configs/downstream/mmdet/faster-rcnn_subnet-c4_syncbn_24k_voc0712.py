# Faster R-CNN C4 on VOC07+12 trainval, 24k iterations, tested on VOC2007
# test (MoCo's protocol, paper §4.3), for a DATA subnet: stages 1-3 are the
# backbone, stage 4 the shared ROI head.
# tools/export_subnet.py --task voc-fasterrcnn-c4 writes a config that
# inherits this one and sets the subnet's arch, channel counts and weights.
# On its own, this trains a ResNet-50-shaped subnet from scratch.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py'
custom_imports = dict(imports=['mmdata'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
arch = 'Depth [3,4,6,3] Width [64,64,128,256,512]'
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='mmdata.SubnetResNet',
        arch=arch,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    rpn_head=dict(in_channels=1024, feat_channels=1024),
    roi_head=dict(
        shared_head=dict(
            _delete_=True,
            type='mmdata.SubnetResLayer',
            arch=arch,
            stage=3,
            stride=2,
            norm_cfg=norm_cfg,
            norm_eval=False,
            init_cfg=None),
        bbox_roi_extractor=dict(out_channels=1024),
        bbox_head=dict(in_channels=2048, num_classes=20)))

# 24k iterations, lr 0.02 (batch 16), steps at 18k and 22k
max_iter = 24000
train_cfg = dict(max_iters=max_iter, val_interval=4000)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iter,
        by_epoch=False,
        milestones=[18000, 22000],
        gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
