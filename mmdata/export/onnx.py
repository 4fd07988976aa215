"""ONNX export of a static subnet (the deployable backbone)."""
import torch

from mmdata.errors import UserError

OUTPUT_NAMES = ('stage1', 'stage2', 'stage3', 'stage4')


def export_onnx(model: torch.nn.Module,
                path: str,
                input_size: int = 224) -> None:
    """Write ``model`` (images ``N x 3 x input_size x input_size``, N
    dynamic) as ONNX to ``path``; outputs ``stage1`` ... ``stage4``."""
    try:
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError:
        raise UserError('--onnx needs the onnx and onnxscript packages: pip '
                        'install onnx onnxscript') from None
    example = torch.zeros(2, 3, input_size, input_size)
    batch = torch.export.Dim('batch', min=1)
    with torch.no_grad():
        torch.onnx.export(
            model, (example, ),
            path,
            input_names=['input'],
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes=({
                0: batch
            }, ),
            dynamo=True,
            verbose=False)
