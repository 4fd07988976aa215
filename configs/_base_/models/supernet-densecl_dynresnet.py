# DATA supernet with DenseCL (paper Table 7) on the Table 1 space.
_base_ = './supernet-mocov2_dynresnet.py'

model = dict(
    _delete_=True,
    type='mmdata.SupernetDenseCL',
    omega='paper',
    queue_len=65536,
    feat_dim=128,
    loss_lambda=0.5,
    backbone={{_base_.model.backbone}},
    neck=dict(
        type='mmdata.DynamicDenseCLNeck',
        in_channels=2560,
        hid_channels=2048,
        out_channels=128,
        num_grid=None),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2))

# under DDP, back-propagate student by student (one student's activations in
# memory at a time; gradients synchronised once per step, same as summed)
model_wrapper_cfg = dict(type='mmdata.SupernetDDP', broadcast_buffers=False)
