# Tiny DATA + ReSSL supernet on 32 px Fashion-MNIST (CPU tests and demo):
# strong crops for the students, weak crops for the teacher.
_base_ = './supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py'

model = dict(
    _delete_=True,
    type='mmdata.SupernetReSSL',
    omega='paper',
    queue_len=4096,
    feat_dim=128,
    student_temp=0.1,
    teacher_temp=0.04,
    backbone={{_base_.model.backbone}},
    data_preprocessor={{_base_.model.data_preprocessor}},
    neck={{_base_.model.neck}})

weak_view = [
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.6, 1.),
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='NumpyToPIL'),
        dict(type='torchvision/Grayscale', num_output_channels=3),
        dict(type='PILToNumpy'),
        dict(
            type='MultiView',
            num_views=[1, 1],
            transforms=[{{_base_.view_pipeline}}, weak_view]),
        dict(type='PackInputs')
    ]))
