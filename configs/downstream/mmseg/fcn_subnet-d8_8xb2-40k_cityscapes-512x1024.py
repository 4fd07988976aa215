# FCN on Cityscapes, 40k iterations, batch 16 (8 GPUs x 2), stages 3-4
# dilated (paper §4.3), for a DATA subnet.
# tools/export_subnet.py --task cityscapes-fcn writes a config that inherits
# this one and sets the subnet's arch, channel counts and weights.
# On its own, this trains a ResNet-50-shaped subnet from scratch.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py'
custom_imports = dict(imports=['mmdata'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmdata.SubnetResNet',
        arch='Depth [3,4,6,3] Width [64,64,128,256,512]',
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    decode_head=dict(in_channels=2048),
    auxiliary_head=dict(in_channels=1024))

# batch 16 = 8 GPUs x 2 images, 40k iterations
train_dataloader = dict(batch_size=2)
