# Tiny DATA + BYOL supernet on 32 px Fashion-MNIST (CPU tests and demo).
_base_ = './supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py'

model = dict(
    _delete_=True,
    type='mmdata.SupernetBYOL',
    omega='paper',
    backbone={{_base_.model.backbone}},
    data_preprocessor={{_base_.model.data_preprocessor}},
    neck=dict(
        type='mmdata.DynamicMoCoV2Neck',
        in_channels=512,
        hid_channels=256,
        out_channels=64,
        with_bn=True),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=64,
            hid_channels=256,
            out_channels=64,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=False),
        loss=dict(type='CosineSimilarityLoss')))

custom_hooks = [dict(type='mmdata.TeacherEMA', momentum=0.99, cosine=True)]
