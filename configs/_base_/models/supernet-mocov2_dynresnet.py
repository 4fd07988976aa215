# DATA supernet with MoCo v2 (paper §3.2, Alg. 1) on the Table 1 space.
model = dict(
    type='mmdata.SupernetMoCo',
    queue_len=65536,
    feat_dim=128,
    omega='paper',  # max arch + 2 random archs per iteration
    backbone=dict(
        type='mmdata.DynamicResNet',
        space=dict(
            stem=(32, 64, 16),
            widths=[(48, 80, 16), (96, 160, 32), (192, 320, 64),
                    (384, 640, 128)],
            depths=[(2, 4, 1), (2, 6, 2), (5, 29, 2), (2, 4, 1)]),
        # MoCo v2's recipe: per-GPU BN, with shuffle-BN in the teacher
        # (SupernetMoCo / SupernetDenseCL shuffle the key batch across GPUs)
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='mmdata.DynamicMoCoV2Neck',
        in_channels=2560,  # 4 x max stage-4 width
        hid_channels=2048,
        out_channels=128),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2))

# the teacher (max arch) follows the student as an EMA after each step
custom_hooks = [dict(type='mmdata.TeacherEMA', momentum=0.999)]

# under DDP, back-propagate student by student (one student's activations in
# memory at a time; gradients synchronised once per step, same as summed)
model_wrapper_cfg = dict(type='mmdata.SupernetDDP', broadcast_buffers=False)
