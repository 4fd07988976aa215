# ImageNet 10% semi-supervised fine-tuning of a DATA subnet, 20 epochs
# (paper §4.3); as the 1% config, on the 10% subset.
# tools/export_subnet.py --task in1k-semi-10pc writes a config that inherits
# this one and sets the subnet's arch, feature dim, head lr and weights.
_base_ = './subnet_8xb32-semi-20e_in1k-1pc.py'

# the 10% labelled subset: data/imagenet/meta/train_10pc.txt
train_dataloader = dict(dataset=dict(ann_file='meta/train_10pc.txt'))
