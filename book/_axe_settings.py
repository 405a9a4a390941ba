"""What the accessibility tests check the built book against (``tests/book_axe.py`` runs them).

Kept with the book, not with the tests: the accessibility page shows these lines and states them
when it is built, also in the public copy of the course, which has no ``tests/`` (the instructor
guide's "Keeping the solutions private").
"""

# (name, width, height): the desktop and phone sizes (#14), in CSS pixels.
VIEWPORTS = [("desktop", 1280, 900), ("phone", 390, 844)]
# WCAG 2.1 level A and AA, and axe's best practices; not AAA, not WCAG 2.2, not experimental.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# The dark scheme: the level-AA colour rules (contrast; links told apart by colour alone).
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
# Every violation fails the test, whatever impact axe gives it (critical, serious, moderate,
# minor): the book has none.
FAILING_IMPACTS = ("critical", "serious", "moderate", "minor")
