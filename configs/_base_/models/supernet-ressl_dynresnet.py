# DATA supernet with ReSSL (paper Table 7) on the Table 1 space.
_base_ = './supernet-mocov2_dynresnet.py'

model = dict(
    _delete_=True,
    type='mmdata.SupernetReSSL',
    omega='paper',
    queue_len=131072,
    feat_dim=128,
    student_temp=0.1,
    teacher_temp=0.04,
    backbone=dict(
        type='mmdata.DynamicResNet',
        space={{_base_.model.backbone.space}},
        # no shuffle-BN in this method: synchronised BN across GPUs
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    neck=dict(
        type='mmdata.DynamicMoCoV2Neck',
        in_channels=2560,
        hid_channels=4096,
        out_channels=128))

custom_hooks = [dict(type='mmdata.TeacherEMA', momentum=0.999)]

# under DDP, back-propagate student by student (one student's activations in
# memory at a time; gradients synchronised once per step, same as summed)
model_wrapper_cfg = dict(type='mmdata.SupernetDDP', broadcast_buffers=False)
