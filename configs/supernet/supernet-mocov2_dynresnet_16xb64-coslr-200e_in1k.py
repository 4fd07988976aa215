# Paper ImageNet run: 16 GPUs x 64 images, SGD lr 0.12, 200 epochs.
#   bash tools/dist_train.sh \
#     configs/supernet/supernet-mocov2_dynresnet_16xb64-coslr-200e_in1k.py 16
_base_ = [
    '../_base_/models/supernet-mocov2_dynresnet.py',
    '../_base_/datasets/imagenet_bs64_mocov2.py',
    '../_base_/schedules/sgd_coslr_200e_lr0.12.py',
    '../_base_/default_runtime.py',
]
