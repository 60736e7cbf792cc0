"""Domain logic, one package per domain, each importing only the packages below it:
``platform`` <- ``identity`` <- ``clients`` <- ``ce`` <- ``documents`` <- ``queue``
(``demo`` seeds a whole CoC and may import any of them). See docs/ARCHITECTURE.md."""
