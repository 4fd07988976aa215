# Mask R-CNN FPN 1x on COCO with SyncBN in backbone, FPN and heads (the MoCo
# detection protocol, paper §4.3), for a DATA subnet.
# tools/export_subnet.py --task coco-maskrcnn-fpn writes a config that
# inherits this one and sets the subnet's arch, channel counts and weights.
# On its own, this trains a ResNet-50-shaped subnet from scratch.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdata'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdata.SubnetResNet',
        arch='Depth [3,4,6,3] Width [64,64,128,256,512]',
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[256, 512, 1024, 2048], norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='Shared4Conv1FCBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            norm_cfg=norm_cfg,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        mask_head=dict(norm_cfg=norm_cfg)))
