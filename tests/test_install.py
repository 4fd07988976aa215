"""The installed stack: compiled mmcv ops and the OpenMMLab libraries."""
import torch


def test_mmcv_ops_are_compiled_and_run_on_cpu():
    from mmcv.ops import nms, roi_align
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7]))

    feats = torch.arange(16.).view(1, 1, 4, 4).requires_grad_()
    rois = torch.tensor([[0., 1., 1., 3., 3.]])
    out = roi_align(feats, rois, (2, 2), 1.0, 2, 'avg', True)
    assert out.shape == (1, 1, 2, 2)
    # a linear ramp is reproduced exactly by bilinear sampling: each output
    # is the ramp at its bin centre (aligned: box shifted by -0.5 px)
    centres = torch.tensor([1.0, 2.0])
    expected = 4 * centres.view(2, 1) + centres.view(1, 2)
    assert torch.allclose(out[0, 0], expected, atol=1e-5)
    out.sum().backward()  # each output's sampling weights sum to 1
    assert feats.grad is not None and feats.grad.sum().item() == 4.0


def test_openmmlab_libraries_import():
    import mmdet.models  # noqa: F401
    import mmengine
    import mmpretrain.models  # noqa: F401
    import mmseg.models  # noqa: F401

    import mmdata
    assert mmengine.__version__ == '0.10.7'
    assert mmdata.__version__
