from .calibration import calibrate_bn

__all__ = ['calibrate_bn']
