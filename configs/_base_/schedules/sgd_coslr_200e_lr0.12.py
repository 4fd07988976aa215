# Paper §4.1: SGD lr 0.12 (batch 1024), weight decay 7.5e-5, momentum 0.9,
# 200 epochs, cosine decay.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.12, weight_decay=7.5e-5, momentum=0.9))

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200)
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)

# lr is scaled linearly when the total batch differs from 1024
auto_scale_lr = dict(base_batch_size=1024)
