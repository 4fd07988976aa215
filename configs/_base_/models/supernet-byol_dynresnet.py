# DATA supernet with BYOL (paper Table 7) on the Table 1 space.
_base_ = './supernet-mocov2_dynresnet.py'

model = dict(
    _delete_=True,
    type='mmdata.SupernetBYOL',
    omega='paper',
    backbone=dict(
        type='mmdata.DynamicResNet',
        space={{_base_.model.backbone.space}},
        # no shuffle-BN in this method: synchronised BN across GPUs
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    neck=dict(
        type='mmdata.DynamicMoCoV2Neck',  # Linear-BN-ReLU-Linear projector
        in_channels=2560,
        hid_channels=4096,
        out_channels=256,
        with_bn=True,
        norm_cfg=dict(type='SyncBN')),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=4096,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=False),
        loss=dict(type='CosineSimilarityLoss')))

# BYOL: teacher momentum annealed from 0.99 to 1 with a cosine
custom_hooks = [dict(type='mmdata.TeacherEMA', momentum=0.99, cosine=True)]

# under DDP, back-propagate student by student (one student's activations in
# memory at a time; gradients synchronised once per step, same as summed)
model_wrapper_cfg = dict(type='mmdata.SupernetDDP', broadcast_buffers=False)
