"""Write the course icon (book/assets/favicon.svg, redrawn with Pillow) as a favicon.ico.

Browsers ask for /favicon.ico on pages that name no icon, such as the redirect page at the
root of the built book; `make vendor` puts this file there so that request never 404s.
Usage: python book/favicon.py OUT.ico
"""

import sys

from PIL import Image, ImageDraw


def icon(size: int = 64) -> Image.Image:
    s = size / 32  # the SVG's 32-unit grid
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle([1 * s, 1 * s, 31 * s, 31 * s], radius=6 * s, fill="#2b5f8a")
    draw.line([6 * s, 16 * s, 26 * s, 16 * s], fill="white", width=round(3 * s))
    for cx in (11, 21):
        draw.ellipse([(cx - 3.5) * s, 12.5 * s, (cx + 3.5) * s, 19.5 * s], fill="#f2b134")
    return img


if __name__ == "__main__":
    icon().save(sys.argv[1], sizes=[(16, 16), (32, 32), (48, 48)])
