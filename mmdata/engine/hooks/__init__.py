from .teacher_ema import TeacherEMA

__all__ = ['TeacherEMA']
