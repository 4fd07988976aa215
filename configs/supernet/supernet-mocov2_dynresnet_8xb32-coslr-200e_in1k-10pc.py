# ImageNet-10% (paper §5, Table 7/8): MoCo v2's own defaults, i.e. 8 GPUs x
# 32 images, SGD lr 0.03, weight decay 1e-4, 200 epochs, cosine.
_base_ = [
    '../_base_/models/supernet-mocov2_dynresnet.py',
    '../_base_/datasets/imagenet-10pc_bs32_mocov2.py',
    '../_base_/schedules/sgd_coslr_200e_lr0.12.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=0.03, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=256)
