# DATA + DenseCL on ImageNet-10% (paper Table 7) with DenseCL's defaults
# (MoCo v2 views, SGD lr 0.03, wd 1e-4, 8 x 32 images, 200 epochs, cosine).
_base_ = [
    '../_base_/models/supernet-densecl_dynresnet.py',
    '../_base_/datasets/imagenet-10pc_bs32_mocov2.py',
    '../_base_/schedules/sgd_coslr_200e_lr0.12.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=0.03, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=256)
