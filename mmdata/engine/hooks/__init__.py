from .bn_calibration import BNCalibrationHook
from .teacher_ema import TeacherEMA

__all__ = ['BNCalibrationHook', 'TeacherEMA']
