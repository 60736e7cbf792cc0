"""Coordinated Entry: enrollments, their records, assignments, the intake, update assessments,
outcomes and exits, area ties. May import ``clients``, ``identity`` and ``platform``."""
