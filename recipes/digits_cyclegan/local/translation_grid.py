"""Draw held-out translations of an image CycleGAN as one grid (rows: A, A->B, B, B->A).

    python recipes/digits_cyclegan/local/translation_grid.py MODEL MNIST_NPZ UCI_NPZ OUT.png [--columns 10]

Uses the test digits of recipes/digits_cyclegan/conf/eval.yaml (MNIST 7000-7999, UCI 1597-1796),
the first ``columns`` of each.
"""

from __future__ import annotations

import argparse

import torch

from voicegen.formats.image import load_image_cyclegan
from voicegen.image.datasets import ImageSourceConfig, load_source
from voicegen.image.grid import save_grid
from voicegen.infer.image import translate_images

UCI = {"value_max": 16, "size": 20, "pad": 4}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("mnist")
    parser.add_argument("uci")
    parser.add_argument("out")
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--scale", type=int, default=2)
    args = parser.parse_args()
    model = load_image_cyclegan(args.model)
    a = load_source(ImageSourceConfig(path=args.mnist, start=7000, stop=7000 + args.columns)).images
    b = load_source(ImageSourceConfig(path=args.uci, start=1597, stop=1597 + args.columns, **UCI)).images
    rows = [a, translate_images(model, a, "a2b"), b, translate_images(model, b, "b2a")]
    save_grid(args.out, torch.cat(rows), args.columns, scale=args.scale, overwrite=True)
    print(f"wrote {args.out}: rows {model.domains[0]}, {model.domains[0]} -> {model.domains[1]}, "
          f"{model.domains[1]}, {model.domains[1]} -> {model.domains[0]}")


if __name__ == "__main__":
    main()
