# 5,000 labeled Fashion-MNIST train images, as a user with few labels has:
# the classification label metrics (knn, linear, linear-fixed, finetune)
# train on images 0-3999 and score on 59,000-59,999. The tiny-supernet
# selection study (docs/selection.md) runs its short label runs here; it
# never reads the test split that its ground truth is measured on.
fashion_mnist = dict(
    type='FashionMNIST',
    data_root='data/fashion-mnist',
    split='train',
    download=False)
labeled_train = dict(indices=list(range(4000)), **fashion_mnist)
# test_mode=False: mmpretrain's MNIST datasets read their test files
# whenever test_mode is set (which the probe's test loader would pass on),
# whatever the split says
labeled_val = dict(
    indices=list(range(59000, 60000)), test_mode=False, **fashion_mnist)
