# Tiny DATA + DenseCL supernet on 32 px Fashion-MNIST (CPU tests and demo).
_base_ = './supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py'

model = dict(
    _delete_=True,
    type='mmdata.SupernetDenseCL',
    omega='paper',
    queue_len=4096,
    feat_dim=128,
    loss_lambda=0.5,
    backbone={{_base_.model.backbone}},
    data_preprocessor={{_base_.model.data_preprocessor}},
    neck=dict(
        type='mmdata.DynamicDenseCLNeck',
        in_channels=512,
        hid_channels=256,
        out_channels=128),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2))
